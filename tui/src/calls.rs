//! The calls a browser has loaded, in a compact form: every name, tag and argument summary is
//! interned once (one arena of text, no allocation per string), so filtering matches each
//! distinct string once per keystroke rather than once per call, and a million calls fit in
//! memory.

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleche::Digest;

use fleche::record::CallRecord;
use foldhash::{HashMap, HashMapExt};

use crate::batch::Batch;
use crate::compact::short_type;
use crate::strings::{Strings, Sym, grow, grow_by, used};

/// Index of a distinct (argument name, value digest) pair.
pub type ArgId = u32;

/// Places in a list, found by digest: 4 bytes a slot, since the digests stay in the list
/// (a map from digest to place would hold each digest twice).
#[derive(Debug, Default)]
struct ByDigest {
    table: hashbrown::HashTable<u32>,
}

/// A digest's hash: its first 8 bytes. Digests are BLAKE3 outputs, already uniform, so
/// hashing them again would only cost time (a million calls add two million lookups).
#[inline]
fn digest_hash(digest: &Digest) -> u64 {
    let bytes = digest.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

impl ByDigest {
    /// The place of `digest`, given the digest at each place.
    fn find(&self, digest: &Digest, at: impl Fn(u32) -> Digest) -> Option<u32> {
        self.table
            .find(digest_hash(digest), |&i| at(i) == *digest)
            .copied()
    }

    /// Notes that `digest` (not there yet) is at `place`.
    fn insert(&mut self, digest: &Digest, place: u32, at: impl Fn(u32) -> Digest) {
        self.table
            .insert_unique(digest_hash(digest), place, |&i| digest_hash(&at(i)));
    }

    /// Makes room for `n` more.
    fn reserve(&mut self, n: usize, at: impl Fn(u32) -> Digest) {
        self.table.reserve(n, |&i| digest_hash(&at(i)));
    }
}

/// One tag of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    /// `key`.
    pub key: Sym,
    /// `value`.
    pub value: Sym,
    /// `key=value`.
    pub pair: Sym,
}

/// A distinct argument: its name and its value (digest and, once the background reader got
/// to it, summary: see [`Calls::arg_digest`], [`Calls::arg_summary`]). 16 bytes: the digest
/// stays in the calls' list of values, and `name=summary` is written only while a filter
/// matches it, never kept (it would be a string per argument).
#[derive(Debug, Clone)]
pub struct ArgInfo {
    /// Parameter name.
    pub name: Sym,
    /// The value's place in `Calls::values`.
    value: u32,
    /// The [`byte_mask`](crate::strings::byte_mask) of `name=summary` once the summary is
    /// known, else 0: a filter rules most arguments out from this alone.
    pub mask: u64,
}

/// One call as the table shows it: what the table, the sort and the filter use, inline, in
/// 88 bytes. What only the call view shows (result digest, stop time, resources, details) is
/// read again from the cache when the call is opened: a million rows holding it took 150 MB.
#[derive(Debug, Clone)]
pub struct CallRow {
    /// Call key.
    pub key: Digest,
    /// Start time, in nanoseconds since the Unix epoch (8 bytes, where a `DateTime` takes
    /// 12; a stored record's times always fit).
    start: i64,
    /// Wall time in seconds.
    pub wall: f64,
    /// Encoded result size in bytes.
    pub result_size: u64,
    /// Tags: an index into [`Calls::tag_set_list`] (see [`Calls::tags`]).
    pub tag_set: u32,
    /// Arguments in parameter order: where they start in the calls' list of argument ids
    /// (see [`Calls::args_of`]), and how many (one list for all calls: a small box per call
    /// would cost more in allocator overhead than its contents).
    args_at: u32,
    args_len: u32,
    /// Function name.
    pub name: Sym,
    /// Module.
    pub module: Sym,
    /// Result type.
    pub result_type: Sym,
    /// CPU seconds (user and system) of the thread that ran the call, NaN when not recorded
    /// (the table's column and sort; the call view shows both parts from the record).
    cpu: f32,
    /// The stack layer it came from: an index into [`Calls::layers`] (0 for a plain cache).
    pub layer: u8,
    /// The record is stored but does not decode: `name` holds `unreadable record: <why>`
    /// and nothing else is known.
    pub unreadable: bool,
}

/// What the filter reads of a call, kept apart from its row and side by side with the others'
/// (20 bytes a call, where a row is 160): a keystroke at a million calls then reads 20 MB
/// rather than 160, and tag terms are decided once per distinct set of tags.
#[derive(Debug, Clone, Copy)]
pub struct Hot {
    /// Function name.
    pub name: Sym,
    /// Module.
    pub module: Sym,
    /// The call's tags: an index into [`Calls::tag_set_list`].
    pub tag_set: u32,
    args_at: u32,
    args_len: u32,
}

