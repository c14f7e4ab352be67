//! Where the active cache lives: `fleche.toml` discovery, merging and resolution.
//!
//! A project names its caches in `fleche.toml` files:
//!
//! ```toml
//! [default]
//! cache = "project"                   # a section below, "memory", or { path = "..." }
//! metadata = ["environment", "git"]   # optional collectors
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

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// The name of the configuration file searched for in each directory.
pub const FILE_NAME: &str = "fleche.toml";

/// The environment variable that overrides the default cache (a cache name or a file path).
pub const ENV_CACHE: &str = "FLECHE_CACHE";

/// The environment variable the evcxr Jupyter kernel sets in the programs it runs.
pub const ENV_EVCXR: &str = "EVCXR_IS_RUNTIME";

/// The reserved cache name that always means an in-memory cache.
pub const MEMORY: &str = "memory";

/// Valid names in `[default] metadata`.
const COLLECTORS: &str = "environment, git";
/// Valid keys in `[default]`.
const DEFAULT_KEYS: &str = "cache, metadata, root";
/// Valid keys in a cache section.
const CACHE_KEYS: &str = "path, type";

/// What a named cache is: kept in memory for the life of the process, or stored in a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheSpec {
    /// An in-memory cache; nothing survives the process.
    Memory,
    /// A redb cache file at this path (already rebased and `~`-expanded).
    File(PathBuf),
}

impl fmt::Display for CacheSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheSpec::Memory => f.write_str("in memory"),
            CacheSpec::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Optional metadata collectors enabled by `[default] metadata`; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MetadataConfig {
    /// Record environment information (`"environment"`) with each call.
    pub environment: bool,
    /// Record the git state of the working directory (`"git"`) with each call.
    pub git: bool,
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

/// A problem finding, reading or applying configuration. Every message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The current directory could not be determined.
    #[error(
        "cannot determine the current directory ({source}); run from an existing, accessible directory"
    )]
    CurrentDir {
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A configuration file exists but could not be read.
    #[error("cannot read {}: {source}; check the file's permissions or remove it", .file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A configuration file is not valid TOML.
    #[error("{} is not valid TOML: {message}; fix the syntax", .file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// Where and what the parser complained about.
        message: String,
    },
    /// A key holds a value of the wrong type.
    #[error("{}: `{key}` must be {expected}, found {found}; change its value", .file.display())]
    WrongType {
        /// The file.
        file: PathBuf,
        /// The dotted key, such as `default.root`.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// The TOML type found.
        found: &'static str,
    },
    /// A section holds a key fleche does not know.
    #[error("{}: unknown key `{key}` in [{section}]; remove it or fix its spelling (allowed keys: {allowed})", .file.display())]
    UnknownKey {
        /// The file.
        file: PathBuf,
        /// The section.
        section: String,
        /// The unknown key.
        key: String,
        /// The keys allowed there.
        allowed: &'static str,
    },
    /// A cache section has a `type` other than `file` or `memory`.
    #[error("{}: [{section}] has unknown type `{found}`; use type = \"file\" (with a path) or type = \"memory\"", .file.display())]
    UnknownType {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
        /// The type given.
        found: String,
    },
    /// A cache section says neither where its file is nor that it is in memory.
    #[error("{}: [{section}] has neither `path` nor `type = \"memory\"`; add path = \"...\" for a cache file, or type = \"memory\"", .file.display())]
    MissingPath {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
    },
    /// A cache section says `type = "file"` without a `path`.
    #[error("{}: [{section}] has type = \"file\" but no `path`; add path = \"...\"", .file.display())]
    FileWithoutPath {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
    },
    /// A cache section says `type = "memory"` and also gives a `path`.
    #[error("{}: [{section}] has type = \"memory\" and also a `path`; remove the path, or set type = \"file\"", .file.display())]
    MemoryWithPath {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
    },
    /// A cache section has `path = ""`.
    #[error("{}: [{section}] has an empty `path`; give the cache file's path, e.g. path = \".fleche/cache.redb\"", .file.display())]
    EmptyPath {
        /// The file.
        file: PathBuf,
        /// The cache section.
        section: String,
    },
    /// A section uses the reserved name `memory`.
    #[error("{}: [{section}] cannot be a cache section because `{section}` is reserved; rename the section", .file.display())]
    ReservedName {
        /// The file.
        file: PathBuf,
        /// The reserved name.
        section: String,
    },
    /// `[default] metadata` names an unknown collector.
    #[error("{}: unknown metadata collector `{name}` in [default] metadata; use only these: {COLLECTORS}", .file.display())]
    UnknownCollector {
        /// The file.
        file: PathBuf,
        /// The unknown collector.
        name: String,
    },
    /// A path starts with `~` but the home directory is unknown.
    #[error(
        "cannot expand `~` in `{path}` ({context}) because the home directory is unknown; write an absolute path instead"
    )]
    NoHomeDir {
        /// The path as written.
        path: String,
        /// Where the path was written.
        context: String,
    },
    /// A cache name that no configuration defines.
    #[error("unknown cache `{name}` ({context}); known caches: {}. Define a [{name}] section in a fleche.toml, or use a known name{}", .known.join(", "), if *.accepts_path { " or a file path such as `./cache.redb`" } else { "" })]
    UnknownCache {
        /// The name asked for.
        name: String,
        /// Who asked for it.
        context: String,
        /// The names that would have worked, `memory` first.
        known: Vec<String>,
        /// Whether a file path would also have been accepted there.
        accepts_path: bool,
    },
}

