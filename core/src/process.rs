//! State shared by every copy of fleche in one process.
//!
//! The evcxr kernel links a fresh copy of fleche into every cell's library and never unloads
//! one, so each cell has its own statics and thread-locals: tags set in one cell, the cache a
//! cell activated and the open cache file would be invisible to the next cell. Under evcxr,
//! the first copy publishes the address of its registry in an environment variable named
//! after this build's fingerprint (`build.rs`), and later copies use that registry: each
//! shared static is then the first copy's. Copies built differently (another version, other
//! features) get another variable and share nothing. Outside evcxr nothing is published and
//! every static is the copy's own.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

type Registry = Mutex<BTreeMap<&'static str, &'static (dyn Any + Send + Sync)>>;

/// Whether this process is the evcxr kernel's runtime (evcxr sets `EVCXR_IS_RUNTIME` in it).
pub(crate) fn in_evcxr() -> bool {
    static IN_EVCXR: OnceLock<bool> = OnceLock::new();
    *IN_EVCXR
        .get_or_init(|| std::env::var_os(crate::config::ENV_EVCXR).is_some_and(|v| !v.is_empty()))
}

/// The process's instance of a static: `local` (this copy's own) unless another copy of the
/// same build published one under `name` first. Callers keep the answer in a `OnceLock` of
/// their own, so the registry is consulted once per copy and name.
pub(crate) fn shared<T: Any + Send + Sync>(name: &'static str, local: &'static T) -> &'static T {
    let mut registry = registry().lock().unwrap_or_else(|e| e.into_inner());
    let found = *registry.entry(name).or_insert(local);
    // Same build, so the same type id; a mismatch would be a bug in the naming, and this
    // copy's own static is the safe answer.
    found.downcast_ref::<T>().unwrap_or(local)
}

/// `shared_static!(NAME, TYPE, LOCAL)`: the process's instance of this copy's static `LOCAL` of
/// type `TYPE` (see [`shared`]), looked up once per copy and kept in a hidden `OnceLock`.
macro_rules! shared_static {
    ($name:literal, $ty:ty, $local:expr) => {{
        static SHARED: ::std::sync::OnceLock<&'static $ty> = ::std::sync::OnceLock::new();
        *SHARED.get_or_init(|| $crate::process::shared($name, $local))
    }};
}
pub(crate) use shared_static;

fn registry() -> &'static Registry {
    static LOCAL: Registry = Mutex::new(BTreeMap::new());
    static ANCHOR: OnceLock<&'static Registry> = OnceLock::new();
    ANCHOR.get_or_init(|| {
        if !in_evcxr() {
            return &LOCAL;
        }
        let variable = concat!("FLECHE_SHARED_STATE_", env!("FLECHE_BUILD_ID"));
        if let Some(address) = std::env::var(variable)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|a| *a != 0)
        {
            // SAFETY: the address was published below by a copy of fleche of this very build
            // (the variable's name carries its fingerprint) in this process, and points to
            // that copy's `LOCAL`, a static of the same type. evcxr never unloads a cell's
            // library, so the static lives as long as the process.
            #[allow(unsafe_code)]
            return unsafe { &*(address as *const Registry) };
        }
        let address = &LOCAL as *const Registry as usize;
        // SAFETY: `set_var` races with a concurrent `getenv` on another thread. This runs once
        // per process, in the first cell that uses fleche, before fleche has started any thread;
        // evcxr runs one cell at a time.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(variable, address.to_string());
        }
        &LOCAL
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_evcxr_a_static_is_the_copy_own() {
        static A: Mutex<u32> = Mutex::new(1);
        static B: Mutex<u32> = Mutex::new(2);
        let a = shared("process-test-a", &A);
        assert!(std::ptr::eq(a, &A));
        // The first static published under a name stays the answer for that name.
        let again = shared("process-test-a", &B);
        assert!(std::ptr::eq(again, &A));
        // Another type under a taken name falls back to the caller's own.
        static C: Mutex<u64> = Mutex::new(3);
        assert!(std::ptr::eq(shared("process-test-a", &C), &C));
    }
}
