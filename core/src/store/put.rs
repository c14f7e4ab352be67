//! Writing calls in a write transaction: values, call records and their index entries, a
//! batch at a time.
//!
//! Each table is opened once per batch and its entries are written in key order, so that
//! entries landing on one B-tree leaf are written one after another: redb copies a leaf the
//! first time a transaction changes it and changes the copy in place after that. (Keys are
//! digests, so in a large cache most entries of a batch still land on leaves of their own;
//! the function and time indexes, whose entries cluster, gain most.)

use redb::ReadableTable;

use super::{
    BY_ARGUMENT, BY_FUNCTION, BY_RESULT, BY_TAG, BY_TIME, CALLS, CALLS_IN_PLACE, Prefix,
    TAG_SEPARATOR, VALUES, calls_with_prefix, checksum, intact_record, prefix,
};
use crate::digest::Digest;
use crate::record::CallRecord;

/// A call to store: its key, its record and the record's encoding.
pub(super) struct ToPut<'a> {
    pub(super) key: &'a Digest,
    pub(super) record: &'a CallRecord,
    pub(super) encoded: &'a [u8],
}

/// Writes values, call records and their index entries in `txn`. A record replaces an earlier
/// one under the same key (and its index entries); of a key listed twice, the later stays.
pub(super) fn put_calls_in(
    txn: &redb::WriteTransaction,
    calls: &[ToPut<'_>],
    values: &[(Digest, &[u8])],
) -> Result<(), redb::Error> {
    put_values_in(txn, values)?;
    // A stable sort: of one key's records, the later is written last.
    let mut order: Vec<&ToPut<'_>> = calls.iter().collect();
    order.sort_by_key(|call| call.key);
    let mut entries = IndexEntries::default();
    let mut table = txn.open_table(CALLS)?;
    for (n, call) in order.iter().enumerate() {
        let old = table
            .get(call.key.as_bytes())?
            .and_then(|v| intact_record(v.value()));
        if let Some(old) = old
            && let Ok(old) = CallRecord::decode(&old)
        {
            // Rare (a call run again): unindexing reads the calls table itself.
            drop(table);
            unindex(txn, call.key, &old)?;
            table = txn.open_table(CALLS)?;
        }
        let sum = checksum::of_record(call.encoded);
        table.insert(call.key.as_bytes(), (sum, call.encoded))?;
        let last_of_its_key = order.get(n + 1).is_none_or(|next| next.key != call.key);
        if last_of_its_key {
            entries.add(call.key, call.record);
        }
    }
    drop(table);
    entries.apply(txn, Change::Add)
}

/// Stores values under their digests with their checksums. A value already stored intact is
/// left alone (the same digest means the same value); a damaged one is written anew, which is
/// how running a call again repairs it.
pub(super) fn put_values_in(
    txn: &redb::WriteTransaction,
    values: &[(Digest, &[u8])],
) -> Result<(), redb::Error> {
    let mut order: Vec<&(Digest, &[u8])> = values.iter().collect();
    order.sort_unstable_by_key(|(digest, _)| digest);
    order.dedup_by_key(|(digest, _)| *digest);
    let mut table = txn.open_table(VALUES)?;
    for (digest, bytes) in order {
        let intact = table.get(digest.as_bytes())?.is_some_and(|v| {
            let (sum, stored) = v.value();
            checksum::value_intact(sum, stored)
        });
        if !intact {
            let sum = checksum::of_value(bytes);
            table.insert(digest.as_bytes(), (sum, *bytes))?;
        }
    }
    Ok(())
}

/// Adds the index entries of a call record.
pub(super) fn index(
    txn: &redb::WriteTransaction,
    key: &Digest,
    record: &CallRecord,
) -> Result<(), redb::Error> {
    IndexEntries::of(key, record).apply(txn, Change::Add)
}

/// Adds the index entries of many call records.
pub(super) fn index_all(
    txn: &redb::WriteTransaction,
    calls: &[(Digest, CallRecord)],
) -> Result<(), redb::Error> {
    let mut entries = IndexEntries::default();
    for (key, record) in calls {
        entries.add(key, record);
    }
    entries.apply(txn, Change::Add)
}

/// Removes the index entries of a call that is gone from `calls` or about to be replaced.
/// Entries hold key prefixes, so another call whose key starts with the same 8 bytes may
/// share some of them (the same function, say): those calls are indexed again.
pub(super) fn unindex(
    txn: &redb::WriteTransaction,
    key: &Digest,
    record: &CallRecord,
) -> Result<(), redb::Error> {
    IndexEntries::of(key, record).apply(txn, Change::Remove)?;
    let mut sharing = Vec::new();
    {
        let calls = txn.open_table(CALLS_IN_PLACE)?;
        for entry in calls_with_prefix(&calls, prefix(key.as_bytes()))? {
            let (k, v) = entry?;
            if k.value() != key.as_bytes()
                && let Some(bytes) = intact_record(v.value())
                && let Ok(other) = CallRecord::decode(&bytes)
            {
                sharing.push((Digest::from_bytes(*k.value()), other));
            }
        }
    }
    index_all(txn, &sharing)
}

#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
}