/// `[default] cache`: a section name or an inline cache definition.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DefaultCache {
    Name(String),
    Inline(CacheSpec),
}

/// A named cache and the file that defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CacheEntry {
    spec: CacheSpec,
    file: PathBuf,
}

/// One parsed `fleche.toml`, before merging.
#[derive(Debug)]
struct FileConfig {
    file: PathBuf,
    default_cache: Option<DefaultCache>,
    metadata: Option<MetadataConfig>,
    root: bool,
    caches: BTreeMap<String, CacheSpec>,
}

/// Merged configuration from every `fleche.toml` that applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    caches: BTreeMap<String, CacheEntry>,
    /// The default cache and the file whose `[default] cache` set it.
    default_cache: Option<(DefaultCache, PathBuf)>,
    metadata: MetadataConfig,
    /// Files read, nearest first.
    files: Vec<PathBuf>,
    /// Home directory used for `~` expansion.
    home: Option<PathBuf>,
}

impl Config {
    /// Discovers configuration from the current directory, the real home directory and the
    /// user configuration directory (see [`Config::discover_from`]).
    pub fn discover() -> Result<Config, ConfigError> {
        let cwd = std::env::current_dir().map_err(|source| ConfigError::CurrentDir { source })?;
        let home = dirs::home_dir();
        let user_config_dir = dirs::config_dir();
        Config::discover_from(&cwd, home.as_deref(), user_config_dir.as_deref())
    }

    /// Discovers configuration starting at `start`.
    ///
    /// Every `fleche.toml` from `start` upward is collected, up to and including `home` when
    /// `start` is under it (otherwise up to the filesystem root), then
    /// `<user_config_dir>/fleche/fleche.toml` with the lowest priority. A file whose
    /// `[default]` says `root = true` ends the search: farther files and the user file are
    /// ignored. Files are merged with the nearest winning: `[default]` key by key, and a named
    /// cache section replaces a same-named one from a farther file entirely.
    pub fn discover_from(
        start: &Path,
        home: Option<&Path>,
        user_config_dir: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let start = absolute(start);
        let home = home.map(absolute);
        let stop_at = home.as_deref().filter(|h| start.starts_with(h));

        let mut parsed = Vec::new();
        let mut stopped = false;
        for dir in start.ancestors() {
            let file = dir.join(FILE_NAME);
            if let Some(config) = read_file(&file, home.as_deref())? {
                let root = config.root;
                parsed.push(config);
                if root {
                    tracing::debug!(file = %file.display(), "fleche.toml has root = true; search stops");
                    stopped = true;
                    break;
                }
            }
            if Some(dir) == stop_at {
                break;
            }
        }
        if !stopped && let Some(dir) = user_config_dir {
            let file = absolute(&dir.join("fleche").join(FILE_NAME));
            if !parsed.iter().any(|c| c.file == file)
                && let Some(config) = read_file(&file, home.as_deref())?
            {
                parsed.push(config);
            }
        }
        Ok(merge(parsed, home))
    }

