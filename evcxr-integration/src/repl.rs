//! Drive the evcxr REPL (`evcxr`, from `cargo install evcxr_repl`) as a subprocess: the
//! notebook test harness. One [`Session`] is one kernel process; a second session in the
//! same directory is a kernel restart.
//!
//! Cells are sent on standard input, one line each (evcxr turns U+2028 back into line
//! breaks), each followed by a marker line, so the output can be split by cell.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the `evcxr` binary to use (else `evcxr` on `PATH`).
pub const ENV_BINARY: &str = "FLECHE_EVCXR_REPL";

/// Finds the evcxr REPL binary: `$FLECHE_EVCXR_REPL`, else `evcxr` on `PATH`.
pub fn find_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ENV_BINARY) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("evcxr"))
        .find(|p| p.is_file())
}

/// What a session printed, split by cell.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Standard output of each cell (colours removed), in order.
    pub cells: Vec<String>,
    /// The whole standard error (compiler errors, panics, fleche's warnings).
    pub stderr: String,
    /// How long the session took, start-up included.
    pub elapsed: Duration,
    /// The REPL's process id.
    pub pid: u32,
}

impl Transcript {
    /// The output of cell `i`, or an empty string if the session ended before it.
    pub fn cell(&self, i: usize) -> &str {
        self.cells.get(i).map_or("", String::as_str)
    }
}

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The binary could not be started.
    #[error("cannot start {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The session ran longer than allowed and was killed.
    #[error("evcxr did not finish within {limit:?}; output so far:\n{stdout}\nstderr:\n{stderr}")]
    Timeout {
        /// The limit.
        limit: Duration,
        /// Standard output so far.
        stdout: String,
        /// Standard error so far.
        stderr: String,
    },
    /// Talking to the process failed.
    #[error("talking to evcxr failed: {0}")]
    Io(#[from] std::io::Error),
}

/// One REPL process: where it runs and with which configuration.
#[derive(Debug, Clone)]
pub struct Session {
    binary: PathBuf,
    dir: PathBuf,
    config_dir: PathBuf,
    build_dir: Option<PathBuf>,
    limit: Duration,
}

const MARK: &str = "\u{1}fleche-cell-end";

impl Session {
    /// A session of `binary` run in `dir` (the notebook's directory: fleche's default cache
    /// goes to `dir/.fleche`), with evcxr's configuration read from `config_dir` (pass an
    /// empty directory to ignore the user's own `init.evcxr`).
    pub fn new(binary: &Path, dir: &Path, config_dir: &Path) -> Session {
        Session {
            binary: binary.to_owned(),
            dir: dir.to_owned(),
            config_dir: config_dir.to_owned(),
            build_dir: None,
            limit: Duration::from_secs(600),
        }
    }

    /// Builds cells in `dir` (`EVCXR_TMPDIR`) instead of a new temporary directory, so a
    /// later session reuses the compiled dependencies. Only one session may use it at a time.
    pub fn build_dir(mut self, dir: &Path) -> Session {
        self.build_dir = Some(dir.to_owned());
        self
    }

    /// Kills the session if it runs longer than `limit` (default 10 minutes).
    pub fn time_limit(mut self, limit: Duration) -> Session {
        self.limit = limit;
        self
    }

    /// Starts the REPL, runs `cells` in order, quits, and returns what each cell printed.
    pub fn run(&self, cells: &[&str]) -> Result<Transcript, SessionError> {
        let started = Instant::now();
        let mut command = Command::new(&self.binary);
        if let Some(dir) = &self.build_dir {
            command.env("EVCXR_TMPDIR", dir);
        }
        let mut child = command
            .arg("--disable-readline")
            .current_dir(&self.dir)
            .env("EVCXR_CONFIG_DIR", &self.config_dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SessionError::Spawn {
                binary: self.binary.clone(),
                source,
            })?;
        let pid = child.id();
        let mut input = String::new();
        for (i, cell) in cells.iter().enumerate() {
            input.push_str(&cell.trim().replace('\n', "\u{2028}"));
            input.push('\n');
            input.push_str(&format!("println!(\"{MARK} {i}\");\n"));
        }
        input.push_str(":quit\n");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut stdout_pipe = child.stdout.take().expect("stdout is piped");
        let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
        let out_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout_pipe.read_to_string(&mut s);
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr_pipe.read_to_string(&mut s);
            s
        });
        let timed_out = loop {
            if child.try_wait()?.is_some() {
                break false;
            }
            if started.elapsed() > self.limit {
                let _ = child.kill();
                let _ = child.wait();
                break true;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = writer.join();
        let stdout = strip_ansi(&out_reader.join().unwrap_or_default());
        let stderr = strip_ansi(&err_reader.join().unwrap_or_default());
        if timed_out {
            return Err(SessionError::Timeout {
                limit: self.limit,
                stdout,
                stderr,
            });
        }
        Ok(Transcript {
            cells: split_cells(&stdout, cells.len()),
            stderr,
            elapsed: started.elapsed(),
            pid,
        })
    }
}

/// Splits the REPL's output at the markers printed after each cell.
fn split_cells(stdout: &str, n: usize) -> Vec<String> {
    let mut cells = vec![String::new(); n];
    let mut current = 0;
    for line in stdout.lines() {
        if let Some(i) = line
            .find(MARK)
            .and_then(|at| line[at + MARK.len()..].trim().parse::<usize>().ok())
        {
            current = i + 1;
            continue;
        }
        if let Some(cell) = cells.get_mut(current) {
            cell.push_str(line);
            cell.push('\n');
        }
    }
    cells
}

/// Removes ANSI escape sequences (colours) and the REPL's `>> ` prompts.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out.lines()
        .map(|l| l.trim_start_matches(">> "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_split_at_markers() {
        let out = format!("a\n{MARK} 0\nb\nc\n{MARK} 1\n");
        assert_eq!(split_cells(&out, 2), vec!["a\n", "b\nc\n"]);
    }

    #[test]
    fn colours_and_prompts_are_removed() {
        assert_eq!(strip_ansi("\u{1b}[31m>> x\u{1b}[0m\ny"), "x\ny");
    }
}
