//! Call records as a query reads them: checked and kept encoded, a few hundred to a shared
//! buffer, and decoded into a [`CallRecord`] only when a call is looked at.
//!
//! A query over 100,000 calls then costs one copy of each record's bytes instead of a dozen
//! allocations, and a table that shows 40 rows decodes 40 records.

use std::collections::{BTreeSet, HashMap};
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
    /// The definitions and tag key lists of the read, shared by its batches.
    known: Arc<Known>,
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
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Shape {
    /// The call's function and definition: its place in [`Known::functions`].
    function: u32,
    /// Its tag keys: 0 for none, else 1 + their place in [`Known::tag_sets`].
    tag_keys: u32,
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

/// The distinct definitions and tag key lists of one read's calls: each call names its own
/// by number, so a call costs no allocation and no shared counter for them.
#[derive(Debug, Default)]
pub(crate) struct Known {
    functions: Vec<Function>,
    /// Sorted, without repeats.
    tag_sets: Vec<Box<[String]>>,
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

    /// The function and definition that made the call.
    pub(crate) fn function(&self, index: u32) -> &Function {
        &self.known.functions[self.shape(index).function as usize]
    }

    /// The call's tag keys, sorted; `None` when it has no tags.
    pub(crate) fn tag_keys(&self, index: u32) -> Option<&[String]> {
        let set = self.shape(index).tag_keys as usize;
        set.checked_sub(1).map(|i| &*self.known.tag_sets[i])
    }

    /// Numbers that tell apart the definitions and the tag key lists of calls, within one
    /// read and across reads: (read, definition, tag key list; 0 for none).
    pub(crate) fn ids(&self, index: u32) -> (usize, u32, u32) {
        let shape = self.shape(index);
        (
            Arc::as_ptr(&self.known) as usize,
            shape.function,
            shape.tag_keys,
        )
    }

    /// The record read in place, without decoding it in full.
    pub(crate) fn view(&self, index: u32) -> RecordView<'_> {
        let entry = &self.entries[index as usize];
        // As in `record`: only records that decoded as a view are kept.
        RecordView::decode(&self.bytes[entry.start..entry.end])
            .expect("a record that was checked decodes")
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

/// A batch being filled.
struct Draft {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

/// Collects records during one read transaction; [`BatchBuilder::finish`] shares them.
#[derive(Default)]
pub(crate) struct BatchBuilder {
    done: Vec<Draft>,
    current: Option<Draft>,
    tag_keys: TagKeySets,
    functions: Functions,
    /// Whether any call kept has environment, git, resources metadata.
    environment: bool,
    git: bool,
    resources: bool,
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
        let batch = self.current.get_or_insert_with(|| Draft {
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
        self.environment |= shape.environment;
        self.git |= shape.git;
        self.resources |= shape.resources;
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

    /// Takes in the records `other` kept (read beside this builder, over other keys); the
    /// function returned says where each of `other`'s slots is now.
    pub(crate) fn absorb(&mut self, other: BatchBuilder) -> impl Fn(Slot) -> Slot + use<> {
        self.done.extend(self.current.take());
        let moved_by = self.done.len() as u32;
        let functions: Vec<u32> = (other.functions.known.into_iter())
            .zip(other.functions.bytes)
            .map(|(function, (parts, bytes))| self.functions.intern(parts, &bytes, || function))
            .collect();
        let tag_sets: Vec<u32> = (other.tag_keys.sets.iter())
            .map(|set| self.tag_keys.intern(set.iter().map(String::as_str)))
            .collect();
        for mut draft in other.done.into_iter().chain(other.current) {
            for entry in &mut draft.entries {
                let shape = &mut entry.shape;
                shape.function = functions[shape.function as usize];
                if let Some(set) = shape.tag_keys.checked_sub(1) {
                    shape.tag_keys = tag_sets[set as usize];
                }
            }
            self.done.push(draft);
        }
        self.environment |= other.environment;
        self.git |= other.git;
        self.resources |= other.resources;
        move |slot| Slot {
            batch: slot.batch + moved_by,
            index: slot.index,
        }
    }

    /// The batches, to be indexed by the slots [`BatchBuilder::push`] returned, and what a
    /// table needs to know of all their calls.
    pub(crate) fn finish(mut self) -> (Batches, Summary) {
        self.done.extend(self.current.take());
        let known = Arc::new(Known {
            functions: self.functions.known,
            tag_sets: self.tag_keys.sets,
        });
        let summary = Summary {
            tag_keys: known
                .tag_sets
                .iter()
                .flat_map(|set| set.iter().cloned())
                .collect(),
            environment: self.environment,
            git: self.git,
            resources: self.resources,
            definitions_differ: definitions_differ(&known.functions),
        };
        let batches = self
            .done
            .into_iter()
            .map(|d| {
                Arc::new(Batch {
                    bytes: d.bytes,
                    entries: d.entries,
                    known: known.clone(),
                })
            })
            .collect();
        (Batches(batches), summary)
    }
}

/// What a table shows of a read's calls as a whole, gathered while they are read: the tag
/// key columns, the built-in namespaces present, and whether a `version` column is needed.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Every tag key of any call, sorted.
    pub(crate) tag_keys: BTreeSet<String>,
    pub(crate) environment: bool,
    pub(crate) git: bool,
    pub(crate) resources: bool,
    /// Whether some function has calls of more than one definition.
    pub(crate) definitions_differ: bool,
}

/// Whether two of these distinct definitions belong to one function.
fn definitions_differ(functions: &[Function]) -> bool {
    let mut seen = std::collections::HashSet::new();
    functions
        .iter()
        .any(|f| !seen.insert((f.module.as_str(), f.name.as_str())))
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

/// Interns tag key lists: calls tagged in the same scope share one list. Lists are found by
/// a hash of their keys, so many of them cost no more than a few.
#[derive(Default)]
struct TagKeySets {
    sets: Vec<Box<[String]>>,
    /// Hash of a list's keys -> its place in `sets`.
    by_hash: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    last: usize,
}

impl TagKeySets {
    /// 0 for a call without tags, else 1 + the place of its keys in `sets`.
    fn get(&mut self, view: &RecordView<'_>) -> u32 {
        let tags = &view.metadata.tags;
        if tags.is_empty() {
            0
        } else if tags.is_canonical() {
            self.intern(tags.iter().map(|(k, _)| k))
        } else {
            let mut keys: Vec<&str> = tags.iter().map(|(k, _)| k).collect();
            keys.sort_unstable();
            keys.dedup();
            self.intern(keys.into_iter())
        }
    }

    fn intern<'k>(&mut self, keys: impl Iterator<Item = &'k str> + Clone) -> u32 {
        let same = |set: &[String]| set.iter().map(String::as_str).eq(keys.clone());
        if self.sets.get(self.last).is_some_and(|s| same(s)) {
            return self.last as u32 + 1;
        }
        let hash = keys.clone().fold(0u64, |h, k| {
            xxh3_64(k.as_bytes()).wrapping_add(h.rotate_left(5))
        });
        let found = match self.by_hash.get(&hash) {
            Some(&i) if same(&self.sets[i as usize]) => Some(i as usize),
            Some(_) => self.sets.iter().position(|s| same(s)),
            None => None,
        };
        let i = found.unwrap_or_else(|| {
            self.sets.push(keys.clone().map(str::to_owned).collect());
            self.by_hash
                .entry(hash)
                .or_insert(self.sets.len() as u32 - 1);
            self.sets.len() - 1
        });
        self.last = i;
        i as u32 + 1
    }
}

/// Interns function definitions: the calls of one function share one [`Function`]. Calls of
/// many functions come in key order, so each is found by a hash of its stored bytes rather
/// than by comparing it with every function seen.
#[derive(Default)]
struct Functions {
    known: Vec<Function>,
    /// The stored bytes of each definition in `known` and which parts they hold (see
    /// `RecordView::function_bytes`): equal ones are the same definition.
    bytes: Vec<(u8, Box<[u8]>)>,
    /// Hash of a definition's stored bytes -> its place in `known`.
    by_hash: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    last: usize,
}

impl Functions {
    /// The place of the call's definition in `known`.
    fn get(&mut self, view: &RecordView<'_>) -> u32 {
        self.intern(view.function_parts, view.function_bytes, || Function {
            name: view.name.to_owned(),
            module: view.module.to_owned(),
            version: view.version.map(str::to_owned),
            code: view.code,
        })
    }

    /// The place of the definition stored as `bytes` (holding `parts`) in `known`, where
    /// `function` puts it when it is new.
    fn intern(&mut self, parts: u8, bytes: &[u8], function: impl FnOnce() -> Function) -> u32 {
        let same = |(p, b): &(u8, Box<[u8]>)| *p == parts && **b == *bytes;
        if self.bytes.get(self.last).is_some_and(same) {
            return self.last as u32;
        }
        let hash = xxh3_64(bytes) ^ u64::from(parts);
        // Two definitions whose bytes hash alike: the first keeps the slot, the other is
        // found by comparing (never misattributed, since `same` is checked either way).
        let found = match self.by_hash.get(&hash) {
            Some(&i) if same(&self.bytes[i as usize]) => Some(i as usize),
            Some(_) => self.bytes.iter().position(same),
            None => None,
        };
        let i = found.unwrap_or_else(|| {
            self.bytes.push((parts, bytes.into()));
            self.known.push(function());
            self.by_hash
                .entry(hash)
                .or_insert(self.known.len() as u32 - 1);
            self.known.len() - 1
        });
        self.last = i;
        i as u32
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
        let (batches, summary) = builder.finish();
        assert_eq!(batches.0.len(), 600usize.div_ceil(RECORDS));
        for (i, slot) in slots.iter().enumerate() {
            let (batch, index) = batches.get(*slot);
            assert!(batch.entries[index as usize].record.get().is_none());
            assert_eq!(batch.timestart(index), records[i].metadata.timestart);
            let keys: Vec<&str> = batch
                .tag_keys(index)
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
            let function = batch.function(index);
            assert_eq!(function.name, records[i].name);
            assert_eq!(function.module, records[i].module);
        }
        // Calls of one function share its definition: five functions, one definition each.
        let (a, i) = batches.get(slots[7]);
        let (b, j) = batches.get(slots[7 + 300]);
        assert_eq!(a.function(i).name, "f2");
        assert!(std::ptr::eq(a.function(i), b.function(j)));
        assert_eq!(a.known.functions.len(), 5);
        assert!(!summary.definitions_differ);
        // Calls with the same tag keys share one list: none, project, stage, both.
        let (a, i) = batches.get(slots[0]);
        let (b, j) = batches.get(slots[300]);
        assert!(std::ptr::eq(a.tag_keys(i).unwrap(), b.tag_keys(j).unwrap()));
        assert_eq!(a.known.tag_sets.len(), 3);
        assert_eq!(
            summary
                .tag_keys
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["project", "stage"]
        );
        assert!(!summary.environment && !summary.git && !summary.resources);
    }

    /// Many functions and tag key lists, in any order, and tags stored out of order (a
    /// damaged or foreign record): each call still gets its own definition and sorted keys.
    #[test]
    fn many_definitions_and_tag_lists_are_told_apart() {
        let mut records: Vec<CallRecord> = (0..2000)
            .map(|i| {
                let mut r = record(i);
                r.name = format!("f{}", i % 700);
                r.version = (i % 3 == 0).then(|| "2".to_owned());
                r.metadata.tags = BTreeMap::from([(format!("k{}", i % 400), "v".into())]);
                r
            })
            .collect();
        records[5].metadata.environment = Some(Default::default());
        let mut builder = BatchBuilder::default();
        let mut slots: Vec<Slot> = Vec::new();
        for r in &records {
            let bytes = r.encode().unwrap();
            slots.push(builder.push(&bytes, &RecordView::decode(&bytes).unwrap()));
        }
        // Two tags written in reverse order: the list is sorted when interned.
        let mut reversed = record(1);
        reversed.metadata.tags =
            BTreeMap::from([("a".to_owned(), 1.into()), ("b".to_owned(), 2.into())]);
        let mut bytes = reversed.encode().unwrap();
        let a = bytes.windows(3).position(|w| w == [1, b'a', 1]).unwrap();
        let b = bytes.windows(3).position(|w| w == [1, b'b', 1]).unwrap();
        bytes.swap(a + 1, b + 1);
        bytes.swap(a + 3, b + 3);
        let view = RecordView::decode(&bytes).unwrap();
        assert!(!view.metadata.tags.is_canonical());
        let odd = builder.push(&bytes, &view);
        let (batches, summary) = builder.finish();
        for (r, slot) in records.iter().zip(&slots) {
            let (batch, i) = batches.get(*slot);
            let f = batch.function(i);
            assert_eq!((&f.name, &f.version, f.code), (&r.name, &r.version, r.code));
            let keys: Vec<&String> = r.metadata.tags.keys().collect();
            assert_eq!(batch.tag_keys(i).unwrap().iter().collect::<Vec<_>>(), keys);
        }
        let (batch, i) = batches.get(odd);
        assert_eq!(batch.tag_keys(i).unwrap(), ["a", "b"]);
        let definitions: std::collections::BTreeSet<_> = records
            .iter()
            .chain([&reversed])
            .map(|r| (&r.name, &r.version))
            .collect();
        assert_eq!(batch.known.functions.len(), definitions.len());
        assert_eq!(batch.known.tag_sets.len(), 400 + 1);
        assert!(summary.definitions_differ);
        assert!(summary.environment && !summary.git);
        assert_eq!(summary.tag_keys.len(), 400 + 2);
    }

    /// A version of 31 characters is stored as the same 32 bytes as a code digest that
    /// starts with 31 and goes on with those characters: still two definitions.
    #[test]
    fn a_version_and_a_code_with_the_same_bytes_are_two_definitions() {
        let version = "abcdefghijklmnopqrstuvwxyz01234";
        let mut with_version = record(0);
        with_version.version = Some(version.to_owned());
        let mut code = [31u8; 32];
        code[1..].copy_from_slice(version.as_bytes());
        let mut with_code = record(5);
        with_code.code = Some(Digest::from_bytes(code));
        let (a, b) = (with_version.encode().unwrap(), with_code.encode().unwrap());
        let (va, vb) = (
            RecordView::decode(&a).unwrap(),
            RecordView::decode(&b).unwrap(),
        );
        assert_eq!(va.function_bytes, vb.function_bytes);
        let mut builder = BatchBuilder::default();
        let (sa, sb) = (builder.push(&a, &va), builder.push(&b, &vb));
        let (batches, summary) = builder.finish();
        let ((ba, ia), (bb, ib)) = (batches.get(sa), batches.get(sb));
        assert_eq!(ba.function(ia).version.as_deref(), Some(version));
        assert_eq!(ba.function(ia).code, None);
        assert_eq!(bb.function(ib).version, None);
        assert_eq!(bb.function(ib).code, Some(Digest::from_bytes(code)));
        assert!(summary.definitions_differ);
    }
}