    /// Reads one configuration file's text; `file` names it in errors and is the base for its
    /// relative paths. `~` expands to the real home directory.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
        let home = dirs::home_dir();
        let parsed = parse_file(text, file, home.as_deref())?;
        Ok(merge(vec![parsed], home))
    }

    /// Decides which cache `cache()` should open, reading `FLECHE_CACHE`,
    /// `EVCXR_IS_RUNTIME` and the current directory (see [`Config::resolve_default_with`]).
    pub fn resolve_default(&self) -> Result<Resolved, ConfigError> {
        let env_cache = std::env::var(ENV_CACHE).ok();
        let in_evcxr = std::env::var_os(ENV_EVCXR).is_some_and(|v| !v.is_empty());
        let cwd = std::env::current_dir().map_err(|source| ConfigError::CurrentDir { source })?;
        self.resolve_default_with(env_cache.as_deref(), in_evcxr, &cwd)
    }

    /// Decides which cache `cache()` should open.
    ///
    /// 1. `env_cache` (the value of `FLECHE_CACHE`), when set and not blank: a cache name if
    ///    such a section exists or it is `memory`; otherwise a file path (relative to `cwd`) if
    ///    it looks like one (contains a path separator, ends in `.redb`, or starts with `.` or
    ///    `~`); otherwise [`ConfigError::UnknownCache`].
    /// 2. The configuration's `[default] cache`.
    /// 3. Inside the evcxr Jupyter kernel (`in_evcxr`): the file `<cwd>/.fleche/cache.redb`.
    /// 4. Otherwise an in-memory cache.
    pub fn resolve_default_with(
        &self,
        env_cache: Option<&str>,
        in_evcxr: bool,
        cwd: &Path,
    ) -> Result<Resolved, ConfigError> {
        if let Some(value) = env_cache.map(str::trim).filter(|v| !v.is_empty()) {
            return self.resolve_name_or_path(
                value,
                Some(cwd),
                Origin::EnvVar,
                &format!("from the {ENV_CACHE} environment variable"),
            );
        }
        if let Some((default, file)) = &self.default_cache {
            let origin = Origin::ConfigFile(file.clone());
            return match default {
                DefaultCache::Inline(spec) => Ok(Resolved {
                    name: None,
                    spec: spec.clone(),
                    origin,
                }),
                DefaultCache::Name(name) => self.resolve_name(name, origin).ok_or_else(|| {
                    self.unknown_cache(
                        name,
                        format!("named by [default] cache in {}", file.display()),
                        false,
                    )
                }),
            };
        }
        if in_evcxr {
            return Ok(Resolved {
                name: None,
                spec: CacheSpec::File(cwd.join(".fleche").join("cache.redb")),
                origin: Origin::NotebookDefault,
            });
        }
        Ok(Resolved {
            name: None,
            spec: CacheSpec::Memory,
            origin: Origin::NoConfig,
        })
    }

    /// Resolves a cache asked for by name (a section name or `memory`), or by a file path
    /// under the same rules as `FLECHE_CACHE`; relative paths are joined onto the current
    /// directory. An unknown name is [`ConfigError::UnknownCache`].
    pub fn resolve(&self, name_or_path: &str) -> Result<Resolved, ConfigError> {
        let cwd = std::env::current_dir().ok();
        self.resolve_name_or_path(
            name_or_path.trim(),
            cwd.as_deref(),
            Origin::Requested,
            "requested by name",
        )
    }

    /// The optional metadata collectors to run.
    pub fn metadata(&self) -> &MetadataConfig {
        &self.metadata
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

    /// A named section or the `memory` keyword; `None` if unknown. `origin` is used for
    /// `memory`; a section's origin is `default_origin` unless that is `Requested`, in which
    /// case it is the defining file.
    fn resolve_name(&self, name: &str, default_origin: Origin) -> Option<Resolved> {
        if let Some(entry) = self.caches.get(name) {
            let origin = match default_origin {
                Origin::Requested => Origin::ConfigFile(entry.file.clone()),
                other => other,
            };
            return Some(Resolved {
                name: Some(name.to_owned()),
                spec: entry.spec.clone(),
                origin,
            });
        }
        (name == MEMORY).then(|| Resolved {
            name: Some(MEMORY.to_owned()),
            spec: CacheSpec::Memory,
            origin: default_origin,
        })
    }

    fn resolve_name_or_path(
        &self,
        value: &str,
        cwd: Option<&Path>,
        origin: Origin,
        context: &str,
    ) -> Result<Resolved, ConfigError> {
        if let Some(resolved) = self.resolve_name(value, origin.clone()) {
            return Ok(resolved);
        }
        if value.is_empty() || !looks_like_path(value) {
            return Err(self.unknown_cache(value, context.to_owned(), true));
        }
        let expanded = expand_tilde(value, self.home.as_deref(), || context.to_owned())?;
        let path = match cwd {
            Some(cwd) => cwd.join(expanded),
            None => expanded,
        };
        Ok(Resolved {
            name: None,
            spec: CacheSpec::File(path),
            origin,
        })
    }

    fn unknown_cache(&self, name: &str, context: String, accepts_path: bool) -> ConfigError {
        let known = std::iter::once(MEMORY)
            .chain(self.cache_names())
            .map(str::to_owned)
            .collect();
        ConfigError::UnknownCache {
            name: name.to_owned(),
            context,
            known,
            accepts_path,
        }
    }
}

/// Whether a `FLECHE_CACHE` value that is not a known name should be taken as a file path.
fn looks_like_path(value: &str) -> bool {
    value.contains('/')
        || value.contains(std::path::MAIN_SEPARATOR)
        || value.ends_with(".redb")
        || value.starts_with('.')
        || value.starts_with('~')
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

/// Reads and parses `file`; `Ok(None)` if there is no such file.
fn read_file(file: &Path, home: Option<&Path>) -> Result<Option<FileConfig>, ConfigError> {
    if !file.is_file() {
        return Ok(None);
    }
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                file: file.to_path_buf(),
                source,
            });
        }
    };
    tracing::debug!(file = %file.display(), "reading fleche configuration");
    parse_file(&text, file, home).map(Some)
}