/// Index entries of some calls, gathered per table; both directions list the same entries.
#[derive(Default)]
struct IndexEntries<'a> {
    functions: Vec<((&'a str, &'a str), Prefix)>,
    tags: Vec<(String, Prefix)>,
    arguments: Vec<(&'a str, Prefix, Prefix)>,
    results: Vec<(Prefix, Prefix)>,
    times: Vec<(i64, Prefix)>,
}

impl<'a> IndexEntries<'a> {
    /// The entries of one call.
    fn of(key: &Digest, record: &'a CallRecord) -> IndexEntries<'a> {
        let mut entries = IndexEntries::default();
        entries.add(key, record);
        entries
    }

    fn add(&mut self, key: &Digest, record: &'a CallRecord) {
        let p = prefix(key.as_bytes());
        self.functions
            .push(((record.name.as_str(), record.module.as_str()), p));
        for (tag, value) in &record.metadata.tags {
            self.tags.push((format!("{tag}{TAG_SEPARATOR}{value}"), p));
        }
        // A `CacheKey` argument is found both by its key and by its stored value's digest.
        for (name, digest) in record.arguments.iter().chain(&record.argument_keys) {
            self.arguments
                .push((name.as_str(), prefix(digest.as_bytes()), p));
        }
        self.results.push((prefix(record.result.as_bytes()), p));
        self.times.push((record.metadata.start_nanos(), p));
    }

    /// Writes (or removes) the entries, each table's in key order; a table with none is not
    /// opened.
    fn apply(mut self, txn: &redb::WriteTransaction, change: Change) -> Result<(), redb::Error> {
        self.functions.sort_unstable();
        self.tags.sort_unstable();
        self.arguments.sort_unstable();
        self.results.sort_unstable();
        self.times.sort_unstable();
        if !self.functions.is_empty() {
            let mut table = txn.open_multimap_table(BY_FUNCTION)?;
            for (function, p) in &self.functions {
                match change {
                    Change::Add => table.insert(function, p)?,
                    Change::Remove => table.remove(function, p)?,
                };
            }
        }
        if !self.tags.is_empty() {
            let mut table = txn.open_multimap_table(BY_TAG)?;
            for (tag, p) in &self.tags {
                match change {
                    Change::Add => table.insert(tag.as_str(), p)?,
                    Change::Remove => table.remove(tag.as_str(), p)?,
                };
            }
        }
        plain(txn, BY_ARGUMENT, &self.arguments, change)?;
        plain(txn, BY_RESULT, &self.results, change)?;
        plain(txn, BY_TIME, &self.times, change)
    }
}

/// Writes (or removes) the keys of an index table whose entries are keys alone.
fn plain<K: redb::Key + 'static>(
    txn: &redb::WriteTransaction,
    definition: redb::TableDefinition<'_, K, ()>,
    keys: &[K::SelfType<'_>],
    change: Change,
) -> Result<(), redb::Error>
where
    for<'k> K::SelfType<'k>: std::borrow::Borrow<K::SelfType<'k>>,
{
    if keys.is_empty() {
        return Ok(());
    }
    let mut table = txn.open_table(definition)?;
    for key in keys {
        match change {
            Change::Add => {
                table.insert(key, ())?;
            }
            Change::Remove => {
                table.remove(key)?;
            }
        }
    }
    Ok(())
}
