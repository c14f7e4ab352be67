//! Call records as a query reads them: checked and kept encoded, a few hundred to a shared
//! buffer, and decoded into a [`CallRecord`] only when a call is looked at.
//!
//! A query over 100,000 calls then costs one copy of each record's bytes instead of a dozen
//! allocations, and a table that shows 40 rows decodes 40 records.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};

use xxhash_rust::xxh3::xxh3_64;

use crate::record::{CallRecord, RecordView};

/// Records per batch: a call kept alone keeps its whole batch alive, so batches stay small.
const RECORDS: usize = 256;

/// Encoded records and what is known about each before decoding it.
pub(crate) struct Batch {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

struct Entry {
    /// Where the record's bytes are in [`Batch::bytes`].
    start: usize,
    end: usize,
    /// Start time in nanoseconds since the Unix epoch.
    start_nanos: i64,
    shape: Shape,
    record: OnceLock<Box<CallRecord>>,
}

/// The metadata a table needs for its columns, known before a record is decoded.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shape {
    /// The call's function and definition; calls of one definition share it.
    pub(crate) function: Arc<Function>,
    /// Tag keys, sorted; calls with the same keys share them.
    pub(crate) tag_keys: Option<Arc<[String]>>,
    pub(crate) environment: bool,
    pub(crate) git: bool,
    pub(crate) resources: bool,
}

/// Which function made a call, and which definition of it: what tables group and compare
/// calls by, read without decoding their records.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Function {
    pub(crate) name: String,
    pub(crate) module: String,
    pub(crate) version: Option<String>,
    pub(crate) code: Option<crate::digest::Digest>,
}

impl Batch {
    pub(crate) fn timestart(&self, index: u32) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.start_nanos(index))
    }

    /// Start time in nanoseconds since the Unix epoch.
    pub(crate) fn start_nanos(&self, index: u32) -> i64 {
        self.entries[index as usize].start_nanos
    }

    pub(crate) fn shape(&self, index: u32) -> &Shape {
        &self.entries[index as usize].shape
    }

    /// The record, decoded on first use.
    pub(crate) fn record(&self, index: u32) -> &CallRecord {
        let entry = &self.entries[index as usize];
        entry.record.get_or_init(|| {
            let bytes = &self.bytes[entry.start..entry.end];
            // The builder only keeps records that decoded as a view, and a view of the same
            // bytes decodes the same way again.
            let view = RecordView::decode(bytes).expect("a record that was checked decodes");
            Box::new(view.to_record())
        })
    }
}

/// Where [`BatchBuilder::push`] put a record: batch number and index in it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    batch: u32,
    index: u32,
}

/// Collects records during one read transaction; [`BatchBuilder::finish`] shares them.
#[derive(Default)]
pub(crate) struct BatchBuilder {
    done: Vec<Batch>,
    current: Option<Batch>,
    tag_keys: TagKeySets,
    functions: Functions,
}

impl BatchBuilder {
    /// Keeps a record's bytes, which `view` was decoded from.
    pub(crate) fn push(&mut self, bytes: &[u8], view: &RecordView<'_>) -> Slot {
        if self
            .current
            .as_ref()
            .is_some_and(|b| b.entries.len() >= RECORDS)
        {
            self.done.extend(self.current.take());
        }
        let batch = self.current.get_or_insert_with(|| Batch {
            // Records of one cache are about the same size.
            bytes: Vec::with_capacity(RECORDS.saturating_mul(bytes.len() + 16).min(1 << 20)),
            entries: Vec::with_capacity(RECORDS),
        });
        let start = batch.bytes.len();
        batch.bytes.extend_from_slice(bytes);
        let md = &view.metadata;
        let shape = Shape {
            function: self.functions.get(view),
            tag_keys: self.tag_keys.get(view),
            environment: md.environment.is_some(),
            git: md.git.is_some(),
            resources: md.resources.is_some(),
        };
        batch.entries.push(Entry {
            start,
            end: batch.bytes.len(),
            start_nanos: md.start_nanos,
            shape,
            record: OnceLock::new(),
        });
        Slot {
            batch: self.done.len() as u32,
            index: batch.entries.len() as u32 - 1,
        }
    }

    /// The batches, to be indexed by the slots [`BatchBuilder::push`] returned.
    pub(crate) fn finish(mut self) -> Batches {
        self.done.extend(self.current.take());
        Batches(self.done.into_iter().map(Arc::new).collect())
    }
}

/// Shared batches of one read.
pub(crate) struct Batches(Vec<Arc<Batch>>);

impl Batches {
    pub(crate) fn get(&self, slot: Slot) -> (Arc<Batch>, u32) {
        (self.0[slot.batch as usize].clone(), slot.index)
    }

    /// The start time of the record in `slot`, in nanoseconds since the Unix epoch.
    pub(crate) fn start_nanos(&self, slot: Slot) -> i64 {
        self.0[slot.batch as usize].start_nanos(slot.index)
    }
}

/// Interns tag key sets: calls tagged in the same scope share one list.
#[derive(Default)]
struct TagKeySets {
    sets: Vec<Arc<[String]>>,
    last: usize,
}

/// Distinct key sets interned per read; past that, each call gets its own list.
const MAX_SETS: usize = 32;