impl CallRow {
    /// Start time.
    pub fn start(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.start)
    }

    /// CPU seconds (user and system) of the thread that ran the call, when recorded.
    pub fn cpu(&self) -> Option<f64> {
        (!self.cpu.is_nan()).then_some(f64::from(self.cpu))
    }
}

/// What is known of one argument value: its summary once read, and the arguments (by
/// name) that take it, almost always just one. 12 bytes (44 with the value's digest: a
/// million calls with distinct arguments keep one for each).
#[derive(Debug, Clone)]
struct ValueInfo {
    /// The summary's string once read, `NO_SYM` until then.
    summary_sym: Sym,
    /// The first argument with this value (`NO_ARG` while none).
    first: ArgId,
    /// Index into `Calls::more_args` of the others, `NO_ARG` while none.
    more: u32,
}

const NO_ARG: u32 = u32::MAX;

impl ValueInfo {
    fn summary(&self) -> Option<Sym> {
        (self.summary_sym != NO_SYM).then_some(self.summary_sym)
    }
}

/// No string: a batch's text that is not interned (a result type in full).
const NO_SYM: Sym = Sym::MAX;

/// A batch of calls being added (see [`Calls::arriving`]): its strings and tag sets already
/// interned, its rows appended a few at a time.
#[derive(Debug)]
pub struct Arriving {
    batch: Batch,
    /// The interned id of each of the batch's texts.
    syms: Vec<Sym>,
    /// The short result type of each of the batch's full ones.
    types: HashMap<Sym, Sym>,
    /// The number of each of the batch's tag sets.
    tag_sets: Vec<u32>,
    /// The next row to add.
    next: usize,
}

impl Arriving {
    /// Rows not added yet.
    pub fn len(&self) -> usize {
        self.batch.rows.len() - self.next
    }

    /// Whether every row was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// All loaded calls.
#[derive(Debug, Default)]
pub struct Calls {
    /// Interned strings.
    pub strings: Strings,
    /// Distinct arguments.
    pub args: Vec<ArgInfo>,
    /// The arguments of every call, one call's after another's.
    arg_lists: Vec<ArgId>,
    /// Argument values by digest: one map for summaries and the arguments that take them.
    values: Vec<(Digest, ValueInfo)>,
    value_index: ByDigest,
    more_args: Vec<Vec<ArgId>>,
    /// Values that some argument takes, and those of them with a summary.
    taken: usize,
    summarised: usize,
    /// `key=value` of each (key, value) tag pair seen, each distinct set of tags, and the
    /// short form of each result type: so adding a call formats no string it has seen
    /// before, and calls with the same tags share them.
    tag_pairs: HashMap<(Sym, Sym), Sym>,
    tag_sets: HashMap<Arc<[Tag]>, u32>,
    /// Each distinct set of tags, by the number [`Hot::tag_set`] gives it.
    pub tag_set_list: Vec<Arc<[Tag]>>,
    result_types: HashMap<Box<str>, Sym>,
    /// The calls, in arrival order.
    pub rows: Vec<CallRow>,
    /// What the filter reads of each row, in the same order.
    hot: Vec<Hot>,
    index: ByDigest,
    /// How many rows are unreadable records.
    unreadable: usize,
    /// How many rows have a CPU time (the table shows its column when any has).
    with_cpu: usize,
    /// The names of the stack's layers, top first; empty for a plain cache.
    pub layers: Vec<String>,
}

impl Calls {
    /// No calls.
    pub fn new() -> Calls {
        Calls::default()
    }

    /// Number of calls.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row of a call key.
    pub fn position(&self, key: &Digest) -> Option<u32> {
        let rows = &self.rows;
        self.index.find(key, |i| rows[i as usize].key)
    }

    /// Whether a call is loaded.
    pub fn contains(&self, key: &Digest) -> bool {
        self.position(key).is_some()
    }

    /// Makes room for `n` more calls (and as many distinct argument values).
    pub fn reserve(&mut self, n: usize) {
        self.rows.reserve(n);
        self.hot.reserve(n);
        let rows = &self.rows;
        self.index.reserve(n, |i| rows[i as usize].key);
        self.args.reserve(n);
        self.arg_lists.reserve(n);
        self.values.reserve(n);
        let values = &self.values;
        self.value_index.reserve(n, |i| values[i as usize].0);
        self.strings.reserve(n);
    }

