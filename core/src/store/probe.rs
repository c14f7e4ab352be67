//! Query support: index probes that narrow a query to candidate records, read in place, and
//! the shortest key prefixes that tables show.

use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redb::{ReadableTable, ReadableTableMetadata};

use super::{
    BY_ARGUMENT, BY_MODULE, BY_NAME, BY_RESULT, BY_TAG, BY_TIME, CALLS_IN_PLACE, Key, Store,
    TAG_SEPARATOR, checksum,
};
use crate::digest::{Digest, common_hex_prefix, shortest_prefixes};
use crate::error::Result;

/// One index lookup that narrows a query's candidates. Every probe is also checked again on
/// the decoded record, so a probe only has to return a superset of the matching calls.
#[derive(Debug, Clone)]
pub(crate) enum Probe {
    Name(String),
    NamePrefix(String),
    Module(String),
    ModulePrefix(String),
    /// Calls carrying this tag key, whatever its value.
    TagKey(String),
    /// Calls carrying this tag key with this value.
    Tag(String, String),
    /// Calls with this argument name and value digest.
    Argument(String, Digest),
    /// Calls with an argument of this name.
    ArgumentName(String),
    Result(Digest),
    /// Start time in `[from, to)` (ns since the Unix epoch).
    Time {
        from: i64,
        to: i64,
    },
    /// These keys (sorted, deduplicated).
    Keys(Arc<Vec<Digest>>),
}

/// What a query's pass over its candidate records kept.
pub(crate) struct Candidates<T> {
    /// What `visit` returned for the records it kept, in key order.
    pub(crate) kept: Vec<T>,
    /// Every call key of the snapshot, sorted, when all records were scanned anyway.
    pub(crate) all_keys: Option<Vec<Digest>>,
}

/// An index whose size is not known without walking it is probed after those whose is.
const UNKNOWN_SIZE: u64 = u64::MAX / 2;

/// A further index is intersected only while it is at most this many times larger than the
/// candidates so far: past that, checking the remaining filters on the records is cheaper.
const INTERSECT_RATIO: u64 = 32;

impl Store {
    /// Passes the records a query must check to `visit`, in one read transaction and without
    /// copying them: those named by the most selective index probes (intersected), or every
    /// record when there is no probe.
    pub(crate) fn candidates<T>(
        &self,
        probes: &[Probe],
        mut visit: impl FnMut(Digest, &[u8]) -> Option<T>,
    ) -> Result<Candidates<T>> {
        let mut visited = 0u64;
        let found = self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let mut kept = Vec::new();
            if probes.is_empty() {
                let total = calls.len()? as usize;
                kept.reserve(total);
                let mut all_keys = Vec::with_capacity(total);
                for entry in calls.iter()? {
                    let (k, v) = entry?;
                    let key = Digest::from_bytes(*k.value());
                    all_keys.push(key);
                    let (result, sum, record) = v.value();
                    if checksum::call_intact(sum, result, record) {
                        kept.extend(visit(key, record));
                    } else {
                        checksum::warn_skipped(&key);
                    }
                }
                visited = all_keys.len() as u64;
                return Ok(Candidates {
                    kept,
                    all_keys: Some(all_keys),
                });
            }
            let mut sized = Vec::with_capacity(probes.len());
            for probe in probes {
                sized.push((probe_size(txn, probe)?, probe));
            }
            sized.sort_by_key(|(size, _)| *size);
            let mut keys = probe_keys(txn, sized[0].1)?;
            for (size, probe) in &sized[1..] {
                if keys.is_empty() || *size > INTERSECT_RATIO.saturating_mul(keys.len() as u64) {
                    break;
                }
                let other = probe_keys(txn, probe)?;
                keys.retain(|k| other.binary_search(k).is_ok());
            }
            kept.reserve(keys.len());
            for k in &keys {
                if let Some(v) = calls.get(k)? {
                    visited += 1;
                    let key = Digest::from_bytes(*k);
                    let (result, sum, record) = v.value();
                    if checksum::call_intact(sum, result, record) {
                        kept.extend(visit(key, record));
                    } else {
                        checksum::warn_skipped(&key);
                    }
                }
            }
            Ok(Candidates {
                kept,
                all_keys: None,
            })
        })?;
        self.record_reads.fetch_add(visited, Ordering::Relaxed);
        Ok(found)
    }

    /// Every call key, sorted.
    pub(crate) fn all_call_keys(&self) -> Result<Vec<Digest>> {
        self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let mut keys = Vec::with_capacity(calls.len()? as usize);
            for entry in calls.iter()? {
                keys.push(Digest::from_bytes(*entry?.0.value()));
            }
            Ok(keys)
        })
    }

    /// For each of `keys` (sorted), the length of its shortest hex prefix, at least
    /// `min`, that no other call key shares. Few keys: two neighbour lookups each; many: one
    /// pass over every call key.
    pub(crate) fn call_prefix_lengths(&self, keys: &[Digest], min: usize) -> Result<Vec<usize>> {
        let total = self.call_count()?;
        if (keys.len() as u64).saturating_mul(16) >= total {
            let all = self.all_call_keys()?;
            return Ok(shortest_prefixes(&all, keys, min));
        }
        self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let k = key.as_bytes();
                let mut needed = 0;
                let below = calls.range::<&[u8; 32]>(..k)?.next_back();
                let above = calls.range::<&[u8; 32]>((Excluded(k), Unbounded))?.next();
                for n in [below, above].into_iter().flatten() {
                    let n = Digest::from_bytes(*n?.0.value());
                    needed = needed.max(common_hex_prefix(key, &n) + 1);
                }
                out.push(needed.clamp(min, Digest::HEX_LEN));
            }
            Ok(out)
        })
    }
}

