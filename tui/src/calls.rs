//! The calls a browser has loaded, in a compact form: every name, tag and argument summary is
//! interned once, so filtering matches each distinct string once per keystroke rather than
//! once per call, and a million calls fit in memory.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleche::Digest;
use fleche::record::{CallRecord, Environment, Git};
use nucleo_matcher::Utf32String;

/// Index of an interned string.
pub type Sym = u32;
/// Index of a distinct (argument name, value digest) pair.
pub type ArgId = u32;

/// Where a string is used, as bits, so a filter term only matches the strings it concerns.
pub mod used {
    /// A function name.
    pub const NAME: u16 = 1;
    /// A module path.
    pub const MODULE: u16 = 2;
    /// A whole tag, `key=value`.
    pub const TAG: u16 = 4;
    /// A tag value.
    pub const TAG_VALUE: u16 = 8;
    /// A whole argument, `name=summary`.
    pub const ARG: u16 = 16;
    /// An argument value summary.
    pub const ARG_VALUE: u16 = 32;
    /// Anything else (tag keys, argument names, result types).
    pub const OTHER: u16 = 64;
}

/// Interned strings with their UTF-32 form for the matcher.
#[derive(Debug, Default)]
pub struct Strings {
    ids: HashMap<Arc<str>, Sym>,
    text: Vec<Arc<str>>,
    utf32: Vec<Utf32String>,
    used: Vec<u16>,
}

impl Strings {
    /// The id of `s`, interning it; `use_bits` records how it is used.
    pub fn intern(&mut self, s: &str, use_bits: u16) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            self.used[id as usize] |= use_bits;
            return id;
        }
        let id = self.text.len() as Sym;
        let text: Arc<str> = Arc::from(s);
        self.ids.insert(Arc::clone(&text), id);
        self.utf32.push(Utf32String::from(s));
        self.text.push(text);
        self.used.push(use_bits);
        id
    }

    /// The id of `s` if interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    /// The text of a string.
    pub fn text(&self, id: Sym) -> &str {
        &self.text[id as usize]
    }

    /// The matcher form of a string.
    pub fn utf32(&self, id: Sym) -> &Utf32String {
        &self.utf32[id as usize]
    }

    /// How a string is used.
    pub fn used(&self, id: Sym) -> u16 {
        self.used[id as usize]
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// One tag of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// `key`.
    pub key: Sym,
    /// `value`.
    pub value: Sym,
    /// `key=value`.
    pub pair: Sym,
}

/// A distinct argument: its name, value digest and (once read) value summary.
#[derive(Debug, Clone)]
pub struct ArgInfo {
    /// Parameter name.
    pub name: Sym,
    /// Value digest.
    pub digest: Digest,
    /// One-line summary of the value, once the background reader got to it.
    pub value: Option<Sym>,
    /// `name=summary`.
    pub pair: Option<Sym>,
}

/// One call as the table shows it.
#[derive(Debug, Clone)]
pub struct CallRow {
    /// Call key.
    pub key: Digest,
    /// Function name.
    pub name: Sym,
    /// Module.
    pub module: Sym,
    /// `version = ...` of the function.
    pub version: Option<Arc<str>>,
    /// Digest of the function's code, when recorded.
    pub code: Option<Digest>,
    /// Start time.
    pub start: DateTime<Utc>,
    /// Stop time.
    pub stop: DateTime<Utc>,
    /// Wall time in seconds.
    pub wall: f64,
    /// Tags, sorted by key.
    pub tags: Box<[Tag]>,
    /// Arguments in parameter order.
    pub args: Box<[ArgId]>,
    /// Result digest.
    pub result: Digest,
    /// Result type.
    pub result_type: Sym,
    /// Encoded result size in bytes.
    pub result_size: u64,
    /// Host, user, directory, when recorded.
    pub environment: Option<Box<Environment>>,
    /// Git state, when recorded.
    pub git: Option<Box<Git>>,
}

