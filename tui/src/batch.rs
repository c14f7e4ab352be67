//! Calls as the background reader hands them to the browser: records cut down to what a row
//! keeps, with each distinct text and set of tags of a batch written once. The reader builds
//! a batch (off the UI thread); the UI interns a batch's few distinct strings once and then
//! only appends rows, so a million calls load without the UI hashing every name of every call.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fleche::record::CallRecord;
use fleche::{Digest, RecordRef};

use crate::compact::cpu_seconds;
use crate::strings::{Strings, Sym, used};

/// One call of a [`Batch`]: its texts are ids into the batch's strings.
#[derive(Debug, Clone)]
pub struct BatchRow {
    /// Call key.
    pub key: Digest,
    /// The stack layer it came from (0 for a plain cache).
    pub layer: usize,
    /// Start time.
    pub start: DateTime<Utc>,
    /// Wall time in seconds.
    pub wall: f64,
    /// Encoded result size in bytes.
    pub result_size: u64,
    /// CPU seconds (user and system), NaN when not recorded.
    pub cpu: f32,
    /// Function name, module and result type (the type in full, as recorded).
    pub name: Sym,
    /// Module.
    pub module: Sym,
    /// Result type, in full.
    pub result_type: Sym,
    /// The call's tags: an index into the batch's tag sets.
    pub tag_set: u32,
    /// Arguments: where they start in the batch's arguments, and how many.
    pub args_at: u32,
    /// How many arguments.
    pub args_len: u32,
}

