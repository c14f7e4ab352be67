//! A cache on a PostgreSQL server, shared by every process and machine that reaches it: the
//! same calls and values as a cache file, in tables fleche creates and versions itself.
//!
//! An unreachable server never stops a cached function: the first failure is reported once,
//! and for a short while every use fails at once instead of waiting for a connection; then
//! one use tries again. See `docs/scaling.md` for how this grows to many clients.

mod calls;
mod claims;
mod connect;
mod push;
mod schema;
mod tls;
mod write;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

pub(crate) use calls::Filter;
use calls::Found;
pub(crate) use push::Pusher;

use super::claims::{Claim, Claims, this_holder};
use super::maintenance::StoredCall;
use super::paging::TimeKey;
use crate::digest::Digest;
use crate::error::{Error, Result, warn_once};

/// After a failure to reach the server, uses fail at once for this long before one tries
/// again: a call then costs nothing extra during an outage.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// One PostgreSQL database holding a fleche cache.
pub(crate) struct Postgres {
    pool: connect::Pool,
    refused: Arc<connect::Refused>,
    shown: String,
    /// Set once the schema was created or checked on this server.
    schema: OnceLock<()>,
    /// Until when uses fail at once, and why; `None` while the server answers.
    down_until: Mutex<Option<(Instant, String)>>,
    /// Whether this outage was reported (once per outage, not per call).
    reported: AtomicBool,
    /// Keys this process holds leases on, renewed while their bodies run.
    leases: Arc<Leases>,
}

struct Leases {
    keys: Mutex<HashSet<Digest>>,
    /// Keys this process claimed whose claims the push of their calls ends (a claim lives
    /// until the server has the record). A push of other calls skips ending claims.
    unpushed: Mutex<HashSet<Digest>>,
    lease: Mutex<Duration>,
    renewer: OnceLock<()>,
}

impl Postgres {
    /// A cache on the database at `url` (`postgres://USER@HOST:PORT/DATABASE`, with
    /// `?sslmode=require` for TLS; the password from `PGPASSWORD` or `~/.pgpass`). Creates
    /// fleche's tables in an empty database and refuses one of another schema version. An
    /// unreachable server is not an error here: the cache works without it and tries again.
    pub(crate) fn connect(url: &str) -> Result<Arc<Postgres>> {
        let layer_error = |detail: String| Error::Layer {
            layer: url.to_owned(),
            detail,
        };
        let target = connect::target(url).map_err(layer_error)?;
        let (pool, refused) = connect::pool(&target).map_err(layer_error)?;
        let pg = Arc::new(Postgres {
            pool,
            refused,
            shown: target.shown,
            schema: OnceLock::new(),
            down_until: Mutex::new(None),
            reported: AtomicBool::new(false),
            leases: Arc::new(Leases {
                keys: Mutex::new(HashSet::new()),
                unpushed: Mutex::new(HashSet::new()),
                lease: Mutex::new(Duration::from_secs(10)),
                renewer: OnceLock::new(),
            }),
        });
        // A schema of another version, or TLS that the server and the URL disagree on, is an
        // error now, not on the first call; a server that cannot be reached is only reported.
        match pg.with_client(|_| Ok(())) {
            Err(e @ Error::Layer { .. }) if pg.schema.get().is_none() => {
                return Err(e);
            }
            _ => {}
        }
        Ok(pg)
    }

    /// The URL, for messages (it never holds a password).
    pub(crate) fn describe(&self) -> String {
        self.shown.clone()
    }

    fn error(&self, detail: impl std::fmt::Display) -> Error {
        Error::Layer {
            layer: self.shown.clone(),
            detail: detail.to_string(),
        }
    }