fn probe_size(txn: &redb::ReadTransaction, probe: &Probe) -> Result<u64, redb::Error> {
    Ok(match probe {
        Probe::Name(n) => txn.open_multimap_table(BY_NAME)?.get(n.as_str())?.len(),
        Probe::Module(m) => txn.open_multimap_table(BY_MODULE)?.get(m.as_str())?.len(),
        Probe::Tag(k, v) => txn
            .open_multimap_table(BY_TAG)?
            .get(format!("{k}{TAG_SEPARATOR}{v}").as_str())?
            .len(),
        Probe::Argument(n, d) => txn
            .open_multimap_table(BY_ARGUMENT)?
            .get((n.as_str(), *d.as_bytes()))?
            .len(),
        Probe::Result(d) => txn.open_multimap_table(BY_RESULT)?.get(d.as_bytes())?.len(),
        Probe::Keys(keys) => keys.len() as u64,
        Probe::NamePrefix(_)
        | Probe::ModulePrefix(_)
        | Probe::TagKey(_)
        | Probe::ArgumentName(_)
        | Probe::Time { .. } => UNKNOWN_SIZE,
    })
}

/// The call keys a probe names, sorted and deduplicated.
fn probe_keys(txn: &redb::ReadTransaction, probe: &Probe) -> Result<Vec<Key>, redb::Error> {
    fn collect(
        out: &mut Vec<Key>,
        values: redb::MultimapValue<'_, Key>,
    ) -> Result<(), redb::Error> {
        for v in values {
            out.push(v?.value());
        }
        Ok(())
    }
    let mut out = Vec::new();
    match probe {
        Probe::Name(n) => collect(&mut out, txn.open_multimap_table(BY_NAME)?.get(n.as_str())?)?,
        Probe::Module(m) => collect(
            &mut out,
            txn.open_multimap_table(BY_MODULE)?.get(m.as_str())?,
        )?,
        Probe::NamePrefix(p) | Probe::ModulePrefix(p) => {
            let table = txn.open_multimap_table(if matches!(probe, Probe::NamePrefix(_)) {
                BY_NAME
            } else {
                BY_MODULE
            })?;
            for entry in table.range(p.as_str()..)? {
                let (k, values) = entry?;
                if !k.value().starts_with(p.as_str()) {
                    break;
                }
                collect(&mut out, values)?;
            }
        }
        Probe::TagKey(k) => {
            let table = txn.open_multimap_table(BY_TAG)?;
            let low = format!("{k}{TAG_SEPARATOR}");
            let high = format!("{k}\u{1}");
            for entry in table.range(low.as_str()..high.as_str())? {
                collect(&mut out, entry?.1)?;
            }
        }
        Probe::Tag(k, v) => collect(
            &mut out,
            txn.open_multimap_table(BY_TAG)?
                .get(format!("{k}{TAG_SEPARATOR}{v}").as_str())?,
        )?,
        Probe::Argument(n, d) => collect(
            &mut out,
            txn.open_multimap_table(BY_ARGUMENT)?
                .get((n.as_str(), *d.as_bytes()))?,
        )?,
        Probe::ArgumentName(n) => {
            let table = txn.open_multimap_table(BY_ARGUMENT)?;
            for entry in table.range((n.as_str(), [0u8; 32])..=(n.as_str(), [0xffu8; 32]))? {
                collect(&mut out, entry?.1)?;
            }
        }
        Probe::Result(d) => collect(
            &mut out,
            txn.open_multimap_table(BY_RESULT)?.get(d.as_bytes())?,
        )?,
        Probe::Time { from, to } => {
            let table = txn.open_table(BY_TIME)?;
            for entry in table.range((*from, [0u8; 32])..(*to, [0u8; 32]))? {
                out.push(entry?.0.value().1);
            }
        }
        Probe::Keys(keys) => out.extend(keys.iter().map(|k| *k.as_bytes())),
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}
