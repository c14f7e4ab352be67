//! Copying calls from one store to another with their values, keeping keys and records byte
//! for byte; a call the target already has is left alone, so copying twice changes nothing.

use redb::ReadableTable;
use serde::Serialize;

use super::super::{CALLS, CALLS_IN_PLACE, Store, VALUES, checksum, index};
use crate::digest::{Digest, clustered_key};
use crate::error::Result;
use crate::record::{CallRecord, RecordView};

/// What a copy between caches did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Copied {
    /// Calls written to the target.
    pub calls_copied: u64,
    /// Calls the target had already (left as they were).
    pub calls_present: u64,
    /// Values written to the target (results and arguments it did not have).
    pub values_copied: u64,
    /// Their encoded size in bytes.
    pub bytes_copied: u64,
    /// Values the source's records refer to but the source does not hold (the records are
    /// copied anyway, as they are).
    pub values_missing: u64,
}

impl std::ops::AddAssign for Copied {
    fn add_assign(&mut self, other: Copied) {
        self.calls_copied += other.calls_copied;
        self.calls_present += other.calls_present;
        self.values_copied += other.values_copied;
        self.bytes_copied += other.bytes_copied;
        self.values_missing += other.values_missing;
    }
}

/// One whole stored call: its key, its record as stored (encoded as in `docs/format.md`), and
/// the values it refers to (result first, then arguments). It is what moves between caches
/// and between the layers of a stack, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCall {
    /// The call key.
    pub key: Digest,
    /// The result digest (also inside the record; kept beside it so a hit needs no decoding).
    pub result: Digest,
    /// The encoded [`CallRecord`].
    pub record: Vec<u8>,
    /// The values the record names that the source holds: digest and encoded bytes.
    pub values: Vec<(Digest, Vec<u8>)>,
    /// Values the record names that the source did not hold (or held damaged).
    pub missing: u64,
}

impl StoredCall {
    /// A call made of its parts; `record` is an encoded [`CallRecord`].
    pub fn new(
        key: Digest,
        result: Digest,
        record: Vec<u8>,
        values: Vec<(Digest, Vec<u8>)>,
    ) -> StoredCall {
        StoredCall {
            key,
            result,
            record,
            values,
            missing: 0,
        }
    }

    /// Encoded size of its record and values.
    pub fn bytes(&self) -> usize {
        self.values.iter().map(|(_, v)| v.len()).sum::<usize>() + self.record.len()
    }

    /// The record, decoded (to index its name, module, tags and arguments, say).
    pub fn decode_record(&self) -> crate::Result<CallRecord> {
        Ok(CallRecord::decode(&self.record)?)
    }

    /// The result value's bytes, when the call carries them.
    pub fn result_bytes(&self) -> Option<&[u8]> {
        self.values
            .iter()
            .find(|(d, _)| *d == self.result)
            .map(|(_, b)| b.as_slice())
    }
}

impl Store {
    /// The keys among `keys` that this store has no call for.
    pub(crate) fn missing_calls(&self, keys: &[Digest]) -> Result<Vec<Digest>> {
        self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let mut out = Vec::new();
            for key in keys {
                if calls.get(key.as_bytes())?.is_none() {
                    out.push(*key);
                }
            }
            Ok(out)
        })
    }

    /// The keys these calls have once copied: their own, or, from a format-6 file read as it
    /// is, with their function's cluster as first byte (as [`Store::bundles`] gives them; a
    /// call whose record does not read keeps its key).
    pub(crate) fn copied_keys(&self, keys: &[Digest]) -> Result<Vec<Digest>> {
        if !self.unclustered_keys {
            return Ok(keys.to_vec());
        }
        self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let copied = calls.get(key.as_bytes())?.and_then(|v| {
                    let (sum, record) = v.value();
                    let view = checksum::record_intact(sum, record)
                        .then(|| RecordView::decode(record).ok())
                        .flatten()?;
                    Some(self.copied_key(*key, &view))
                });
                out.push(copied.unwrap_or(*key));
            }
            Ok(out)
        })
    }

    /// The key of a call stored here under `key` once copied: the same, or in a format-6 file
    /// read as it is, with its function's cluster as first byte.
    fn copied_key(&self, key: Digest, record: &RecordView<'_>) -> Digest {
        if self.unclustered_keys {
            clustered_key(record.name, key)
        } else {
            key
        }
    }

    /// Reads these calls with their values, in one read transaction; keys not stored are
    /// skipped.
    pub(crate) fn bundles(&self, keys: &[Digest]) -> Result<Vec<StoredCall>> {
        self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let values = txn.open_table(VALUES)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let Some(entry) = calls.get(key.as_bytes())? else {
                    continue;
                };
                let (sum, record) = entry.value();
                let Some(result) = checksum::intact_result(sum, record) else {
                    checksum::warn_skipped(key);
                    continue;
                };
                let mut digests = vec![result];
                let mut key = *key;
                if let Ok(view) = RecordView::decode(record) {
                    digests.extend(view.arguments.iter().map(|(_, d)| d));
                    key = self.copied_key(key, &view);
                }
                digests.dedup();
                let mut bundle = StoredCall {
                    key,
                    result,
                    record: record.to_vec(),
                    values: Vec::with_capacity(digests.len()),
                    missing: 0,
                };
                for digest in digests {
                    if bundle.values.iter().any(|(d, _)| *d == digest) {
                        continue;
                    }
                    match values.get(digest.as_bytes())? {
                        Some(v) if checksum::value_intact(v.value().0, v.value().1) => {
                            bundle.values.push((digest, v.value().1.to_vec()))
                        }
                        // A damaged value is not copied: the copy lacks it, as if missing.
                        _ => bundle.missing += 1,
                    }
                }
                out.push(bundle);
            }
            Ok(out)
        })
    }

    /// Writes these calls and their values in one commit, skipping calls already stored. A
    /// record that does not decode cannot be indexed and is skipped (and logged).
    pub(crate) fn put_bundles(&self, bundles: &[StoredCall]) -> Result<Copied> {
        if bundles.is_empty() {
            return Ok(Copied::default());
        }
        self.write(|txn| {
            let mut copied = Copied::default();
            for bundle in bundles {
                if txn.open_table(CALLS)?.get(bundle.key.as_bytes())?.is_some() {
                    copied.calls_present += 1;
                    continue;
                }
                let record = match CallRecord::decode(&bundle.record) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(key = %bundle.key, "not copying a call record that does not decode: {e}");
                        continue;
                    }
                };
                {
                    let mut values = txn.open_table(VALUES)?;
                    for (digest, bytes) in &bundle.values {
                        let intact = values
                            .get(digest.as_bytes())?
                            .is_some_and(|v| checksum::value_intact(v.value().0, v.value().1));
                        if !intact {
                            values.insert(
                                digest.as_bytes(),
                                (checksum::of_value(bytes), bytes.as_slice()),
                            )?;
                            copied.values_copied += 1;
                            copied.bytes_copied += bytes.len() as u64;
                        }
                    }
                }
                txn.open_table(CALLS)?.insert(
                    bundle.key.as_bytes(),
                    (
                        checksum::of_record(&bundle.record),
                        bundle.record.as_slice(),
                    ),
                )?;
                index(txn, &bundle.key, &record)?;
                copied.calls_copied += 1;
                copied.values_missing += bundle.missing;
            }
            Ok(copied)
        })
    }
}