    /// Why the server counts as down now, or `None` when a use may try it.
    fn down_detail(&self) -> Option<String> {
        lock(&self.down_until)
            .as_ref()
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, detail)| detail.clone())
    }

    /// Runs `f` on a pooled connection, after creating or checking the schema once. A server
    /// that cannot be reached is reported once and skipped for [`RETRY_EVERY`].
    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut connect::Conn) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        if let Some(detail) = self.down_detail() {
            return Err(Error::Unreachable {
                layer: self.shown.clone(),
                detail,
            });
        }
        let mut client = match self.pool.get() {
            Ok(client) => client,
            Err(e) => {
                // A refusal is a setting to change, said once by whoever gets this error
                // (an error of `connect`, a warning of the stack), not an outage; it is not
                // tried again for a while either.
                if let Some(why) = self.refused.why() {
                    *lock(&self.down_until) = Some((Instant::now() + RETRY_EVERY, why.clone()));
                    return Err(self.error(why));
                }
                return Err(self.went_down(&e.to_string()));
            }
        };
        if self.schema.get().is_none() {
            schema::ensure(&mut client.client).map_err(|e| self.error(e))?;
            let _ = self.schema.set(());
        }
        match f(&mut client) {
            Ok(out) => {
                if lock(&self.down_until).take().is_some() {
                    self.reported.store(false, Ordering::Relaxed);
                    tracing::info!("the shared cache {} is reachable again", self.shown);
                }
                Ok(out)
            }
            // A lost connection is an outage; an error in a statement is only that statement's.
            Err(e) if e.is_closed() || e.as_db_error().is_none() => {
                Err(self.went_down(&e.to_string()))
            }
            Err(e) => Err(self.error(schema::detail(&e))),
        }
    }

    fn went_down(&self, detail: &str) -> Error {
        *lock(&self.down_until) = Some((Instant::now() + RETRY_EVERY, detail.to_owned()));
        if !self.reported.swap(true, Ordering::Relaxed) {
            warn_once(&format!(
                "the shared cache {} is unreachable ({detail}); calls compute without it and their results reach it when it is back",
                self.shown
            ));
        }
        Error::Unreachable {
            layer: self.shown.clone(),
            detail: detail.to_owned(),
        }
    }

    /// The result of the call under `key`, checked.
    pub(crate) fn result_of(&self, key: &Digest) -> Result<Option<(Digest, Vec<u8>)>> {
        let found = self.with_client(|c| calls::result_of(c, key))?;
        self.found(key, found)
    }

    /// The whole call under `key` with its values, checked, when the server holds it with
    /// its result: a hit to copy up, in one round trip.
    pub(crate) fn hit(&self, key: &Digest) -> Result<Option<StoredCall>> {
        let found = self.with_client(|c| calls::hit(c, key))?;
        self.found(key, found)
    }

    /// The value under `digest`, checked.
    pub(crate) fn value(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        let found = self.with_client(|c| calls::value(c, digest))?;
        self.found(digest, found)
    }

    fn found<T>(&self, key: &Digest, found: Found<T>) -> Result<Option<T>> {
        match found {
            Found::Absent => Ok(None),
            Found::Present(v) => Ok(Some(v)),
            Found::DamagedRecord => Err(self.error(format!(
                "the record of call {key} does not match its checksum"
            ))),
            Found::DamagedValue(d) => {
                Err(self.error(format!("the value {d} does not match its checksum")))
            }
        }
    }

    /// Whole calls, for back-fill and copies.
    pub(crate) fn calls(&self, keys: &[Digest]) -> Result<Vec<StoredCall>> {
        self.with_client(|c| calls::calls(c, keys))
    }

    /// Stores calls in one transaction (ending our leases on them); returns value bytes sent.
    pub(crate) fn store(&self, calls: &[StoredCall]) -> Result<u64> {
        if calls.is_empty() {
            return Ok(0);
        }
        let claimed: Vec<Digest> = {
            let unpushed = lock(&self.leases.unpushed);
            calls
                .iter()
                .map(|c| c.key)
                .filter(|k| unpushed.contains(k))
                .collect()
        };
        let sent = self.with_client(|c| write::store(c, calls, this_holder(), &claimed))?;
        let mut unpushed = lock(&self.leases.unpushed);
        for key in &claimed {
            unpushed.remove(key);
        }
        Ok(sent)
    }

    /// Records after `after`, in key order.
    pub(crate) fn records_after(
        &self,
        after: Option<Digest>,
        limit: usize,
    ) -> Result<Vec<(Digest, Vec<u8>)>> {
        self.with_client(|c| calls::records_after(c, after, limit))
    }

    /// The records of these calls, those the server holds.
    pub(crate) fn records(&self, keys: &[Digest]) -> Result<Vec<(Digest, Vec<u8>)>> {
        self.with_client(|c| calls::records(c, keys))
    }

    /// Calls by start time, newest first, before `before`.
    pub(crate) fn calls_before(
        &self,
        before: Option<TimeKey>,
        limit: usize,
    ) -> Result<Vec<TimeKey>> {
        self.with_client(|c| calls::calls_before(c, before, limit))
    }

    /// Calls by start time, oldest first, after `after`.
    pub(crate) fn calls_after(&self, after: TimeKey) -> Result<Vec<TimeKey>> {
        self.with_client(|c| calls::calls_after(c, after))
    }

    /// How many calls the server holds.
    pub(crate) fn count(&self) -> Result<u64> {
        self.with_client(calls::count)
    }

    /// Records an indexed filter selects, newest first.
    pub(crate) fn records_where(&self, filter: &Filter<'_>) -> Result<Vec<(Digest, Vec<u8>)>> {
        self.with_client(|c| calls::records_where(c, filter))
    }

    /// Removes calls; values stay.
    pub(crate) fn remove(&self, keys: &[Digest]) -> Result<usize> {
        self.with_client(|c| calls::remove(c, keys))
    }
}

