//! Query support: index probes that narrow a query to candidate records, read in place, and
//! the shortest key prefixes that tables show.

use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use redb::{ReadableMultimapTable, ReadableTable, ReadableTableMetadata};

use super::{
    BY_ARGUMENT, BY_FUNCTION, BY_RESULT, BY_TAG, BY_TIME, CALLS_IN_PLACE, Prefix, Store,
    TAG_SEPARATOR, calls_with_prefix, checksum, prefix,
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

/// Entries of a plain index counted at most when sizing a probe.
const COUNTED: u64 = 1 << 16;

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
                    let (sum, record) = v.value();
                    if checksum::record_intact(sum, record) {
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
            // One probe needs no sizing: it is the one used.
            let mut sized = Vec::with_capacity(probes.len());
            for probe in probes {
                let size = if probes.len() > 1 {
                    probe_size(txn, probe)?
                } else {
                    0
                };
                sized.push((size, probe));
            }
            sized.sort_by_key(|(size, _)| *size);
            let mut prefixes = probe_prefixes(txn, sized[0].1)?;
            for (size, probe) in &sized[1..] {
                if prefixes.is_empty()
                    || *size > INTERSECT_RATIO.saturating_mul(prefixes.len() as u64)
                {
                    break;
                }
                let other = probe_prefixes(txn, probe)?;
                prefixes.retain(|p| other.binary_search(p).is_ok());
            }
            kept.reserve(prefixes.len());
            // Every call under each prefix (usually one); `visit` checks it against the
            // query, so a call that only shares a prefix with a match is left out there.
            for p in &prefixes {
                for entry in calls_with_prefix(&calls, *p)? {
                    let (k, v) = entry?;
                    visited += 1;
                    let key = Digest::from_bytes(*k.value());
                    let (sum, record) = v.value();
                    if checksum::record_intact(sum, record) {
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
        Probe::Name(n) => {
            let table = txn.open_multimap_table(BY_FUNCTION)?;
            let mut size = 0;
            for entry in table.range((n.as_str(), "")..)? {
                let (function, calls) = entry?;
                if function.value().0 != n {
                    break;
                }
                size += calls.len();
            }
            size
        }
        Probe::Module(m) => {
            let table = txn.open_multimap_table(BY_FUNCTION)?;
            let mut size = 0;
            for entry in table.iter()? {
                let (function, calls) = entry?;
                if function.value().1 == m {
                    size += calls.len();
                }
            }
            size
        }
        Probe::Tag(k, v) => txn
            .open_multimap_table(BY_TAG)?
            .get(format!("{k}{TAG_SEPARATOR}{v}").as_str())?
            .len(),
        Probe::Argument(n, d) => {
            let (n, v) = (n.as_str(), prefix(d.as_bytes()));
            let table = txn.open_table(BY_ARGUMENT)?;
            count_up_to(table.range((n, v, 0)..=(n, v, Prefix::MAX))?)?
        }
        Probe::Result(d) => {
            let v = prefix(d.as_bytes());
            let table = txn.open_table(BY_RESULT)?;
            count_up_to(table.range((v, 0)..=(v, Prefix::MAX))?)?
        }
        Probe::Keys(keys) => keys.len() as u64,
        Probe::NamePrefix(_)
        | Probe::ModulePrefix(_)
        | Probe::TagKey(_)
        | Probe::ArgumentName(_)
        | Probe::Time { .. } => UNKNOWN_SIZE,
    })
}

/// How many entries a range of a plain index holds, counted up to [`COUNTED`]: a probe that
/// large is picked last anyway.
fn count_up_to<K: redb::Key + 'static>(range: redb::Range<'_, K, ()>) -> Result<u64, redb::Error> {
    let mut n = 0;
    for entry in range {
        entry?;
        n += 1;
        if n >= COUNTED {
            break;
        }
    }
    Ok(n)
}

/// The call key prefixes a probe names, sorted and deduplicated.
fn probe_prefixes(txn: &redb::ReadTransaction, probe: &Probe) -> Result<Vec<Prefix>, redb::Error> {
    fn collect(
        out: &mut Vec<Prefix>,
        values: redb::MultimapValue<'_, Prefix>,
    ) -> Result<(), redb::Error> {
        for v in values {
            out.push(v?.value());
        }
        Ok(())
    }
    let mut out = Vec::new();
    match probe {
        Probe::Name(p) | Probe::NamePrefix(p) => {
            let exact = matches!(probe, Probe::Name(_));
            let table = txn.open_multimap_table(BY_FUNCTION)?;
            for entry in table.range((p.as_str(), "")..)? {
                let (function, calls) = entry?;
                let name = function.value().0;
                if (exact && name != p) || !name.starts_with(p.as_str()) {
                    break;
                }
                collect(&mut out, calls)?;
            }
        }
        // Few functions: every one is looked at for its module.
        Probe::Module(m) | Probe::ModulePrefix(m) => {
            let exact = matches!(probe, Probe::Module(_));
            let table = txn.open_multimap_table(BY_FUNCTION)?;
            for entry in table.iter()? {
                let (function, calls) = entry?;
                let module = function.value().1;
                if (exact && module == m) || (!exact && module.starts_with(m.as_str())) {
                    collect(&mut out, calls)?;
                }
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
        Probe::Argument(n, d) => {
            let (n, v) = (n.as_str(), prefix(d.as_bytes()));
            let table = txn.open_table(BY_ARGUMENT)?;
            for entry in table.range((n, v, 0)..=(n, v, Prefix::MAX))? {
                out.push(entry?.0.value().2);
            }
        }
        Probe::ArgumentName(n) => {
            let n = n.as_str();
            let table = txn.open_table(BY_ARGUMENT)?;
            for entry in table.range((n, 0, 0)..=(n, Prefix::MAX, Prefix::MAX))? {
                out.push(entry?.0.value().2);
            }
        }
        Probe::Result(d) => {
            let v = prefix(d.as_bytes());
            let table = txn.open_table(BY_RESULT)?;
            for entry in table.range((v, 0)..=(v, Prefix::MAX))? {
                out.push(entry?.0.value().1);
            }
        }
        Probe::Time { from, to } => {
            let table = txn.open_table(BY_TIME)?;
            for entry in table.range((*from, 0)..(*to, 0))? {
                out.push(entry?.0.value().1);
            }
        }
        Probe::Keys(keys) => out.extend(keys.iter().map(|k| prefix(k.as_bytes()))),
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}
