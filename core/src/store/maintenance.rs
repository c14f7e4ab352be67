//! Looking after a cache file: sweeping values no call refers to (`gc`), giving freed pages
//! back to the file system (`compact`) and counting what is stored (`stats`). Copying calls
//! between caches is in `copy.rs`, checking that everything stored still reads in `verify.rs`.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use redb::{ReadableTable, ReadableTableMetadata};
use serde::Serialize;

use std::collections::BTreeMap;

use redb::TableDefinition;

use super::{
    BY_ARGUMENT, BY_RESULT, BY_TIME, CALLS_IN_PLACE, Key, KeyRef, Location, Prefix, Store, prefix,
};
use super::{Writer, guard, open_files};
use crate::error::{Error, Result};
use crate::record::{RecordView, result_of};

mod copy;
mod verify;

/// [`VALUES`](super::VALUES), its keys read in place (see [`KeyRef`]): counting a large cache's values
/// builds no key through a `Vec`.
const VALUES_IN_PLACE: TableDefinition<'_, KeyRef, (u64, &[u8])> = TableDefinition::new("values");

pub use copy::{Copied, StoredCall};
pub use verify::{Problem, Verified};

/// What [`Cache::gc`](crate::Cache::gc) removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Collected {
    /// Values removed because no call refers to them.
    pub values_removed: u64,
    /// Their encoded size in bytes.
    pub bytes_removed: u64,
    /// Values left, each referred to by at least one call.
    pub values_kept: u64,
}

/// What [`Cache::compact`](crate::Cache::compact) did to the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Compacted {
    /// File size before, in bytes (0 for a memory cache).
    pub bytes_before: u64,
    /// File size after, in bytes.
    pub bytes_after: u64,
}

/// What a cache holds: see [`Cache::stats`](crate::Cache::stats).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// The file, or `None` for a memory cache.
    pub path: Option<PathBuf>,
    /// Call records.
    pub calls: u64,
    /// Stored values (results and arguments, each stored once).
    pub values: u64,
    /// Encoded size of every stored value, in bytes.
    pub value_bytes: u64,
    /// Per function, most bytes first.
    pub functions: Vec<FunctionStats>,
    /// Values no call refers to (what [`Cache::gc`](crate::Cache::gc) would remove).
    pub orphaned_values: u64,
    /// Their encoded size in bytes.
    pub orphaned_bytes: u64,
    /// Call records that do not decode (a damaged cache; `fleche verify` says more).
    pub unreadable_calls: u64,
    /// Size of the file in bytes (0 for a memory cache); includes free pages until
    /// [`Cache::compact`](crate::Cache::compact).
    pub file_size: u64,
    /// Start time of the oldest call.
    pub oldest_call: Option<DateTime<Utc>>,
    /// Start time of the newest call.
    pub newest_call: Option<DateTime<Utc>>,
}

/// One function's share of a cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FunctionStats {
    /// Module path.
    pub module: String,
    /// Function name.
    pub name: String,
    /// Its calls.
    pub calls: u64,
    /// Encoded size of the distinct values its calls refer to (results and arguments), in
    /// bytes. A value shared by two functions counts for both.
    pub bytes: u64,
}

/// The values that calls refer to: see [`referenced_values`].
struct Referenced {
    /// Value digests named by records, sorted.
    digests: Vec<Key>,
    /// Value digest prefixes from the argument and result indexes, sorted: taken only when a
    /// record does not decode, whose values can then be known by their prefixes alone.
    prefixes: Vec<Prefix>,
}

impl Referenced {
    /// Whether some call may refer to the value stored under `digest`.
    fn names(&self, digest: &Key) -> bool {
        self.digests.binary_search(digest).is_ok()
            || self.prefixes.binary_search(&prefix(digest)).is_ok()
    }
}

