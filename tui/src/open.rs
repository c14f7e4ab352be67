//! Choosing and opening the cache (a file, or every layer of a stack), with a message a user
//! can act on for each way it can fail; and the one change the browser makes to it, deleting
//! calls. Opening never writes to a file unless `--write` asked for it: a file a crashed
//! writer left needing repair is shown from a repaired private copy, and repaired itself only
//! by `--write`. A stack layer that cannot be opened is left out with a warning.

use std::path::{Path, PathBuf};

use fleche::config::{CacheSpec, Config, LayerSpec};
use fleche::{Cache, Digest, Stack};

/// The cache to open and why this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The file (on a stack: its first file, if any).
    pub path: PathBuf,
    /// Why it was chosen, when it was not given on the command line.
    pub why: Option<String>,
    /// The layers to browse together, top first, when the cache is a stack (or a database);
    /// empty for one file.
    pub layers: Vec<LayerSpec>,
}

impl Chosen {
    /// One cache file.
    fn file(path: PathBuf, why: Option<String>) -> Chosen {
        Chosen {
            path,
            why,
            layers: Vec::new(),
        }
    }

    /// Layers to browse together.
    fn layers(layers: Vec<LayerSpec>, why: String) -> Chosen {
        let spec = CacheSpec::Stack(layers.clone());
        Chosen {
            path: spec.first_file().map(Path::to_path_buf).unwrap_or_default(),
            why: Some(why),
            layers,
        }
    }

    /// What is browsed, as the title and messages name it.
    pub fn describe(&self) -> String {
        match self.layers.as_slice() {
            [] => self.path.display().to_string(),
            layers => layers
                .iter()
                .map(|l| format!("{} {}", l.name, l.spec))
                .collect::<Vec<_>>()
                .join(" + "),
        }
    }
}

/// Picks the cache: `arg` if given (a path, or a cache name from `fleche.toml`), else the
/// library's default cache. A default that is in memory is an error: there is nothing to
/// browse.
pub fn choose(arg: Option<&str>) -> Result<Chosen, String> {
    if let Some(arg) = arg {
        let path = PathBuf::from(arg);
        if !path.exists() {
            // Perhaps a cache name from fleche.toml.
            if let Ok(config) = Config::discover()
                && let Ok(resolved) = config.resolve(arg)
                && let Some(name) = &resolved.name
            {
                let why = format!("cache `{name}` ({})", resolved.origin);
                match resolved.spec {
                    CacheSpec::Stack(layers) if layers.len() > 1 => {
                        return Ok(Chosen::layers(layers, why));
                    }
                    CacheSpec::Postgres(_) => {
                        return Ok(Chosen::layers(one_layer(name, resolved.spec), why));
                    }
                    spec => {
                        if let Some(file) = spec.first_file() {
                            return Ok(Chosen::file(file.to_path_buf(), Some(why)));
                        }
                    }
                }
            }
        }
        return Ok(Chosen::file(path, None));
    }
    let config = Config::discover().map_err(|e| format!("fleche-tui: {e}"))?;
    let resolved = config
        .resolve_default()
        .map_err(|e| format!("fleche-tui: {e}"))?;
    let why = format!("the default cache ({})", resolved.origin);
    match resolved.spec {
        CacheSpec::File(path) => Ok(Chosen::file(path, Some(why))),
        CacheSpec::Memory => Err(memory_default(&resolved.origin.to_string())),
        CacheSpec::Off => Err(format!(
            "fleche-tui: caching is switched off ({}): there is no cache to browse. \
             Give a cache file: `fleche-tui path/to/cache.redb`.",
            resolved.origin
        )),
        spec @ CacheSpec::Postgres(_) => Ok(Chosen::layers(
            one_layer(resolved.name.as_deref().unwrap_or("postgres"), spec),
            why,
        )),
        CacheSpec::Stack(layers) => {
            let stored =
                |l: &LayerSpec| matches!(l.spec, CacheSpec::File(_) | CacheSpec::Postgres(_));
            match layers.as_slice() {
                [only] if matches!(only.spec, CacheSpec::File(_)) => Ok(Chosen::file(
                    only.spec
                        .first_file()
                        .unwrap_or(Path::new(""))
                        .to_path_buf(),
                    Some(why),
                )),
                _ if layers.iter().any(stored) => Ok(Chosen::layers(
                    layers,
                    format!("the default stack ({})", resolved.origin),
                )),
                _ => Err(memory_default(&resolved.origin.to_string())),
            }
        }
    }
}

/// A database alone, as a stack of one layer.
fn one_layer(name: &str, spec: CacheSpec) -> Vec<LayerSpec> {
    vec![LayerSpec {
        name: name.to_owned(),
        spec,
        read_only: false,
        max_size: None,
    }]
}