    /// Adds a call (a call already loaded is replaced in place).
    pub fn add(&mut self, key: Digest, record: &CallRecord) {
        self.add_in_layer(key, 0, record);
    }

    /// Adds a call read from stack layer `layer` (an index into [`Calls::layers`]).
    pub fn add_in_layer(&mut self, key: Digest, layer: usize, record: &CallRecord) {
        let mut arriving = self.arriving(Batch::of([(key, layer, record)]));
        self.add_arriving(&mut arriving, usize::MAX, |_| {});
    }

    /// Takes in a batch of calls the reader built: interns its distinct strings and tag sets
    /// once, ready for [`Calls::add_arriving`] to append its rows (in as many steps as the
    /// UI likes).
    pub fn arriving(&mut self, batch: Batch) -> Arriving {
        let s = &mut self.strings;
        let bs = &batch.strings;
        let syms: Vec<Sym> = (0..bs.len() as Sym)
            .map(|i| match bs.used(i) {
                0 => NO_SYM,
                uses => s.intern(bs.text(i), uses),
            })
            .collect();
        let mut types = HashMap::new();
        for row in &batch.rows {
            types.entry(row.result_type).or_insert_with(|| {
                let full = bs.text(row.result_type);
                match self.result_types.get(full) {
                    Some(&sym) => sym,
                    None => {
                        let sym = s.intern(&short_type(full), used::OTHER);
                        self.result_types.insert(full.into(), sym);
                        sym
                    }
                }
            });
        }
        let mut tag_sets = Vec::with_capacity(batch.set_ends.len());
        for id in 0..batch.set_ends.len() as u32 {
            let tags: Vec<Tag> = batch
                .tag_set(id)
                .iter()
                .map(|&(k, v)| {
                    let (key, value) = (syms[k as usize], syms[v as usize]);
                    let pair = *self.tag_pairs.entry((key, value)).or_insert_with(|| {
                        let s = &mut self.strings;
                        s.intern(&format!("{}={}", bs.text(k), bs.text(v)), used::TAG)
                    });
                    Tag { key, value, pair }
                })
                .collect();
            tag_sets.push(self.tag_set(tags));
        }
        Arriving {
            batch,
            syms,
            types,
            tag_sets,
            next: 0,
        }
    }

    /// Appends up to `n` more rows of an arriving batch (a call already loaded is replaced in
    /// place), telling `arrived` of each: its new row, or `None` for a replaced one. Returns
    /// whether rows of the batch are left.
    pub fn add_arriving(
        &mut self,
        arriving: &mut Arriving,
        n: usize,
        mut arrived: impl FnMut(Option<u32>),
    ) -> bool {
        let end = arriving
            .batch
            .rows
            .len()
            .min(arriving.next.saturating_add(n));
        for i in arriving.next..end {
            let b = &arriving.batch.rows[i];
            let args_at = self.arg_lists.len() as u32;
            let at = b.args_at as usize;
            for &(name, digest) in &arriving.batch.args[at..at + b.args_len as usize] {
                let id = self.arg_id(arriving.syms[name as usize], digest);
                grow(&mut self.arg_lists);
                self.arg_lists.push(id);
            }
            let tag_set = &arriving.tag_sets[b.tag_set as usize];
            let row = CallRow {
                key: b.key,
                start: nanos(b.start),
                wall: b.wall,
                result_size: b.result_size,
                tag_set: *tag_set,
                args_at,
                args_len: b.args_len,
                name: arriving.syms[b.name as usize],
                module: arriving.syms[b.module as usize],
                result_type: arriving.types[&b.result_type],
                cpu: b.cpu,
                layer: u8::try_from(b.layer).unwrap_or(u8::MAX),
                unreadable: false,
            };
            arrived(match self.position(&row.key) {
                Some(_) => None,
                None => Some(self.rows.len() as u32),
            });
            self.put(row);
        }
        arriving.next = end;
        end < arriving.batch.rows.len()
    }

    /// Adds a call whose record is stored but does not decode, as a row of its own that says
    /// why (a call already loaded is replaced in place). Its name is the reason, so the
    /// filter finds it (`unreadable`); it has no time, tags, arguments or result.
    pub fn add_unreadable(&mut self, key: Digest, reason: &str) {
        let s = &mut self.strings;
        let blank = s.intern("", used::OTHER);
        let row = CallRow {
            key,
            start: 0,
            wall: 0.0,
            result_size: 0,
            tag_set: 0,
            args_at: 0,
            args_len: 0,
            name: s.intern(&format!("unreadable record: {reason}"), used::NAME),
            module: blank,
            result_type: blank,
            cpu: f32::NAN,
            layer: 0,
            unreadable: true,
        };
        let tag_set = self.tag_set(Vec::new());
        self.put(CallRow { tag_set, ..row });
    }

