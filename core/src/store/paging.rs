//! Reading a cache in pages, for browsers such as `fleche-tui`: call keys by start time (a
//! page at a time, or what arrived after a point), records in key order, and the size and
//! first bytes of values without copying all of them.

use std::ops::Bound::{Excluded, Unbounded};

use redb::ReadableTableMetadata;

use super::{
    BY_TIME, CALLS, CALLS_IN_PLACE, KeyRef, Prefix, Store, VALUES, calls_with_prefix, checksum,
    prefix,
};
use crate::codec::CodecError;
use crate::digest::Digest;
use crate::error::Result;
use crate::record::CallRecord;

/// A call's place in the time index: its start time (nanoseconds since the Unix epoch) and
/// its key. Ordered by time, then key, like the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeKey {
    /// Start time in nanoseconds since the Unix epoch.
    pub start_nanos: i64,
    /// The call key.
    pub key: Digest,
}

/// A stored call record that does not decode (damaged bytes, or a record written by an
/// incompatible fleche): its key is known, its content is not. Browsers show it as a call
/// of its own rather than hide it or every other call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable record: {reason}")]
#[non_exhaustive]
pub struct UnreadableRecord {
    /// Why it does not decode.
    pub reason: String,
}

impl UnreadableRecord {
    /// A record whose bytes no longer match the checksum stored with them.
    pub(crate) fn damaged() -> UnreadableRecord {
        UnreadableRecord {
            reason: "damaged: its bytes no longer match the checksum stored with them".into(),
        }
    }

    /// Decodes a record's bytes, or says why they do not decode.
    pub(crate) fn decode(bytes: &[u8]) -> std::result::Result<CallRecord, UnreadableRecord> {
        CallRecord::decode(bytes).map_err(|e| UnreadableRecord {
            reason: e.to_string(),
        })
    }
}

/// One call record as a page holds it: decoded, or why not, and the stack layer it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PagedRecord {
    /// The call key.
    pub key: Digest,
    /// The layer it came from: its index in [`Cache::layer_names`](crate::Cache::layer_names),
    /// top first; 0 for a cache that is not a stack.
    pub layer: usize,
    /// The record, or why it does not decode.
    pub record: std::result::Result<CallRecord, UnreadableRecord>,
}

impl PagedRecord {
    /// A record from layer 0: its bytes decoded, or `None` for a damaged one.
    pub(crate) fn from_bytes(key: Digest, bytes: Option<&[u8]>) -> PagedRecord {
        let record = match bytes {
            Some(bytes) => UnreadableRecord::decode(bytes),
            None => Err(UnreadableRecord::damaged()),
        };
        PagedRecord {
            key,
            layer: 0,
            record,
        }
    }
}

/// The first bytes of a stored value and its whole size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueHead {
    /// Size of the whole encoded value in bytes.
    pub size: u64,
    /// Its first bytes (all of them when it is small enough).
    pub bytes: Vec<u8>,
}

impl ValueHead {
    /// The head of `all`: its size and at most its first `max_bytes` bytes.
    pub(crate) fn of(all: &[u8], max_bytes: usize) -> ValueHead {
        ValueHead {
            size: all.len() as u64,
            bytes: all[..all.len().min(max_bytes)].to_vec(),
        }
    }

    /// Whether `bytes` hold the whole value.
    pub fn is_whole(&self) -> bool {
        self.bytes.len() as u64 >= self.size
    }

    /// The item that starts at byte `at` of the value (0: the value itself), as far as the
    /// bytes read hold it: see [`Prefix::read`](crate::codec::Prefix::read).
    pub fn item_at(&self, at: usize) -> std::result::Result<crate::codec::Prefix<'_>, CodecError> {
        crate::codec::Prefix::read(self.bytes.get(at..).unwrap_or_default(), !self.is_whole())
    }
}

