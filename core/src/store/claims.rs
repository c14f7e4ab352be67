//! Leases on call keys in the cache file, so that processes sharing one file compute each
//! call once: the first to miss claims the key, the others wait for its record. A claim names
//! its holder and lapses unless renewed, so a holder that dies lets go of it by itself.
//!
//! The table `fleche_claims` is created on the first claim; fleche releases that do not know
//! it never open it, which is why adding it did not change the format version.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{ReadableTable, TableDefinition};

use super::slot::Slot;
use super::{Key, Location, Store, write_in};
use crate::digest::Digest;
use crate::error::Result;
use crate::meta::hostname;

/// call key -> (holder, end of the lease in ns since the Unix epoch)
const CLAIMS: TableDefinition<'_, Key, (&str, i64)> = TableDefinition::new("fleche_claims");

/// Who computes a call: this machine, this process and when this copy of fleche started (a
/// notebook runs several copies of fleche's statics in one process, and each claims apart).
pub(crate) fn this_holder() -> &'static str {
    static HOLDER: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{} pid {} since {}",
            hostname(),
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ")
        )
    });
    &HOLDER
}

/// What a claim on a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The key is ours until the lease ends (renewed while we hold it).
    Ours,
    /// Another holder has it and its lease runs.
    HeldBy(String),
}

/// Where the leases of a cache live: its file, or the shared database below it. Whoever
/// claims through it holds the key until it releases it or its lease lapses; it renews the
/// leases it holds by itself.
pub(crate) trait Claims: Send + Sync {
    /// Claims `key` for `lease` unless another holder's lease on it runs.
    fn claim(&self, key: &Digest, lease: Duration) -> Result<Claim>;
    /// The holder of a running lease on `key`, if any.
    fn claim_holder(&self, key: &Digest) -> Result<Option<String>>;
    /// Stops renewing our claim on `key`; with `remove`, ends it at once.
    fn release_claim(&self, key: &Digest, remove: bool) -> Result<()>;
}

impl Claims for Store {
    fn claim(&self, key: &Digest, lease: Duration) -> Result<Claim> {
        Store::claim(self, key, lease)
    }
    fn claim_holder(&self, key: &Digest) -> Result<Option<String>> {
        Store::claim_holder(self, key)
    }
    fn release_claim(&self, key: &Digest, remove: bool) -> Result<()> {
        Store::release_claim(self, key, remove)
    }
}

/// Keys this store holds, renewed by a background thread while their bodies run.
pub(crate) struct Leases {
    shared: Arc<Held>,
    renewer: OnceLock<()>,
}

struct Held {
    keys: Mutex<HashSet<Key>>,
    lease: Mutex<Duration>,
}

