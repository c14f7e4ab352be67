//! The size limit of a cache (`max_size`): when a commit takes the cache over it, the least
//! recently used calls are evicted, each with the values no other call refers to, in that
//! same commit, until the cache is under the limit again.
//!
//! A call's size is its record plus the values it names (a value two calls share counts for
//! both, so the cache's real size is at most the counted one). Sizes and last uses live in
//! their own table, written only by processes that have a limit; a hit notes its use in
//! memory, and the notes are committed with the next write (or within a second), never one
//! commit per hit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{
    BY_ARGUMENT, BY_RESULT, CALLS, CALLS_IN_PLACE, Key, Prefix, VALUES, intact_record, prefix,
    unindex,
};
use crate::digest::Digest;
use crate::record::{CallRecord, RecordView};

/// call key -> (last use in ns since the Unix epoch, bytes of its record and values)
pub(super) const USES: TableDefinition<'_, Key, (i64, u64)> = TableDefinition::new("calls_used");
/// `"bytes"` -> the sum of the sizes in [`USES`].
const TOTAL: TableDefinition<'_, &str, u64> = TableDefinition::new("calls_used_total");
const TOTAL_KEY: &str = "bytes";

/// How many hits are noted before the writer is woken to commit them.
pub(crate) const USES_BATCH: usize = 4096;

/// A store's size limit and the uses noted since the last commit.
#[derive(Default)]
pub(crate) struct Limit {
    /// The limit in bytes; 0 for none.
    max_size: AtomicU64,
    uses: Mutex<HashMap<Digest, i64>>,
}

/// What one commit stored: a call's key, its size, and when it was last used (when it
/// finished computing), in ns since the Unix epoch.
pub(crate) struct Written {
    pub(crate) key: Digest,
    pub(crate) bytes: u64,
    pub(crate) at: i64,
}

impl Written {
    /// A queued call as the size limit counts it.
    pub(crate) fn of(call: &super::QueuedCall) -> Written {
        Written {
            key: call.key,
            bytes: call.size() as u64,
            at: call
                .record
                .metadata
                .timestop
                .timestamp_nanos_opt()
                .unwrap_or(0),
        }
    }
}

/// What enforcing the limit did in one commit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Evicted {
    pub(crate) calls: u64,
    pub(crate) values: u64,
}

