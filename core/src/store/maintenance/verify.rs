//! Checking that everything stored still reads: every value parses as a whole encoding,
//! every record decodes and agrees with its fixed result field, every value a record names is
//! stored, and the time index lists exactly the stored calls. Reads only; repairs nothing.

use redb::{ReadableTable, ReadableTableMetadata};
use serde::Serialize;

use super::super::{BY_TIME, CALLS_IN_PLACE, Store, VALUES, calls_with_prefix, checksum, prefix};
use crate::codec::inspect::Item;
use crate::digest::Digest;
use crate::error::Result;
use crate::record::CallRecord;

/// What [`Cache::verify`](crate::Cache::verify) read and found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verified {
    /// Values read.
    pub values: u64,
    /// Their encoded size in bytes.
    pub value_bytes: u64,
    /// Call records read.
    pub calls: u64,
    /// Everything wrong, in the order found.
    pub problems: Vec<Problem>,
}

impl Verified {
    /// Whether nothing is wrong.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One thing wrong in a cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The value digest or call key concerned.
    pub digest: Digest,
    /// What is wrong, in words.
    pub detail: String,
}

/// Items between two progress reports.
const REPORT_EVERY: u64 = 1024;

impl Store {
    /// Reads every value and record in one read transaction. `progress` gets (items read,
    /// items in all), where items are values and calls.
    pub(crate) fn verify(&self, progress: &mut dyn FnMut(u64, u64)) -> Result<Verified> {
        self.read(|txn| {
            let mut out = Verified::default();
            let values = txn.open_table(VALUES)?;
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let by_time = txn.open_table(BY_TIME)?;
            let total = values.len()? + calls.len()?;
            let mut done = 0;
            let mut tick = |done: &mut u64| {
                *done += 1;
                if done.is_multiple_of(REPORT_EVERY) {
                    progress(*done, total);
                }
            };
            for entry in values.iter()? {
                let (digest, bytes) = entry?;
                let (sum, bytes) = bytes.value();
                out.values += 1;
                out.value_bytes += bytes.len() as u64;
                if !checksum::value_intact(sum, bytes) {
                    out.problems.push(Problem {
                        digest: Digest::from_bytes(digest.value()),
                        detail: "value is damaged: its bytes no longer match their checksum"
                            .to_owned(),
                    });
                } else if let Err(e) = Item::parse(bytes) {
                    out.problems.push(Problem {
                        digest: Digest::from_bytes(digest.value()),
                        detail: format!("value does not decode: {e}"),
                    });
                }
                tick(&mut done);
            }
            for entry in calls.iter()? {
                let (key, value) = entry?;
                let key = Digest::from_bytes(*key.value());
                let (sum, bytes) = value.value();
                out.calls += 1;
                tick(&mut done);
                if !checksum::record_intact(sum, bytes) {
                    out.problems.push(Problem {
                        digest: key,
                        detail: "call record is damaged: its bytes no longer match their checksum"
                            .to_owned(),
                    });
                    continue;
                }
                let record = match CallRecord::decode(bytes) {
                    Ok(r) => r,
                    Err(e) => {
                        out.problems.push(Problem {
                            digest: key,
                            detail: format!("call record does not decode: {e}"),
                        });
                        continue;
                    }
                };
                let mut problem = |detail: String| {
                    out.problems.push(Problem {
                        digest: key,
                        detail,
                    })
                };
                let named = std::iter::once(("result".to_owned(), record.result)).chain(
                    record
                        .arguments
                        .iter()
                        .map(|(n, d)| (format!("argument {n}"), *d)),
                );
                for (field, digest) in named {
                    if values.get(digest.as_bytes())?.is_none() {
                        problem(format!(
                            "call {}: {field} is not stored (value {digest})",
                            record.name
                        ));
                    }
                }
                let time_key = (record.metadata.start_nanos(), prefix(key.as_bytes()));
                if by_time.get(time_key)?.is_none() {
                    problem(format!(
                        "call {} is missing from the time index",
                        record.name
                    ));
                }
            }
            // Two calls that share a start time and a key prefix share an entry, so the
            // index may hold fewer entries than there are calls, never more.
            if by_time.len()? != out.calls {
                for entry in by_time.iter()? {
                    let (_, p) = entry?.0.value();
                    if calls_with_prefix(&calls, p)?.next().is_none() {
                        let mut start = [0u8; 32];
                        start[..8].copy_from_slice(&p.to_be_bytes());
                        out.problems.push(Problem {
                            digest: Digest::from_bytes(start),
                            detail: format!(
                                "the time index lists a call that is not stored (key {:016x}...)",
                                p
                            ),
                        });
                    }
                }
            }
            progress(done, total);
            Ok(out)
        })
    }
}