impl TagKeySets {
    fn get(&mut self, view: &RecordView<'_>) -> Option<Arc<[String]>> {
        let tags = &view.metadata.tags;
        if tags.is_empty() {
            return None;
        }
        if !tags.is_canonical() {
            let mut keys: Vec<String> = tags.iter().map(|(k, _)| k.to_owned()).collect();
            keys.sort_unstable();
            keys.dedup();
            return Some(keys.into());
        }
        let same = |set: &Arc<[String]>| {
            set.iter()
                .map(String::as_str)
                .eq(tags.iter().map(|(k, _)| k))
        };
        if let Some(set) = self.sets.get(self.last).filter(|s| same(s)) {
            return Some(set.clone());
        }
        if let Some(i) = self.sets.iter().position(same) {
            self.last = i;
            return Some(self.sets[i].clone());
        }
        let set: Arc<[String]> = tags.iter().map(|(k, _)| k.to_owned()).collect();
        if self.sets.len() < MAX_SETS {
            self.last = self.sets.len();
            self.sets.push(set.clone());
        }
        Some(set)
    }
}

/// Interns function definitions: the calls of one function share one [`Function`]. Calls of
/// many functions come in key order, so each is found by a hash of its stored bytes rather
/// than by comparing it with every function seen.
#[derive(Default)]
struct Functions {
    known: Vec<Arc<Function>>,
    /// Hash of a definition's stored bytes -> its index in `known`.
    by_hash: HashMap<u64, usize, BuildHasherDefault<Prehashed>>,
    last: usize,
}

/// Distinct definitions interned per read; past that, each call gets its own.
const MAX_FUNCTIONS: usize = 256;

impl Functions {
    fn get(&mut self, view: &RecordView<'_>) -> Arc<Function> {
        let same = |f: &Arc<Function>| {
            f.name == view.name
                && f.module == view.module
                && f.version.as_deref() == view.version
                && f.code == view.code
        };
        if let Some(f) = self.known.get(self.last).filter(|f| same(f)) {
            return f.clone();
        }
        let hash = xxh3_64(view.function_bytes);
        // Two definitions whose bytes hash alike: the first keeps the slot, the other is
        // found by comparing (never misattributed, since `same` is checked either way).
        let found = match self.by_hash.get(&hash) {
            Some(&i) if same(&self.known[i]) => Some(i),
            Some(_) => self.known.iter().position(same),
            None => None,
        };
        if let Some(i) = found {
            self.last = i;
            return self.known[i].clone();
        }
        let f = Arc::new(Function {
            name: view.name.to_owned(),
            module: view.module.to_owned(),
            version: view.version.map(str::to_owned),
            code: view.code,
        });
        if self.known.len() < MAX_FUNCTIONS {
            self.last = self.known.len();
            self.by_hash.entry(hash).or_insert(self.last);
            self.known.push(f.clone());
        }
        f
    }
}

/// A hasher for keys that are hashes already: it keeps the `u64` it is given.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::digest::Digest;
    use crate::record::Metadata;

    fn record(i: usize) -> CallRecord {
        let mut tags = BTreeMap::new();
        if i.is_multiple_of(2) {
            tags.insert("project".to_owned(), format!("p{i}").into());
        }
        if i.is_multiple_of(3) {
            tags.insert("stage".to_owned(), 1.into());
        }
        CallRecord {
            name: format!("f{}", i % 5),
            module: "m".into(),
            version: None,
            code: None,
            arguments: vec![("x".into(), Digest::from_bytes([i as u8; 32]))],
            argument_keys: Vec::new(),
            result: Digest::from_bytes([1; 32]),
            result_type: "i64".into(),
            result_size: 9,
            metadata: Metadata {
                timestart: DateTime::from_timestamp(i as i64, 0).unwrap(),
                timestop: DateTime::from_timestamp(i as i64 + 1, 0).unwrap(),
                walltime: 1.0,
                tags,
                ..Metadata::default()
            },
        }
    }

    #[test]
    fn records_stay_encoded_until_looked_at() {
        let records: Vec<CallRecord> = (0..600).map(record).collect();
        let encoded: Vec<Vec<u8>> = records.iter().map(|r| r.encode().unwrap()).collect();
        let mut builder = BatchBuilder::default();
        let slots: Vec<Slot> = encoded
            .iter()
            .map(|bytes| builder.push(bytes, &RecordView::decode(bytes).unwrap()))
            .collect();
        let batches = builder.finish();
        assert_eq!(batches.0.len(), 600usize.div_ceil(RECORDS));
        for (i, slot) in slots.iter().enumerate() {
            let (batch, index) = batches.get(*slot);
            assert!(batch.entries[index as usize].record.get().is_none());
            assert_eq!(batch.timestart(index), records[i].metadata.timestart);
            let keys: Vec<&str> = batch
                .shape(index)
                .tag_keys
                .iter()
                .flat_map(|k| k.iter().map(String::as_str))
                .collect();
            let expected: Vec<&str> = records[i]
                .metadata
                .tags
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, expected);
            assert_eq!(batch.record(index), &records[i]);
            let function = &batch.shape(index).function;
            assert_eq!(function.name, records[i].name);
            assert_eq!(function.module, records[i].module);
        }
        // Calls of one function share its definition.
        let (a, i) = batches.get(slots[7]);
        let (b, j) = batches.get(slots[7 + 300]);
        assert_eq!(a.shape(i).function.name, "f2");
        assert!(Arc::ptr_eq(&a.shape(i).function, &b.shape(j).function));
        // Calls with the same tag keys share one list.
        let (a, i) = batches.get(slots[0]);
        let (b, j) = batches.get(slots[300]);
        assert!(Arc::ptr_eq(
            a.shape(i).tag_keys.as_ref().unwrap(),
            b.shape(j).tag_keys.as_ref().unwrap()
        ));
    }
}