/// Merges parsed files given nearest first.
fn merge(parsed: Vec<FileConfig>, home: Option<PathBuf>) -> Config {
    let mut config = Config {
        home,
        ..Config::default()
    };
    let mut metadata = None;
    for file_config in parsed {
        let FileConfig {
            file,
            default_cache,
            metadata: file_metadata,
            root: _,
            caches,
        } = file_config;
        if config.default_cache.is_none()
            && let Some(default) = default_cache
        {
            config.default_cache = Some((default, file.clone()));
        }
        if metadata.is_none() {
            metadata = file_metadata;
        }
        for (name, spec) in caches {
            config.caches.entry(name).or_insert_with(|| CacheEntry {
                spec,
                file: file.clone(),
            });
        }
        config.files.push(file);
    }
    config.metadata = metadata.unwrap_or_default();
    config
}

/// Parses one file's text; `file` names it in errors and is the base of relative paths.
fn parse_file(text: &str, file: &Path, home: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            file: file.to_path_buf(),
            message: syntax_message(text, &e),
        })?;
    let base = file.parent().unwrap_or(Path::new(""));
    let mut out = FileConfig {
        file: file.to_path_buf(),
        default_cache: None,
        metadata: None,
        root: false,
        caches: BTreeMap::new(),
    };
    for (key, value) in &table {
        if key == "default" {
            let section = expect_table(value, file, "default", "a table ([default])")?;
            parse_default(section, file, base, home, &mut out)?;
            continue;
        }
        let section = expect_table(value, file, key, "a table (a [section] naming a cache)")?;
        if key == MEMORY {
            return Err(ConfigError::ReservedName {
                file: file.to_path_buf(),
                section: key.clone(),
            });
        }
        let spec = parse_cache(section, key, file, base, home)?;
        out.caches.insert(key.clone(), spec);
    }
    Ok(out)
}

fn parse_default(
    section: &Table,
    file: &Path,
    base: &Path,
    home: Option<&Path>,
    out: &mut FileConfig,
) -> Result<(), ConfigError> {
    for (key, value) in section {
        match key.as_str() {
            "cache" => {
                out.default_cache = Some(match value {
                    Value::String(name) => DefaultCache::Name(name.clone()),
                    Value::Table(inline) => DefaultCache::Inline(parse_cache(
                        inline,
                        "default.cache",
                        file,
                        base,
                        home,
                    )?),
                    other => {
                        return Err(wrong_type(
                            file,
                            "default.cache",
                            "a cache name or an inline table like { path = \"...\" }",
                            other,
                        ));
                    }
                });
            }
            "metadata" => {
                let Value::Array(items) = value else {
                    return Err(wrong_type(
                        file,
                        "default.metadata",
                        "an array of collector names like [\"environment\", \"git\"]",
                        value,
                    ));
                };
                let mut metadata = MetadataConfig::default();
                for item in items {
                    let Value::String(name) = item else {
                        return Err(wrong_type(
                            file,
                            "default.metadata",
                            "an array of collector names (strings)",
                            item,
                        ));
                    };
                    match name.as_str() {
                        "environment" => metadata.environment = true,
                        "git" => metadata.git = true,
                        _ => {
                            return Err(ConfigError::UnknownCollector {
                                file: file.to_path_buf(),
                                name: name.clone(),
                            });
                        }
                    }
                }
                out.metadata = Some(metadata);
            }
            "root" => {
                let Value::Boolean(root) = value else {
                    return Err(wrong_type(file, "default.root", "true or false", value));
                };
                out.root = *root;
            }
            _ => {
                return Err(ConfigError::UnknownKey {
                    file: file.to_path_buf(),
                    section: "default".to_owned(),
                    key: key.clone(),
                    allowed: DEFAULT_KEYS,
                });
            }
        }
    }
    Ok(())
}

