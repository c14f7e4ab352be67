//! Choosing and opening the cache file, with a message a user can act on for each way it can
//! fail; and the one change the browser makes to it, deleting calls. Opening never writes to
//! the file unless `--write` asked for it.

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
                && let (Some(name), CacheSpec::File(file)) = (&resolved.name, resolved.spec)
            {
                return Ok(Chosen {
                    path: file,
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

/// Opens the cache read-only, or read-write with `writable` (`--write`), in redb's
/// multi-process mode so a notebook can keep writing to it.
pub fn open(path: &Path, writable: bool) -> Result<Cache, String> {
    let opened = if writable {
        Cache::open_existing(path)
    } else {
        Cache::open_read_only(path)
    };
    opened.map_err(|e| error_message(path, &e))
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
