//! Reading a cache in pages, for browsers such as `fleche-tui`: the newest calls by start
//! time, records in key order, what arrived since a point, and the first bytes of values. On
//! a stack every page is the union of the layers (a call held by two layers is read from
//! the upper one, and says which), and a read-only layer that fails is left out and noted.

use std::collections::{HashMap, HashSet};

use crate::cache::Cache;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layer::{Entry, Layers};
use crate::store::{PagedRecord, Store, TimeKey, ValueHead};

impl Cache {
    /// Up to `limit` calls, newest first, strictly older than `before` (from the newest call
    /// when `None`). Reads only the time index, so the first page of a million calls is quick.
    ///
    /// On a stack: the newest of every cache-file layer together, each call once, at the
    /// start time its upper layer gives it (layers that are not files, such as a database,
    /// have no time index here: their calls come from [`Cache::records_after`]).
    pub fn calls_before(&self, before: Option<TimeKey>, limit: usize) -> Result<Vec<TimeKey>> {
        let Some(layers) = &self.layers else {
            return self.store.calls_before(before, limit);
        };
        let mut all = time_union(layers, |store| store.calls_before(before, limit))?;
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(limit);
        Ok(all)
    }

    /// Every call strictly newer than `after` in the time index, oldest first: what another
    /// process added since a browser last looked. On a stack, from every cache-file layer.
    pub fn calls_after(&self, after: TimeKey) -> Result<Vec<TimeKey>> {
        let Some(layers) = &self.layers else {
            return self.store.calls_after(after);
        };
        let mut all = time_union(layers, |store| store.calls_after(after))?;
        all.sort_unstable();
        Ok(all)
    }

    /// Every call key, newest first (by start time). Reads only the time index; on a stack,
    /// the time index of every cache-file layer, each call once.
    pub fn keys_newest_first(&self) -> Result<Vec<Digest>> {
        let Some(layers) = &self.layers else {
            return self.store.keys_newest_first();
        };
        let mut all = time_union(layers, |store| store.calls_before(None, usize::MAX))?;
        all.sort_unstable_by(|a, b| b.cmp(a));
        Ok(all.into_iter().map(|t| t.key).collect())
    }

    /// Up to `limit` call records with keys strictly after `after` (from the first key when
    /// `None`), in key order. Reading every record of a large cache this way is several times
    /// faster than looking keys up one by one ([`Cache::load_many`]), since it walks the
    /// table in its own order. A record that does not decode comes back in its place as an
    /// [`UnreadableRecord`](crate::UnreadableRecord) that says why, so a browser can show it
    /// instead of hiding it.
    ///
    /// On a stack: the union of every layer's records, each call once, from the upper layer
    /// that holds it ([`PagedRecord::layer`] says which).
    pub fn records_after(&self, after: Option<Digest>, limit: usize) -> Result<Vec<PagedRecord>> {
        let Some(layers) = &self.layers else {
            return self.store.records_after(after, limit);
        };
        let mut all: Vec<PagedRecord> = Vec::new();
        each_layer(layers, |i, entry| {
            let page = match &entry.store {
                Some(store) => store.records_after(after, limit)?,
                None => entry
                    .layer
                    .records_after(after, limit)?
                    .into_iter()
                    .map(|(key, bytes)| PagedRecord::from_bytes(key, Some(&bytes)))
                    .collect(),
            };
            all.extend(page.into_iter().map(|r| PagedRecord { layer: i, ..r }));
            Ok(())
        })?;
        // Stable: of two copies of a call, the upper layer's stays first and is kept.
        all.sort_by_key(|r| r.key);
        all.dedup_by_key(|r| r.key);
        all.truncate(limit);
        Ok(all)
    }

    /// The records of these calls, in one read transaction per layer and in the order given;
    /// a call that is not stored is left out, and a record that does not decode (or is
    /// damaged) comes back as an [`UnreadableRecord`](crate::UnreadableRecord) (unlike
    /// [`Cache::load_many`], which fails on it).
    ///
    /// On a stack: each from the upper cache-file layer that holds it.
    pub fn records_of(&self, keys: &[Digest]) -> Result<Vec<PagedRecord>> {
        let Some(layers) = &self.layers else {
            return Ok(self
                .store
                .records(keys)?
                .into_iter()
                .map(|(key, bytes)| PagedRecord::from_bytes(key, bytes.as_deref()))
                .collect());
        };
        let mut found: HashMap<Digest, PagedRecord> = HashMap::with_capacity(keys.len());
        let mut wanted: Vec<Digest> = keys.to_vec();
        each_file_layer(layers, |i, store| {
            if wanted.is_empty() {
                return Ok(());
            }
            for (key, bytes) in store.records(&wanted)? {
                let record = PagedRecord::from_bytes(key, bytes.as_deref());
                found.insert(key, PagedRecord { layer: i, ..record });
            }
            wanted.retain(|k| !found.contains_key(k));
            Ok(())
        })?;
        Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
    }

    /// Number of entries in the time index (equal to [`Cache::len`] in a sound cache); on a
    /// stack, distinct calls in the time indexes of its cache-file layers.
    pub fn time_index_len(&self) -> Result<u64> {
        match &self.layers {
            None => self.store.time_index_len(),
            Some(_) => Ok(self.keys_newest_first()?.len() as u64),
        }
    }

