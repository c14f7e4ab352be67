//! The `fleche.toml` format: serde structs that mirror one file, read by the `toml` crate
//! (which reports unknown keys and values of the wrong type at their line), then checked and
//! turned into cache definitions with paths rebased onto the file's directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{
    CacheSpec, ConfigError, DefaultCache, LayerSpec, MEMORY, MetadataConfig, OFF, expand_tilde,
};

/// Valid names in `[default] metadata`.
pub(super) const COLLECTORS: &str = "environment, git, resources";

/// One parsed `fleche.toml`, before merging.
#[derive(Debug)]
pub(super) struct FileConfig {
    pub(super) file: PathBuf,
    pub(super) default_cache: Option<DefaultCache>,
    pub(super) metadata: Option<MetadataConfig>,
    /// `[default] wait`, when the file sets it.
    pub(super) wait: Option<bool>,
    pub(super) root: bool,
    pub(super) caches: BTreeMap<String, CacheSpec>,
}

/// Parses one file's text; `file` names it in errors and is the base of relative paths.
pub(super) fn parse_file(
    text: &str,
    file: &Path,
    home: Option<&Path>,
) -> Result<FileConfig, ConfigError> {
    let table = toml::de::DeTable::parse(text).map_err(|e| {
        let (line, column) = position(text, &e);
        ConfigError::Syntax {
            file: file.to_path_buf(),
            message: format!("line {line}, column {column}: {}", one_line(e.message())),
        }
    })?;
    // A deserializer made without the source text keeps toml's key path in its errors.
    let raw = RawFile::deserialize(toml::de::Deserializer::from(table)).map_err(|e| {
        let (line, column) = position(text, &e);
        ConfigError::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            key: key_of(&e),
            message: one_line(e.message()),
        }
    })?;
    raw.check(file, home)
}

/// A whole file: `[default]` and any number of named cache sections.
struct RawFile {
    default: Option<RawDefault>,
    /// The named cache sections, in the order toml lists them.
    caches: Vec<(String, RawCache)>,
}

/// `[default]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table ([default])")]
struct RawDefault {
    cache: Option<RawDefaultCache>,
    metadata: Option<Collectors>,
    /// Whether a miss waits for another process computing the same call.
    wait: Option<bool>,
    root: Option<bool>,
}

/// `[default] cache`: a section name, an inline table defining the cache, or an array of
/// section names (a stack, top layer first).
enum RawDefaultCache {
    Name(String),
    Inline(RawCache),
    Stack(Vec<String>),
}

/// A cache section, or the inline table of `[default] cache`.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table (a [section] naming a cache)"
)]
struct RawCache {
    #[serde(default, deserialize_with = "cache_path")]
    path: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "cache_type")]
    kind: Option<String>,
    /// Never write to it (a teammate's cache, an exported file).
    read_only: Option<bool>,
    /// `"10 GiB"`, `"500 MB"` or a number of bytes.
    max_size: Option<RawSize>,
    /// `type = "postgres"`: the server's URL, without a password.
    url: Option<String>,
}

/// `max_size`: a number of bytes, or a string with a unit.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a size such as \"10 GiB\", \"500 MB\" or a number of bytes"
)]
enum RawSize {
    Bytes(u64),
    Text(String),
}

/// `[default] metadata`: collector names, checked after reading.
struct Collectors(Vec<String>);

