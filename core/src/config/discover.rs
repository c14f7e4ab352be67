//! Finding the `fleche.toml` files that apply (from the working directory up to home, then the
//! user's configuration directory, stopping at `root = true`) and merging them, nearest first.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::file::{FileConfig, parse_file};
use super::{CacheEntry, Config, ConfigError, FILE_NAME, absolute};

impl Config {
    /// Discovers configuration from the current directory, the real home directory and the
    /// user configuration directory (see [`Config::discover_from`]).
    pub fn discover() -> Result<Config, ConfigError> {
        let cwd = std::env::current_dir().map_err(|source| ConfigError::CurrentDir {
            source: Arc::new(source),
        })?;
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
                source: Arc::new(source),
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
    let mut wait = None;
    for file_config in parsed {
        let FileConfig {
            file,
            default_cache,
            metadata: file_metadata,
            wait: file_wait,
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
        wait = wait.or(file_wait);
        for (name, spec) in caches {
            config.caches.entry(name).or_insert_with(|| CacheEntry {
                spec,
                file: file.clone(),
            });
        }
        config.files.push(file);
    }
    config.metadata = metadata.unwrap_or_default();
    config.wait = wait;
    config
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

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
            wait = false

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
        // `cache` and `wait` come from the far file, `metadata` from the near one.
        assert!(!config.wait());
        assert!(
            Config::default().wait(),
            "waiting is on unless a file turns it off"
        );
        assert_eq!(
            config.metadata(),
            &MetadataConfig {
                environment: true,
                ..MetadataConfig::NONE
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
}
