//! Setting up evcxr so that a new notebook has fleche ready, and undoing it.
//!
//! Two ways, each touching one place only:
//!
//! - **Start-up file** ([`install_startup`]): a marked block in `init.evcxr` in evcxr's
//!   configuration directory (`$EVCXR_CONFIG_DIR`, else `~/.config/evcxr` on Linux). evcxr runs
//!   that file at the start of every REPL session and notebook kernel, so every one of them
//!   gets `:dep fleche` and `use fleche::{...}`. Other content of the file is kept; undoing
//!   removes only the block, and the file if nothing else is left.
//! - **Kernel** ([`install_kernel`]): a Jupyter kernel "Rust (fleche)" next to evcxr's own
//!   "Rust" kernel, running the same `evcxr_jupyter` with its own evcxr configuration directory
//!   (inside the kernel's directory) holding that `init.evcxr`. Only notebooks that pick this
//!   kernel are affected; undoing deletes the kernel's directory.

use std::fmt;
use std::path::{Path, PathBuf};

/// First line of the block this tool manages in `init.evcxr`.
pub const BEGIN_MARK: &str =
    "// >>> fleche-evcxr: added by `fleche-evcxr install`; remove with `fleche-evcxr uninstall`";
/// Last line of the block.
pub const END_MARK: &str = "// <<< fleche-evcxr";
/// Name of the kernel directory [`install_kernel`] writes.
pub const KERNEL_NAME: &str = "rust-fleche";

/// Where the fleche crate comes from in the `:dep` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local checkout: the directory holding fleche's `Cargo.toml` (the repository's `core`).
    Path(PathBuf),
    /// A crates.io version requirement such as `"0.1"`.
    Version(String),
}

impl Source {
    /// The evcxr command that adds fleche as a dependency.
    pub fn dep_command(&self) -> String {
        match self {
            Source::Path(p) => format!(
                ":dep fleche = {{ path = {} }}",
                toml_string(&p.display().to_string())
            ),
            Source::Version(v) => format!(":dep fleche = {}", toml_string(v)),
        }
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// What a setup step could not do. Every message says what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Reading or writing a file failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// evcxr ignores `init.evcxr` when `evcxr.toml` lists dependencies.
    #[error(
        "{path} lists [dependencies], and evcxr then ignores init.evcxr. Add `fleche = {dep}` under [dependencies] in that file and `use fleche::{{fleche, cache, tags, D}};` to its [evcxr] prelude, or use `fleche-evcxr install --kernel`, which does not read it"
    )]
    EvcxrTomlHasDependencies {
        /// The `evcxr.toml`.
        path: PathBuf,
        /// The dependency value to add.
        dep: String,
    },
    /// A `--path` that does not hold the fleche crate.
    #[error(
        "{path} does not hold the fleche crate (no Cargo.toml with `name = \"fleche\"`): give the `core` directory of a fleche checkout"
    )]
    NotFlecheCrate {
        /// The directory given.
        path: PathBuf,
    },
    /// No configuration or data directory could be found for this user.
    #[error("cannot find {what} for this user: pass it explicitly ({flag})")]
    NoDirectory {
        /// Which directory.
        what: &'static str,
        /// The command-line flag that sets it.
        flag: &'static str,
    },
    /// `init.evcxr` has a start mark without an end mark: it was edited by hand.
    #[error(
        "{path} has the line `{BEGIN_MARK}` but no `{END_MARK}` after it: fix or remove the fleche block by hand"
    )]
    BrokenBlock {
        /// The file.
        path: PathBuf,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SetupError + 'a {
    move |source| SetupError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// One change made to the user's machine, for the report printed to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new file.
    Created(PathBuf),
    /// The fleche block added to an existing file.
    Appended(PathBuf),
    /// An existing fleche block replaced (for example with another `--path`).
    Replaced(PathBuf),
    /// A file that is fleche's alone (the kernel's `kernel.json`) written anew.
    Rewritten(PathBuf),
    /// The fleche block removed from a file that keeps other content.
    RemovedBlock(PathBuf),
    /// A file or directory deleted.
    Deleted(PathBuf),
    /// Nothing to do at this path.
    Unchanged(PathBuf),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Created(p) => write!(f, "created {}", p.display()),
            Change::Appended(p) => write!(f, "added the fleche block to {}", p.display()),
            Change::Replaced(p) => write!(f, "replaced the fleche block in {}", p.display()),
            Change::Rewritten(p) => write!(f, "rewrote {}", p.display()),
            Change::RemovedBlock(p) => write!(
                f,
                "removed the fleche block from {} (the rest is kept)",
                p.display()
            ),
            Change::Deleted(p) => write!(f, "deleted {}", p.display()),
            Change::Unchanged(p) => write!(f, "nothing to change in {}", p.display()),
        }
    }
}