/// The message when the default cache lives in memory.
pub fn memory_default(origin: &str) -> String {
    format!(
        "fleche-tui: no cache file to open: the default cache is in memory ({origin}).\n\
         Give a cache file: `fleche-tui path/to/cache.redb`, or set FLECHE_CACHE=path/to/cache.redb, \
         or name a default in fleche.toml ([default] cache = \"...\")."
    )
}

/// An open cache and how it was opened.
#[derive(Debug)]
pub struct Opened {
    /// The cache to browse.
    pub cache: Cache,
    /// Whether `cache` is a repaired private copy of a file that needs repair (so it does
    /// not follow the file).
    pub copy: bool,
    /// What the user should know about the file: that it was repaired, or that a copy shows.
    pub note: Option<String>,
    /// Stack layers left out (missing, damaged, not reachable), and why.
    pub warnings: Vec<String>,
    /// The copies' directories, removed when this is dropped (after `cache`, declared first).
    _copy_dirs: Vec<tempfile::TempDir>,
}

impl Opened {
    fn file(cache: Cache, note: Option<String>) -> Opened {
        Opened {
            cache,
            copy: false,
            note,
            warnings: Vec::new(),
            _copy_dirs: Vec::new(),
        }
    }
}

/// Opens the layers of a stack, top first, as one cache that shows their union: each file
/// as [`open`] opens one (read-only unless `writable` and the layer is writable; a file that
/// needs repair from a repaired copy), a database through fleche's `postgres` feature. A
/// layer that cannot be opened is left out with a warning; with `writable`, a writable file
/// layer that cannot be opened is an error, since deleting needs it.
pub fn open_stack(layers: &[LayerSpec], writable: bool) -> Result<Opened, String> {
    let mut stack = Stack::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut copies = Vec::new();
    let mut any = false;
    for layer in layers {
        let write = writable && !layer.read_only;
        let skipped = |why: &str| {
            format!(
                "cache layer `{}` ({}) skipped: {why}",
                layer.name, layer.spec
            )
        };
        match &layer.spec {
            CacheSpec::File(path) => match open(path, write) {
                Ok(opened) => {
                    let Opened {
                        cache,
                        copy,
                        note,
                        _copy_dirs,
                        ..
                    } = opened;
                    if let Some(note) = note {
                        notes.push(format!("layer `{}`: {note}", layer.name));
                    }
                    copies.extend(_copy_dirs);
                    stack = match write && !copy {
                        true => stack.cache(&layer.name, cache),
                        false => stack.read_only(&layer.name, cache),
                    };
                    any = true;
                }
                Err(e) if write => return Err(e),
                Err(e) => warnings.push(skipped(
                    e.trim_start_matches("fleche-tui: ")
                        .lines()
                        .next()
                        .unwrap_or(""),
                )),
            },
            CacheSpec::Postgres(url) => match postgres_layer(&layer.name, url) {
                // Read-only unless deleting: nothing but a delete writes to it from here.
                Ok(cache) if write => {
                    stack = stack.cache(&layer.name, cache);
                    any = true;
                }
                Ok(cache) => {
                    stack = stack.read_only(&layer.name, cache);
                    any = true;
                }
                Err(e) => warnings.push(skipped(&e)),
            },
            // Nothing of another process's memory cache can be seen from here.
            CacheSpec::Memory | CacheSpec::Off | CacheSpec::Stack(_) => {}
        }
    }
    if !any {
        return Err(format!(
            "fleche-tui: no layer of the stack could be opened:\n  {}",
            warnings.join("\n  ")
        ));
    }
    let cache = stack.build().map_err(|e| format!("fleche-tui: {e}"))?;
    Ok(Opened {
        cache,
        copy: !copies.is_empty(),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
        warnings,
        _copy_dirs: copies,
    })
}

/// A PostgreSQL database as a stack of one layer named `name`, when this fleche-tui was built
/// with the `postgres` feature.
#[cfg(feature = "postgres")]
fn postgres_layer(name: &str, url: &str) -> Result<Cache, String> {
    Stack::new()
        .postgres(name, url)
        .and_then(Stack::build)
        .map_err(|e| e.to_string())
}

/// Without the `postgres` feature a database layer cannot be read: say how to get one that
/// can.
#[cfg(not(feature = "postgres"))]
fn postgres_layer(_name: &str, _url: &str) -> Result<Cache, String> {
    Err(
        "this fleche-tui was built without PostgreSQL support; build it with \
         `cargo install fleche-tui --features postgres`"
            .to_owned(),
    )
}