    /// The number of a set of tags, added if new.
    fn tag_set(&mut self, tags: Vec<Tag>) -> u32 {
        if let Some(&id) = self.tag_sets.get(tags.as_slice()) {
            return id;
        }
        let set: Arc<[Tag]> = tags.into();
        let id = self.tag_set_list.len() as u32;
        self.tag_sets.insert(Arc::clone(&set), id);
        self.tag_set_list.push(set);
        id
    }

    /// The tags of a call, sorted by key.
    pub fn tags(&self, row: &CallRow) -> &[Tag] {
        &self.tag_set_list[row.tag_set as usize]
    }

    /// Puts a row in, in place of the call's earlier row if it has one.
    fn put(&mut self, row: CallRow) {
        self.unreadable += usize::from(row.unreadable);
        self.with_cpu += usize::from(row.cpu().is_some());
        let hot = Hot {
            name: row.name,
            module: row.module,
            tag_set: row.tag_set,
            args_at: row.args_at,
            args_len: row.args_len,
        };
        match self.position(&row.key) {
            Some(i) => {
                self.hot[i as usize] = hot;
                let old = std::mem::replace(&mut self.rows[i as usize], row);
                self.unreadable -= usize::from(old.unreadable);
                self.with_cpu -= usize::from(old.cpu().is_some());
            }
            None => {
                let (key, i) = (row.key, self.rows.len() as u32);
                self.rows.push(row);
                grow(&mut self.hot);
                self.hot.push(hot);
                let rows = &self.rows;
                self.index.insert(&key, i, |i| rows[i as usize].key);
            }
        }
    }

    /// How many loaded calls are unreadable records.
    pub fn unreadable(&self) -> usize {
        self.unreadable
    }

    /// The columns shown only for some caches: the layer on a stack, CPU time when a call
    /// recorded it.
    pub fn optional_columns(&self) -> Vec<Column> {
        let mut out = Vec::new();
        if self.layers.len() > 1 {
            out.push(Column::Layer);
        }
        if self.with_cpu > 0 {
            out.push(Column::Cpu);
        }
        out
    }

    /// The name of the layer a row came from (empty for a plain cache).
    pub fn layer_name(&self, row: &CallRow) -> &str {
        self.layers
            .get(usize::from(row.layer))
            .map_or("", String::as_str)
    }

    /// The place of a value in `values`, added if new.
    fn value_slot(&mut self, digest: Digest) -> usize {
        let values = &self.values;
        if let Some(i) = self.value_index.find(&digest, |i| values[i as usize].0) {
            return i as usize;
        }
        let i = self.values.len();
        grow(&mut self.values);
        self.values.push((
            digest,
            ValueInfo {
                summary_sym: NO_SYM,
                first: NO_ARG,
                more: NO_ARG,
            },
        ));
        let values = &self.values;
        self.value_index
            .insert(&digest, i as u32, |i| values[i as usize].0);
        i
    }

    fn arg_id(&mut self, name: Sym, digest: Digest) -> ArgId {
        let slot = self.value_slot(digest);
        let value = &mut self.values[slot].1;
        let more = |v: &ValueInfo| match v.more {
            NO_ARG => &[][..],
            i => &self.more_args[i as usize][..],
        };
        let found = std::iter::once(value.first)
            .chain(more(value).iter().copied())
            .find(|&id| id != NO_ARG && self.args[id as usize].name == name);
        if let Some(id) = found {
            return id;
        }
        let id = self.args.len() as ArgId;
        grow(&mut self.args);
        let mask = value
            .summary()
            .map_or(0, |v| self.strings.pair_mask(name, v));
        self.args.push(ArgInfo {
            name,
            value: slot as u32,
            mask,
        });
        if value.first == NO_ARG {
            value.first = id;
            self.taken += 1;
            self.summarised += usize::from(value.summary().is_some());
        } else if value.more == NO_ARG {
            value.more = self.more_args.len() as u32;
            self.more_args.push(vec![id]);
        } else {
            self.more_args[value.more as usize].push(id);
        }
        id
    }

    /// The arguments of a call, in parameter order.
    pub fn args_of(&self, row: &CallRow) -> &[ArgId] {
        let at = row.args_at as usize;
        &self.arg_lists[at..at + row.args_len as usize]
    }

    /// What the filter reads of every row (indexed like `rows`).
    pub fn hot(&self) -> &[Hot] {
        &self.hot
    }