impl RawFile {
    /// Checks what the types alone cannot, and rebases paths onto the file's directory.
    fn check(self, file: &Path, home: Option<&Path>) -> Result<FileConfig, ConfigError> {
        let base = file.parent().unwrap_or(Path::new(""));
        let mut out = FileConfig {
            file: file.to_path_buf(),
            default_cache: None,
            metadata: None,
            wait: None,
            root: false,
            caches: BTreeMap::new(),
        };
        if let Some(default) = self.default {
            out.root = default.root.unwrap_or(false);
            out.wait = default.wait;
            out.default_cache = match default.cache {
                None => None,
                Some(RawDefaultCache::Name(name)) => Some(DefaultCache::Name(name)),
                Some(RawDefaultCache::Stack(names)) => {
                    if names.is_empty() {
                        return Err(ConfigError::EmptyStack {
                            file: file.to_path_buf(),
                        });
                    }
                    Some(DefaultCache::Stack(names))
                }
                Some(RawDefaultCache::Inline(raw)) => Some(DefaultCache::Inline(raw.spec(
                    "default.cache",
                    file,
                    base,
                    home,
                )?)),
            };
            if let Some(Collectors(names)) = default.metadata {
                out.metadata = Some(collectors(&names, file)?);
            }
        }
        for (name, raw) in self.caches {
            if name == MEMORY || name == OFF {
                return Err(ConfigError::ReservedName {
                    file: file.to_path_buf(),
                    section: name,
                });
            }
            let spec = raw.spec(&name, file, base, home)?;
            out.caches.insert(name, spec);
        }
        Ok(out)
    }
}

impl RawCache {
    /// The cache this section (named `section` in errors) defines.
    fn spec(
        self,
        section: &str,
        file: &Path,
        base: &Path,
        home: Option<&Path>,
    ) -> Result<CacheSpec, ConfigError> {
        let read_only = self.read_only.unwrap_or(false);
        let max_size = match &self.max_size {
            None => None,
            Some(RawSize::Bytes(n)) => Some(*n),
            Some(RawSize::Text(text)) => {
                Some(parse_size(text).ok_or_else(|| ConfigError::BadSize {
                    file: file.to_path_buf(),
                    section: section.to_owned(),
                    found: text.clone(),
                })?)
            }
        };
        let spec = self.location(section, file, base, home)?;
        if !read_only && max_size.is_none() {
            return Ok(spec);
        }
        Ok(CacheSpec::Stack(vec![LayerSpec {
            name: section.to_owned(),
            spec,
            read_only,
            max_size,
        }]))
    }

    /// Where the cache is: in memory or in a file.
    fn location(
        &self,
        section: &str,
        file: &Path,
        base: &Path,
        home: Option<&Path>,
    ) -> Result<CacheSpec, ConfigError> {
        let err_section = || (file.to_path_buf(), section.to_owned());
        let invalid = |message: String| ConfigError::BadPostgres {
            file: file.to_path_buf(),
            section: section.to_owned(),
            message,
        };
        match (self.kind.as_deref(), &self.url) {
            (Some("postgres"), Some(url)) if self.path.is_none() => {
                if has_password(url) {
                    return Err(invalid(
                        "the URL holds a password: remove it, and set PGPASSWORD or add a line to ~/.pgpass (HOST:PORT:DATABASE:USER:PASSWORD)".into(),
                    ));
                }
                return Ok(CacheSpec::Postgres(url.clone()));
            }
            (Some("postgres"), _) => {
                return Err(invalid(
                    "a cache of type \"postgres\" takes `url = \"postgres://USER@HOST:PORT/DATABASE\"` and no `path`".into(),
                ));
            }
            (_, Some(_)) => {
                return Err(invalid("`url` is only for `type = \"postgres\"`".into()));
            }
            _ => {}
        }
        match (self.kind.as_deref(), self.path.as_deref()) {
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
}

/// Bytes in a size written as `"10 GiB"`, `"500MB"`, `"1.5 GB"` or `"4096"`: binary units
/// (KiB, MiB, GiB, TiB) are powers of 1024, decimal ones (kB, MB, GB, TB) of 1000.
pub(super) fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000_u64.pow(2),
        "g" | "gb" => 1000_u64.pow(3),
        "t" | "tb" => 1000_u64.pow(4),
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    let bytes = number * factor as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// The collectors `names` switch on.
fn collectors(names: &[String], file: &Path) -> Result<MetadataConfig, ConfigError> {
    let mut metadata = MetadataConfig::NONE;
    for name in names {
        match name.as_str() {
            "environment" => metadata.environment = true,
            "git" => metadata.git = true,
            "resources" => metadata.resources = true,
            _ => {
                return Err(ConfigError::UnknownCollector {
                    file: file.to_path_buf(),
                    name: name.clone(),
                });
            }
        }
    }
    Ok(metadata)
}

impl<'de> Deserialize<'de> for RawFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FileVisitor;
        impl<'de> Visitor<'de> for FileVisitor {
            type Value = RawFile;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[default] and cache sections")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFile, A::Error> {
                let mut out = RawFile {
                    default: None,
                    caches: Vec::new(),
                };
                // Every top-level key other than `default` names a cache.
                while let Some(key) = map.next_key::<String>()? {
                    if key == "default" {
                        out.default = Some(map.next_value()?);
                    } else {
                        let section = map.next_value()?;
                        out.caches.push((key, section));
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(FileVisitor)
    }
}

impl<'de> Deserialize<'de> for RawDefaultCache {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CacheVisitor;
        impl<'de> Visitor<'de> for CacheVisitor {
            type Value = RawDefaultCache;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a cache name, an array of cache names (a stack), or an inline table like { path = \"...\" }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
                Ok(RawDefaultCache::Name(name.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawCache::deserialize(MapAccessDeserializer::new(map)).map(RawDefaultCache::Inline)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element_seed(Text("a cache name (a string)"))? {
                    names.push(name);
                }
                Ok(RawDefaultCache::Stack(names))
            }
        }
        deserializer.deserialize_any(CacheVisitor)
    }
}

impl<'de> Deserialize<'de> for Collectors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CollectorsVisitor;
        impl<'de> Visitor<'de> for CollectorsVisitor {
            type Value = Collectors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of collector names like [\"environment\", \"git\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Collectors, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element_seed(Text("a collector name (a string)"))? {
                    names.push(name);
                }
                Ok(Collectors(names))
            }
        }
        deserializer.deserialize_seq(CollectorsVisitor)
    }
}

fn cache_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Text("a string (the cache file's path)")
        .deserialize(deserializer)
        .map(Some)
}