impl Leases {
    pub(crate) fn new() -> Leases {
        Leases {
            shared: Arc::new(Held {
                keys: Mutex::new(HashSet::new()),
                lease: Mutex::new(Duration::from_secs(10)),
            }),
            renewer: OnceLock::new(),
        }
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn end_of(lease: Duration) -> i64 {
    now_nanos().saturating_add(i64::try_from(lease.as_nanos()).unwrap_or(i64::MAX))
}

impl Store {
    /// Whether other processes can share this store's claims: a file opened read-write.
    pub(crate) fn can_claim(&self) -> bool {
        matches!(self.location, Location::File(_)) && !self.read_only
    }

    /// Claims `key` for `lease` unless another holder's lease on it runs. A claim of ours is
    /// renewed in the background until [`Store::release_claim`] or the record's commit.
    pub(crate) fn claim(&self, key: &Digest, lease: Duration) -> Result<Claim> {
        let me = this_holder();
        let claim = self.slot.with(|db| {
            write_in(db, |txn| {
                let mut table = txn.open_table(CLAIMS)?;
                if let Some(entry) = table.get(key.as_bytes())? {
                    let (holder, ends) = entry.value();
                    if holder != me && ends > now_nanos() {
                        return Ok(Claim::HeldBy(holder.to_owned()));
                    }
                }
                table.insert(key.as_bytes(), (me, end_of(lease)))?;
                Ok(Claim::Ours)
            })
        })?;
        if claim == Claim::Ours {
            *lock(&self.leases.shared.lease) = lease;
            lock(&self.leases.shared.keys).insert(*key.as_bytes());
            self.leases
                .renewer
                .get_or_init(|| start_renewer(&self.leases.shared, &self.slot));
        }
        Ok(claim)
    }

    /// The holder of a running lease on `key`, read without writing; `None` when the key is
    /// free (never claimed, released, or its lease ran out).
    pub(crate) fn claim_holder(&self, key: &Digest) -> Result<Option<String>> {
        self.read_now(|txn| {
            let table = match txn.open_table(CLAIMS) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            Ok(table.get(key.as_bytes())?.and_then(|entry| {
                let (holder, ends) = entry.value();
                (ends > now_nanos()).then(|| holder.to_owned())
            }))
        })
    }

    /// Stops renewing our claim on `key`; with `remove`, also ends it in the file at once (a
    /// body that stored nothing: a panic, an `Err`). A stored record ends it in its commit.
    pub(crate) fn release_claim(&self, key: &Digest, remove: bool) -> Result<()> {
        lock(&self.leases.shared.keys).remove(key.as_bytes());
        if !remove {
            return Ok(());
        }
        self.slot
            .with(|db| write_in(db, |txn| end_claims_in(txn, std::iter::once(key))))
    }
}

/// Ends our claims on `keys` in `txn` (the commit that stores their records); a claim that
/// another holder took over after ours lapsed is left to it.
pub(super) fn end_claims_in<'k>(
    txn: &redb::WriteTransaction,
    keys: impl Iterator<Item = &'k Digest>,
) -> Result<(), redb::Error> {
    let mut table = txn.open_table(CLAIMS)?;
    let me = this_holder();
    for key in keys {
        let ours = table
            .get(key.as_bytes())?
            .is_some_and(|entry| entry.value().0 == me);
        if ours {
            table.remove(key.as_bytes())?;
        }
    }
    Ok(())
}

/// Whether the file has a claims table at all (written once something was claimed), so a
/// commit of records does not create it in files where no one ever waited.
pub(super) fn has_claims(txn: &redb::WriteTransaction) -> Result<bool, redb::Error> {
    use redb::TableHandle;
    Ok(txn.list_tables()?.any(|t| t.name() == CLAIMS.name()))
}

/// Renews every claim this store holds, a quarter of a lease apart, so a lease lapses only
/// when the process stops (or stalls for most of a lease). Ends with the store.
fn start_renewer(held: &Arc<Held>, slot: &Arc<Slot>) {
    let held: Weak<Held> = Arc::downgrade(held);
    let slot: Weak<Slot> = Arc::downgrade(slot);
    let spawned = std::thread::Builder::new()
        .name("fleche-leases".into())
        .spawn(move || {
            loop {
                let Some(lease) = held.upgrade().map(|h| *lock(&h.lease)) else {
                    return;
                };
                std::thread::sleep(lease / 4);
                let (Some(held), Some(slot)) = (held.upgrade(), slot.upgrade()) else {
                    return;
                };
                let keys: Vec<Key> = lock(&held.keys).iter().copied().collect();
                if keys.is_empty() {
                    continue;
                }
                if let Err(e) = renew(&slot, &keys, lease) {
                    tracing::warn!("could not renew the leases on calls being computed: {e}");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no thread to renew leases ({e}); long calls may be computed twice");
    }
}

fn renew(slot: &Slot, keys: &[Key], lease: Duration) -> Result<()> {
    let me = this_holder();
    slot.with(|db| {
        write_in(db, |txn| {
            let mut table = txn.open_table(CLAIMS)?;
            for key in keys {
                let ours = table.get(key)?.is_some_and(|entry| entry.value().0 == me);
                if ours {
                    table.insert(key, (me, end_of(lease)))?;
                }
            }
            Ok(())
        })
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