/// Parses a cache section (or an inline `[default] cache` table) named `section`.
fn parse_cache(
    table: &Table,
    section: &str,
    file: &Path,
    base: &Path,
    home: Option<&Path>,
) -> Result<CacheSpec, ConfigError> {
    let mut path = None;
    let mut kind = None;
    for (key, value) in table {
        match key.as_str() {
            "path" => {
                let Value::String(p) = value else {
                    return Err(wrong_type(
                        file,
                        &format!("{section}.path"),
                        "a string (the cache file's path)",
                        value,
                    ));
                };
                path = Some(p.as_str());
            }
            "type" => {
                let Value::String(t) = value else {
                    return Err(wrong_type(
                        file,
                        &format!("{section}.type"),
                        "\"file\" or \"memory\"",
                        value,
                    ));
                };
                kind = Some(t.as_str());
            }
            _ => {
                return Err(ConfigError::UnknownKey {
                    file: file.to_path_buf(),
                    section: section.to_owned(),
                    key: key.clone(),
                    allowed: CACHE_KEYS,
                });
            }
        }
    }
    let err_section = || (file.to_path_buf(), section.to_owned());
    match (kind, path) {
        (Some("memory"), None) => Ok(CacheSpec::Memory),
        (Some("memory"), Some(_)) => {
            let (file, section) = err_section();
            Err(ConfigError::MemoryWithPath { file, section })
        }
        (Some("file") | None, Some("")) => {
            let (file, section) = err_section();
            Err(ConfigError::EmptyPath { file, section })
        }
        (Some("file") | None, Some(p)) => {
            let expanded = expand_tilde(p, home, || {
                format!("[{section}] path in {}", file.display())
            })?;
            Ok(CacheSpec::File(base.join(expanded)))
        }
        (Some("file"), None) => {
            let (file, section) = err_section();
            Err(ConfigError::FileWithoutPath { file, section })
        }
        (None, None) => {
            let (file, section) = err_section();
            Err(ConfigError::MissingPath { file, section })
        }
        (Some(other), _) => Err(ConfigError::UnknownType {
            file: file.to_path_buf(),
            section: section.to_owned(),
            found: other.to_owned(),
        }),
    }
}

fn expect_table<'a>(
    value: &'a Value,
    file: &Path,
    key: &str,
    expected: &'static str,
) -> Result<&'a Table, ConfigError> {
    match value {
        Value::Table(table) => Ok(table),
        other => Err(wrong_type(file, key, expected, other)),
    }
}

fn wrong_type(file: &Path, key: &str, expected: &'static str, found: &Value) -> ConfigError {
    ConfigError::WrongType {
        file: file.to_path_buf(),
        key: key.to_owned(),
        expected,
        found: found.type_str(),
    }
}

