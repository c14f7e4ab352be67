//! Reading a cache in pages, for browsers such as `fleche-tui`: the newest calls by start
//! time, records in key order, what arrived since a point, and the first bytes of values. On
//! a stack every page is the union of the layers (a call held by two layers is read from
//! the upper one, and says which), and a read-only layer that fails is left out and noted.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::cache::Cache;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layer::{Entry, Layers};
use crate::meta::Value;
use crate::record::{CallRecord, Environment, EnvironmentRef, Git, GitRef, RecordView, Resources};
use crate::store::{PagedRecord, TimeKey, UnreadableRecord, ValueHead};

/// A call record read in place, as [`Cache::visit_records_after`] passes it: its text
/// borrowed from the stored bytes, so that a browser reading a million records allocates
/// next to nothing for them. It says what a [`CallRecord`] decoded from the same bytes says
/// ([`RecordRef::to_record`]).
#[derive(Debug)]
pub struct RecordRef<'a>(RecordView<'a>);

impl<'a> RecordRef<'a> {
    /// Function name.
    pub fn name(&self) -> &'a str {
        self.0.name
    }

    /// Module path of the function.
    pub fn module(&self) -> &'a str {
        self.0.module
    }

    /// The `version = ...` given to `#[fleche]`, if any.
    pub fn version(&self) -> Option<&'a str> {
        self.0.version
    }

    /// Digest of the function's tokens, when recorded.
    pub fn code(&self) -> Option<Digest> {
        self.0.code
    }

    /// Argument names and value digests, in parameter order (read from the stored bytes as
    /// they are gone through).
    pub fn arguments(&self) -> impl Iterator<Item = (&'a str, Digest)> + 'a {
        self.0.arguments.iter()
    }

    /// Result digest.
    pub fn result(&self) -> Digest {
        self.0.result
    }

    /// Rust type name of the result.
    pub fn result_type(&self) -> &'a str {
        self.0.result_type
    }

    /// Encoded size of the result in bytes.
    pub fn result_size(&self) -> u64 {
        self.0.result_size
    }

    /// Start time.
    pub fn timestart(&self) -> DateTime<Utc> {
        self.0.metadata.timestart()
    }

    /// Stop time.
    pub fn timestop(&self) -> DateTime<Utc> {
        self.0.metadata.timestop()
    }

    /// Wall time in seconds.
    pub fn walltime(&self) -> f64 {
        self.0.metadata.walltime
    }

    /// The tags as text (a typed tag as its value shows: `300`, `true`), by key, each key
    /// once (the last value of a key written twice, as a decoded record keeps).
    pub fn tags(&self) -> Vec<(&'a str, Cow<'a, str>)> {
        let text = |v: &crate::meta::value::TagRef<'a>| match v {
            crate::meta::value::TagRef::Text(t) => t.clone(),
            other => Cow::Owned(other.to_owned_value().to_string()),
        };
        let tags = &self.0.metadata.tags;
        if tags.is_canonical() {
            return tags.iter().map(|(k, v)| (k, text(&v))).collect();
        }
        let by_key: BTreeMap<&'a str, Cow<'a, str>> =
            tags.iter().map(|(k, v)| (k, text(&v))).collect();
        by_key.into_iter().collect()
    }

    /// Host, user, directory, when recorded (copied out of the record).
    pub fn environment(&self) -> Option<Environment> {
        self.0.metadata.environment.map(EnvironmentRef::owned)
    }

    /// Git state, when recorded (copied out of the record).
    pub fn git(&self) -> Option<Git> {
        self.0.metadata.git.map(GitRef::owned)
    }

    /// CPU time and peak memory growth, when recorded.
    pub fn resources(&self) -> Option<&Resources> {
        self.0.metadata.resources.as_ref()
    }

    /// What the user's own collectors recorded, by namespace.
    pub fn namespaces(&self) -> &BTreeMap<String, Value> {
        &self.0.metadata.namespaces
    }

    /// The owned record.
    pub fn to_record(&self) -> CallRecord {
        self.0.to_record()
    }
}

/// Reads a record in place, or says why it does not decode (`None`: damaged bytes).
fn record_ref(bytes: Option<&[u8]>) -> std::result::Result<RecordRef<'_>, UnreadableRecord> {
    match bytes {
        Some(bytes) => RecordView::decode(bytes)
            .map(RecordRef)
            .map_err(|e| UnreadableRecord {
                reason: e.to_string(),
            }),
        None => Err(UnreadableRecord::damaged()),
    }
}

