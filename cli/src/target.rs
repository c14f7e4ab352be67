//! Which cache a command works on (`--cache PATH|NAME`, else the default the library would
//! use) and opening it: read-only for commands that only read, read-write for those that
//! change it, with a message a user can act on for each way that can fail.

use std::path::{Path, PathBuf};

use fleche::config::{CacheSpec, Config};
use fleche::{Cache, Stack};

use crate::failure::Failure;

/// The cache named on the command line, if any.
#[derive(Debug, Clone)]
pub struct Target {
    given: Option<String>,
}

/// A cache file chosen, and why.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The file.
    pub path: PathBuf,
    /// Why this one, when `--cache` did not give a path.
    pub why: Option<String>,
}

impl Target {
    /// `--cache`'s value.
    pub fn new(given: Option<String>) -> Target {
        Target { given }
    }

    /// What `--cache` said, if anything.
    pub fn given(&self) -> Option<&str> {
        self.given.as_deref()
    }

    /// The cache file to work on.
    pub fn choose(&self) -> Result<Chosen, Failure> {
        if let Some(given) = &self.given {
            let path = PathBuf::from(given);
            if !path.exists()
                && let Ok(config) = Config::discover()
                && let Ok(resolved) = config.resolve(given)
                && resolved.name.is_some()
            {
                return match (resolved.spec.first_file(), &resolved.spec) {
                    (Some(file), _) => Ok(Chosen {
                        path: file.to_path_buf(),
                        why: Some(format!("cache `{given}`, {}", resolved.origin)),
                    }),
                    (None, CacheSpec::Off) => Err(Failure::usage(format!(
                        "`{given}` switches caching off: there is no cache to work on"
                    ))),
                    (None, CacheSpec::Postgres(url)) => Err(Failure::usage(format!(
                        "cache `{given}` is the PostgreSQL database {url}; the `fleche` command works on cache files: give one with --cache PATH"
                    ))),
                    (None, _) => Err(Failure::usage(format!(
                        "cache `{given}` is in memory: there is nothing on disk to work on"
                    ))),
                };
            }
            return Ok(Chosen { path, why: None });
        }
        let config = Config::discover().map_err(|e| Failure::usage(e.to_string()))?;
        let resolved = config
            .resolve_default()
            .map_err(|e| Failure::usage(e.to_string()))?;
        match resolved.spec {
            CacheSpec::File(path) => Ok(Chosen {
                path,
                why: Some(format!("the default cache, {}", resolved.origin)),
            }),
            CacheSpec::Memory => Err(Failure::usage(format!(
                "no cache file to work on: the default cache is in memory ({}).\n\
                 Give one with --cache PATH, set FLECHE_CACHE, or name a default in fleche.toml \
                 ([default] cache = \"...\"); `fleche config` shows what applies.",
                resolved.origin
            ))),
            CacheSpec::Off => Err(Failure::usage(format!(
                "no cache to work on: caching is switched off ({}). Give one with --cache PATH.",
                resolved.origin
            ))),
            CacheSpec::Postgres(url) => Err(Failure::usage(format!(
                "the default cache is the PostgreSQL database {url} ({}); the `fleche` command works on cache files: give one with --cache PATH",
                resolved.origin
            ))),
            ref stack @ CacheSpec::Stack(_) => match stack.top_file() {
                Some(path) => Ok(Chosen {
                    path: path.to_path_buf(),
                    why: Some(format!(
                        "the top file of the default stack, {}",
                        resolved.origin
                    )),
                }),
                None => Err(Failure::usage(format!(
                    "no writable cache file in the default stack {stack} ({}); give one with --cache PATH",
                    resolved.origin
                ))),
            },
        }
    }

    /// Opens the cache without ever writing to it.
    pub fn open_read(&self) -> Result<Cache, Failure> {
        let chosen = self.choose()?;
        Cache::open_read_only(&chosen.path).map_err(|e| open_failure(&chosen.path, &e))
    }

    /// Opens the cache for listing without writing to it: every file layer of the default
    /// stack (top first; a missing one is skipped with a warning) when no `--cache` is given
    /// and the default is a stack, else the one cache file.
    pub fn open_read_layers(&self) -> Result<Cache, Failure> {
        if self.given.is_none() {
            let config = Config::discover().map_err(|e| Failure::usage(e.to_string()))?;
            let resolved = config
                .resolve_default()
                .map_err(|e| Failure::usage(e.to_string()))?;
            if let CacheSpec::Stack(layers) = &resolved.spec
                && layers.len() > 1
            {
                let mut stack = Stack::new();
                for layer in layers {
                    let CacheSpec::File(path) = &layer.spec else {
                        continue;
                    };
                    match Cache::open_read_only(path) {
                        Ok(cache) => stack = stack.read_only(&layer.name, cache),
                        Err(e) => eprintln!("fleche: layer `{}` skipped: {e}", layer.name),
                    }
                }
                return stack.build().map_err(|e| Failure::usage(e.to_string()));
            }
        }
        self.open_read()
    }

    /// Opens an existing cache for reading and writing.
    pub fn open_write(&self) -> Result<Cache, Failure> {
        let chosen = self.choose()?;
        Cache::open_existing(&chosen.path).map_err(|e| open_failure(&chosen.path, &e))
    }

    /// Opens the cache for writing, creating it if it does not exist (for `import`).
    pub fn open_or_create(&self) -> Result<Cache, Failure> {
        let chosen = self.choose()?;
        Cache::open(&chosen.path).map_err(|e| open_failure(&chosen.path, &e))
    }
}

/// Why a cache did not open, and what to do: exit code 2, except damage (1).
pub fn open_failure(path: &Path, e: &fleche::Error) -> Failure {
    use std::io::ErrorKind;
    let message = match e {
        fleche::Error::Io { source, .. } if source.kind() == ErrorKind::NotFound => format!(
            "no cache file at {}. Check the path, or run a program that caches into it first.",
            path.display()
        ),
        fleche::Error::Io { source, .. } if source.kind() == ErrorKind::PermissionDenied => {
            format!(
                "cannot open {} for writing: permission denied. Commands that only read \
                 (ls, show, stats, verify, export) work on a read-only file.",
                path.display()
            )
        }
        fleche::Error::Corrupted { .. } => return Failure::failed(e.to_string()),
        other => other.to_string(),
    };
    Failure::usage(message)
}
