//! `fleche-evcxr`: set up evcxr so that new Rust notebooks have fleche ready, or undo it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fleche_evcxr::setup::{self, Change, SetupError, Source};

const USAGE: &str = "\
fleche-evcxr: make new evcxr notebooks and REPL sessions start with fleche loaded

USAGE:
    fleche-evcxr install [--path DIR | --version REQ] [--kernel] [--config-dir DIR] [--jupyter-dir DIR]
    fleche-evcxr uninstall [--kernel] [--config-dir DIR] [--jupyter-dir DIR]
    fleche-evcxr status [--config-dir DIR] [--jupyter-dir DIR]
    fleche-evcxr check CACHE_FILE

install (default: start-up file)
    Adds a marked block to init.evcxr in evcxr's configuration directory
    ($EVCXR_CONFIG_DIR, else ~/.config/evcxr on Linux) with
        :dep fleche = ...
        use fleche::{fleche, cache, tags, D};
    evcxr runs it when every REPL session and notebook kernel starts. Nothing
    else is changed; the rest of init.evcxr is kept. Every new kernel compiles fleche
    and its dependencies again (about two minutes on 2 cores); install --kernel avoids
    it.
    Note: evcxr ignores init.evcxr if an evcxr.toml in the notebook's directory
    or in the configuration directory lists [dependencies].

install --kernel
    Instead, adds a Jupyter kernel \"Rust (fleche)\" in <jupyter-dir>/kernels/rust-fleche
    ($JUPYTER_DATA_DIR, else ~/.local/share/jupyter on Linux): the same evcxr_jupyter
    (found on PATH) started through `fleche-evcxr kernel`, with its own evcxr
    configuration directory holding that block. The kernel keeps its build directory
    for the next kernel (up to 8 kept at once, one per running kernel, under
    ~/.cache/fleche-evcxr/builds), so a new kernel starts in seconds instead of
    compiling fleche again. Only notebooks using this kernel get fleche; your evcxr
    configuration is untouched.

kernel EVCXR_JUPYTER ARGS...
    Used by the installed kernel: runs EVCXR_JUPYTER ARGS in a kept build directory.

    --path DIR       use a local fleche checkout (the directory of fleche's Cargo.toml)
    --version REQ    use fleche from crates.io (default: the version of this tool)

check CACHE_FILE
    Runs redb's integrity check on a cache file (for example .fleche/cache.redb next
    to a notebook) and counts its calls; exits 1 if the file is damaged. The check
    runs on a private copy: the file itself is never written.

uninstall
    Removes exactly what install added: the marked block (and init.evcxr if nothing
    else is left in it), or with --kernel the rust-fleche kernel directory.
";