fn cache_type<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Text("\"file\", \"memory\" or \"postgres\"")
        .deserialize(deserializer)
        .map(Some)
}

/// A string, described as `.0` when something else is found.
struct Text(&'static str);

impl<'de> Visitor<'de> for Text {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<String, E> {
        Ok(text.to_owned())
    }
}

impl<'de> DeserializeSeed<'de> for Text {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

/// The line and column (from 1) where toml located `error`; the file's start if it did not.
fn position(text: &str, error: &toml::de::Error) -> (usize, usize) {
    let start = error.span().map_or(0, |span| span.start);
    let before = text.get(..start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted key toml names for `error`, such as `default.root`; empty if none.
///
/// toml keeps the key path private and shows it only in the text of an error that has no
/// source to point into (hence a deserializer made without it), as a last line "in `key`".
fn key_of(error: &toml::de::Error) -> String {
    error
        .to_string()
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("in `")?.strip_suffix('`'))
        .unwrap_or_default()
        .to_owned()
}

/// A message on one line, so that every configuration error is one line.
fn one_line(message: &str) -> String {
    message.trim().replace('\n', "; ")
}

/// Whether a `postgres://` URL carries a password (`user:password@host`).
fn has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(user, _)| user.contains(':'))
        || url.contains("password=")
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn config_a_postgres_cache_takes_a_url() {
        let parsed = super::parse_file(
            "[team]\ntype = \"postgres\"\nurl = \"postgres://alice@db:5432/cache\"\n",
            Path::new("/p/fleche.toml"),
            None,
        )
        .unwrap();
        assert_eq!(
            parsed.caches["team"],
            CacheSpec::Postgres("postgres://alice@db:5432/cache".into())
        );
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
    fn config_default_memory_and_inline() {
        let r = default_of(&parse("[default]\ncache = \"memory\"\n").unwrap());
        assert_eq!(r.spec, CacheSpec::Memory);
        let r = default_of(&parse("[default]\ncache = { path = \"in/line.redb\" }\n").unwrap());
        assert_eq!((r.name, r.spec), (None, file("/proj/in/line.redb")));
        let r = default_of(&parse("[default.cache]\ntype = \"memory\"\n").unwrap());
        assert_eq!(r.spec, CacheSpec::Memory);
    }

    #[test]
    fn config_metadata_list() {
        let m = |text: &str| *parse(text).unwrap().metadata();
        assert_eq!(m(""), MetadataConfig::default());
        assert!(MetadataConfig::default().resources);
        assert_eq!(m("[default]\nmetadata = []\n"), MetadataConfig::NONE);
        assert_eq!(
            m("[default]\nmetadata = [\"git\"]\n"),
            MetadataConfig {
                git: true,
                ..MetadataConfig::NONE
            }
        );
        assert_eq!(
            m("[default]\nmetadata = [\"environment\", \"git\", \"resources\"]\n"),
            MetadataConfig {
                environment: true,
                git: true,
                resources: true
            }
        );
        let err = parse("[default]\nmetadata = [\"git\", \"hostname\"]\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownCollector { name, .. } if name == "hostname"),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("environment, git, resources"), "{text}");
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
            ("[p]\n", |e| matches!(e, ConfigError::MissingPath { .. })),
            ("[p]\ntype = \"file\"\n", |e| {
                matches!(e, ConfigError::FileWithoutPath { .. })
            }),
            ("[p]\ntype = \"memory\"\npath = \"x\"\n", |e| {
                matches!(e, ConfigError::MemoryWithPath { .. })
            }),
            (
                "[p]\ntype = \"postgres\"\nurl = \"postgres://me:secret@db/x\"\n",
                |e| matches!(e, ConfigError::BadPostgres { message, .. } if message.contains("PGPASSWORD")),
            ),
            (
                "[p]\ntype = \"postgres\"\n",
                |e| matches!(e, ConfigError::BadPostgres { message, .. } if message.contains("url =")),
            ),
            ("[p]\npath = \"x\"\nurl = \"postgres://db/x\"\n", |e| {
                matches!(e, ConfigError::BadPostgres { .. })
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
    fn config_entries_that_do_not_fit_name_their_key_line_and_expectation() {
        // (file text, the key named, its line, what the message must say)
        let cases = [
            (
                "[default]\ncache = 3\n",
                "default.cache",
                2,
                "integer `3`, expected a cache name, an array of cache names (a stack), or an inline table like { path = \"...\" }",
            ),
            (
                "[default]\nroot = \"yes\"\n",
                "default.root",
                2,
                "expected a boolean",
            ),
            (
                "[default]\nmetadata = \"git\"\n",
                "default.metadata",
                2,
                "expected an array of collector names like [\"environment\", \"git\"]",
            ),
            (
                "[default]\nmetadata = [1]\n",
                "default.metadata",
                2,
                "expected a collector name (a string)",
            ),
            (
                "[p]\npath = 5\n",
                "p.path",
                2,
                "expected a string (the cache file's path)",
            ),
            (
                "[p]\ntype = true\n",
                "p.type",
                2,
                "expected \"file\", \"memory\" or \"postgres\"",
            ),
            (
                "stray = 1\n",
                "stray",
                1,
                "expected a table (a [section] naming a cache)",
            ),
            (
                "default = 1\n",
                "default",
                1,
                "expected a table ([default])",
            ),
            (
                "[p]\npath = \"x\"\nsize = 3\n",
                "p",
                3,
                "unknown field `size`, expected one of `path`, `type`, `read_only`, `max_size`, `url`",
            ),
            (
                "[default]\ncahce = \"p\"\n",
                "default",
                2,
                "unknown field `cahce`, expected one of `cache`, `metadata`, `wait`, `root`",
            ),
            (
                "[default]\ncache = { path = \"x\", size = 1 }\n",
                "default.cache",
                2,
                "unknown field `size`",
            ),
        ];
        for (text, want_key, want_line, want) in cases {
            let err = parse(text).unwrap_err();
            let ConfigError::Invalid {
                file, key, line, ..
            } = &err
            else {
                panic!("{text:?} gave {err:?}");
            };
            assert_eq!(
                (file.as_path(), key.as_str(), *line),
                (Path::new("/proj/fleche.toml"), want_key, want_line),
                "{text:?}"
            );
            let message = err.to_string();
            assert!(message.contains(want), "{text:?}: {message}");
            assert!(
                message.starts_with(&format!("/proj/fleche.toml, line {want_line}, column ")),
                "{message}"
            );
            assert!(message.contains(&format!("`{want_key}`")), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }
}