impl Store {
    /// Up to `limit` calls, newest first, strictly older than `before` (from the newest call
    /// when `None`).
    pub(crate) fn calls_before(
        &self,
        before: Option<TimeKey>,
        limit: usize,
    ) -> Result<Vec<TimeKey>> {
        self.read(|txn| {
            let by_time = txn.open_table(BY_TIME)?;
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            // The entry of `before` itself is read too: a call sharing its time and prefix
            // may sort before it.
            let range = match before {
                Some(b) => by_time.range(..=(b.start_nanos, prefix(b.key.as_bytes())))?,
                None => by_time.range::<(i64, Prefix)>(..)?,
            };
            let mut out = Vec::with_capacity(limit.min(1 << 16));
            for entry in range.rev() {
                if out.len() >= limit {
                    break;
                }
                let (start, p) = entry?.0.value();
                let found = resolve_time(&calls, start, p)?;
                out.extend(
                    found
                        .into_iter()
                        .rev()
                        .filter(|t| before.is_none_or(|b| *t < b))
                        .take(limit - out.len()),
                );
            }
            Ok(out)
        })
    }

    /// Every call strictly newer than `after` in the time index, oldest first.
    pub(crate) fn calls_after(&self, after: TimeKey) -> Result<Vec<TimeKey>> {
        self.read(|txn| {
            let by_time = txn.open_table(BY_TIME)?;
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let from = (after.start_nanos, prefix(after.key.as_bytes()));
            let mut out = Vec::new();
            for entry in by_time.range(from..)? {
                let (start, p) = entry?.0.value();
                let found = resolve_time(&calls, start, p)?;
                out.extend(found.into_iter().filter(|t| *t > after));
            }
            Ok(out)
        })
    }

    /// Number of entries in the time index.
    pub(crate) fn time_index_len(&self) -> Result<u64> {
        self.read(|txn| Ok(txn.open_table(BY_TIME)?.len()?))
    }

    /// Up to `limit` call records with keys strictly after `after` (from the first key when
    /// `None`), in key order, walking the table in its own order. A record that does not
    /// decode comes back as an [`UnreadableRecord`] in its place.
    pub(crate) fn records_after(
        &self,
        after: Option<Digest>,
        limit: usize,
    ) -> Result<Vec<PagedRecord>> {
        self.walk_records_after(after, limit, |key, record| {
            Some(PagedRecord::from_bytes(key, record))
        })
    }

    /// Up to `limit` encoded call records with keys strictly after `after`, in key order;
    /// a damaged record (its checksum does not hold) is left out with a warning.
    pub(crate) fn encoded_records_after(
        &self,
        after: Option<Digest>,
        limit: usize,
    ) -> Result<Vec<(Digest, Vec<u8>)>> {
        self.walk_records_after(after, limit, |key, record| {
            record.map(|r| (key, r.to_vec()))
        })
    }

    /// Passes up to `limit` records with keys strictly after `after` to `visit`, in key
    /// order: the record's bytes, or `None` (with a warning) when its checksum does not hold.
    /// Returns what `visit` gave back.
    pub(crate) fn walk_records_after<T>(
        &self,
        after: Option<Digest>,
        limit: usize,
        mut visit: impl FnMut(Digest, Option<&[u8]>) -> Option<T>,
    ) -> Result<Vec<T>> {
        self.read(|txn| {
            let calls = txn.open_table(CALLS)?;
            let range = match after {
                Some(a) => calls.range::<[u8; 32]>((Excluded(*a.as_bytes()), Unbounded))?,
                None => calls.range::<[u8; 32]>(..)?,
            };
            let mut out = Vec::with_capacity(limit.min(1 << 16));
            for entry in range.take(limit) {
                let (key, value) = entry?;
                let key = Digest::from_bytes(key.value());
                let (sum, record) = value.value();
                let intact = checksum::record_intact(sum, record);
                if !intact {
                    checksum::warn_skipped(&key);
                }
                out.extend(visit(key, intact.then_some(record)));
            }
            Ok(out)
        })
    }

    /// The heads of these values, at most `max_bytes` bytes each, in one read transaction
    /// and in the order given (`None` for a value that is not stored). A value read whole is
    /// checked against its checksum, and a damaged one is left out (`None`) with a warning.
    pub(crate) fn value_heads(
        &self,
        digests: &[Digest],
        max_bytes: usize,
    ) -> Result<Vec<Option<ValueHead>>> {
        self.read(|txn| {
            let values = txn.open_table(VALUES)?;
            digests
                .iter()
                .map(|d| {
                    let Some(v) = values.get(d.as_bytes())? else {
                        return Ok(None);
                    };
                    let (sum, bytes) = v.value();
                    if bytes.len() <= max_bytes && !checksum::value_intact(sum, bytes) {
                        tracing::warn!(digest = %d, "leaving out a damaged value (its bytes no longer match their checksum)");
                        return Ok(None);
                    }
                    Ok(Some(ValueHead::of(bytes, max_bytes)))
                })
                .collect()
        })
    }
}