#[derive(Debug)]
struct Args {
    command: String,
    source: Source,
    kernel: bool,
    config_dir: Option<PathBuf>,
    jupyter_dir: Option<PathBuf>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = argv.next().ok_or_else(|| USAGE.to_owned())?;
    let mut args = Args {
        command,
        source: Source::Version(env!("CARGO_PKG_VERSION").to_owned()),
        kernel: false,
        config_dir: None,
        jupyter_dir: None,
    };
    while let Some(flag) = argv.next() {
        let mut value = |name: &str| {
            argv.next()
                .ok_or_else(|| format!("{name} needs a value; see `fleche-evcxr help`"))
        };
        match flag.as_str() {
            "--path" => args.source = Source::Path(PathBuf::from(value("--path")?)),
            "--version" => args.source = Source::Version(value("--version")?),
            "--kernel" => args.kernel = true,
            "--config-dir" => args.config_dir = Some(PathBuf::from(value("--config-dir")?)),
            "--jupyter-dir" => args.jupyter_dir = Some(PathBuf::from(value("--jupyter-dir")?)),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(args)
}

fn config_dir(args: &Args) -> Result<PathBuf, SetupError> {
    args.config_dir
        .clone()
        .or_else(setup::evcxr_config_dir)
        .ok_or(SetupError::NoDirectory {
            what: "evcxr's configuration directory",
            flag: "--config-dir DIR",
        })
}

fn jupyter_dir(args: &Args) -> Result<PathBuf, SetupError> {
    args.jupyter_dir
        .clone()
        .or_else(setup::jupyter_data_dir)
        .ok_or(SetupError::NoDirectory {
            what: "Jupyter's data directory",
            flag: "--jupyter-dir DIR",
        })
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn run(args: Args) -> Result<Vec<Change>, Box<dyn std::error::Error>> {
    let source = match &args.source {
        Source::Path(p) => Source::Path(setup::check_fleche_path(p)?),
        other => other.clone(),
    };
    Ok(match (args.command.as_str(), args.kernel) {
        ("install", false) => setup::install_startup(&config_dir(&args)?, &source)?,
        ("install", true) => {
            let exe = find_on_path("evcxr_jupyter").ok_or(
                "evcxr_jupyter is not on PATH: install it first (`cargo install --locked evcxr_jupyter`)",
            )?;
            let launcher = std::env::current_exe()?;
            setup::install_kernel(&jupyter_dir(&args)?, &launcher, &exe, &source)?
        }
        ("uninstall", false) => setup::uninstall_startup(&config_dir(&args)?)?,
        ("uninstall", true) => setup::uninstall_kernel(&jupyter_dir(&args)?)?,
        ("status", _) => {
            print!(
                "{}",
                setup::status(&config_dir(&args)?, jupyter_dir(&args).ok().as_deref())?
            );
            Vec::new()
        }
        (other, _) => return Err(format!("unknown command `{other}`\n\n{USAGE}").into()),
    })
}

/// `fleche-evcxr kernel EVCXR_JUPYTER ARGS...`: the installed kernel's command.
fn run_kernel(args: Vec<String>) -> ExitCode {
    let Some((program, rest)) = args.split_first() else {
        eprintln!(
            "kernel needs the evcxr_jupyter to run: fleche-evcxr kernel EVCXR_JUPYTER ARGS..."
        );
        return ExitCode::from(2);
    };
    let Some(root) = fleche_evcxr::builds::root() else {
        eprintln!("fleche-evcxr: no cache directory for this user; set XDG_CACHE_HOME");
        return ExitCode::FAILURE;
    };
    match fleche_evcxr::builds::run_in_slot(&root, Path::new(program), rest) {
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        ),
        Err(e) => {
            eprintln!(
                "fleche-evcxr: cannot start {program} in a build directory under {}: {e}",
                root.display()
            );
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    if argv.peek().map(String::as_str) == Some("kernel") {
        return run_kernel(argv.skip(1).collect());
    }
    if argv.peek().map(String::as_str) == Some("check") {
        let Some(path) = argv.nth(1) else {
            eprintln!("check needs the cache file: fleche-evcxr check .fleche/cache.redb");
            return ExitCode::from(2);
        };
        // A damaged file can make redb panic inside the check; the error says so in one line.
        std::panic::set_hook(Box::new(|_| {}));
        return match fleche_evcxr::check::check_cache(Path::new(&path)) {
            Ok(report) if report.intact && report.needs_repair => {
                println!(
                    "{path}: needs repair: a writer stopped without closing it; a repaired copy passes the integrity check with {} calls. The file was not changed; the next program that opens it for writing repairs it (for example `fleche-tui --write {path}`)",
                    report.calls
                );
                ExitCode::SUCCESS
            }
            Ok(report) if report.intact => {
                println!("{path}: integrity check passed, {} calls", report.calls);
                ExitCode::SUCCESS
            }
            Ok(report) => {
                // Opening a damaged file does not repair it (only a crash's leftovers are
                // repaired on opening), so the advice is to start a new cache.
                eprintln!(
                    "{path}: integrity check FAILED: the file is damaged ({} calls readable in a repaired copy). The file was not changed; move it away and let fleche create a new cache",
                    report.calls
                );
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("fleche-evcxr: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if matches!(
        argv.peek().map(String::as_str),
        None | Some("help" | "--help" | "-h")
    ) {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse(argv) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let kernel = args.kernel;
    let installing = args.command == "install";
    match run(args) {
        Ok(changes) => {
            for change in &changes {
                println!("{change}");
            }
            if installing {
                let undo = if kernel {
                    "fleche-evcxr uninstall --kernel"
                } else {
                    "fleche-evcxr uninstall"
                };
                println!("New kernels and REPL sessions load fleche. To undo: {undo}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleche-evcxr: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse(s.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn flags_parse() {
        let a = args("install --path /x --kernel --jupyter-dir /j").unwrap();
        assert_eq!(a.source, Source::Path("/x".into()));
        assert!(a.kernel);
        assert_eq!(a.jupyter_dir.as_deref(), Some(Path::new("/j")));
        assert!(
            args("install --path")
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            args("install --bogus")
                .unwrap_err()
                .contains("unknown argument")
        );
    }
}