impl Cache {
    /// Up to `limit` calls, newest first, strictly older than `before` (from the newest call
    /// when `None`). Reads only the time index, so the first page of a million calls is quick.
    ///
    /// On a stack: the newest of every layer together, each call once, at the start time
    /// its upper layer gives it (a database lists its calls by its own index of start times;
    /// a layer with no such index, by reading its records).
    pub fn calls_before(&self, before: Option<TimeKey>, limit: usize) -> Result<Vec<TimeKey>> {
        let Some(layers) = &self.layers else {
            return self.store.calls_before(before, limit);
        };
        let mut all = time_union(layers, Times::Before(before, limit))?;
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(limit);
        Ok(all)
    }

    /// Every call strictly newer than `after` in the time index, oldest first: what another
    /// process added since a browser last looked. On a stack, from every layer.
    pub fn calls_after(&self, after: TimeKey) -> Result<Vec<TimeKey>> {
        let Some(layers) = &self.layers else {
            return self.store.calls_after(after);
        };
        let mut all = time_union(layers, Times::After(after))?;
        all.sort_unstable();
        Ok(all)
    }

    /// Every call key, newest first (by start time). Reads only the time index; on a stack,
    /// every layer's, each call once.
    pub fn keys_newest_first(&self) -> Result<Vec<Digest>> {
        let Some(layers) = &self.layers else {
            return self.store.keys_newest_first();
        };
        let mut all = time_union(layers, Times::Before(None, usize::MAX))?;
        all.sort_unstable_by(|a, b| b.cmp(a));
        Ok(all.into_iter().map(|t| t.key).collect())
    }

    /// The call keys of the layers that are not fleche caches (a database), any order.
    pub(crate) fn keys_of_other_layers(&self) -> Result<Vec<Digest>> {
        let mut keys = Vec::new();
        if let Some(layers) = &self.layers {
            each_layer(layers, |_, entry| {
                if entry.store.is_none() {
                    let listed = layer_times(entry, Times::Before(None, usize::MAX))?;
                    keys.extend(listed.into_iter().map(|t| t.key));
                }
                Ok(())
            })?;
        }
        Ok(keys)
    }

    /// How many calls each layer holds (one number for a plain cache), `None` for a layer
    /// that cannot say cheaply or was left out: a signal a browser polls to notice calls
    /// added or removed by others, without listing them.
    pub fn layer_counts(&self) -> Result<Vec<Option<u64>>> {
        let Some(layers) = &self.layers else {
            return Ok(vec![Some(self.store.call_count()?)]);
        };
        let mut counts = vec![None; layers.entries.len()];
        each_layer(layers, |i, entry| {
            counts[i] = match &entry.store {
                Some(store) => Some(store.call_count()?),
                None => entry.layer.count()?,
            };
            Ok(())
        })?;
        Ok(counts)
    }

    /// Up to `limit` call records with keys strictly after `after` (from the first key when
    /// `None`), in key order. Reading every record of a large cache this way is several times
    /// faster than looking keys up one by one ([`Cache::load_many`]), since it walks the
    /// table in its own order. A record that does not decode comes back in its place as an
    /// [`UnreadableRecord`] that says why, so a browser can show it
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

    /// [`Cache::records_after`] without decoding the records into owned ones: passes each to
    /// `visit` in place (with the stack layer it came from, 0 for a plain cache), in key
    /// order, and returns the keys visited. A browser reading every record of a large cache
    /// this way spends its time on the records, not on allocating and freeing them. On a
    /// stack the records are read as [`Cache::records_after`] reads them.
    pub fn visit_records_after(
        &self,
        after: Option<Digest>,
        limit: usize,
        mut visit: impl FnMut(Digest, usize, std::result::Result<RecordRef<'_>, UnreadableRecord>),
    ) -> Result<Vec<Digest>> {
        if self.layers.is_none() {
            return self.store.walk_records_after(after, limit, |key, bytes| {
                visit(key, 0, record_ref(bytes));
                Some(key)
            });
        }
        let page = self.records_after(after, limit)?;
        let mut keys = Vec::with_capacity(page.len());
        for PagedRecord { key, layer, record } in page {
            keys.push(key);
            // Encoded again, so that a stack's records come the same way (a record that
            // decoded encodes: its times are in range).
            let bytes = record.map(|r| r.encode().map_err(|e| e.to_string()));
            match bytes {
                Ok(Ok(bytes)) => visit(key, layer, record_ref(Some(&bytes))),
                Ok(Err(reason)) => visit(key, layer, Err(UnreadableRecord { reason })),
                Err(e) => visit(key, layer, Err(e)),
            }
        }
        Ok(keys)
    }

    /// The records of these calls, in one read transaction per layer and in the order given;
    /// a call that is not stored is left out, and a record that does not decode (or is
    /// damaged) comes back as an [`UnreadableRecord`] (unlike
    /// [`Cache::load_many`], which fails on it).
    ///
    /// On a stack: each from the upper layer that holds it.
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
        each_layer(layers, |i, entry| {
            if wanted.is_empty() {
                return Ok(());
            }
            let records: Vec<PagedRecord> = match &entry.store {
                Some(store) => store
                    .records(&wanted)?
                    .into_iter()
                    .map(|(key, bytes)| PagedRecord::from_bytes(key, bytes.as_deref()))
                    .collect(),
                None => entry
                    .layer
                    .records(&wanted)?
                    .into_iter()
                    .map(|(key, bytes)| PagedRecord::from_bytes(key, Some(&bytes)))
                    .collect(),
            };
            for record in records {
                found.insert(record.key, PagedRecord { layer: i, ..record });
            }
            wanted.retain(|k| !found.contains_key(k));
            Ok(())
        })?;
        Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
    }