/// The calls a time index entry names, in key order: those whose keys start with `p` (one,
/// unless two keys share their first 8 bytes) and, when there are several, whose records
/// say they started at `start`.
pub(super) fn resolve_time(
    calls: &impl redb::ReadableTable<KeyRef, (u64, &'static [u8])>,
    start: i64,
    p: Prefix,
) -> std::result::Result<Vec<TimeKey>, redb::Error> {
    let mut keys = Vec::with_capacity(1);
    for entry in calls_with_prefix(calls, p)? {
        keys.push(Digest::from_bytes(*entry?.0.value()));
    }
    if keys.len() > 1 {
        let mut started_then = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(v) = calls.get(key.as_bytes())? else {
                continue;
            };
            let view = crate::record::RecordView::decode(v.value().1);
            if view.is_ok_and(|r| r.metadata.start_nanos == start) {
                started_then.push(key);
            }
        }
        keys = started_then;
    }
    Ok(keys
        .into_iter()
        .map(|key| TimeKey {
            start_nanos: start,
            key,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::record::Metadata;

    fn record(i: u8) -> CallRecord {
        CallRecord {
            name: format!("f{i}"),
            module: "m".into(),
            version: None,
            code: None,
            arguments: vec![],
            argument_keys: vec![],
            result: Digest::from_bytes([i; 32]),
            result_type: "i64".into(),
            result_size: 9,
            metadata: Metadata {
                timestart: DateTime::from_timestamp(i64::from(i), 0).unwrap(),
                timestop: DateTime::from_timestamp(i64::from(i) + 1, 0).unwrap(),
                walltime: 1.0,
                tags: [("n", i64::from(i).into()), ("project", "alloys".into())]
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn an_undecodable_record_is_reported_in_its_place() {
        let cache = crate::Cache::memory();
        let keys: Vec<Digest> = (1..=3u8).map(|i| Digest::from_bytes([i; 32])).collect();
        let records: Vec<(Digest, CallRecord)> =
            keys.iter().zip(1..).map(|(k, i)| (*k, record(i))).collect();
        cache.insert_records(&records, &[]).unwrap();
        cache
            .store
            .write(|txn| {
                let mut calls = txn.open_table(CALLS)?;
                // Intact as stored (its checksum holds), but not a record.
                let garbage = &b"\xff\x00garbage"[..];
                let sum = checksum::of_record(garbage);
                calls.insert(keys[1].as_bytes(), (sum, garbage))?;
                Ok(())
            })
            .unwrap();

        let check = |page: Vec<PagedRecord>| {
            assert_eq!(page.len(), 3);
            let ok = |key, i| PagedRecord {
                key,
                layer: 0,
                record: Ok(record(i)),
            };
            assert_eq!(page[0], ok(keys[0], 1));
            assert_eq!(page[2], ok(keys[2], 3));
            let Err(unreadable) = &page[1].record else {
                panic!("the damaged record decoded: {:?}", page[1]);
            };
            assert_eq!(page[1].key, keys[1]);
            assert!(
                unreadable.to_string().starts_with("unreadable record: "),
                "{unreadable}"
            );
        };
        check(cache.records_after(None, 10).unwrap());
        check(cache.records_of(&keys).unwrap());
        // Read in place, the same records (and the same reason for the damaged one).
        let mut in_place = Vec::new();
        let visited = cache
            .visit_records_after(None, 10, |key, layer, record| {
                let record = record.map(|r| {
                    let tags: Vec<(String, String)> = r
                        .tags()
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v.into_owned()))
                        .collect();
                    let owned = r.to_record();
                    let expected: Vec<(String, String)> = owned
                        .metadata
                        .tags
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect();
                    assert_eq!(tags, expected);
                    assert_eq!((r.name(), r.result()), (owned.name.as_str(), owned.result));
                    owned
                });
                in_place.push(PagedRecord { key, layer, record });
            })
            .unwrap();
        assert_eq!(visited, keys);
        check(in_place);
        // Paging goes on past it.
        let rest = cache.records_after(Some(keys[1]), 10).unwrap();
        assert_eq!(
            rest,
            [PagedRecord {
                key: keys[2],
                layer: 0,
                record: Ok(record(3))
            }]
        );
    }
}