    /// The size of the value stored under `digest` and at most its first `max_bytes` bytes,
    /// or `None` when no such value is stored.
    pub fn value_head(&self, digest: &Digest, max_bytes: usize) -> Result<Option<ValueHead>> {
        Ok(self
            .value_heads(std::slice::from_ref(digest), max_bytes)?
            .pop()
            .flatten())
    }

    /// [`Cache::value_head`] for many values in one read transaction, in the order given
    /// (`None` for a value that is not stored). Sorted digests read fastest. On a stack, each
    /// from the first layer that holds it.
    pub fn value_heads(
        &self,
        digests: &[Digest],
        max_bytes: usize,
    ) -> Result<Vec<Option<ValueHead>>> {
        let Some(layers) = &self.layers else {
            return self.store.value_heads(digests, max_bytes);
        };
        let mut heads: Vec<Option<ValueHead>> = vec![None; digests.len()];
        let mut wanted: Vec<usize> = (0..digests.len()).collect();
        each_layer(layers, |_, entry| {
            if wanted.is_empty() {
                return Ok(());
            }
            match &entry.store {
                Some(store) => {
                    let asked: Vec<Digest> = wanted.iter().map(|&i| digests[i]).collect();
                    for (&i, head) in wanted.iter().zip(store.value_heads(&asked, max_bytes)?) {
                        heads[i] = head;
                    }
                }
                None => {
                    for &i in &wanted {
                        heads[i] = entry
                            .layer
                            .value(&digests[i])?
                            .map(|bytes| ValueHead::of(&bytes, max_bytes));
                    }
                }
            }
            wanted.retain(|&i| heads[i].is_none());
            Ok(())
        })?;
        Ok(heads)
    }

    /// Makes a stack note the read-only layers it leaves out of reads (a damaged or
    /// unreadable file) for [`Cache::layer_warnings`] only, instead of also warning on stderr:
    /// for a browser that owns the terminal. Nothing changes for a plain cache.
    pub fn collect_layer_warnings(&self) {
        if let Some(layers) = &self.layers {
            layers.keep_quiet();
        }
    }

    /// Why read-only layers were left out of reads so far, one line each (`cache layer
    /// `team` (path) skipped: ...`); empty for a plain cache.
    pub fn layer_warnings(&self) -> Vec<String> {
        self.layers
            .as_ref()
            .map(|l| l.skipped())
            .unwrap_or_default()
    }
}

/// Runs `read` on each layer, top first, with its index. A read-only layer (or one whose
/// server is away) that fails is left out and noted; any other failure is the answer.
fn each_layer<'a>(
    layers: &'a Layers,
    mut read: impl FnMut(usize, &'a Entry) -> Result<()>,
) -> Result<()> {
    for (i, entry) in layers.entries.iter().enumerate() {
        match read(i, entry) {
            Ok(()) => {}
            Err(e) if entry.read_only || matches!(e, Error::Unreachable { .. }) => {
                layers.skip(entry, &e);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// [`each_layer`] on the layers that are fleche cache files (or memory caches).
fn each_file_layer<'a>(
    layers: &'a Layers,
    mut read: impl FnMut(usize, &'a Store) -> Result<()>,
) -> Result<()> {
    each_layer(layers, |i, entry| match &entry.store {
        Some(store) => read(i, store),
        None => Ok(()),
    })
}

/// What `read` gives for each cache-file layer, without the calls an upper file layer also
/// holds (those come from the upper layer's own index, with its start time).
fn time_union(
    layers: &Layers,
    read: impl Fn(&Store) -> Result<Vec<TimeKey>>,
) -> Result<Vec<TimeKey>> {
    let mut all = Vec::new();
    let mut upper: Vec<&Store> = Vec::new();
    each_layer(layers, |_, entry| {
        let Some(store) = &entry.store else {
            return Ok(());
        };
        let mut found = read(store)?;
        for above in &upper {
            let keys: Vec<Digest> = found.iter().map(|t| t.key).collect();
            // An upper layer that cannot say is taken not to hold them.
            let Ok(missing) = above.missing_calls(&keys) else {
                continue;
            };
            let missing: HashSet<Digest> = missing.into_iter().collect();
            found.retain(|t| missing.contains(&t.key));
        }
        all.extend(found);
        upper.push(store);
        Ok(())
    })?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_heads() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("c.redb")).unwrap();
        assert!(cache.calls_before(None, 10).unwrap().is_empty());
        let d = cache.put_value(&vec![7u8; 1000]).unwrap();
        let head = cache.value_head(&d, 10).unwrap().unwrap();
        assert_eq!(head.bytes.len(), 10);
        assert!(head.size > 1000);
        let missing = Digest::from_bytes([1; 32]);
        let heads = cache.value_heads(&[missing, d], 10).unwrap();
        assert_eq!(heads, [None, Some(head)]);
        assert!(
            cache
                .value_head(&Digest::from_bytes([1; 32]), 10)
                .unwrap()
                .is_none()
        );
    }
}
