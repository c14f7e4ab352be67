//! Paging through a cache for browsers such as `fleche-tui`: call keys by start time in
//! pages and after a point (for live refresh), and the size or first bytes of a value
//! without copying all of it, read as far as those bytes go ([`Prefix`]).

use crate::cache::Cache;
use crate::codec::CodecError;
use crate::codec::Prefix;
use crate::digest::Digest;
use crate::error::Result;
use crate::record::CallRecord;
use crate::store::{BY_TIME, CALLS, VALUES};
use redb::ReadableTableMetadata;

/// A call's place in the time index: its start time (nanoseconds since the Unix epoch) and
/// its key. Ordered by time, then key, like the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeKey {
    /// Start time in nanoseconds since the Unix epoch.
    pub start_nanos: i64,
    /// The call key.
    pub key: Digest,
}

/// The first bytes of a stored value and its whole size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueHead {
    /// Size of the whole encoded value in bytes.
    pub size: u64,
    /// Its first bytes (all of them when it is small enough).
    pub bytes: Vec<u8>,
}

impl Cache {
    /// Up to `limit` calls, newest first, strictly older than `before` (from the newest call
    /// when `None`). Reads only the time index, so the first page of a million calls is quick.
    pub fn calls_before(&self, before: Option<TimeKey>, limit: usize) -> Result<Vec<TimeKey>> {
        self.store.read(|txn| {
            let by_time = txn.open_table(BY_TIME)?;
            let range = match before {
                Some(b) => by_time.range(..(b.start_nanos, *b.key.as_bytes()))?,
                None => by_time.range::<(i64, [u8; 32])>(..)?,
            };
            let mut out = Vec::with_capacity(limit.min(1 << 16));
            for entry in range.rev().take(limit) {
                let (start_nanos, key) = entry?.0.value();
                out.push(TimeKey {
                    start_nanos,
                    key: Digest::from_bytes(key),
                });
            }
            Ok(out)
        })
    }

    /// Every call strictly newer than `after` in the time index, oldest first: what another
    /// process added since a browser last looked.
    pub fn calls_after(&self, after: TimeKey) -> Result<Vec<TimeKey>> {
        self.store.read(|txn| {
            let by_time = txn.open_table(BY_TIME)?;
            let from = (after.start_nanos, *after.key.as_bytes());
            let mut out = Vec::new();
            for entry in by_time.range(from..)? {
                let (start_nanos, key) = entry?.0.value();
                let found = TimeKey {
                    start_nanos,
                    key: Digest::from_bytes(key),
                };
                if found != after {
                    out.push(found);
                }
            }
            Ok(out)
        })
    }

    /// Up to `limit` call records with keys strictly after `after` (from the first key when
    /// `None`), in key order. Reading every record of a large cache this way is several times
    /// faster than looking keys up one by one ([`Cache::load_many`]), since it walks the
    /// table in its own order. A record that does not decode is skipped (and logged), as
    /// queries do.
    pub fn records_after(
        &self,
        after: Option<Digest>,
        limit: usize,
    ) -> Result<Vec<(Digest, CallRecord)>> {
        self.store.read(|txn| {
            let calls = txn.open_table(CALLS)?;
            let range = match after {
                Some(a) => calls.range::<[u8; 32]>((
                    std::ops::Bound::Excluded(*a.as_bytes()),
                    std::ops::Bound::Unbounded,
                ))?,
                None => calls.range::<[u8; 32]>(..)?,
            };
            let mut out = Vec::with_capacity(limit.min(1 << 16));
            for entry in range.take(limit) {
                let (key, value) = entry?;
                let key = Digest::from_bytes(key.value());
                match CallRecord::decode(value.value().1) {
                    Ok(record) => out.push((key, record)),
                    Err(e) => tracing::error!(
                        key = %key,
                        "skipping a call record that does not decode (a damaged cache?): {e}"
                    ),
                }
            }
            Ok(out)
        })
    }

    /// Number of entries in the time index (equal to [`Cache::len`] in a sound cache).
    pub fn time_index_len(&self) -> Result<u64> {
        self.store.read(|txn| Ok(txn.open_table(BY_TIME)?.len()?))
    }

    /// The size of the value stored under `digest` and at most its first `max_bytes` bytes,
    /// or `None` when no such value is stored.
    pub fn value_head(&self, digest: &Digest, max_bytes: usize) -> Result<Option<ValueHead>> {
        self.store.read(|txn| {
            Ok(txn.open_table(VALUES)?.get(digest.as_bytes())?.map(|v| {
                let all = v.value();
                ValueHead {
                    size: all.len() as u64,
                    bytes: all[..all.len().min(max_bytes)].to_vec(),
                }
            }))
        })
    }

    /// [`Cache::value_head`] for many values in one read transaction, in the order given
    /// (`None` for a value that is not stored). Sorted digests read fastest.
    pub fn value_heads(
        &self,
        digests: &[Digest],
        max_bytes: usize,
    ) -> Result<Vec<Option<ValueHead>>> {
        self.store.read(|txn| {
            let values = txn.open_table(VALUES)?;
            digests
                .iter()
                .map(|d| {
                    Ok(values.get(d.as_bytes())?.map(|v| {
                        let all = v.value();
                        ValueHead {
                            size: all.len() as u64,
                            bytes: all[..all.len().min(max_bytes)].to_vec(),
                        }
                    }))
                })
                .collect()
        })
    }
}

// -------------------------------------------------------------------------------------------
// Values read in part.
// -------------------------------------------------------------------------------------------

impl ValueHead {
    /// Whether `bytes` hold the whole value.
    pub fn is_whole(&self) -> bool {
        self.bytes.len() as u64 >= self.size
    }

    /// The item that starts at byte `at` of the value (0: the value itself), as far as the
    /// bytes read hold it: see [`Prefix::read`].
    pub fn item_at(&self, at: usize) -> std::result::Result<Prefix<'_>, CodecError> {
        Prefix::read(self.bytes.get(at..).unwrap_or_default(), !self.is_whole())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_heads() {
        let dir = std::env::temp_dir().join(format!("fleche-browse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cache = Cache::open(dir.join("c.redb")).unwrap();
        assert!(cache.calls_before(None, 10).unwrap().is_empty());
        let d = cache.put_value(&vec![7u8; 1000]).unwrap();
        let head = cache.value_head(&d, 10).unwrap().unwrap();
        assert_eq!(head.bytes.len(), 10);
        assert!(head.size > 1000);
        assert!(!head.is_whole());
        assert!(matches!(head.item_at(0), Ok(Prefix::Cut(_))));
        let whole = cache.value_head(&d, 1 << 20).unwrap().unwrap();
        assert!(whole.is_whole());
        assert!(matches!(whole.item_at(0), Ok(Prefix::Whole(_))));
        let missing = Digest::from_bytes([1; 32]);
        let heads = cache.value_heads(&[missing, d], 10).unwrap();
        assert_eq!(heads, [None, Some(head)]);
        assert!(
            cache
                .value_head(&Digest::from_bytes([1; 32]), 10)
                .unwrap()
                .is_none()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
