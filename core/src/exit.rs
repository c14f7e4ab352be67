//! Committing queued writes and closing the default cache when the process exits.
//!
//! The default cache lives in a static, and Rust runs no destructors for statics. redb flags
//! a file that was open for writing as needing repair until it is closed, so without this every
//! program using the default cache would leave a file that read-only openers (`fleche-tui`)
//! refuse and the next writer must repair, scanning the whole file.

use std::sync::Once;

/// Registers, once per process, a C `atexit` handler that commits every queued call record
/// and closes the default cache.
#[allow(unsafe_code)]
pub(crate) fn flush_at_exit() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        extern "C" fn close() {
            // Unwinding out of an `extern "C"` function aborts; a failure here must not.
            let _ = std::panic::catch_unwind(|| {
                crate::store::Store::flush_all();
                crate::cache::close_default_cache();
            });
        }
        // SAFETY: `close` is a plain `extern "C" fn()` that never unwinds; `atexit` only stores
        // the pointer and calls it from `exit`, after `main` has returned.
        let status = unsafe { libc::atexit(close) };
        if status != 0 {
            tracing::warn!(
                "cannot register the exit hook; the cache file will need a repair on next open"
            );
        }
    });
}