    /// The arguments of a row, from what the filter reads of it.
    pub fn hot_args(&self, hot: &Hot) -> &[ArgId] {
        let at = hot.args_at as usize;
        &self.arg_lists[at..at + hot.args_len as usize]
    }

    /// The digest of an argument's value.
    pub fn arg_digest(&self, id: ArgId) -> Digest {
        self.values[self.args[id as usize].value as usize].0
    }

    /// The summary of an argument's value, once read.
    pub fn arg_summary(&self, id: ArgId) -> Option<Sym> {
        self.values[self.args[id as usize].value as usize]
            .1
            .summary()
    }

    /// Records the summary of an argument value (for filtering and display).
    pub fn add_summary(&mut self, digest: Digest, summary: &str) {
        let sym = self.strings.intern(summary, used::ARG_VALUE);
        let slot = self.value_slot(digest);
        let value = &mut self.values[slot].1;
        if value.summary().is_none() && value.first != NO_ARG {
            self.summarised += 1;
        }
        value.summary_sym = sym;
        let (first, more) = (value.first, value.more);
        let others = match more {
            NO_ARG => &[][..],
            i => &self.more_args[i as usize][..],
        };
        for &id in std::iter::once(&first).chain(others) {
            if let Some(arg) = self.args.get_mut(id as usize) {
                arg.mask = self.strings.pair_mask(arg.name, sym);
            }
        }
    }

    /// The summary of a value, when known.
    pub fn summary(&self, digest: &Digest) -> Option<&str> {
        let values = &self.values;
        let i = self.value_index.find(digest, |i| values[i as usize].0)?;
        let sym = values[i as usize].1.summary()?;
        Some(self.strings.text(sym))
    }

    /// Argument digests that have no summary yet, among these calls.
    pub fn unsummarised(&self, keys: &[Digest]) -> Vec<Digest> {
        let mut out: Vec<Digest> = keys
            .iter()
            .filter_map(|k| self.position(k))
            .flat_map(|r| self.args_of(&self.rows[r as usize]))
            .map(|&a| self.arg_digest(a))
            .filter(|d| self.summary(d).is_none())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// At most `n` argument values that have no summary yet, from place `from` on in the
    /// list of values, and the place after the last one given (the list's length when none
    /// is left).
    pub fn unsummarised_values(&self, from: usize, n: usize) -> (Vec<Digest>, usize) {
        let mut out = Vec::new();
        for (i, (d, v)) in self.values.iter().enumerate().skip(from) {
            if out.len() == n {
                return (out, i);
            }
            if v.summary().is_none() && v.first != NO_ARG {
                out.push(*d);
            }
        }
        (out, self.values.len())
    }

    /// How many distinct argument values have a summary, of how many.
    pub fn summary_progress(&self) -> (usize, usize) {
        (self.summarised, self.taken)
    }

    /// Removes calls; returns how many were present.
    pub fn remove(&mut self, keys: &[Digest]) -> usize {
        let gone: foldhash::HashSet<&Digest> = keys.iter().collect();
        let before = self.rows.len();
        let mut kept = self.rows.iter().map(|r| !gone.contains(&r.key));
        self.hot.retain(|_| kept.next().unwrap_or(true));
        self.rows.retain(|r| !gone.contains(&r.key));
        self.unreadable = self.rows.iter().filter(|r| r.unreadable).count();
        self.with_cpu = self.rows.iter().filter(|r| r.cpu().is_some()).count();
        self.index = ByDigest::default();
        let rows = &self.rows;
        self.index.reserve(rows.len(), |i| rows[i as usize].key);
        for (i, row) in rows.iter().enumerate() {
            self.index
                .insert(&row.key, i as u32, |i| rows[i as usize].key);
        }
        before - self.rows.len()
    }

    /// The text of a string.
    pub fn text(&self, id: Sym) -> &str {
        self.strings.text(id)
    }

    /// Bytes held by each part (from the capacities; what rows and tags point to is left
    /// out), largest first: for the large-cache example, which says where memory goes.
    pub fn footprint(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        let s = &self.strings;
        let mut parts = vec![
            ("rows", self.rows.capacity() * size_of::<CallRow>()),
            ("filter columns", self.hot.capacity() * size_of::<Hot>()),
            (
                "row index",
                self.index.table.capacity() * (size_of::<u32>() + 1),
            ),
            ("arguments", self.args.capacity() * size_of::<ArgInfo>()),
            (
                "argument lists",
                self.arg_lists.capacity() * size_of::<ArgId>(),
            ),
            (
                "values",
                self.values.capacity() * size_of::<(Digest, ValueInfo)>(),
            ),
            (
                "value index",
                self.value_index.table.capacity() * (size_of::<u32>() + 1),
            ),
            ("strings", s.heap_bytes()),
        ];
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        parts
    }

    /// Every `key=value` tag with the number of calls carrying it, most used first.
    pub fn tag_counts(&self) -> Vec<(Tag, usize)> {
        let mut counts: HashMap<Sym, (Tag, usize)> = HashMap::new();
        for row in &self.rows {
            for tag in self.tags(row) {
                counts.entry(tag.pair).or_insert((*tag, 0)).1 += 1;
            }
        }
        let mut out: Vec<(Tag, usize)> = counts.into_values().collect();
        out.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| self.text(a.0.pair).cmp(self.text(b.0.pair)))
        });
        out
    }

    /// Tags of a call as `k=v k2=v2`.
    pub fn tags_text(&self, row: &CallRow) -> String {
        let mut out = String::new();
        for (i, t) in self.tags(row).iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(self.text(t.pair));
        }
        out
    }
}

