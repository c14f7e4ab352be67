//! Build directories kept from one kernel to the next, for the "Rust (fleche)" kernel.
//!
//! evcxr compiles every dependency again in each new kernel (fleche and its dependencies:
//! about two minutes on 2 cores) unless its build directory survives. evcxr's own compilation
//! cache (`:cache`) is no answer: it keys a build by the compiler's command line, not by the
//! source, and trusts that only crates from crates.io are built without incremental
//! compilation; with `CARGO_INCREMENTAL=0` in the environment it serves a stale library for a
//! cell or a path dependency (measured: "dlsym failed" in the second cell of a new kernel). A kept build directory is safe as long as two
//! running kernels never share one (both would write the same sources), so each kernel takes
//! the first free slot under the user's cache directory and holds a lock on it while it runs.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// At most this many kernels keep their builds at once; more start in a fresh directory.
pub const SLOTS: usize = 8;

/// Where the slots live: `fleche-evcxr/builds` in the user's cache directory.
pub fn root() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("fleche-evcxr").join("builds"))
}

/// A build directory held by this process until dropped.
#[derive(Debug)]
pub struct Slot {
    /// The directory to give evcxr (`EVCXR_TMPDIR`).
    pub dir: PathBuf,
    _lock: Option<File>,
    _fresh: Option<tempfile::TempDir>,
}

/// Takes the first slot under `root` that no running kernel holds, or, when all are busy, a
/// fresh temporary directory (deleted afterwards).
pub fn take(root: &Path) -> std::io::Result<Slot> {
    for i in 0..SLOTS {
        let dir = root.join(i.to_string());
        std::fs::create_dir_all(&dir)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        match lock.try_lock() {
            Ok(()) => {
                return Ok(Slot {
                    dir: dir.join("build"),
                    _lock: Some(lock),
                    _fresh: None,
                });
            }
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
    let fresh = tempfile::Builder::new()
        .prefix("fleche-evcxr-build-")
        .tempdir()?;
    Ok(Slot {
        dir: fresh.path().to_owned(),
        _lock: None,
        _fresh: Some(fresh),
    })
}

/// Runs `program` (evcxr_jupyter) with `args` in a slot, holding it until the program ends.
/// Jupyter signals the kernel's whole process group, so stopping the kernel stops both.
pub fn run_in_slot(root: &Path, program: &Path, args: &[String]) -> std::io::Result<ExitStatus> {
    let slot = take(root)?;
    std::fs::create_dir_all(&slot.dir)?;
    Command::new(program)
        .args(args)
        .env("EVCXR_TMPDIR", &slot.dir)
        .status()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_slot_is_not_given_twice_and_is_reused_once_free() {
        let root = tempfile::tempdir().unwrap();
        let a = take(root.path()).unwrap();
        let b = take(root.path()).unwrap();
        assert_ne!(
            a.dir, b.dir,
            "two running kernels never share a build directory"
        );
        let first = a.dir.clone();
        drop(a);
        let c = take(root.path()).unwrap();
        assert_eq!(
            c.dir, first,
            "a freed slot (and its compiled crates) is taken again"
        );
        drop((b, c));
    }

    #[test]
    fn when_every_slot_is_busy_a_fresh_directory_is_used() {
        let root = tempfile::tempdir().unwrap();
        let held: Vec<Slot> = (0..SLOTS).map(|_| take(root.path()).unwrap()).collect();
        let extra = take(root.path()).unwrap();
        assert!(!extra.dir.starts_with(root.path()));
        assert!(held.iter().all(|s| s.dir != extra.dir));
    }
}
