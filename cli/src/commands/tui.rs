//! `fleche tui`: opens the cache in `fleche-tui`, which stays its own program.

use std::io::ErrorKind;
use std::process::Command;

use crate::failure::{Failure, Outcome};
use crate::target::Target;

/// Runs `fleche-tui` on the chosen cache and waits for it.
pub fn run(target: &Target) -> Outcome {
    let chosen = target.choose()?;
    let status = Command::new("fleche-tui").arg(&chosen.path).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(Failure {
            message: format!("fleche-tui exited with {s}"),
            code: s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1),
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Failure::usage(
            "fleche-tui is not on PATH: install it with `cargo install fleche-tui`, \
             or run it from a checkout with `cargo run -p fleche-tui -- PATH`",
        )),
        Err(e) => Err(Failure::failed(format!("cannot start fleche-tui: {e}"))),
    }
}