/// evcxr's configuration directory: `$EVCXR_CONFIG_DIR`, else `evcxr` in the user's
/// configuration directory (as evcxr itself decides).
pub fn evcxr_config_dir() -> Option<PathBuf> {
    std::env::var_os("EVCXR_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::config_dir().map(|d| d.join("evcxr")))
}

/// Jupyter's user data directory, where user kernels live: `$JUPYTER_DATA_DIR`, else the
/// platform's default (`~/.local/share/jupyter` on Linux, `~/Library/Jupyter` on macOS,
/// `%APPDATA%\jupyter` on Windows).
pub fn jupyter_data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    if cfg!(target_os = "macos") {
        dirs::home_dir().map(|h| h.join("Library").join("Jupyter"))
    } else {
        dirs::data_dir().map(|d| d.join("jupyter"))
    }
}

/// The block written to `init.evcxr`.
pub fn startup_block(source: &Source) -> String {
    format!(
        "{BEGIN_MARK}\n{}\nuse fleche::{{fleche, cache, tags, D}};\n{END_MARK}\n",
        source.dep_command()
    )
}

/// Checks that `path` is the fleche crate's directory and returns it absolute.
pub fn check_fleche_path(path: &Path) -> Result<PathBuf, SetupError> {
    let absolute = path
        .canonicalize()
        .map_err(io("find the fleche crate at", path))?;
    let manifest = std::fs::read_to_string(absolute.join("Cargo.toml")).unwrap_or_default();
    let is_fleche = manifest
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| {
            t.get("package")?
                .get("name")?
                .as_str()
                .map(|n| n == "fleche")
        })
        .unwrap_or(false);
    if !is_fleche {
        return Err(SetupError::NotFlecheCrate { path: absolute });
    }
    Ok(absolute)
}

/// Adds (or replaces) the fleche block in `<config_dir>/init.evcxr`.
pub fn install_startup(config_dir: &Path, source: &Source) -> Result<Vec<Change>, SetupError> {
    let toml_path = config_dir.join("evcxr.toml");
    if let Ok(text) = std::fs::read_to_string(&toml_path) {
        let has_deps = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("dependencies")?.as_table().map(|d| !d.is_empty()))
            .unwrap_or(false);
        if has_deps {
            let dep = source
                .dep_command()
                .trim_start_matches(":dep fleche = ")
                .to_owned();
            return Err(SetupError::EvcxrTomlHasDependencies {
                path: toml_path,
                dep,
            });
        }
    }
    let path = config_dir.join("init.evcxr");
    let block = startup_block(source);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io("read", &path)(e)),
    };
    let (text, change) = match existing {
        None => {
            std::fs::create_dir_all(config_dir).map_err(io("create", config_dir))?;
            (block, Change::Created(path.clone()))
        }
        Some(text) => match split_block(&text, &path)? {
            Some((before, old, after)) => {
                if old == block {
                    return Ok(vec![Change::Unchanged(path)]);
                }
                (
                    format!("{before}{block}{after}"),
                    Change::Replaced(path.clone()),
                )
            }
            None => {
                let sep = if text.is_empty() || text.ends_with('\n') {
                    ""
                } else {
                    "\n"
                };
                (
                    format!("{text}{sep}{block}"),
                    Change::Appended(path.clone()),
                )
            }
        },
    };
    std::fs::write(&path, text).map_err(io("write", &path))?;
    Ok(vec![change])
}

/// Removes the fleche block from `<config_dir>/init.evcxr`, and the file if nothing else is
/// left in it.
pub fn uninstall_startup(config_dir: &Path) -> Result<Vec<Change>, SetupError> {
    let path = config_dir.join("init.evcxr");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(vec![Change::Unchanged(path)]);
        }
        Err(e) => return Err(io("read", &path)(e)),
    };
    let Some((before, _, after)) = split_block(&text, &path)? else {
        return Ok(vec![Change::Unchanged(path)]);
    };
    let rest = format!("{before}{after}");
    if rest.trim().is_empty() {
        std::fs::remove_file(&path).map_err(io("delete", &path))?;
        Ok(vec![Change::Deleted(path)])
    } else {
        std::fs::write(&path, rest).map_err(io("write", &path))?;
        Ok(vec![Change::RemovedBlock(path)])
    }
}

