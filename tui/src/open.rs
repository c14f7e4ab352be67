//! Choosing and opening the cache file, with a message a user can act on for each way it can
//! fail; and the one change the browser makes to it, deleting calls. Opening never writes to
//! the file unless `--write` asked for it: a file a crashed writer left needing repair is
//! shown from a repaired private copy, and repaired itself only by `--write`.

use std::path::{Path, PathBuf};

use fleche::config::{CacheSpec, Config};
use fleche::{Cache, Digest};

/// The cache to open and why this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The file.
    pub path: PathBuf,
    /// Why it was chosen, when it was not given on the command line.
    pub why: Option<String>,
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
                && let (Some(name), Some(file)) = (&resolved.name, resolved.spec.first_file())
            {
                return Ok(Chosen {
                    path: file.to_path_buf(),
                    why: Some(format!("cache `{name}` ({})", resolved.origin)),
                });
            }
        }
        return Ok(Chosen { path, why: None });
    }
    let config = Config::discover().map_err(|e| format!("fleche-tui: {e}"))?;
    let resolved = config
        .resolve_default()
        .map_err(|e| format!("fleche-tui: {e}"))?;
    match resolved.spec {
        CacheSpec::File(path) => Ok(Chosen {
            path,
            why: Some(format!("the default cache ({})", resolved.origin)),
        }),
        CacheSpec::Memory => Err(memory_default(&resolved.origin.to_string())),
        CacheSpec::Off => Err(format!(
            "fleche-tui: caching is switched off ({}): there is no cache to browse. \
             Give a cache file: `fleche-tui path/to/cache.redb`.",
            resolved.origin
        )),
        CacheSpec::Postgres(url) => Err(format!(
            "fleche-tui: the default cache is the PostgreSQL database {url} ({}), and fleche-tui \
             browses cache files. Put a local file above it (cache = [\"local\", \"team\"] in \
             fleche.toml) and browse that, or give a cache file: `fleche-tui path/to/cache.redb`.",
            resolved.origin
        )),
        ref stack @ CacheSpec::Stack(_) => match stack.top_file() {
            Some(path) => Ok(Chosen {
                path: path.to_path_buf(),
                why: Some(format!(
                    "the top file of the default stack {stack} ({})",
                    resolved.origin
                )),
            }),
            None => Err(memory_default(&resolved.origin.to_string())),
        },
    }
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
    /// The copy's directory, removed when this is dropped (after `cache`, declared first).
    _copy_dir: Option<tempfile::TempDir>,
}

impl Opened {
    fn file(cache: Cache, note: Option<String>) -> Opened {
        Opened {
            cache,
            copy: false,
            note,
            _copy_dir: None,
        }
    }
}

/// Opens the cache read-only, or read-write with `writable` (`--write`), in redb's
/// multi-process mode so a notebook can keep writing to it.
///
/// A file left needing repair by a crashed writer is repaired by a read-write open (redb
/// does it on opening); read-only, it is copied to a private directory, the copy is repaired
/// and shown, and the file stays as it was.
pub fn open(path: &Path, writable: bool) -> Result<Opened, String> {
    let message = |e: fleche::Error| error_message(path, &e);
    let read_only = Cache::open_read_only(path);
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
    let cache = Cache::open_read_only(&copy).map_err(|e| failed(&e))?;
    Ok(Opened {
        cache,
        copy: true,
        note: Some(copy_note(path)),
        _copy_dir: Some(dir),
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

/// Deletes these calls' records in one write transaction (all or none; their values stay, as
/// other calls may share them) and says what happened. Calls another process deleted first
/// are not counted.
pub fn delete(cache: &Cache, keys: &[Digest]) -> String {
    match cache.query().among(keys.iter().copied()).evict() {
        Ok(n) if n == keys.len() => format!("deleted {n} calls"),
        Ok(n) => format!(
            "deleted {n} of {} calls (the rest were gone already)",
            keys.len()
        ),
        Err(e) => format!("nothing deleted: {e}"),
    }
}