/// Every value that some call refers to.
///
/// The records are the truth: the result and argument digests are read from each record.
/// When a record does not decode, every prefix in the argument and result indexes is taken as
/// well, so that a damaged record never lets its values be swept (a value that only shares a
/// prefix with one of them is kept too: a sweep keeps too much rather than too little).
fn referenced_values(
    calls: &impl ReadableTable<KeyRef, (u64, &'static [u8])>,
    indexed: impl FnOnce() -> Result<Vec<Prefix>, redb::Error>,
) -> Result<Referenced, redb::Error> {
    let mut digests: Vec<Key> = Vec::with_capacity(2 * calls.len()? as usize);
    let mut unreadable = 0;
    for entry in calls.iter()? {
        let (_, value) = entry?;
        let (_, record) = value.value();
        match RecordView::decode(record) {
            Ok(view) => {
                digests.push(*view.result.as_bytes());
                digests.extend(view.arguments.iter().map(|(_, d)| *d.as_bytes()));
            }
            Err(_) => {
                unreadable += 1;
                // A damaged entry still names its values as far as it can be read.
                digests.extend(result_of(record).ok().map(|d| *d.as_bytes()));
            }
        }
    }
    digests.sort_unstable();
    digests.dedup();
    let mut prefixes = Vec::new();
    if unreadable > 0 {
        prefixes = indexed()?;
    }
    Ok(Referenced { digests, prefixes })
}

/// The value digest prefixes in the argument and result indexes, sorted.
fn indexed_values(
    arguments: &impl ReadableTable<(&'static str, Prefix, Prefix), ()>,
    results: &impl ReadableTable<(Prefix, Prefix), ()>,
) -> Result<Vec<Prefix>, redb::Error> {
    let mut out = Vec::new();
    for entry in arguments.iter()? {
        out.push(entry?.0.value().1);
    }
    for entry in results.iter()? {
        out.push(entry?.0.value().0);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl Store {
    /// Removes every value no call refers to, in one write transaction (so a call committed
    /// by another process meanwhile either lands before the sweep and keeps its values, or
    /// after it with its values).
    pub(crate) fn collect_garbage(&self) -> Result<Collected> {
        self.write(|txn| {
            let referenced = {
                let calls = txn.open_table(CALLS_IN_PLACE)?;
                referenced_values(&calls, || {
                    indexed_values(&txn.open_table(BY_ARGUMENT)?, &txn.open_table(BY_RESULT)?)
                })?
            };
            let mut collected = Collected::default();
            let mut values = txn.open_table(VALUES_IN_PLACE)?;
            values.retain(|digest, (_, bytes)| {
                let keep = referenced.names(digest);
                if keep {
                    collected.values_kept += 1;
                } else {
                    collected.values_removed += 1;
                    collected.bytes_removed += bytes.len() as u64;
                }
                keep
            })?;
            Ok(collected)
        })
    }

    /// Counts what the cache holds, in one read transaction.
    pub(crate) fn stats(&self) -> Result<Stats> {
        let mut stats = self.read(|txn| {
            let mut stats = Stats::default();
            // Sizes by digest, in key order (the table's own order).
            let mut sizes: Vec<(Key, u64)> = Vec::new();
            for entry in txn.open_table(VALUES_IN_PLACE)?.iter()? {
                let (digest, bytes) = entry?;
                let size = bytes.value().1.len() as u64;
                stats.value_bytes += size;
                sizes.push((*digest.value(), size));
            }
            stats.values = sizes.len() as u64;
            let size_of = |d: &Key| {
                sizes
                    .binary_search_by(|(k, _)| k.cmp(d))
                    .map_or(0, |i| sizes[i].1)
            };
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            stats.calls = calls.len()?;
            // module -> name -> (calls, digests named): looked up by borrowed text, so a
            // record allocates nothing but its argument list.
            let mut functions: BTreeMap<String, BTreeMap<String, (u64, Vec<Key>)>> =
                BTreeMap::new();
            let mut unreadable = 0;
            for entry in calls.iter()? {
                let (_, value) = entry?;
                let (_, record) = value.value();
                let Ok(view) = RecordView::decode(record) else {
                    unreadable += 1;
                    continue;
                };
                if !functions.contains_key(view.module) {
                    functions.insert(view.module.to_owned(), BTreeMap::new());
                }
                let names = functions.get_mut(view.module).expect("inserted above");
                if !names.contains_key(view.name) {
                    names.insert(view.name.to_owned(), Default::default());
                }
                let slot = names.get_mut(view.name).expect("inserted above");
                slot.0 += 1;
                slot.1.push(*view.result.as_bytes());
                slot.1
                    .extend(view.arguments.iter().map(|(_, d)| *d.as_bytes()));
            }
            stats.unreadable_calls = unreadable;
            let mut named: Vec<Key> = Vec::new();
            stats.functions = functions
                .into_iter()
                .flat_map(|(module, names)| {
                    names
                        .into_iter()
                        .map(move |(name, slot)| (module.clone(), name, slot))
                })
                .map(|(module, name, (calls, mut digests))| {
                    digests.sort_unstable();
                    digests.dedup();
                    named.extend_from_slice(&digests);
                    FunctionStats {
                        module,
                        name,
                        calls,
                        bytes: digests.iter().map(size_of).sum(),
                    }
                })
                .collect();
            let referenced = if unreadable > 0 {
                // As gc does: what an unreadable record names is unknown, so the argument
                // and result indexes count as referenced.
                referenced_values(&calls, || {
                    indexed_values(&txn.open_table(BY_ARGUMENT)?, &txn.open_table(BY_RESULT)?)
                })?
            } else {
                named.sort_unstable();
                named.dedup();
                Referenced {
                    digests: named,
                    prefixes: Vec::new(),
                }
            };
            for (digest, size) in &sizes {
                if !referenced.names(digest) {
                    stats.orphaned_values += 1;
                    stats.orphaned_bytes += size;
                }
            }
            stats
                .functions
                .sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| b.calls.cmp(&a.calls)));
            let by_time = txn.open_table(BY_TIME)?;
            let time = |nanos: i64| DateTime::from_timestamp_nanos(nanos);
            stats.oldest_call = by_time.first()?.map(|(k, _)| time(k.value().0));
            stats.newest_call = by_time.last()?.map(|(k, _)| time(k.value().0));
            Ok(stats)
        })?;
        if let Location::File(path) = &self.location {
            stats.file_size = std::fs::metadata(path).map_or(0, |m| m.len());
            stats.path = Some(path.clone());
        }
        Ok(stats)
    }

    /// Gives free pages back to the file system (redb's compaction). It needs the only handle
    /// on the database: no other `Cache` of this process may share the store, and the
    /// background writer is stopped (after committing its queue) and started again after.
    pub(crate) fn compact(store: &mut Arc<Store>) -> Result<Compacted> {
        let in_use = |path| Error::InUse {
            path,
            detail: "this process holds other handles to it (a clone of the Cache, the \
                     active cache or a query); drop them first"
                .into(),
        };
        if Arc::strong_count(store) > 1 {
            return Err(in_use(store.location.display_path()));
        }
        // The registry's weak handle would stop `get_mut`; holding its lock meanwhile keeps
        // this process from opening the file a second time while the store is set aside.
        let mut open = open_files().lock().unwrap_or_else(|e| e.into_inner());
        let registered = match &store.location {
            Location::File(path) => open.remove_entry(path).map(|(path, _weak)| path),
            Location::Memory => None,
        };
        let result = match Arc::get_mut(store) {
            Some(only) => only.compact_alone(),
            None => Err(in_use(store.location.display_path())),
        };
        if let Some(path) = registered {
            open.insert(path, Arc::downgrade(store));
        }
        result
    }

    fn compact_alone(&mut self) -> Result<Compacted> {
        let file_size = |location: &Location| match location {
            Location::File(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            Location::Memory => 0,
        };
        let bytes_before = file_size(&self.location);
        // Dropping the writer commits its queue and releases its handle on the database.
        drop(self.writer.take());
        *self.hot.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
        let result = self.compact_database();
        if !self.read_only {
            self.writer = Some(Writer::start(
                self.slot.clone(),
                self.location.clone(),
                self.limit.clone(),
                self.outbox.clone(),
                self.locks.clone(),
            ))
            .filter(Writer::is_running);
        }
        result?;
        self.slot.changed();
        Ok(Compacted {
            bytes_before,
            bytes_after: file_size(&self.location),
        })
    }

    fn compact_database(&mut self) -> Result<()> {
        let path = self.location.display_path();
        let location = self.location.clone();
        if self.read_only {
            return Err(Error::ReadOnly { path });
        }
        let compacted = self.slot.with_database_alone(|db| {
            guard(&location, || {
                db.compact().map(|_| ()).map_err(|e| match e {
                    redb::CompactionError::TransactionInProgress => Error::InUse {
                        path: path.clone(),
                        detail: "another process (or a query of this one) is reading or writing \
                                 it right now; try again when it is idle"
                            .into(),
                    },
                    other => super::storage_error(&location, other.into()),
                })
            })
        });
        compacted.unwrap_or_else(|| {
            Err(Error::InUse {
                path: path.clone(),
                detail: "this process still uses the database elsewhere, or it is closed".into(),
            })
        })
    }
}