/// Splits `text` into what comes before the fleche block, the block (marks included, with
/// its final newline) and what follows; `None` if there is no block.
fn split_block<'a>(
    text: &'a str,
    path: &Path,
) -> Result<Option<(&'a str, &'a str, &'a str)>, SetupError> {
    let Some(start) = find_line(text, BEGIN_MARK, 0) else {
        return Ok(None);
    };
    let Some(end_line) = find_line(text, END_MARK, start) else {
        return Err(SetupError::BrokenBlock {
            path: path.to_owned(),
        });
    };
    let mut end = end_line + END_MARK.len();
    if text[end..].starts_with('\n') {
        end += 1;
    }
    Ok(Some((&text[..start], &text[start..end], &text[end..])))
}

/// Byte offset of the first line at or after `from` that is exactly `line`.
fn find_line(text: &str, line: &str, from: usize) -> Option<usize> {
    let mut offset = from;
    for l in text[from..].split_inclusive('\n') {
        if l.trim_end_matches(['\n', '\r']) == line {
            return Some(offset);
        }
        offset += l.len();
    }
    None
}

/// Writes the "Rust (fleche)" kernel into `<jupyter_dir>/kernels/rust-fleche`: a
/// `kernel.json` running `evcxr_jupyter` through `launcher kernel` (this tool, which keeps the
/// kernel's build directory for the next kernel, see [`crate::builds`]), with
/// `EVCXR_CONFIG_DIR` set to the kernel's own `evcxr` directory, whose `init.evcxr` loads
/// fleche.
pub fn install_kernel(
    jupyter_dir: &Path,
    launcher: &Path,
    evcxr_jupyter: &Path,
    source: &Source,
) -> Result<Vec<Change>, SetupError> {
    let kernel_dir = jupyter_dir.join("kernels").join(KERNEL_NAME);
    let config_dir = kernel_dir.join("evcxr");
    std::fs::create_dir_all(&config_dir).map_err(io("create", &config_dir))?;
    let kernel_json = kernel_dir.join("kernel.json");
    let existed = kernel_json.exists();
    let json = format!(
        concat!(
            "{{\n",
            "  \"argv\": [{launcher}, \"kernel\", {exe}, \"--control_file\", \"{{connection_file}}\"],\n",
            "  \"display_name\": \"Rust (fleche)\",\n",
            "  \"language\": \"rust\",\n",
            "  \"interrupt_mode\": \"message\",\n",
            "  \"env\": {{\"EVCXR_CONFIG_DIR\": {config}}}\n",
            "}}\n"
        ),
        launcher = json_string(&launcher.display().to_string()),
        exe = json_string(&evcxr_jupyter.display().to_string()),
        config = json_string(&config_dir.display().to_string()),
    );
    std::fs::write(&kernel_json, json).map_err(io("write", &kernel_json))?;
    let mut changes = vec![if existed {
        Change::Rewritten(kernel_json)
    } else {
        Change::Created(kernel_json)
    }];
    changes.extend(install_startup(&config_dir, source)?);
    Ok(changes)
}