/// A time in nanoseconds since the Unix epoch (the nearest end for one out of range, which
/// a stored record never holds: its times are stored in nanoseconds).
fn nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The table's columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// Short call key.
    Key,
    /// Function name.
    Function,
    /// Module.
    Module,
    /// Start time.
    Started,
    /// Wall time.
    Wall,
    /// Tags.
    Tags,
    /// Result type.
    Result,
    /// Result size.
    Size,
    /// The stack layer a call came from (shown on stacks only).
    Layer,
    /// CPU time (shown when some call recorded it).
    Cpu,
}

impl Column {
    /// The columns every table has, left to right, as the keys 1-8 sort by them.
    pub const ALL: [Column; 8] = [
        Column::Key,
        Column::Function,
        Column::Module,
        Column::Started,
        Column::Wall,
        Column::Tags,
        Column::Result,
        Column::Size,
    ];

    /// Whether the column sorts by text (and so by each string's rank).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Column::Function | Column::Module | Column::Tags | Column::Result | Column::Layer
        )
    }

    /// Header text.
    pub fn title(self) -> &'static str {
        match self {
            Column::Key => "key",
            Column::Function => "function",
            Column::Module => "module",
            Column::Started => "started",
            Column::Wall => "wall",
            Column::Tags => "tags",
            Column::Result => "result",
            Column::Size => "size",
            Column::Layer => "layer",
            Column::Cpu => "cpu",
        }
    }
}

/// The order of one sort: by a column (`descending` reverses it), ties broken by start
/// time, newest first.
pub struct Sorter<'a> {
    calls: &'a Calls,
    column: Column,
    descending: bool,
    /// For text columns: each string's rank among the strings columns sort on. One sort of
    /// those few distinct strings, then integer comparisons for the rows.
    rank: Vec<u32>,
}

/// A row and its place in one sort, computed once, so that sorting and merging compare keys
/// that lie side by side rather than rows scattered over memory (24 bytes a row: the table
/// keeps one for every call, sorted in place). Keys that tie, or that cannot hold the whole
/// comparison (`exact` off), fall back to comparing the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    primary: u64,
    /// Start time, newest first.
    start: u64,
    /// The call key's first 4 bytes, the last bit replaced by whether the key is exact.
    /// Keys that tie on the other bits compare their rows.
    key_exact: u32,
    /// The row: an index into `calls.rows`.
    pub row: u32,
}

impl SortKey {
    fn exact(&self) -> bool {
        self.key_exact & 1 == 1
    }
}