impl Limit {
    pub(crate) fn set(&self, max_size: Option<u64>) {
        self.max_size
            .store(max_size.unwrap_or(0), Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Option<u64> {
        Some(self.max_size.load(Ordering::Relaxed)).filter(|n| *n > 0)
    }

    /// Notes a hit on `key`, when there is a limit. Returns whether the writer should be
    /// woken: for the first use noted since the last commit (to start its wait), and when
    /// a batch is full.
    pub(crate) fn note_use(&self, key: &Digest) -> bool {
        if self.max_size.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut uses = self.uses.lock().unwrap_or_else(|e| e.into_inner());
        let first = uses.is_empty();
        let new = uses.insert(*key, now_nanos()).is_none();
        first || (new && uses.len() == USES_BATCH)
    }

    /// How many hits wait to be committed.
    pub(crate) fn waiting_uses(&self) -> usize {
        self.uses.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Records this commit's new calls and the noted uses in `txn`, then evicts the least
    /// recently used calls while the cache is over its limit. Without a limit, nothing.
    pub(crate) fn apply(
        &self,
        txn: &redb::WriteTransaction,
        written: &[Written],
    ) -> Result<Evicted, redb::Error> {
        let Some(max) = self.get() else {
            return Ok(Evicted::default());
        };
        let uses = std::mem::take(&mut *self.uses.lock().unwrap_or_else(|e| e.into_inner()));
        let mut table = txn.open_table(USES)?;
        let mut total = txn
            .open_table(TOTAL)?
            .get(TOTAL_KEY)?
            .map_or(0, |v| v.value());
        for call in written {
            let old = table.insert(call.key.as_bytes(), (call.at, call.bytes))?;
            total = (total + call.bytes).saturating_sub(old.map_or(0, |o| o.value().1));
        }
        for (key, at) in uses {
            let size = table.get(key.as_bytes())?.map(|v| v.value().1);
            if let Some(size) = size {
                table.insert(key.as_bytes(), (at, size))?;
            }
        }
        // Calls stored or removed by a process without a limit (or an older fleche) have no
        // row, or a stale one: count them anew.
        if table.len()? != txn.open_table(CALLS)?.len()? {
            drop(table);
            total = reconcile(txn)?;
            table = txn.open_table(USES)?;
        }
        let mut evicted = Evicted::default();
        if total > max {
            let mut order: Vec<(i64, Key, u64)> = Vec::with_capacity(table.len()? as usize);
            for entry in table.iter()? {
                let (key, row) = entry?;
                let (at, size) = row.value();
                order.push((at, key.value(), size));
            }
            drop(table);
            order.sort_unstable();
            let names = argument_names(txn)?;
            let mut table = txn.open_table(USES)?;
            for (_, key, size) in order {
                if total <= max {
                    break;
                }
                evicted.values += evict_call(txn, &key, &names)?;
                evicted.calls += 1;
                table.remove(&key)?;
                total = total.saturating_sub(size);
            }
        }
        txn.open_table(TOTAL)?.insert(TOTAL_KEY, total)?;
        Ok(evicted)
    }
}

/// Rebuilds [`USES`] from the calls table: keeps the rows of stored calls, adds a row (last
/// used when it started) for each call without one, drops rows of calls no longer stored.
/// Returns the new total.
fn reconcile(txn: &redb::WriteTransaction) -> Result<u64, redb::Error> {
    let mut old: HashMap<Key, (i64, u64)> = HashMap::new();
    {
        let table = txn.open_table(USES)?;
        for entry in table.iter()? {
            let (k, v) = entry?;
            old.insert(k.value(), v.value());
        }
    }
    let mut rows: Vec<(Key, (i64, u64))> = Vec::new();
    {
        let calls = txn.open_table(CALLS_IN_PLACE)?;
        let values = txn.open_table(VALUES)?;
        for entry in calls.iter()? {
            let (k, v) = entry?;
            let key = *k.value();
            if let Some(row) = old.get(&key) {
                rows.push((key, *row));
                continue;
            }
            let (_, record) = v.value();
            let mut digests = Vec::new();
            let mut started = 0;
            if let Ok(view) = RecordView::decode(record) {
                digests.push(*view.result.as_bytes());
                digests.extend(view.arguments.iter().map(|(_, d)| *d.as_bytes()));
                started = view.metadata.start_nanos;
            }
            digests.sort_unstable();
            digests.dedup();
            let mut size = record.len() as u64;
            for d in &digests {
                if let Some(v) = values.get(d)? {
                    size += v.value().1.len() as u64;
                }
            }
            rows.push((key, (started, size)));
        }
    }
    let mut table = txn.open_table(USES)?;
    table.retain(|_, _| false)?;
    let mut total = 0;
    for (key, row) in rows {
        total += row.1;
        table.insert(&key, row)?;
    }
    Ok(total)
}

/// Every argument name in the argument index (few: one per parameter of each function).
fn argument_names(txn: &redb::WriteTransaction) -> Result<Vec<String>, redb::Error> {
    let index = txn.open_table(BY_ARGUMENT)?;
    let mut names = Vec::new();
    let mut next = index.range::<(&str, Prefix, Prefix)>(..)?.next();
    while let Some(entry) = next {
        let name = entry?.0.value().0.to_owned();
        // Past every digest of this name: the next name.
        next = index
            .range::<(&str, Prefix, Prefix)>((
                std::ops::Bound::Excluded((name.as_str(), Prefix::MAX, Prefix::MAX)),
                std::ops::Bound::Unbounded,
            ))?
            .next();
        names.push(name);
    }
    Ok(names)
}

/// Removes the call under `key` with its index entries, and the values it named that no
/// other call refers to; returns how many values were removed.
fn evict_call(
    txn: &redb::WriteTransaction,
    key: &Key,
    names: &[String],
) -> Result<u64, redb::Error> {
    let removed = txn
        .open_table(CALLS)?
        .remove(key)?
        .map(|v| intact_record(v.value()));
    let Some(record) = removed else {
        return Ok(0);
    };
    let digest = Digest::from_bytes(*key);
    // A damaged record's values cannot be known: they stay (a sweep by `gc` keeps them too).
    let mut named = Vec::new();
    if let Some(record) = record.and_then(|r| CallRecord::decode(&r).ok()) {
        unindex(txn, &digest, &record)?;
        named.push(*record.result.as_bytes());
        named.extend(record.arguments.iter().map(|(_, d)| *d.as_bytes()));
    }
    named.sort_unstable();
    named.dedup();
    let results = txn.open_table(BY_RESULT)?;
    let arguments = txn.open_table(BY_ARGUMENT)?;
    let mut values = txn.open_table(VALUES)?;
    let mut count = 0;
    for d in named {
        // By prefix: a value that only shares one with a value still named stays.
        let p = prefix(&d);
        let mut referenced = results.range((p, 0)..=(p, Prefix::MAX))?.next().is_some();
        for name in names {
            if referenced {
                break;
            }
            let n = name.as_str();
            referenced = arguments
                .range((n, p, 0)..=(n, p, Prefix::MAX))?
                .next()
                .is_some();
        }
        if !referenced && values.remove(&d)?.is_some() {
            count += 1;
        }
    }
    Ok(count)
}

fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}