/// Deletes the "Rust (fleche)" kernel directory.
pub fn uninstall_kernel(jupyter_dir: &Path) -> Result<Vec<Change>, SetupError> {
    let kernel_dir = jupyter_dir.join("kernels").join(KERNEL_NAME);
    if !kernel_dir.exists() {
        return Ok(vec![Change::Unchanged(kernel_dir)]);
    }
    std::fs::remove_dir_all(&kernel_dir).map_err(io("delete", &kernel_dir))?;
    Ok(vec![Change::Deleted(kernel_dir)])
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What is installed: the fleche block of `init.evcxr` in `config_dir`, if any, and whether
/// the kernel directory exists under `jupyter_dir`.
pub fn status(config_dir: &Path, jupyter_dir: Option<&Path>) -> Result<String, SetupError> {
    let path = config_dir.join("init.evcxr");
    let mut out = String::new();
    match std::fs::read_to_string(&path) {
        Ok(text) => match split_block(&text, &path)? {
            Some((_, block, _)) => {
                out.push_str(&format!("start-up file {}:\n{block}", path.display()))
            }
            None => out.push_str(&format!(
                "start-up file {}: no fleche block\n",
                path.display()
            )),
        },
        Err(_) => out.push_str(&format!("start-up file {}: absent\n", path.display())),
    }
    if let Some(dir) = jupyter_dir {
        let kernel = dir.join("kernels").join(KERNEL_NAME);
        out.push_str(&format!(
            "kernel {}: {}\n",
            kernel.display(),
            if kernel.join("kernel.json").exists() {
                "installed"
            } else {
                "absent"
            }
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_source() -> Source {
        Source::Path(PathBuf::from("/opt/fleche/core"))
    }

    #[test]
    fn install_creates_then_is_idempotent_and_uninstall_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let changes = install_startup(dir.path(), &path_source()).unwrap();
        assert!(matches!(&changes[..], [Change::Created(_)]));
        let text = std::fs::read_to_string(dir.path().join("init.evcxr")).unwrap();
        assert!(text.contains(":dep fleche = { path = \"/opt/fleche/core\" }"));
        assert!(text.contains("use fleche::{fleche, cache, tags, D};"));
        // Not evcxr's `:cache`: it keys builds by the compiler's command line only, so with
        // CARGO_INCREMENTAL=0 in the environment it serves stale cells (see crate::builds).
        assert!(!text.contains(":cache"), "{text}");
        let again = install_startup(dir.path(), &path_source()).unwrap();
        assert!(matches!(&again[..], [Change::Unchanged(_)]));
        let removed = uninstall_startup(dir.path()).unwrap();
        assert!(matches!(&removed[..], [Change::Deleted(_)]));
        assert!(!dir.path().join("init.evcxr").exists());
    }

    #[test]
    fn user_content_is_kept_around_the_block() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("init.evcxr");
        std::fs::write(&file, ":cache 500\n:opt 1").unwrap();
        install_startup(dir.path(), &path_source()).unwrap();
        let changes = install_startup(dir.path(), &Source::Version("0.1".into())).unwrap();
        assert!(matches!(&changes[..], [Change::Replaced(_)]));
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.matches(BEGIN_MARK).count(), 1);
        assert!(text.contains(":dep fleche = \"0.1\""));
        assert!(text.starts_with(":cache 500\n:opt 1\n"));
        uninstall_startup(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            ":cache 500\n:opt 1\n"
        );
    }

    #[test]
    fn evcxr_toml_with_dependencies_is_refused_with_instructions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("evcxr.toml"),
            "[dependencies]\nserde = \"1\"\n",
        )
        .unwrap();
        let err = install_startup(dir.path(), &Source::Version("0.1".into())).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`fleche = \"0.1\"`"), "{message}");
        assert!(message.contains("--kernel"), "{message}");
        assert!(!dir.path().join("init.evcxr").exists());
    }

    #[test]
    fn a_half_removed_block_is_reported_not_guessed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("init.evcxr"),
            format!("{BEGIN_MARK}\n:dep x\n"),
        )
        .unwrap();
        let err = uninstall_startup(dir.path()).unwrap_err();
        assert!(matches!(err, SetupError::BrokenBlock { .. }));
    }

    #[test]
    fn kernel_has_its_own_config_dir_and_is_removed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let changes = install_kernel(
            dir.path(),
            Path::new("/opt/bin/fleche-evcxr"),
            Path::new("/usr/bin/evcxr_jupyter"),
            &path_source(),
        )
        .unwrap();
        assert_eq!(changes.len(), 2);
        let kernel = dir.path().join("kernels").join(KERNEL_NAME);
        let json = std::fs::read_to_string(kernel.join("kernel.json")).unwrap();
        assert!(json.contains("\"/usr/bin/evcxr_jupyter\""));
        assert!(json.contains(&format!(
            "\"EVCXR_CONFIG_DIR\": \"{}\"",
            kernel.join("evcxr").display()
        )));
        assert!(kernel.join("evcxr").join("init.evcxr").exists());
        // Started through this tool, which keeps the build directory between kernels.
        assert!(
            json.contains("[\"/opt/bin/fleche-evcxr\", \"kernel\", \"/usr/bin/evcxr_jupyter\""),
            "{json}"
        );
        let status = status(&kernel.join("evcxr"), Some(dir.path())).unwrap();
        assert!(status.contains("installed"), "{status}");
        uninstall_kernel(dir.path()).unwrap();
        assert!(!kernel.exists());
    }

    #[test]
    fn paths_are_checked_to_be_fleche() {
        let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core");
        assert!(check_fleche_path(&core).is_ok());
        let err = check_fleche_path(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_err();
        assert!(matches!(err, SetupError::NotFlecheCrate { .. }));
    }

    #[test]
    fn strings_are_quoted() {
        assert_eq!(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            Source::Path(PathBuf::from("/a \"b\"")).dep_command(),
            ":dep fleche = { path = '/a \"b\"' }"
        );
    }
}