impl Claims for Postgres {
    fn claim(&self, key: &Digest, lease: Duration) -> Result<Claim> {
        let me = this_holder();
        let holder = self.with_client(|c| claims::claim(c, key, me, lease))?;
        if holder != me {
            return Ok(Claim::HeldBy(holder));
        }
        *lock(&self.leases.lease) = lease;
        lock(&self.leases.keys).insert(*key);
        lock(&self.leases.unpushed).insert(*key);
        self.leases
            .renewer
            .get_or_init(|| start_renewer(Arc::downgrade(&self.leases), self.pool.clone()));
        Ok(Claim::Ours)
    }

    fn claim_holder(&self, key: &Digest) -> Result<Option<String>> {
        self.with_client(|c| claims::holder(c, key))
    }

    fn release_claim(&self, key: &Digest, remove: bool) -> Result<()> {
        lock(&self.leases.keys).remove(key);
        if !remove {
            return Ok(());
        }
        lock(&self.leases.unpushed).remove(key);
        self.with_client(|c| claims::release(c, std::slice::from_ref(key), this_holder()))
    }

    fn costly(&self) -> bool {
        true
    }
}

/// Renews this process's leases a quarter of a lease apart; ends with the cache.
fn start_renewer(leases: Weak<Leases>, pool: connect::Pool) {
    let spawned = std::thread::Builder::new()
        .name("fleche-pg-leases".into())
        .spawn(move || {
            loop {
                let Some(lease) = leases.upgrade().map(|l| *lock(&l.lease)) else {
                    return;
                };
                std::thread::sleep(lease / 4);
                let Some(held) = leases.upgrade() else { return };
                let keys: Vec<Digest> = lock(&held.keys).iter().copied().collect();
                drop(held);
                if keys.is_empty() {
                    continue;
                }
                let renewed = pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
                    claims::renew(&mut c, &keys, this_holder(), lease).map_err(|e| e.to_string())
                });
                if let Err(e) = renewed {
                    tracing::warn!("could not renew leases on the shared cache: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no thread to renew leases ({e}); long calls may be computed twice");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