/// Calls read together, ready to become rows: texts interned within the batch (so the UI
/// interns each once), tags as sets shared by the batch's calls, arguments in one list.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Each distinct text of the batch, with how it is used.
    pub strings: Strings,
    /// Each distinct set of tags: (key, value) text ids, sorted by key, sets one after
    /// another; `set_ends` says where each ends.
    pub tags: Vec<(Sym, Sym)>,
    /// Where each tag set ends in `tags`.
    pub set_ends: Vec<u32>,
    /// Every call's arguments in parameter order: name text id and value digest.
    pub args: Vec<(Sym, Digest)>,
    /// The calls.
    pub rows: Vec<BatchRow>,
    /// The tag sets by their pairs, while the batch is built.
    sets: HashMap<Vec<(Sym, Sym)>, u32, foldhash::fast::RandomState>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// The calls of these records (key, stack layer, record).
    pub fn of<'a>(records: impl IntoIterator<Item = (Digest, usize, &'a CallRecord)>) -> Batch {
        let mut batch = Batch::new();
        for (key, layer, record) in records {
            batch.push(key, layer, record);
        }
        batch
    }

    /// Number of calls.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Tag set `id`: its (key, value) text ids.
    pub fn tag_set(&self, id: u32) -> &[(Sym, Sym)] {
        let id = id as usize;
        let start = if id == 0 {
            0
        } else {
            self.set_ends[id - 1] as usize
        };
        &self.tags[start..self.set_ends[id] as usize]
    }

    /// The arguments of a call of the batch.
    pub fn args_of(&self, row: &BatchRow) -> &[(Sym, Digest)] {
        let at = row.args_at as usize;
        &self.args[at..at + row.args_len as usize]
    }

    /// Adds a call read from stack layer `layer`.
    pub fn push(&mut self, key: Digest, layer: usize, record: &CallRecord) {
        let md = &record.metadata;
        let tags = md.tags.iter().map(|(k, v)| {
            let text: Cow<'_, str> = match v.as_str() {
                Some(t) => t.into(),
                None => v.to_string().into(),
            };
            (k.as_str(), text)
        });
        let args = record.arguments.iter().map(|(n, d)| (n.as_str(), *d));
        let texts = [&*record.name, &*record.module, &*record.result_type];
        let row = self.row(key, layer, texts, tags, args);
        self.rows.push(BatchRow {
            start: md.timestart,
            wall: md.walltime,
            result_size: record.result_size,
            cpu: cpu_seconds(md.resources.as_ref()),
            ..row
        });
    }

    /// Adds a call read in place from stack layer `layer`, as [`Batch::push`] adds it
    /// decoded.
    pub fn push_ref(&mut self, key: Digest, layer: usize, record: &RecordRef<'_>) {
        let args = record.arguments();
        let texts = [record.name(), record.module(), record.result_type()];
        let row = self.row(key, layer, texts, record.tags().into_iter(), args);
        self.rows.push(BatchRow {
            start: record.timestart(),
            wall: record.walltime(),
            result_size: record.result_size(),
            cpu: cpu_seconds(record.resources()),
            ..row
        });
    }

    /// The texts, tags and arguments of a call interned into the batch: a row with the
    /// rest still to fill in.
    fn row<'a>(
        &mut self,
        key: Digest,
        layer: usize,
        [name, module, result_type]: [&str; 3],
        tags: impl Iterator<Item = (&'a str, Cow<'a, str>)>,
        args: impl Iterator<Item = (&'a str, Digest)>,
    ) -> BatchRow {
        let s = &mut self.strings;
        let name = s.intern(name, used::NAME);
        let module = s.intern(module, used::MODULE);
        let result_type = s.intern(result_type, 0);
        // A typed tag is filtered and shown by its text (`tag:temperature=300`).
        let pairs: Vec<(Sym, Sym)> = tags
            .map(|(k, v)| (s.intern(k, used::OTHER), s.intern(&v, used::TAG_VALUE)))
            .collect();
        let tag_set = match self.sets.get(&pairs) {
            Some(&id) => id,
            None => {
                let id = self.set_ends.len() as u32;
                self.tags.extend_from_slice(&pairs);
                self.set_ends.push(self.tags.len() as u32);
                self.sets.insert(pairs, id);
                id
            }
        };
        let args_at = self.args.len() as u32;
        for (n, d) in args {
            let n = self.strings.intern(n, used::ARG);
            self.args.push((n, d));
        }
        BatchRow {
            key,
            layer,
            start: DateTime::UNIX_EPOCH,
            wall: 0.0,
            result_size: 0,
            cpu: f32::NAN,
            name,
            module,
            result_type,
            tag_set,
            args_at,
            args_len: self.args.len() as u32 - args_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::Calls;
    use crate::compact::short_type;

    /// Everything a row shows, in words, so rows of two `Calls` compare whatever their ids.
    fn shown(calls: &Calls) -> Vec<String> {
        let mut out: Vec<String> = calls
            .rows
            .iter()
            .map(|row| {
                let args: Vec<String> = calls
                    .args_of(row)
                    .iter()
                    .map(|&a| {
                        format!(
                            "{}={}",
                            calls.text(calls.args[a as usize].name),
                            calls.arg_digest(a)
                        )
                    })
                    .collect();
                format!(
                    "{} {} {} {} {} {} {:?} [{}] ({}) {} {}",
                    row.key,
                    calls.text(row.name),
                    calls.text(row.module),
                    row.start(),
                    row.wall,
                    calls.text(row.result_type),
                    row.cpu(),
                    calls.tags_text(row),
                    args.join(","),
                    row.result_size,
                    row.layer,
                )
            })
            .collect();
        out.sort();
        out
    }

    /// What [`shown`] says of the rows of these records, from the records themselves.
    fn expected(records: &[(Digest, CallRecord)]) -> Vec<String> {
        let mut out: Vec<String> = records
            .iter()
            .enumerate()
            .map(|(i, (key, r))| {
                let md = &r.metadata;
                let tags: Vec<String> = md.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let args: Vec<String> = r
                    .arguments
                    .iter()
                    .map(|(n, d)| format!("{n}={d}"))
                    .collect();
                let cpu = cpu_seconds(md.resources.as_ref());
                format!(
                    "{} {} {} {} {} {} {:?} [{}] ({}) {} {}",
                    key,
                    r.name,
                    r.module,
                    md.timestart,
                    md.walltime,
                    short_type(&r.result_type),
                    (!cpu.is_nan()).then_some(f64::from(cpu)),
                    tags.join(" "),
                    args.join(","),
                    r.result_size,
                    i % 2,
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_batch_makes_the_rows_its_records_make_one_by_one() {
        let (mut records, _) = crate::testing::notebook_with_fit();
        // Typed tags, and a call with the tags of another: shared within the batch.
        let mut typed = records[0].1.clone();
        typed.metadata.tags.insert("temperature".into(), 300.into());
        typed.metadata.tags.insert("ok".into(), true.into());
        records.push((Digest::from_bytes([9; 32]), typed));
        let mut one_by_one = Calls::new();
        for (i, (key, record)) in records.iter().enumerate() {
            one_by_one.add_in_layer(*key, i % 2, record);
        }
        let mut batched = Calls::new();
        let batch = Batch::of(records.iter().enumerate().map(|(i, (k, r))| (*k, i % 2, r)));
        assert_eq!(batch.len(), records.len());
        let mut arriving = batched.arriving(batch);
        let mut new = Vec::new();
        // A few rows at a time, as the UI adds them between frames.
        while batched.add_arriving(&mut arriving, 2, |n| new.push(n)) {}
        assert!(arriving.is_empty());
        assert_eq!(new, (0..records.len() as u32).map(Some).collect::<Vec<_>>());
        assert_eq!(shown(&batched), expected(&records));
        assert_eq!(shown(&one_by_one), expected(&records));
        let typed = batched.position(&Digest::from_bytes([9; 32])).unwrap();
        let tags = batched.tags_text(&batched.rows[typed as usize]);
        assert!(
            tags.contains("ok=true") && tags.contains("temperature=300"),
            "{tags}"
        );
    }

    #[test]
    fn a_call_sent_again_replaces_its_row() {
        let (records, _) = crate::testing::notebook_with_fit();
        let mut calls = Calls::new();
        let all = Batch::of(records.iter().map(|(k, r)| (*k, 0, r)));
        let mut arriving = calls.arriving(all);
        calls.add_arriving(&mut arriving, usize::MAX, |_| {});
        // The newest call, read again by a poll while the load goes on, renamed meanwhile.
        let (key, mut again) = records[0].clone();
        again.name = "renamed".into();
        let mut arriving = calls.arriving(Batch::of([(key, 0, &again)]));
        let mut new = Vec::new();
        calls.add_arriving(&mut arriving, usize::MAX, |n| new.push(n));
        assert_eq!(new, [None]);
        assert_eq!(calls.len(), records.len());
        let row = &calls.rows[calls.position(&key).unwrap() as usize];
        assert_eq!(calls.text(row.name), "renamed");
    }
}