    /// Number of entries in the time index (equal to [`Cache::len`] in a sound cache); on a
    /// stack, distinct calls in the time indexes of its layers.
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

/// Which calls a time read lists.
#[derive(Clone, Copy)]
enum Times {
    /// Up to this many, newest first, strictly older than the key (from the newest).
    Before(Option<TimeKey>, usize),
    /// Every call strictly newer than the key, oldest first.
    After(TimeKey),
}

impl Times {
    /// These calls of `all` (any order), in this read's order.
    fn select(self, mut all: Vec<TimeKey>) -> Vec<TimeKey> {
        match self {
            Times::Before(before, limit) => {
                all.retain(|t| before.is_none_or(|b| *t < b));
                all.sort_unstable_by(|a, b| b.cmp(a));
                all.truncate(limit);
            }
            Times::After(after) => {
                all.retain(|t| *t > after);
                all.sort_unstable();
            }
        }
        all
    }
}

/// The calls one layer lists for `times`: from its index of start times, or, for a layer
/// that keeps none, from all its records (a record that does not decode counts as oldest).
fn layer_times(entry: &Entry, times: Times) -> Result<Vec<TimeKey>> {
    let listed = match (&entry.store, times) {
        (Some(store), Times::Before(before, limit)) => Some(store.calls_before(before, limit)?),
        (Some(store), Times::After(after)) => Some(store.calls_after(after)?),
        (None, Times::Before(before, limit)) => entry.layer.calls_before(before, limit)?,
        (None, Times::After(after)) => entry.layer.calls_after(after)?,
    };
    if let Some(listed) = listed {
        return Ok(listed);
    }
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = entry.layer.records_after(after, RECORDS_PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        let full = page.len() == RECORDS_PAGE;
        all.extend(page.into_iter().map(|(key, bytes)| {
            TimeKey {
                start_nanos: PagedRecord::from_bytes(key, Some(&bytes))
                    .record
                    .map_or(i64::MIN, |r| r.metadata.start_nanos()),
                key,
            }
        }));
        if !full {
            break;
        }
    }
    Ok(times.select(all))
}

/// Records read per page from a layer with no index of start times.
const RECORDS_PAGE: usize = 4_096;

/// Which of `keys` a layer holds.
fn held_by(entry: &Entry, keys: &[Digest]) -> Result<HashSet<Digest>> {
    Ok(match &entry.store {
        Some(store) => {
            let missing: HashSet<Digest> = store.missing_calls(keys)?.into_iter().collect();
            keys.iter()
                .filter(|k| !missing.contains(k))
                .copied()
                .collect()
        }
        None => entry
            .layer
            .records(keys)?
            .into_iter()
            .map(|(key, _)| key)
            .collect(),
    })
}

/// What each layer lists for `times`, without the calls an upper layer also holds (those
/// come from the upper layer's own list, with its start time).
fn time_union(layers: &Layers, times: Times) -> Result<Vec<TimeKey>> {
    let mut all = Vec::new();
    let mut upper: Vec<&Entry> = Vec::new();
    each_layer(layers, |_, entry| {
        let mut found = layer_times(entry, times)?;
        for above in &upper {
            let keys: Vec<Digest> = found.iter().map(|t| t.key).collect();
            // An upper layer that cannot say is taken not to hold them.
            let Ok(held) = held_by(above, &keys) else {
                continue;
            };
            found.retain(|t| !held.contains(&t.key));
        }
        all.extend(found);
        upper.push(entry);
        Ok(())
    })?;
    Ok(all)
}