impl<'a> Sorter<'a> {
    /// The order of `column` over `calls`.
    pub fn new(calls: &'a Calls, column: Column, descending: bool) -> Sorter<'a> {
        let s = &calls.strings;
        let mut rank = Vec::new();
        if column.is_text() {
            let mut by_text = s.sorted_on().to_vec();
            by_text.sort_unstable_by(|&a, &b| s.text(a).cmp(s.text(b)));
            rank = vec![0u32; s.len()];
            for (i, &id) in by_text.iter().enumerate() {
                rank[id as usize] = i as u32;
            }
        }
        Sorter {
            calls,
            column,
            descending,
            rank,
        }
    }

    /// How rows `x` and `y` (indices into `calls.rows`) compare.
    pub fn cmp(&self, x: u32, y: u32) -> Ordering {
        let rows = &self.calls.rows;
        let (a, b) = (&rows[x as usize], &rows[y as usize]);
        let r = |id: Sym| self.rank[id as usize];
        let primary = match self.column {
            Column::Key => a.key.cmp(&b.key),
            Column::Function => r(a.name).cmp(&r(b.name)),
            Column::Module => r(a.module).cmp(&r(b.module)),
            Column::Started => a.start.cmp(&b.start),
            Column::Wall => a.wall.total_cmp(&b.wall),
            Column::Tags => {
                let ta = self.calls.tags(a).iter().map(|t| r(t.pair));
                let tb = self.calls.tags(b).iter().map(|t| r(t.pair));
                ta.cmp(tb)
            }
            Column::Result => r(a.result_type).cmp(&r(b.result_type)),
            Column::Size => a.result_size.cmp(&b.result_size),
            Column::Layer => a.layer.cmp(&b.layer),
            Column::Cpu => cpu_bits(a).cmp(&cpu_bits(b)),
        };
        let primary = if self.descending {
            primary.reverse()
        } else {
            primary
        };
        primary.then_with(|| b.start.cmp(&a.start).then(a.key.cmp(&b.key)))
    }

    /// The key of row `x`.
    pub fn key(&self, x: u32) -> SortKey {
        let row = &self.calls.rows[x as usize];
        let r = |id: Sym| u64::from(self.rank[id as usize]);
        let start = (row.start as u64) ^ (1 << 63);
        let key = u64::from_be_bytes(row.key.as_bytes()[..8].try_into().unwrap_or_default());
        let mut exact = true;
        let primary = match self.column {
            Column::Key => {
                exact = false;
                key
            }
            Column::Function => r(row.name),
            Column::Module => r(row.module),
            Column::Started => start,
            Column::Wall => ordered_bits(row.wall),
            Column::Cpu => cpu_bits(row),
            Column::Layer => u64::from(row.layer),
            Column::Tags => {
                // The first two tags; rows with more compare whole when these tie.
                let tags = self.calls.tags(row);
                exact &= tags.len() <= 2;
                let rank = |i: usize| tags.get(i).map_or(0, |t| r(t.pair) + 1);
                rank(0) << 32 | rank(1)
            }
            Column::Result => r(row.result_type),
            Column::Size => row.result_size,
        };
        SortKey {
            primary: if self.descending { !primary } else { primary },
            start: !start,
            key_exact: ((key >> 32) as u32 & !1) | u32::from(exact),
            row: x,
        }
    }

    /// How two keyed rows compare.
    fn compare(&self, a: &SortKey, b: &SortKey) -> Ordering {
        let exact = a.exact() && b.exact();
        match a.primary.cmp(&b.primary) {
            Ordering::Equal if !exact => self.cmp(a.row, b.row),
            Ordering::Equal => (a.start, a.key_exact)
                .cmp(&(b.start, b.key_exact))
                .then_with(|| self.cmp(a.row, b.row)),
            other => other,
        }
    }

    /// These rows in order, with their keys.
    pub fn sort(&self, rows: impl IntoIterator<Item = u32>) -> Vec<SortKey> {
        let mut keys = Vec::new();
        self.sort_into(&mut keys, rows);
        keys
    }

    /// These rows in order, with their keys, in place of what `keys` held (its memory
    /// reused: sorting a million calls again takes none more).
    pub fn sort_into(&self, keys: &mut Vec<SortKey>, rows: impl IntoIterator<Item = u32>) {
        keys.clear();
        keys.extend(rows.into_iter().map(|x| self.key(x)));
        keys.sort_unstable_by(|a, b| self.compare(a, b));
    }

    /// Merges sorted keys (as [`Sorter::sort`] gives them) into sorted `keys`, in place:
    /// from the back, so no second list is ever made. Keys that follow the last (rows
    /// loaded in the sort's own order) are appended.
    pub fn merge(&self, keys: &mut Vec<SortKey>, new: &[SortKey]) {
        let joined = match (keys.last(), new.first()) {
            (Some(last), Some(first)) => self.compare(last, first).is_le(),
            _ => true,
        };
        grow_by(keys, new.len());
        let old = keys.len();
        keys.extend_from_slice(new);
        if joined {
            return;
        }
        let (mut i, mut j) = (old, new.len());
        for k in (0..keys.len()).rev() {
            if j == 0 {
                break;
            }
            if i > 0 && self.compare(&new[j - 1], &keys[i - 1]).is_lt() {
                keys[k] = keys[i - 1];
                i -= 1;
            } else {
                keys[k] = new[j - 1];
                j -= 1;
            }
        }
    }
}

/// An `f64`'s bits, ordered as the numbers are (NaN last).
fn ordered_bits(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The CPU time as sortable bits; calls without one first.
fn cpu_bits(row: &CallRow) -> u64 {
    row.cpu().map_or(0, ordered_bits)
}

/// Row indices of all calls sorted by `column` (`descending` reverses), ties broken by
/// start time, newest first.
pub fn sorted(calls: &Calls, column: Column, descending: bool) -> Vec<u32> {
    let sorter = Sorter::new(calls, column, descending);
    let keys = sorter.sort(0..calls.rows.len() as u32);
    keys.iter().map(|k| k.row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleche::record::Resources;

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(short_type("alloc::vec::Vec<f64>"), "Vec<f64>");
        assert_eq!(
            short_type("core::result::Result<std::string::String, my::Error>"),
            "Result<String, Error>"
        );
        assert_eq!(short_type("i64"), "i64");
    }

    #[test]
    fn a_million_calls_keep_small_parts() {
        // What a call costs, part by part: the memory goal at a million calls rests on these.
        use std::mem::size_of;
        assert!(size_of::<CallRow>() <= 88, "{}", size_of::<CallRow>());
        assert!(size_of::<Hot>() <= 20, "{}", size_of::<Hot>());
        assert!(size_of::<SortKey>() <= 24, "{}", size_of::<SortKey>());
        assert!(size_of::<ArgInfo>() <= 16, "{}", size_of::<ArgInfo>());
        let value = size_of::<(Digest, ValueInfo)>();
        assert!(value <= 44, "{value}");
    }

    #[test]
    fn keyed_sorts_and_merges_order_as_rows_compare() {
        let all = crate::testing::synthetic(3_000);
        for column in Column::ALL.into_iter().chain([Column::Layer, Column::Cpu]) {
            for descending in [false, true] {
                let sorter = Sorter::new(&all, column, descending);
                let mut expected: Vec<u32> = (0..3_000).collect();
                expected.sort_by(|&a, &b| sorter.cmp(a, b));
                let (old, new): (Vec<u32>, Vec<u32>) =
                    (0..3_000).partition(|&i| i % 7 != 3 && i < 2_500);
                let (mut merged, new) = (sorter.sort(old), sorter.sort(new));
                sorter.merge(&mut merged, &new);
                let rows: Vec<u32> = merged.iter().map(|k| k.row).collect();
                assert_eq!(rows, expected, "{column:?}");
                // Keys that follow the last are appended.
                let (mut first, rest) = (sorter.sort(0..0), sorter.sort(0..3_000));
                sorter.merge(&mut first, &rest[..1_000]);
                sorter.merge(&mut first, &rest[1_000..]);
                assert_eq!(first, rest, "{column:?}");
                // Keys that all go before the first.
                let mut last = rest[1_000..].to_vec();
                sorter.merge(&mut last, &rest[..1_000]);
                assert_eq!(last, rest, "{column:?}");
                assert_eq!(sorted(&all, column, descending), expected, "{column:?}");
            }
        }
    }

    #[test]
    fn sort_keys_order_like_the_columns() {
        let mut calls = Calls::new();
        let (records, _) = crate::testing::notebook_with_fit();
        for (k, r) in &records {
            calls.add(*k, r);
        }
        let mut odd = records[0].1.clone();
        odd.metadata.walltime = -0.0;
        odd.metadata.tags = [("a", "1"), ("b", "2"), ("c", "3")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).into()))
            .collect();
        calls.add(Digest::from_bytes([1; 32]), &odd);
        odd.metadata.tags.insert("d".into(), 0.into());
        odd.metadata.walltime = f64::NAN;
        odd.metadata.resources = Some(Resources {
            cpu_user: Some(0.5),
            cpu_system: None,
            peak_memory_growth: None,
        });
        calls.add_in_layer(Digest::from_bytes([2; 32]), 1, &odd);
        assert_eq!(calls.optional_columns(), [Column::Cpu]);
        calls.layers = vec!["local".into(), "team".into()];
        assert_eq!(calls.optional_columns(), [Column::Layer, Column::Cpu]);
        let row = &calls.rows[calls.position(&Digest::from_bytes([2; 32])).unwrap() as usize];
        assert_eq!((row.cpu(), calls.layer_name(row)), (Some(0.5), "team"));
        let n = calls.len() as u32;
        for column in Column::ALL.into_iter().chain([Column::Layer, Column::Cpu]) {
            for descending in [false, true] {
                let sorter = Sorter::new(&calls, column, descending);
                let mut expected: Vec<u32> = (0..n).collect();
                expected.sort_by(|&a, &b| sorter.cmp(a, b));
                let rows: Vec<u32> = sorter.sort(0..n).iter().map(|k| k.row).collect();
                assert_eq!(rows, expected, "{column:?}");
            }
        }
    }
}