/// All loaded calls.
#[derive(Debug, Default)]
pub struct Calls {
    /// Interned strings.
    pub strings: Strings,
    /// Distinct arguments.
    pub args: Vec<ArgInfo>,
    arg_ids: HashMap<(Sym, Digest), ArgId>,
    args_by_digest: HashMap<Digest, Vec<ArgId>>,
    summaries: HashMap<Digest, Sym>,
    /// The calls, in arrival order.
    pub rows: Vec<CallRow>,
    index: HashMap<Digest, u32>,
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
        self.index.get(key).copied()
    }

    /// Whether a call is loaded.
    pub fn contains(&self, key: &Digest) -> bool {
        self.index.contains_key(key)
    }

    /// Adds a call (a call already loaded is replaced in place).
    pub fn add(&mut self, key: Digest, record: &CallRecord) {
        let s = &mut self.strings;
        let name = s.intern(&record.name, used::NAME);
        let module = s.intern(&record.module, used::MODULE);
        let tags = record
            .metadata
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: s.intern(k, used::OTHER),
                value: s.intern(v, used::TAG_VALUE),
                pair: s.intern(&format!("{k}={v}"), used::TAG),
            })
            .collect();
        let result_type = s.intern(&short_type(&record.result_type), used::OTHER);
        let args = record
            .arguments
            .iter()
            .map(|(n, d)| {
                let name = self.strings.intern(n, used::OTHER);
                self.arg_id(name, *d)
            })
            .collect();
        let row = CallRow {
            key,
            name,
            module,
            version: record.version.as_deref().map(Arc::from),
            code: record.code,
            start: record.metadata.timestart,
            stop: record.metadata.timestop,
            wall: record.metadata.walltime,
            tags,
            args,
            result: record.result,
            result_type,
            result_size: record.result_size,
            environment: record.metadata.environment.clone().map(Box::new),
            git: record.metadata.git.clone().map(Box::new),
        };
        match self.index.get(&key) {
            Some(&i) => self.rows[i as usize] = row,
            None => {
                self.index.insert(key, self.rows.len() as u32);
                self.rows.push(row);
            }
        }
    }

    fn arg_id(&mut self, name: Sym, digest: Digest) -> ArgId {
        if let Some(&id) = self.arg_ids.get(&(name, digest)) {
            return id;
        }
        let id = self.args.len() as ArgId;
        self.args.push(ArgInfo {
            name,
            digest,
            value: None,
            pair: None,
        });
        self.arg_ids.insert((name, digest), id);
        self.args_by_digest.entry(digest).or_default().push(id);
        if let Some(&summary) = self.summaries.get(&digest) {
            self.fill_arg(id, summary);
        }
        id
    }

    fn fill_arg(&mut self, id: ArgId, summary: Sym) {
        let info = &self.args[id as usize];
        let name = self.strings.text(info.name).to_owned();
        let text = self.strings.text(summary).to_owned();
        let pair = self.strings.intern(&format!("{name}={text}"), used::ARG);
        let info = &mut self.args[id as usize];
        info.value = Some(summary);
        info.pair = Some(pair);
    }

    /// Records the summary of an argument value (for filtering and display).
    pub fn add_summary(&mut self, digest: Digest, summary: &str) {
        let sym = self.strings.intern(summary, used::ARG_VALUE);
        self.summaries.insert(digest, sym);
        for id in self
            .args_by_digest
            .get(&digest)
            .cloned()
            .unwrap_or_default()
        {
            self.fill_arg(id, sym);
        }
    }

    /// The summary of a value, when known.
    pub fn summary(&self, digest: &Digest) -> Option<&str> {
        self.summaries.get(digest).map(|&s| self.strings.text(s))
    }

    /// Argument digests that have no summary yet, among these calls.
    pub fn unsummarised(&self, keys: &[Digest]) -> Vec<Digest> {
        let mut out: Vec<Digest> = keys
            .iter()
            .filter_map(|k| self.position(k))
            .flat_map(|r| self.rows[r as usize].args.iter())
            .map(|&a| self.args[a as usize].digest)
            .filter(|d| !self.summaries.contains_key(d))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// How many distinct argument values have a summary, of how many.
    pub fn summary_progress(&self) -> (usize, usize) {
        let done = self
            .args_by_digest
            .keys()
            .filter(|d| self.summaries.contains_key(*d))
            .count();
        (done, self.args_by_digest.len())
    }

    /// Removes calls; returns how many were present.
    pub fn remove(&mut self, keys: &[Digest]) -> usize {
        let gone: std::collections::HashSet<&Digest> = keys.iter().collect();
        let before = self.rows.len();
        self.rows.retain(|r| !gone.contains(&r.key));
        self.index = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.key, i as u32))
            .collect();
        before - self.rows.len()
    }

    /// The text of a string.
    pub fn text(&self, id: Sym) -> &str {
        self.strings.text(id)
    }

    /// Every `key=value` tag with the number of calls carrying it, most used first.
    pub fn tag_counts(&self) -> Vec<(Tag, usize)> {
        let mut counts: HashMap<Sym, (Tag, usize)> = HashMap::new();
        for row in &self.rows {
            for tag in row.tags.iter() {
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
        for (i, t) in row.tags.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(self.text(t.pair));
        }
        out
    }
}

