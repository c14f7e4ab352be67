//! Where the active cache lives: `fleche.toml` discovery, merging and resolution.
//!
//! A project names its caches in `fleche.toml` files:
//!
//! ```toml
//! [default]
//! cache = "project"                   # a section below, "memory", or { path = "..." }
//! metadata = ["environment", "git", "resources"]   # built-in collectors
//! wait = true                         # wait for a call another process is computing
//! root = true                         # stop the upward search here
//!
//! [project]                           # any other top-level table is a named cache
//! path = ".fleche/cache.redb"         # relative to this file's directory; `~/` is home
//!
//! [scratch]
//! type = "memory"
//! ```
//!
//! [`Config::discover`] collects every `fleche.toml` from the current directory up to the
//! home directory (or the filesystem root), then the user's `<config dir>/fleche/fleche.toml`,
//! and merges them with the nearest file winning. [`Config::resolve_default`] then decides
//! which cache `cache()` should open, honouring the `FLECHE_CACHE` environment variable.
//!
//! Inside: `discover` finds and merges the files, `file` reads one file's format, `resolve`
//! picks a cache, and `error` says what went wrong.

mod discover;
mod error;
mod file;
mod resolve;
#[cfg(test)]
mod testing;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use error::ConfigError;

/// The name of the configuration file searched for in each directory.
pub const FILE_NAME: &str = "fleche.toml";

/// The environment variable that overrides the default cache (a cache name or a file path).
pub const ENV_CACHE: &str = "FLECHE_CACHE";

/// The environment variable the evcxr Jupyter kernel sets in the programs it runs.
pub const ENV_EVCXR: &str = "EVCXR_IS_RUNTIME";

/// The reserved cache name that always means an in-memory cache.
pub const MEMORY: &str = "memory";

/// The reserved cache name that switches caching off: cached functions just run.
pub const OFF: &str = "off";

/// What a named cache is: kept in memory for the life of the process, stored in a file, a
/// stack of such caches, or switched off.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheSpec {
    /// An in-memory cache; nothing survives the process.
    Memory,
    /// A redb cache file at this path (already rebased and `~`-expanded).
    File(PathBuf),
    /// Caching switched off (`off`): cached functions just run.
    Off,
    /// A PostgreSQL database (`type = "postgres"`, `url = "postgres://USER@HOST/DB"`); the
    /// password comes from `PGPASSWORD` or `~/.pgpass`, never from `fleche.toml`.
    Postgres(String),
    /// Layers looked up in order, top first (`[default] cache = ["local", "team"]`), or one
    /// cache section with options (`read_only`, `max_size`).
    Stack(Vec<LayerSpec>),
}

/// One layer of a [`CacheSpec::Stack`]: a named cache section and its options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LayerSpec {
    /// The section's name.
    pub name: String,
    /// Where it is: [`CacheSpec::Memory`] or [`CacheSpec::File`].
    pub spec: CacheSpec,
    /// `read_only = true`: never written, and skipped with a warning when missing or damaged.
    pub read_only: bool,
    /// `max_size`: the size in bytes above which the least recently used calls are evicted.
    pub max_size: Option<u64>,
}

impl fmt::Display for CacheSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheSpec::Memory => f.write_str("in memory"),
            CacheSpec::File(path) => write!(f, "{}", path.display()),
            CacheSpec::Off => f.write_str("off (caching switched off)"),
            CacheSpec::Postgres(url) => write!(f, "PostgreSQL {url}"),
            CacheSpec::Stack(layers) => {
                for (i, layer) in layers.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", then ")?;
                    }
                    if layers.len() > 1 {
                        write!(f, "`{}` ", layer.name)?;
                    }
                    write!(f, "{}", layer.spec)?;
                    if layer.read_only {
                        f.write_str(" (read-only)")?;
                    }
                    if let Some(max) = layer.max_size {
                        write!(f, " (max_size {})", human_size(max))?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl CacheSpec {
    /// The file new results are written to: the file itself, or the first writable file
    /// layer of a stack. `None` in memory, off, or when every file layer is read-only.
    pub fn top_file(&self) -> Option<&Path> {
        match self {
            CacheSpec::File(path) => Some(path),
            CacheSpec::Stack(layers) => layers.iter().find_map(|l| match &l.spec {
                CacheSpec::File(path) if !l.read_only => Some(path.as_path()),
                _ => None,
            }),
            CacheSpec::Memory | CacheSpec::Off | CacheSpec::Postgres(_) => None,
        }
    }

    /// The first cache file it names, read-only layers included: what a tool that looks at
    /// one file (a browser, `--cache NAME`) opens. `None` in memory or off.
    pub fn first_file(&self) -> Option<&Path> {
        match self {
            CacheSpec::File(path) => Some(path),
            CacheSpec::Stack(layers) => layers.iter().find_map(|l| l.spec.first_file()),
            CacheSpec::Memory | CacheSpec::Off | CacheSpec::Postgres(_) => None,
        }
    }
}

/// A size in bytes as `fleche.toml` would write it (`10 GiB`, `512 KiB`, `100 B`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    let mut value = bytes;
    while unit + 1 < UNITS.len() && value >= 1024 && value.is_multiple_of(1024) {
        value /= 1024;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}

/// The built-in metadata collectors `[default] metadata` turns on. Without that key only
/// `resources` is on (CPU time and memory, like Python fleche's default `Runtime`); a list
/// turns on exactly what it names (`metadata = []` turns everything off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MetadataConfig {
    /// Record environment information (`"environment"`) with each call.
    pub environment: bool,
    /// Record the git state of the working directory (`"git"`) with each call.
    pub git: bool,
    /// Record CPU time and peak memory growth (`"resources"`) with each call.
    pub resources: bool,
}

