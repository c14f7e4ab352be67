//! Paging through a cache for browsers such as `fleche-tui`: call keys by start time in
//! pages and after a point (for live refresh), and the size or first bytes of a value
//! without copying all of it.

use crate::cache::Cache;
use crate::digest::Digest;
use crate::error::Result;
use crate::store::{BY_TIME, VALUES};
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
        assert!(
            cache
                .value_head(&Digest::from_bytes([1; 32]), 10)
                .unwrap()
                .is_none()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
