//! Optional metadata collectors (environment, git), switched on in `fleche.toml`.
//!
//! Both are gathered once per process: they describe where the program runs, and a `git`
//! subprocess per call would cost more than many cached calls.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::record::{Environment, Git};

fn enabled() -> crate::config::MetadataConfig {
    crate::config::current()
        .as_ref()
        .map(|c| *c.metadata())
        .unwrap_or_default()
}

pub(crate) fn environment() -> Option<Environment> {
    static ENV: OnceLock<Environment> = OnceLock::new();
    enabled().environment.then(|| {
        ENV.get_or_init(|| Environment {
            hostname: crate::store::hostname(),
            user: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_default(),
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            fleche_version: env!("CARGO_PKG_VERSION").to_owned(),
        })
        .clone()
    })
}

pub(crate) fn git() -> Option<Git> {
    static GIT: OnceLock<Git> = OnceLock::new();
    enabled().git.then(|| {
        GIT.get_or_init(|| Git {
            commit: run_git(&["rev-parse", "HEAD"]),
            branch: run_git(&["rev-parse", "--abbrev-ref", "HEAD"]),
            dirty: run_git(&["status", "--porcelain"]).map(|s| !s.is_empty()),
        })
        .clone()
    })
}

/// Runs git with a 2 s limit; `None` outside a repository or without git.
fn run_git(args: &[&str]) -> Option<String> {
    let mut child = Command::new("git")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match child.try_wait().ok()? {
            Some(status) if status.success() => break,
            Some(_) => return None,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                return None;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let output = child.wait_with_output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
