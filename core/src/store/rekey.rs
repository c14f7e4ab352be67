//! Format 6 -> 7: every call key's first byte becomes its function's cluster
//! (`digest::call_cluster`), so that one function's calls lie together in `calls` and a query
//! by name reads one stretch of it. The other 31 bytes stay, so a call keeps its identity and
//! a format-7 fleche computes the same key for it.
//!
//! It runs once, in the write transaction that marks the file as format 7: a crash or an
//! error leaves the file as it was, and the next open tries again.

use redb::{ReadableTable, TableHandle};

use super::limit::USES;
use super::outbox::OUTBOX;
use super::{
    BY_ARGUMENT, BY_FUNCTION, BY_RESULT, BY_TAG, BY_TIME, CALLS, CALLS_IN_PLACE, Key, checksum,
    create_indexes, put,
};
use crate::digest::{Digest, clustered_key};
use crate::record::{CallRecord, RecordView};

/// Calls decoded at a time while their index entries are written again.
const INDEXED_PER_BATCH: usize = 8192;

/// What rekeying a file did.
#[derive(Debug, Default)]
pub(super) struct Rekeyed {
    /// Calls whose key changed.
    pub(super) moved: u64,
    /// Calls left under their key: damaged records, whose name cannot be read (`fleche
    /// verify` reports them), and calls whose new key another call holds (keys made by hand).
    pub(super) left: u64,
}

/// Moves every readable call to its format-7 key (with its size-limit and outbox entries)
/// and writes the indexes again, which hold key prefixes.
pub(super) fn cluster_call_keys(txn: &redb::WriteTransaction) -> Result<Rekeyed, redb::Error> {
    let tables: Vec<String> = txn.list_tables()?.map(|t| t.name().to_owned()).collect();
    let has = |name: &str| tables.iter().any(|t| t == name);
    let (uses, outbox) = (has(USES.name()), has(OUTBOX.name()));
    let mut done = Rekeyed::default();
    // One stretch of keys at a time, by first byte, so that only a 256th of the records is
    // held at once. A call moved into a stretch not yet visited is found there in its
    // cluster already and stays.
    for first in 0..=u8::MAX {
        let mut moving: Vec<(Key, Key, u64, Vec<u8>)> = Vec::new();
        {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let (mut from, mut to) = ([0u8; 32], [0xffu8; 32]);
            (from[0], to[0]) = (first, first);
            for entry in calls.range::<&[u8; 32]>(&from..=&to)? {
                let (k, v) = entry?;
                let (sum, record) = v.value();
                let name = checksum::record_intact(sum, record)
                    .then(|| RecordView::decode(record).ok())
                    .flatten()
                    .map(|view| view.name);
                let Some(name) = name else {
                    done.left += 1;
                    continue;
                };
                let old = Digest::from_bytes(*k.value());
                let new = clustered_key(name, old);
                if new != old {
                    moving.push((*old.as_bytes(), *new.as_bytes(), sum, record.to_vec()));
                }
            }
        }
        {
            // A new key that another call holds (31 equal bytes of BLAKE3 output, or keys
            // made by hand) leaves the call where it is: nothing is overwritten.
            let mut calls = txn.open_table(CALLS)?;
            let mut free = Vec::with_capacity(moving.len());
            for m in moving {
                if calls.get(&m.1)?.is_some() {
                    done.left += 1;
                } else {
                    free.push(m);
                }
            }
            moving = free;
            for (old, new, sum, record) in &moving {
                calls.remove(old)?;
                calls.insert(new, (*sum, record.as_slice()))?;
            }
        }
        if uses {
            move_entries(txn, USES, &moving)?;
        }
        if outbox {
            move_entries(txn, OUTBOX, &moving)?;
        }
        done.moved += moving.len() as u64;
    }
    reindex(txn)?;
    Ok(done)
}

/// Moves the entries of a table keyed by call key from the old keys to the new.
fn move_entries<V>(
    txn: &redb::WriteTransaction,
    definition: redb::TableDefinition<'_, Key, V>,
    moving: &[(Key, Key, u64, Vec<u8>)],
) -> Result<(), redb::Error>
where
    V: for<'a> redb::Value<SelfType<'a> = V> + Copy + 'static,
{
    let mut table = txn.open_table(definition)?;
    for (old, new, ..) in moving {
        let value = table.remove(old)?.map(|v| v.value());
        if let Some(value) = value {
            table.insert(new, value)?;
        }
    }
    Ok(())
}

/// Empties the five indexes and writes every readable call's entries again.
fn reindex(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.delete_multimap_table(BY_FUNCTION)?;
    txn.delete_multimap_table(BY_TAG)?;
    txn.delete_table(BY_ARGUMENT)?;
    txn.delete_table(BY_RESULT)?;
    txn.delete_table(BY_TIME)?;
    // Made again at once, so that a cache without calls still has every table.
    create_indexes(txn)?;
    let mut after: Option<Key> = None;
    loop {
        let mut batch: Vec<(Digest, CallRecord)> = Vec::with_capacity(INDEXED_PER_BATCH);
        let mut last = None;
        {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let range = match &after {
                Some(k) => calls.range::<&[u8; 32]>((
                    std::ops::Bound::Excluded(k),
                    std::ops::Bound::Unbounded,
                ))?,
                None => calls.range::<&[u8; 32]>(..)?,
            };
            for entry in range.take(INDEXED_PER_BATCH) {
                let (k, v) = entry?;
                let key = *k.value();
                last = Some(key);
                let (sum, record) = v.value();
                if checksum::record_intact(sum, record)
                    && let Ok(record) = CallRecord::decode(record)
                {
                    batch.push((Digest::from_bytes(key), record));
                }
            }
        }
        let Some(last) = last else {
            return Ok(());
        };
        put::index_all(txn, &batch)?;
        after = Some(last);
    }
}