impl MetadataConfig {
    /// No collector at all.
    pub const NONE: MetadataConfig = MetadataConfig {
        environment: false,
        git: false,
        resources: false,
    };
}

impl Default for MetadataConfig {
    fn default() -> MetadataConfig {
        MetadataConfig {
            resources: true,
            ..MetadataConfig::NONE
        }
    }
}

/// Why a cache was chosen; its [`Display`](fmt::Display) is a short phrase for a notice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The `FLECHE_CACHE` environment variable chose it.
    EnvVar,
    /// This configuration file chose it (its `[default] cache`, or the section's definition
    /// when resolved by name).
    ConfigFile(PathBuf),
    /// Nothing configured a default and the program runs inside the evcxr Jupyter kernel.
    NotebookDefault,
    /// Nothing configured a default: results are kept in memory only.
    NoConfig,
    /// It was asked for explicitly through [`Config::resolve`] (the `memory` keyword or a path).
    Requested,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::EnvVar => write!(f, "set by {ENV_CACHE}"),
            Origin::ConfigFile(file) => write!(f, "configured in {}", file.display()),
            Origin::NotebookDefault => f.write_str("notebook default, no cache configured"),
            Origin::NoConfig => f.write_str("no cache configured, results kept in memory only"),
            Origin::Requested => f.write_str("requested explicitly"),
        }
    }
}

/// The cache `cache()` should open, and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resolved {
    /// The cache's name (a section name or `"memory"`), or `None` for a bare path or a fallback.
    pub name: Option<String>,
    /// What to open.
    pub spec: CacheSpec,
    /// Why this cache was chosen.
    pub origin: Origin,
}

/// `[default] cache`: a section name or an inline cache definition.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DefaultCache {
    Name(String),
    Inline(CacheSpec),
    /// Section names, top layer first.
    Stack(Vec<String>),
}

/// A named cache and the file that defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CacheEntry {
    spec: CacheSpec,
    file: PathBuf,
}

/// Merged configuration from every `fleche.toml` that applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    caches: BTreeMap<String, CacheEntry>,
    /// The default cache and the file whose `[default] cache` set it.
    default_cache: Option<(DefaultCache, PathBuf)>,
    metadata: MetadataConfig,
    /// `[default] wait` from the nearest file that sets it.
    wait: Option<bool>,
    /// Files read, nearest first.
    files: Vec<PathBuf>,
    /// Home directory used for `~` expansion.
    home: Option<PathBuf>,
}

impl Config {
    /// The optional metadata collectors to run.
    pub fn metadata(&self) -> &MetadataConfig {
        &self.metadata
    }

    /// Whether a miss waits for another process that is computing the same call (compute
    /// once), as `[default] wait` says; true by default. `FLECHE_WAIT` and
    /// `#[fleche(wait = false)]` can turn it off too.
    pub fn wait(&self) -> bool {
        self.wait.unwrap_or(true)
    }

    /// The names of the configured cache sections, sorted (the always-available `memory` is
    /// not listed).
    pub fn cache_names(&self) -> impl Iterator<Item = &str> {
        self.caches.keys().map(String::as_str)
    }

    /// The configuration files that were read, nearest (highest priority) first.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

/// The configuration read from `fleche.toml` files, once per process (so that every cache
/// lookup and metadata collector sees the same files, and a broken file is reported once).
pub(crate) fn current() -> &'static Result<Config, ConfigError> {
    static CONFIG: OnceLock<Result<Config, ConfigError>> = OnceLock::new();
    CONFIG.get_or_init(Config::discover)
}

/// Makes `path` absolute without touching the filesystem; falls back to `path` itself.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Expands a leading `~` or `~/` to `home`; other paths are returned unchanged.
fn expand_tilde(
    path: &str,
    home: Option<&Path>,
    context: impl FnOnce() -> String,
) -> Result<PathBuf, ConfigError> {
    let rest = if path == "~" {
        Some("")
    } else {
        path.strip_prefix('~').and_then(|r| {
            r.strip_prefix('/')
                .or_else(|| r.strip_prefix(std::path::MAIN_SEPARATOR))
        })
    };
    match rest {
        None => Ok(PathBuf::from(path)),
        Some(rest) => match home {
            Some(home) if rest.is_empty() => Ok(home.to_path_buf()),
            Some(home) => Ok(home.join(rest)),
            None => Err(ConfigError::NoHomeDir {
                path: path.to_owned(),
                context: context(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_origin_display_is_short() {
        for origin in [
            Origin::EnvVar,
            Origin::ConfigFile("/p/fleche.toml".into()),
            Origin::NotebookDefault,
            Origin::NoConfig,
            Origin::Requested,
        ] {
            let text = origin.to_string();
            assert!(
                !text.is_empty() && text.len() < 60 && !text.contains('\n'),
                "{text}"
            );
        }
        assert_eq!(
            Origin::ConfigFile("/p/fleche.toml".into()).to_string(),
            "configured in /p/fleche.toml"
        );
        assert_eq!(Origin::EnvVar.to_string(), "set by FLECHE_CACHE");
    }
}