/// Opens the cache read-only, or read-write with `writable` (`--write`), in redb's
/// multi-process mode so a notebook can keep writing to it.
///
/// A file left needing repair by a crashed writer is repaired by a read-write open (redb
/// does it on opening); read-only, it is copied to a private directory, the copy is repaired
/// and shown, and the file stays as it was.
pub fn open(path: &Path, writable: bool) -> Result<Opened, String> {
    let message = |e: fleche::Error| error_message(path, &e);
    let read_only = Cache::open_for_browsing(path);
    let needs_repair = matches!(read_only, Err(fleche::Error::NeedsRepair { .. }));
    if !writable {
        return match read_only {
            Ok(cache) => Ok(Opened::file(cache, None)),
            Err(_) if needs_repair => repaired_copy(path),
            Err(e) => Err(message(e)),
        };
    }
    drop(read_only);
    let cache = Cache::open_existing(path).map_err(message)?;
    let note = needs_repair.then(|| {
        format!(
            "repaired {}: a writer had stopped without closing it",
            path.display()
        )
    });
    Ok(Opened::file(cache, note))
}

/// What the browser says while it shows a repaired copy of a file that needs repair.
pub fn copy_note(path: &Path) -> String {
    format!(
        "showing a repaired copy: {} needs repair after a writer stopped without closing it; \
         it is repaired the next time a program opens it for writing (fleche-tui --write does)",
        path.display()
    )
}

/// Copies the file to a private directory, lets redb repair the copy (a read-write open
/// does) and opens the copy read-only.
fn repaired_copy(path: &Path) -> Result<Opened, String> {
    let failed = |e: &dyn std::fmt::Display| {
        format!(
            "fleche-tui: cache {} needs repair after a crash, and a repaired copy to show could \
             not be made: {e}.\nRepair the file by opening it for writing: fleche-tui --write {}",
            path.display(),
            path.display()
        )
    };
    let dir = tempfile::Builder::new()
        .prefix("fleche-tui-copy-")
        .tempdir()
        .map_err(|e| failed(&e))?;
    let copy = dir.path().join("cache.redb");
    std::fs::copy(path, &copy).map_err(|e| failed(&e))?;
    // Opening for writing repairs; closing it (the last handle dropped) leaves it clean.
    drop(Cache::open_existing(&copy).map_err(|e| failed(&e))?);
    let cache = Cache::open_for_browsing(&copy).map_err(|e| failed(&e))?;
    Ok(Opened {
        cache,
        copy: true,
        note: Some(copy_note(path)),
        warnings: Vec::new(),
        _copy_dirs: vec![dir],
    })
}

/// What to tell the user when the cache cannot be opened.
pub fn error_message(path: &Path, e: &fleche::Error) -> String {
    match e {
        fleche::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            format!(
                "fleche-tui: no cache file at {}.\n\
                 Check the path, or run a program that uses #[fleche] with this cache first \
                 (FLECHE_CACHE={} cargo run ...).",
                path.display(),
                path.display()
            )
        }
        fleche::Error::NotACache { path, detail } => format!(
            "fleche-tui: {} is not a fleche cache: {detail}.\n\
             Give the path of a cache file that fleche wrote (FLECHE_CACHE or fleche.toml say \
             where a program caches).",
            path.display()
        ),
        other => format!("fleche-tui: {other}"),
    }
}

/// Deletes these calls' records in one write transaction per writable layer (all or none;
/// their values stay, as other calls may share them) and says what happened. Calls another
/// process deleted first are not counted; on a stack, calls that stay in read-only layers
/// are named with those layers.
pub fn delete(cache: &Cache, keys: &[Digest]) -> String {
    let n = match cache.query().among(keys.iter().copied()).evict() {
        Ok(n) => n,
        Err(e) => return format!("nothing deleted: {e}"),
    };
    let kept: Vec<String> = cache
        .layer_descriptions()
        .into_iter()
        .filter(|(_, _, read_only)| *read_only)
        .filter_map(|(name, _, _)| {
            let layer = cache.layer(&name)?;
            let n = keys
                .iter()
                .filter(|k| layer.contains(k).unwrap_or(false))
                .count();
            (n > 0).then(|| format!("{n} stay in read-only layer `{name}`"))
        })
        .collect();
    match (n == keys.len(), kept.as_slice()) {
        (true, []) => format!("deleted {}", crate::value::plural(n, "call")),
        (false, []) => format!(
            "deleted {n} of {} calls (the rest were gone already)",
            keys.len()
        ),
        (_, kept) => format!(
            "deleted {n} of {} calls from the writable layers; {}: not deleted there",
            keys.len(),
            kept.join(", ")
        ),
    }
}