/// A Rust type name without module paths: `alloc::vec::Vec<f64>` -> `Vec<f64>`.
pub fn short_type(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(&word));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(&word));
    out
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
}

impl Column {
    /// Every column, left to right.
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
        }
    }
}

/// Row indices of all calls sorted by `column` (`descending` reverses), ties broken by
/// start time, newest first.
pub fn sorted(calls: &Calls, column: Column, descending: bool) -> Vec<u32> {
    let rows = &calls.rows;
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    let s = &calls.strings;
    // Text columns compare by each string's rank among all strings: one sort of the distinct
    // strings, then integer comparisons for the rows.
    let mut by_text: Vec<Sym> = (0..s.len() as Sym).collect();
    if matches!(
        column,
        Column::Function | Column::Module | Column::Tags | Column::Result
    ) {
        by_text.sort_unstable_by(|&a, &b| s.text(a).cmp(s.text(b)));
    }
    let mut rank = vec![0u32; s.len()];
    for (i, &id) in by_text.iter().enumerate() {
        rank[id as usize] = i as u32;
    }
    let r = |id: Sym| rank[id as usize];
    let newest_first = |a: &CallRow, b: &CallRow| b.start.cmp(&a.start).then(a.key.cmp(&b.key));
    order.sort_by(|&x, &y| {
        let (a, b) = (&rows[x as usize], &rows[y as usize]);
        let primary = match column {
            Column::Key => a.key.cmp(&b.key),
            Column::Function => r(a.name).cmp(&r(b.name)),
            Column::Module => r(a.module).cmp(&r(b.module)),
            Column::Started => a.start.cmp(&b.start),
            Column::Wall => a.wall.total_cmp(&b.wall),
            Column::Tags => {
                let ta = a.tags.iter().map(|t| r(t.pair));
                let tb = b.tags.iter().map(|t| r(t.pair));
                ta.cmp(tb)
            }
            Column::Result => r(a.result_type).cmp(&r(b.result_type)),
            Column::Size => a.result_size.cmp(&b.result_size),
        };
        let primary = if descending {
            primary.reverse()
        } else {
            primary
        };
        primary.then_with(|| newest_first(a, b))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(short_type("alloc::vec::Vec<f64>"), "Vec<f64>");
        assert_eq!(
            short_type("core::result::Result<std::string::String, my::Error>"),
            "Result<String, Error>"
        );
        assert_eq!(short_type("i64"), "i64");
    }
}
