//! The outbox of a cache file stacked above a shared database: the keys of calls stored here
//! that the database has not confirmed yet. An entry is written in the commit that stores its
//! record, so a result can never be in the file and missing from the outbox, and removed only
//! after the database committed it: a crash or an outage delays a push, never loses it.
//!
//! The table `fleche_outbox` is created with the first entry; releases that do not know it
//! never open it, so it did not change the format version.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{Key, Store, write_in};
use crate::digest::Digest;
use crate::error::Result;

/// call key -> when it was queued (ns since the Unix epoch)
pub(super) const OUTBOX: TableDefinition<'_, Key, i64> = TableDefinition::new("fleche_outbox");

/// Whether a store keeps an outbox, and who sends it: shared by the store and its writer.
#[derive(Default)]
pub(crate) struct Outbox {
    enabled: AtomicBool,
    sender: Mutex<Option<Arc<dyn Sender>>>,
}

/// What sends an outbox (the push to a shared database).
pub(crate) trait Sender: Send + Sync {
    /// Records with outbox entries were committed: send soon.
    fn committed(&self);
    /// The file is about to close (the process exits): send what is left while it can.
    fn closing(&self);
}

impl Outbox {
    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    fn sender(&self) -> Option<Arc<dyn Sender>> {
        self.sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Tells the sender about a commit that wrote outbox entries.
    pub(crate) fn committed(&self) {
        if let Some(sender) = self.sender() {
            sender.committed();
        }
    }

    /// Lets the sender finish before the file closes.
    pub(crate) fn closing(&self) {
        if let Some(sender) = self.sender() {
            sender.closing();
        }
    }
}

// Used by the PostgreSQL layer only (the `postgres` feature).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl Store {
    /// From now on, every record this store commits gets an outbox entry, and `sender` hears
    /// of each such commit and of the file closing.
    pub(crate) fn enable_outbox(&self, sender: Arc<dyn Sender>) {
        *self.outbox.sender.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender);
        self.outbox.enabled.store(true, Ordering::Release);
    }

    /// Up to `limit` keys waiting to be pushed, oldest key order first.
    pub(crate) fn outbox(&self, limit: usize) -> Result<Vec<Digest>> {
        self.read_now(|txn| {
            let table = match txn.open_table(OUTBOX) {
                Ok(table) => table,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            let mut keys = Vec::new();
            for entry in table.iter()?.take(limit) {
                keys.push(Digest::from_bytes(entry?.0.value()));
            }
            Ok(keys)
        })
    }

    /// How many calls wait to be pushed.
    pub(crate) fn outbox_len(&self) -> Result<u64> {
        self.read_now(|txn| match txn.open_table(OUTBOX) {
            Ok(table) => Ok(table.len()?),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        })
    }

    /// Removes these keys from the outbox: the database has their calls.
    pub(crate) fn outbox_done(&self, keys: &[Digest]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.slot.with(|db| {
            write_in(db, |txn| {
                let mut table = txn.open_table(OUTBOX)?;
                for key in keys {
                    table.remove(key.as_bytes())?;
                }
                Ok(())
            })
        })
    }
}

/// Adds outbox entries for `keys` in `txn` (the commit that stores their records).
pub(super) fn add_in<'k>(
    txn: &redb::WriteTransaction,
    keys: impl Iterator<Item = &'k Digest>,
) -> Result<(), redb::Error> {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let mut table = txn.open_table(OUTBOX)?;
    for key in keys {
        table.insert(key.as_bytes(), now)?;
    }
    Ok(())
}
