//! Helpers for the configuration tests: a temporary directory tree with its own home and
//! user configuration directory, and short ways to parse and resolve.

use std::fs;
use std::path::{Path, PathBuf};

use super::{CacheSpec, Config, ConfigError, FILE_NAME, Resolved, absolute};

/// A temporary tree: `<tmp>/home` is home, `<tmp>/config` the user config dir.
pub(super) struct Tree {
    tmp: tempfile::TempDir,
}

impl Tree {
    pub(super) fn new() -> Tree {
        let tree = Tree {
            tmp: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(tree.home()).unwrap();
        fs::create_dir_all(tree.user_config()).unwrap();
        tree
    }
    pub(super) fn root(&self) -> PathBuf {
        absolute(self.tmp.path())
    }
    pub(super) fn home(&self) -> PathBuf {
        self.root().join("home")
    }
    pub(super) fn user_config(&self) -> PathBuf {
        self.root().join("config")
    }
    /// Writes `fleche.toml` into `dir` (created) and returns the file's path.
    pub(super) fn write(&self, dir: &Path, text: &str) -> PathBuf {
        fs::create_dir_all(dir).unwrap();
        let file = dir.join(FILE_NAME);
        fs::write(&file, text).unwrap();
        file
    }
    pub(super) fn write_user(&self, text: &str) -> PathBuf {
        self.write(&self.user_config().join("fleche"), text)
    }
    pub(super) fn discover(&self, start: &Path) -> Result<Config, ConfigError> {
        fs::create_dir_all(start).unwrap();
        Config::discover_from(start, Some(&self.home()), Some(&self.user_config()))
    }
}

pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("/proj/fleche.toml"))
}

pub(super) fn default_of(config: &Config) -> Resolved {
    config
        .resolve_default_with(None, false, Path::new("/cwd"))
        .unwrap()
}

pub(super) fn file(path: impl AsRef<Path>) -> CacheSpec {
    CacheSpec::File(path.as_ref().to_path_buf())
}