/// A one-line parser complaint with its line and column.
fn syntax_message(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', "; ");
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A temporary tree: `<tmp>/home` is home, `<tmp>/config` the user config dir.
    struct Tree {
        tmp: tempfile::TempDir,
    }

    impl Tree {
        fn new() -> Tree {
            let tree = Tree {
                tmp: tempfile::tempdir().unwrap(),
            };
            fs::create_dir_all(tree.home()).unwrap();
            fs::create_dir_all(tree.user_config()).unwrap();
            tree
        }
        fn root(&self) -> PathBuf {
            absolute(self.tmp.path())
        }
        fn home(&self) -> PathBuf {
            self.root().join("home")
        }
        fn user_config(&self) -> PathBuf {
            self.root().join("config")
        }
        /// Writes `fleche.toml` into `dir` (created) and returns the file's path.
        fn write(&self, dir: &Path, text: &str) -> PathBuf {
            fs::create_dir_all(dir).unwrap();
            let file = dir.join(FILE_NAME);
            fs::write(&file, text).unwrap();
            file
        }
        fn write_user(&self, text: &str) -> PathBuf {
            self.write(&self.user_config().join("fleche"), text)
        }
        fn discover(&self, start: &Path) -> Result<Config, ConfigError> {
            fs::create_dir_all(start).unwrap();
            Config::discover_from(start, Some(&self.home()), Some(&self.user_config()))
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, Path::new("/proj/fleche.toml"))
    }

    fn default_of(config: &Config) -> Resolved {
        config
            .resolve_default_with(None, false, Path::new("/cwd"))
            .unwrap()
    }

    fn file(path: impl AsRef<Path>) -> CacheSpec {
        CacheSpec::File(path.as_ref().to_path_buf())
    }

    #[test]
    fn config_nearest_wins_key_by_key_and_section_replaced_whole() {
        let t = Tree::new();
        let proj = t.home().join("proj");
        let sub = proj.join("sub");
        let far = t.write(
            &proj,
            r#"
            [default]
            cache = "shared"
            metadata = ["git"]

            [shared]
            path = "far.redb"

            [scratch]
            path = "scratch.redb"
            "#,
        );
        let near = t.write(
            &sub,
            r#"
            [default]
            metadata = ["environment"]

            [shared]
            type = "memory"
            "#,
        );
        let config = t.discover(&sub).unwrap();
        assert_eq!(config.files(), &[near.clone(), far.clone()]);
        // `cache` comes from the far file, `metadata` from the near one.
        assert_eq!(
            config.metadata(),
            &MetadataConfig {
                environment: true,
                git: false
            }
        );
        let resolved = default_of(&config);
        assert_eq!(resolved.name.as_deref(), Some("shared"));
        // The near [shared] replaced the far one entirely (no leftover `path`).
        assert_eq!(resolved.spec, CacheSpec::Memory);
        assert_eq!(resolved.origin, Origin::ConfigFile(far.clone()));
        // A section only the far file has is still there.
        assert_eq!(
            config.resolve("scratch").unwrap(),
            Resolved {
                name: Some("scratch".into()),
                spec: file(proj.join("scratch.redb")),
                origin: Origin::ConfigFile(far),
            }
        );
        assert_eq!(
            config.cache_names().collect::<Vec<_>>(),
            ["scratch", "shared"]
        );
    }

    #[test]
    fn config_walk_includes_home_but_not_above() {
        let t = Tree::new();
        t.write(&t.root(), "[above]\npath = \"a.redb\"\n");
        let at_home = t.write(&t.home(), "[home]\npath = \"h.redb\"\n");
        let config = t.discover(&t.home().join("a/b")).unwrap();
        assert_eq!(config.files(), &[at_home]);
        assert_eq!(config.cache_names().collect::<Vec<_>>(), ["home"]);
    }

    #[test]
    fn config_walk_outside_home_goes_to_root() {
        let t = Tree::new();
        let outside = t.root().join("elsewhere");
        let top = t.write(&t.root(), "[top]\npath = \"t.redb\"\n");
        let config = t.discover(&outside.join("deep")).unwrap();
        assert!(config.files().contains(&top), "{:?}", config.files());
    }

    #[test]
    fn config_root_true_stops_walk_and_user_config() {
        let t = Tree::new();
        let proj = t.home().join("proj");
        t.write(
            &t.home(),
            "[default]\ncache = \"far\"\n[far]\npath = \"f.redb\"\n",
        );
        t.write_user("[user]\npath = \"u.redb\"\n");
        let near = t.write(&proj, "[default]\nroot = true\n[near]\ntype = \"memory\"\n");
        let config = t.discover(&proj.join("x")).unwrap();
        assert_eq!(config.files(), &[near]);
        assert_eq!(config.cache_names().collect::<Vec<_>>(), ["near"]);
        // The farther file's default is not inherited.
        assert_eq!(default_of(&config).origin, Origin::NoConfig);
    }

    #[test]
    fn config_user_config_is_lowest_priority_fallback() {
        let t = Tree::new();
        let proj = t.home().join("proj");
        let user = t.write_user(
            r#"
            [default]
            cache = "global"
            metadata = ["environment", "git"]
            [global]
            path = "~/caches/global.redb"
            [proj]
            path = "user-proj.redb"
            "#,
        );
        let near = t.write(&proj, "[proj]\npath = \"p.redb\"\n");
        let config = t.discover(&proj).unwrap();
        assert_eq!(config.files(), &[near.clone(), user.clone()]);
        let resolved = default_of(&config);
        assert_eq!(resolved.spec, file(t.home().join("caches/global.redb")));
        assert_eq!(resolved.origin, Origin::ConfigFile(user));
        assert_eq!(
            config.resolve("proj").unwrap().spec,
            file(proj.join("p.redb"))
        );
        assert!(config.metadata().environment && config.metadata().git);

        // Alone, the user config still applies.
        let bare = t.discover(&t.home().join("empty")).unwrap();
        assert_eq!(bare.cache_names().collect::<Vec<_>>(), ["global", "proj"]);
    }

    #[test]
    fn config_no_files_and_no_dirs() {
        let t = Tree::new();
        let config = Config::discover_from(&t.home().join("nothing"), None, None).unwrap();
        assert!(config.files().is_empty());
        assert_eq!(config.metadata(), &MetadataConfig::default());
    }

    #[test]
    fn config_relative_paths_rebase_onto_file_dir() {
        let t = Tree::new();
        let proj = t.home().join("proj");
        t.write(
            &proj,
            r#"
            [default]
            cache = "project"
            [project]
            path = ".fleche/cache.redb"
            [absolute]
            type = "file"
            path = "/var/cache/x.redb"
            "#,
        );
        let config = t.discover(&proj.join("src/deep")).unwrap();
        assert_eq!(
            default_of(&config).spec,
            file(proj.join(".fleche/cache.redb"))
        );
        assert_eq!(
            config.resolve("absolute").unwrap().spec,
            file("/var/cache/x.redb")
        );
    }

    #[test]
    fn config_tilde_expands_to_home() {
        let t = Tree::new();
        let proj = t.home().join("proj");
        t.write(
            &proj,
            "[a]\npath = \"~/c/a.redb\"\n[b]\npath = \"~\"\n[c]\npath = \"~x/c.redb\"\n",
        );
        let config = t.discover(&proj).unwrap();
        assert_eq!(
            config.resolve("a").unwrap().spec,
            file(t.home().join("c/a.redb"))
        );
        assert_eq!(config.resolve("b").unwrap().spec, file(t.home()));
        // Only `~` and `~/` expand; anything else is a plain relative path.
        assert_eq!(
            config.resolve("c").unwrap().spec,
            file(proj.join("~x/c.redb"))
        );

        // With no known home, `~/` is an error that says to use an absolute path.
        fs::create_dir_all(t.root().join("nohome")).unwrap();
        t.write(&t.root().join("nohome"), "[a]\npath = \"~/a.redb\"\n");
        let err = Config::discover_from(&t.root().join("nohome"), None, None).unwrap_err();
        assert!(matches!(err, ConfigError::NoHomeDir { .. }), "{err}");
        assert!(err.to_string().contains("absolute path"), "{err}");
    }

    #[test]
    fn config_env_var_as_name() {
        let config = parse(
            "[default]\ncache = \"project\"\n[project]\npath = \"p.redb\"\n[scratch]\ntype = \"memory\"\n",
        )
        .unwrap();
        let cwd = Path::new("/cwd");
        let r = config
            .resolve_default_with(Some("scratch"), true, cwd)
            .unwrap();
        assert_eq!(
            r,
            Resolved {
                name: Some("scratch".into()),
                spec: CacheSpec::Memory,
                origin: Origin::EnvVar
            }
        );
        let r = config
            .resolve_default_with(Some("memory"), false, cwd)
            .unwrap();
        assert_eq!(
            (r.name.as_deref(), r.spec),
            (Some("memory"), CacheSpec::Memory)
        );
        let r = config
            .resolve_default_with(Some("project"), false, cwd)
            .unwrap();
        assert_eq!(r.spec, file("/proj/p.redb"));
        assert_eq!(r.origin, Origin::EnvVar);
        // Empty means unset.
        let r = config.resolve_default_with(Some(""), false, cwd).unwrap();
        assert_eq!(r.name.as_deref(), Some("project"));
        assert_eq!(r.origin, Origin::ConfigFile("/proj/fleche.toml".into()));
    }

    #[test]
    fn config_env_var_as_path() {
        let t = Tree::new();
        let config = Config::discover_from(&t.home(), Some(&t.home()), None).unwrap();
        let cwd = Path::new("/work/here");
        let path_of = |v: &str| {
            let r = config.resolve_default_with(Some(v), false, cwd).unwrap();
            assert_eq!((r.name.clone(), r.origin.clone()), (None, Origin::EnvVar));
            r.spec
        };
        assert_eq!(path_of("caches/x"), file("/work/here/caches/x"));
        assert_eq!(path_of("x.redb"), file("/work/here/x.redb"));
        assert_eq!(path_of(".cache"), file("/work/here/.cache"));
        assert_eq!(path_of("/abs/y.redb"), file("/abs/y.redb"));
        assert_eq!(path_of("~/z.redb"), file(t.home().join("z.redb")));
    }

    #[test]
    fn config_env_var_unknown_lists_known_names() {
        let config = parse("[project]\npath = \"p.redb\"\n[scratch]\ntype = \"memory\"\n").unwrap();
        let err = config
            .resolve_default_with(Some("nope"), false, Path::new("/cwd"))
            .unwrap_err();
        match &err {
            ConfigError::UnknownCache { name, known, .. } => {
                assert_eq!(name, "nope");
                assert_eq!(known, &["memory", "project", "scratch"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("FLECHE_CACHE"), "{text}");
        assert!(text.contains("memory, project, scratch"), "{text}");
    }

    #[test]
    fn config_unknown_name_in_default_is_error() {
        let config =
            parse("[default]\ncache = \"missing\"\n[project]\npath = \"p.redb\"\n").unwrap();
        let err = config
            .resolve_default_with(None, true, Path::new("/cwd"))
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownCache { name, .. } if name == "missing"),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("/proj/fleche.toml"), "{text}");
        assert!(text.contains("[missing]"), "{text}");
        // The environment variable still overrides a broken default.
        assert!(
            config
                .resolve_default_with(Some("memory"), false, Path::new("/cwd"))
                .is_ok()
        );
    }

    #[test]
    fn config_resolve_by_name() {
        let config = parse("[project]\npath = \"p.redb\"\n").unwrap();
        assert_eq!(
            config.resolve("memory").unwrap(),
            Resolved {
                name: Some("memory".into()),
                spec: CacheSpec::Memory,
                origin: Origin::Requested
            }
        );
        assert_eq!(
            config.resolve("project").unwrap().origin,
            Origin::ConfigFile("/proj/fleche.toml".into())
        );
        assert!(matches!(
            config.resolve("other"),
            Err(ConfigError::UnknownCache { .. })
        ));
        let r = config.resolve("/abs/q.redb").unwrap();
        assert_eq!((r.spec, r.origin), (file("/abs/q.redb"), Origin::Requested));
    }

    #[test]
    fn config_default_memory_and_inline() {
        let r = default_of(&parse("[default]\ncache = \"memory\"\n").unwrap());
        assert_eq!(r.spec, CacheSpec::Memory);
        let r = default_of(&parse("[default]\ncache = { path = \"in/line.redb\" }\n").unwrap());
        assert_eq!((r.name, r.spec), (None, file("/proj/in/line.redb")));
        let r = default_of(&parse("[default.cache]\ntype = \"memory\"\n").unwrap());
        assert_eq!(r.spec, CacheSpec::Memory);
    }

    #[test]
    fn config_evcxr_default() {
        let config = parse("[project]\npath = \"p.redb\"\n").unwrap();
        let r = config
            .resolve_default_with(None, true, Path::new("/nb"))
            .unwrap();
        assert_eq!(
            r,
            Resolved {
                name: None,
                spec: file("/nb/.fleche/cache.redb"),
                origin: Origin::NotebookDefault
            }
        );
    }

    #[test]
    fn config_no_config_memory_default() {
        let r = Config::default()
            .resolve_default_with(None, false, Path::new("/x"))
            .unwrap();
        assert_eq!(
            r,
            Resolved {
                name: None,
                spec: CacheSpec::Memory,
                origin: Origin::NoConfig
            }
        );
    }

    #[test]
    fn config_metadata_list() {
        let m = |text: &str| *parse(text).unwrap().metadata();
        assert_eq!(m(""), MetadataConfig::default());
        assert_eq!(m("[default]\nmetadata = []\n"), MetadataConfig::default());
        assert_eq!(
            m("[default]\nmetadata = [\"git\"]\n"),
            MetadataConfig {
                environment: false,
                git: true
            }
        );
        assert_eq!(
            m("[default]\nmetadata = [\"environment\", \"git\"]\n"),
            MetadataConfig {
                environment: true,
                git: true
            }
        );
        let err = parse("[default]\nmetadata = [\"git\", \"hostname\"]\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownCollector { name, .. } if name == "hostname"),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("environment, git"), "{text}");
        assert!(text.contains("/proj/fleche.toml"), "{text}");
    }

    #[test]
    fn config_malformed_files_are_distinct_errors() {
        type Check = fn(&ConfigError) -> bool;
        let cases: &[(&str, Check)] = &[
            (
                "[default\ncache = 1",
                |e| matches!(e, ConfigError::Syntax { message, .. } if message.contains("line 1")),
            ),
            (
                "[default]\ncache = 3\n",
                |e| matches!(e, ConfigError::WrongType { key, found: "integer", .. } if key == "default.cache"),
            ),
            (
                "[default]\nroot = \"yes\"\n",
                |e| matches!(e, ConfigError::WrongType { key, .. } if key == "default.root"),
            ),
            (
                "[default]\nmetadata = \"git\"\n",
                |e| matches!(e, ConfigError::WrongType { key, .. } if key == "default.metadata"),
            ),
            (
                "[default]\nmetadata = [1]\n",
                |e| matches!(e, ConfigError::WrongType { key, .. } if key == "default.metadata"),
            ),
            (
                "[p]\npath = 5\n",
                |e| matches!(e, ConfigError::WrongType { key, .. } if key == "p.path"),
            ),
            (
                "stray = 1\n",
                |e| matches!(e, ConfigError::WrongType { key, .. } if key == "stray"),
            ),
            (
                "default = 1\n",
                |e| matches!(e, ConfigError::WrongType { key, .. } if key == "default"),
            ),
            (
                "[p]\npath = \"x\"\nsize = 3\n",
                |e| matches!(e, ConfigError::UnknownKey { section, key, .. } if section == "p" && key == "size"),
            ),
            (
                "[default]\ncahce = \"p\"\n",
                |e| matches!(e, ConfigError::UnknownKey { section, .. } if section == "default"),
            ),
            ("[p]\n", |e| matches!(e, ConfigError::MissingPath { .. })),
            ("[p]\ntype = \"file\"\n", |e| {
                matches!(e, ConfigError::FileWithoutPath { .. })
            }),
            ("[p]\ntype = \"memory\"\npath = \"x\"\n", |e| {
                matches!(e, ConfigError::MemoryWithPath { .. })
            }),
            (
                "[p]\ntype = \"disk\"\n",
                |e| matches!(e, ConfigError::UnknownType { found, .. } if found == "disk"),
            ),
            ("[p]\npath = \"\"\n", |e| {
                matches!(e, ConfigError::EmptyPath { .. })
            }),
            ("[memory]\npath = \"m.redb\"\n", |e| {
                matches!(e, ConfigError::ReservedName { .. })
            }),
            (
                "[default]\ncache = { }\n",
                |e| matches!(e, ConfigError::MissingPath { section, .. } if section == "default.cache"),
            ),
        ];
        for (text, check) in cases {
            let err = parse(text).unwrap_err();
            assert!(check(&err), "{text:?} gave {err:?}");
            let message = err.to_string();
            assert!(message.contains("/proj/fleche.toml"), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn config_malformed_file_during_discovery_names_it() {
        let t = Tree::new();
        let proj = t.home().join("proj");
        t.write(&proj, "[p]\npath = \"ok.redb\"\n");
        let bad = t.write_user("[broken]\n");
        let err = t.discover(&proj).unwrap_err();
        assert!(
            matches!(&err, ConfigError::MissingPath { file, section } if *file == bad && section == "broken"),
            "{err:?}"
        );
    }

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
