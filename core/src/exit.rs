//! Work that must run when the process exits: modules register a plain function here.
//!
//! Rust runs no destructors for statics, and redb flags a file that was open for writing as
//! needing repair until it is closed; so the store registers "commit every queued write and
//! close every file" and the default cache "close the default cache", which this module runs from a C `atexit`
//! handler, in the order they were registered.
//!
//! Under evcxr, Jupyter stops a kernel that has not exited 2.5 s after a shutdown or restart
//! request with SIGTERM to its whole process group, which ends evcxr's runtime process without
//! exit hooks; there, a thread turns SIGTERM into a normal exit, so the hooks run.

use std::sync::{Mutex, Once};

/// The functions to run at exit, in registration order.
static HOOKS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// Runs `hook` when the process exits normally (after `main` returns, or on
/// `std::process::exit`). Callers register each hook once; a panic in a hook is caught.
#[allow(unsafe_code)]
pub(crate) fn at_exit(hook: fn()) {
    static REGISTER: Once = Once::new();
    HOOKS.lock().unwrap_or_else(|e| e.into_inner()).push(hook);
    REGISTER.call_once(|| {
        // SAFETY: `run_hooks` is a plain `extern "C" fn()` that never unwinds; `atexit` only
        // stores the pointer and calls it from `exit`, after `main` has returned.
        let status = unsafe { libc::atexit(run_hooks) };
        if status != 0 {
            tracing::warn!(
                "cannot register the exit hook; the cache file will need a repair on next open"
            );
        }
        if crate::process::in_evcxr() {
            exit_normally_on_sigterm();
        }
    });
}

/// Starts, once per process (every cell's copy of fleche asks), a thread that exits the
/// process normally when it receives SIGTERM, running every copy's exit hooks.
fn exit_normally_on_sigterm() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static STARTED: AtomicBool = AtomicBool::new(false);
    let started = crate::process::shared_static!("exit::SIGTERM", AtomicBool, &STARTED);
    if started.swap(true, Ordering::AcqRel) {
        return;
    }
    let term = signal_hook::consts::SIGTERM;
    let watcher = signal_hook::iterator::Signals::new([term]).map(|mut signals| {
        std::thread::Builder::new()
            .name("fleche-exit-on-sigterm".into())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    std::process::exit(128 + term);
                }
            })
    });
    if !matches!(watcher, Ok(Ok(_))) {
        tracing::warn!(
            "cannot watch for SIGTERM; a kernel stopped by Jupyter may leave the cache needing repair"
        );
    }
}

extern "C" fn run_hooks() {
    // Taken out of the lock, so a hook that registers another cannot deadlock.
    let hooks = std::mem::take(&mut *HOOKS.lock().unwrap_or_else(|e| e.into_inner()));
    for hook in hooks {
        // Unwinding out of an `extern "C"` function aborts; a failure here must not.
        let _ = std::panic::catch_unwind(hook);
    }
}
