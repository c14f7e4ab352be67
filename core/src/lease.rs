//! Compute once across processes: a miss claims its key before the body runs (a lock in the
//! cache file, or a lease on the stack's shared database); a process that finds the key
//! claimed by another waits for that one's record, and takes over when the claim goes
//! without one (the holder failed, died, or its lease lapsed).
//!
//! Threads of one process already share a claim in `runtime`; this is the same promise
//! between processes (two notebooks, a pool of workers) that open one file or one database.
//! Where a claim costs a round trip, a function whose last body in this process ran under
//! 10 ms is not claimed: coordinating would cost more than computing twice.

use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use crate::cache::Cache;
use crate::digest::Digest;
use crate::error::{Stream, notice, warn_once};
use crate::function::Function;
use crate::store::{Claim, Claims, this_holder};

/// Turns waiting off for every function when set to `0`, `false`, `no` or `off`.
pub const ENV_WAIT: &str = "FLECHE_WAIT";
/// The length of a lease on a shared database in seconds (default 10): how long a dead
/// holder keeps others waiting there. A holder renews its lease every quarter of it while
/// the body runs. Claims on a file are locks that end with their holder, and have no lease.
pub const ENV_LEASE: &str = "FLECHE_LEASE";

const DEFAULT_LEASE: Duration = Duration::from_secs(10);
/// Polls for the holder's record start at 1 ms and slow down to this, so a waiter gets the
/// result within a few tens of milliseconds of its commit without keeping a core busy.
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// Where claims are costly, a body that took less than this last time is computed without
/// one: a lease costs a round trip to the server and its release another, about what
/// running such a body twice costs, and would multiply the cost of a small miss many times.
const WORTH_CLAIMING: Duration = Duration::from_millis(10);

/// Notes how long a body of `function` took, for the next miss's choice to claim or not.
pub(crate) fn body_took(function: &Function, took: Duration) {
    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX - 1);
    function.last_body_micros.store(micros, Ordering::Relaxed);
}

/// Whether a miss of `function` should claim its key: its body is slow, or not known yet.
fn worth_claiming(function: &Function) -> bool {
    let last = function.last_body_micros.load(Ordering::Relaxed);
    last == u64::MAX || Duration::from_micros(last) >= WORTH_CLAIMING
}

/// How waiting is set up for this process (read once from the environment).
struct Settings {
    wait: bool,
    lease: Duration,
}

fn settings() -> &'static Settings {
    static SETTINGS: LazyLock<Settings> = LazyLock::new(|| {
        // The environment wins over `[default] wait` in fleche.toml (a broken file has
        // been reported where the cache was opened; it leaves waiting on).
        let wait = match std::env::var(ENV_WAIT) {
            Ok(v) => !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "0" | "false" | "no" | "off"
            ),
            Err(_) => crate::config::current()
                .as_ref()
                .map_or(true, crate::config::Config::wait),
        };
        let lease = match std::env::var(ENV_LEASE) {
            Err(_) => DEFAULT_LEASE,
            Ok(text) => match text.trim().parse::<f64>() {
                Ok(secs) if secs.is_finite() && secs >= 0.05 => Duration::from_secs_f64(secs),
                _ => {
                    warn_once(&format!(
                        "{ENV_LEASE}={text:?} is not a number of seconds (at least 0.05); using {} s",
                        DEFAULT_LEASE.as_secs()
                    ));
                    DEFAULT_LEASE
                }
            },
        };
        Settings { wait, lease }
    });
    &SETTINGS
}

/// Our claim on a key while its body runs. Dropped without [`Lease::stored`] (a panic, an
/// `Err`, a result that could not be stored), it ends the claim at once so a waiter takes
/// over; after a store, the record's commit ends it.
pub(crate) struct Lease {
    claims: Arc<dyn Claims>,
    key: Digest,
    stored: bool,
}

impl Lease {
    /// The record was queued: its commit ends the claim.
    pub(crate) fn stored(&mut self) {
        self.stored = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Err(e) = self.claims.release_claim(&self.key, !self.stored) {
            tracing::warn!(key = %self.key, "could not end the claim on a call: {e}");
        }
    }
}

/// What [`acquire`] found.
pub(crate) enum Acquired<R> {
    /// Another process computed it meanwhile: its stored result.
    Hit(R),
    /// Compute it here, holding the lease (`None`: no coordination, as for a memory cache, a
    /// read-only file, `wait = false`, or a claim that failed).
    Compute(Option<Lease>),
}

/// Claims `key` for this process, or waits for the process that holds it. `look` reads the
/// stored result; it is tried after each pause and once more after a claim succeeds, since
/// the holder may have stored it between our lookup and our claim.
pub(crate) fn acquire<R>(
    cache: &Cache,
    function: &Function,
    key: &Digest,
    mut look: impl FnMut() -> Option<R>,
) -> Acquired<R> {
    if !function.wait || !settings().wait {
        return Acquired::Compute(None);
    }
    let Some(claims) = claims_of(cache) else {
        return Acquired::Compute(None);
    };
    if claims.costly() && !worth_claiming(function) {
        return Acquired::Compute(None);
    }
    let store = &claims;
    let lease = settings().lease;
    let mut announced = false;
    let mut pause = Duration::from_millis(1);
    loop {
        match store.claim(key, lease) {
            Ok(Claim::Ours) => {
                let lease = Lease {
                    claims: claims.clone(),
                    key: *key,
                    stored: false,
                };
                if let Some(value) = look() {
                    return Acquired::Hit(value);
                }
                return Acquired::Compute(Some(lease));
            }
            Ok(Claim::HeldBy(holder)) => {
                if !announced {
                    announced = true;
                    notice(
                        tracing::Level::INFO,
                        &format!(
                            "{}: waiting for call {} computed by {holder} (set {ENV_WAIT}=0 or #[fleche(wait = false)] not to wait)",
                            function.name,
                            &key.to_hex()[..12]
                        ),
                        Stream::Stderr,
                    );
                }
                // Wait until the record is there or the claim is gone (released, or lapsed
                // because its holder died), then claim again.
                loop {
                    std::thread::sleep(pause);
                    pause = (pause * 3 / 2).min(MAX_PAUSE);
                    if let Some(value) = look() {
                        return Acquired::Hit(value);
                    }
                    match store.claim_holder(key) {
                        Ok(Some(holder)) if holder != this_holder() => {}
                        Ok(_) => break,
                        Err(crate::Error::Unreachable { .. }) => return Acquired::Compute(None),
                        Err(e) => {
                            warn_once(&format!(
                                "{}: cannot read who computes a call, computing it here: {e}",
                                function.name
                            ));
                            return Acquired::Compute(None);
                        }
                    }
                }
            }
            // An unreachable shared cache said so itself, once.
            Err(crate::Error::Unreachable { .. }) => return Acquired::Compute(None),
            Err(e) => {
                warn_once(&format!(
                    "{}: cannot claim this call, so other processes may compute it too: {e}",
                    function.name
                ));
                return Acquired::Compute(None);
            }
        }
    }
}

/// Where `cache` keeps its leases: the shared database of a stack that has one (machines
/// then compute once), else its (top) file, when other processes can open it; `None` for a
/// memory cache or a read-only file, which no other process writes to.
fn claims_of(cache: &Cache) -> Option<Arc<dyn Claims>> {
    if let Some(claims) = cache.layers.as_ref().and_then(|l| l.claims.clone()) {
        return Some(claims);
    }
    let store = &cache.store;
    store.can_claim().then(|| store.clone() as Arc<dyn Claims>)
}
