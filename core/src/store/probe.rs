//! Query support: index probes that narrow a query to candidate records, read in place, and
//! the shortest key prefixes that tables show.

use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use redb::{ReadableMultimapTable, ReadableTable, ReadableTableMetadata};

use super::{
    BY_ARGUMENT, BY_FUNCTION, BY_RESULT, BY_TAG, BY_TIME, CALLS_IN_PLACE, Key, KeyRef, Prefix,
    Store, TAG_SEPARATOR, checksum, prefix, prefix_bounds,
};
use crate::digest::{Digest, call_cluster, common_hex_prefix, shortest_prefixes};
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
pub(crate) struct Candidates<S, T> {
    /// Each reading thread's state and what `visit` returned for the records it kept, in key
    /// order; the parts follow one another in key order too.
    pub(crate) parts: Vec<(S, Vec<T>)>,
    /// Every call key of the snapshot, sorted, when all records were scanned anyway.
    pub(crate) all_keys: Option<Vec<Digest>>,
}

/// Records a thread scans at least, and calls it looks up by key prefix at least, before a
/// read is shared with another thread: starting one costs tens of microseconds, a scanned
/// record about half a microsecond and a lookup about one.
const SCANNED_PER_THREAD: u64 = 16_384;
const LOOKED_UP_PER_THREAD: u64 = 256;

/// How many threads read `work` items when each should have at least `per_thread`: at most
/// one per core (and eight).
fn threads_for(work: u64, per_thread: u64) -> usize {
    #[cfg(test)]
    if let Some(n) = READ_THREADS.get() {
        return n;
    }
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores =
        *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)));
    usize::try_from(work / per_thread).map_or(cores, |n| n.clamp(1, cores))
}

#[cfg(test)]
thread_local! {
    /// Threads a test has every read of this thread use, whatever its size.
    pub(crate) static READ_THREADS: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// How many calls each first key byte holds, after the function index: a call key's first
/// byte is its function's cluster (`digest::call_cluster`), so one function's calls lie
/// together. (Calls whose keys do not follow that rule, in a format-6 file read as it is,
/// make these sizes wrong: reads then share work unevenly or look up more, never miss a call.)
fn cluster_sizes(txn: &redb::ReadTransaction) -> Result<[u64; 256], redb::Error> {
    let mut sizes = [0u64; 256];
    let table = txn.open_multimap_table(BY_FUNCTION)?;
    // Entries are sorted by name: a name in several modules is hashed once.
    let mut last: Option<(String, u8)> = None;
    for entry in table.iter()? {
        let (function, calls) = entry?;
        let name = function.value().0;
        let cluster = match &last {
            Some((n, c)) if n == name => *c,
            _ => {
                let c = call_cluster(name);
                last = Some((name.to_owned(), c));
                c
            }
        };
        sizes[usize::from(cluster)] += calls.len();
    }
    Ok(sizes)
}

/// `parts` stretches of keys, in order, that cover every key once and hold about as many
/// calls each after `sizes` (see [`cluster_sizes`]): a stretch ends inside a cluster at the
/// share of its keys' second byte that the stretch takes (past the first byte, a key is hash).
fn key_shares(sizes: &[u64; 256], parts: usize) -> Vec<(Bound<Key>, Bound<Key>)> {
    let total: u64 = sizes.iter().sum();
    let edge = |i: usize| -> Bound<Key> {
        if i == 0 || i == parts {
            return Unbounded;
        }
        let mut key = [0u8; 32];
        if total == 0 {
            // Nothing indexed: even stretches of the first byte.
            key[0] = u8::try_from(i * 256 / parts).unwrap_or(u8::MAX);
            return Included(key);
        }
        let target = u128::from(total) * i as u128 / parts as u128;
        let mut before = 0u128;
        for (cluster, &size) in sizes.iter().enumerate() {
            let size = u128::from(size);
            if before + size > target {
                key[0] = cluster as u8;
                key[1] = ((target - before) * 256 / size) as u8;
                return Included(key);
            }
            before += size;
        }
        Unbounded
    };
    (0..parts)
        .map(|i| {
            let high = match edge(i + 1) {
                Included(key) => Excluded(key),
                other => other,
            };
            (edge(i), high)
        })
        .collect()
}

type CallRange<'t> = redb::Range<'t, KeyRef, (u64, &'static [u8])>;

/// A prefix whose calls are expected at most this many records after the last one's is
/// reached by reading on through them rather than by a lookup of its own (a B-tree descent,
/// about 1.2 µs in a profile of the query bench; reading on past a record was not timed by
/// itself, and a name query reads and checks 1,000 clustered calls in about 0.3 ms).
const READ_ON: f64 = 16.0;
/// Records read on past at most before looking the prefix up after all (for when the cluster
/// sizes are wrong).
const READ_ON_AT_MOST: u32 = 48;

/// Key prefixes a query looks up at least before it reads on through clusters (see
/// [`calls_under`]): fewer are each looked up, which costs less than sizing the clusters.
const READ_ON_FROM: usize = 16;

/// Passes every call under each of `prefixes` (sorted) to `each`; returns how many. A prefix
/// whose calls are expected within [`READ_ON`] records of the last one's (the same function's
/// calls lie together, see [`cluster_sizes`]) is reached by reading on; any other is looked
/// up.
fn calls_under(
    calls: &impl ReadableTable<KeyRef, (u64, &'static [u8])>,
    prefixes: &[Prefix],
    sizes: &[u64; 256],
    mut each: impl FnMut(Digest, (u64, &[u8])),
) -> Result<u64, redb::Error> {
    debug_assert!(prefixes.is_sorted());
    let Some(&highest) = prefixes.last() else {
        return Ok(0);
    };
    // No read goes past the last key wanted.
    let (_, end) = prefix_bounds(highest);
    // Calls expected between two prefixes of one cluster: its calls spread evenly over the
    // 2^56 prefixes that start with its byte.
    let expected_between = |a: Prefix, b: Prefix| -> f64 {
        if a >> 56 != b >> 56 {
            return f64::INFINITY;
        }
        b.saturating_sub(a) as f64 * sizes[(a >> 56) as usize] as f64 / (1u64 << 56) as f64
    };
    let mut seen = 0;
    let mut open: Option<std::iter::Peekable<CallRange<'_>>> = None;
    let mut last: Option<Prefix> = None;
    for &p in prefixes {
        let read_on = last.is_some_and(|l| expected_between(l, p) <= READ_ON);
        last = Some(p);
        let reached = read_on && open.as_mut().is_some_and(|range| read_on_to(range, p));
        if !reached {
            open = None;
        }
        let range = match &mut open {
            Some(range) => range,
            none => {
                let (low, _) = prefix_bounds(p);
                none.insert(calls.range::<&[u8; 32]>(&low..=&end)?.peekable())
            }
        };
        let under_p = |e: &Result<_, redb::StorageError>| match e {
            Ok((k, _)) => prefix(redb::AccessGuard::<KeyRef>::value(k)) == p,
            Err(_) => true,
        };
        while let Some(entry) = range.next_if(under_p) {
            let (k, v) = entry?;
            seen += 1;
            each(Digest::from_bytes(*k.value()), v.value());
        }
    }
    Ok(seen)
}

/// Moves `range` past the keys below prefix `p`, reading on past at most
/// [`READ_ON_AT_MOST`] of them; whether it got there.
fn read_on_to(range: &mut std::iter::Peekable<CallRange<'_>>, p: Prefix) -> bool {
    for _ in 0..READ_ON_AT_MOST {
        match range.peek() {
            Some(Ok((k, _))) if prefix(k.value()) < p => range.next(),
            _ => return true,
        };
    }
    !matches!(range.peek(), Some(Ok((k, _))) if prefix(k.value()) < p)
}

/// `part(i)` for `i` in `0..parts`, each on its own thread (the first on this one), in
/// order. A panic in one (redb's answer to some damaged pages) is raised again here once all
/// are done, where the store's guard turns it into an error.
fn in_parallel<R: Send>(
    parts: usize,
    part: impl Fn(usize) -> Result<R, redb::Error> + Sync,
) -> Result<Vec<R>, redb::Error> {
    if parts <= 1 {
        return Ok(vec![part(0)?]);
    }
    std::thread::scope(|scope| {
        let others: Vec<_> = (1..parts)
            .map(|i| {
                let part = &part;
                scope.spawn(move || part(i))
            })
            .collect();
        let mut panicked = None;
        let mut out = Vec::with_capacity(parts);
        match std::panic::catch_unwind(AssertUnwindSafe(|| part(0))) {
            Ok(r) => out.push(r),
            Err(payload) => panicked = Some(payload),
        }
        for other in others {
            match other.join() {
                Ok(r) => out.push(r),
                Err(payload) => {
                    panicked.get_or_insert(payload);
                }
            }
        }
        if let Some(payload) = panicked {
            std::panic::resume_unwind(payload);
        }
        out.into_iter().collect()
    })
}

/// Entries of a plain index counted at most when sizing a probe.
const COUNTED: u64 = 1 << 16;

/// An index whose size is not known without walking it is probed after those whose is.
const UNKNOWN_SIZE: u64 = u64::MAX / 2;

/// A further index is intersected only while it is at most this many times larger than the
/// candidates so far: past that, checking the remaining filters on the records is cheaper.
/// Reading an index entry costs about 40-50 ns, a candidate looked up about 1.2 µs.
const INTERSECT_RATIO: u64 = 32;
/// The same for the candidates of one function name, which lie together and are read on
/// through at about 0.3 µs each (see [`calls_under`]).
const INTERSECT_RATIO_ONE_NAME: u64 = 8;

impl Store {
    /// Passes the records a query must check to `visit`, in one read transaction and without
    /// copying them: those named by the most selective index probes (intersected), or every
    /// record when there is no probe. Many records are read by several threads, each over its
    /// own stretch of keys and with its own state from `start`.
    pub(crate) fn candidates<S: Send, T: Send>(
        &self,
        probes: &[Probe],
        start: impl Fn() -> S + Sync,
        visit: impl Fn(&mut S, Digest, &[u8]) -> Option<T> + Sync,
    ) -> Result<Candidates<S, T>> {
        let visited = AtomicU64::new(0);
        // One record: checked against its checksum, then visited.
        let read = |state: &mut S, kept: &mut Vec<T>, key: Digest, (sum, record): (u64, &[u8])| {
            if checksum::record_intact(sum, record) {
                kept.extend(visit(state, key, record));
            } else {
                checksum::warn_skipped(&key);
            }
        };
        let found = self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            if probes.is_empty() {
                let total = calls.len()?;
                let threads = threads_for(total, SCANNED_PER_THREAD);
                let share = (total as usize).div_ceil(threads);
                let shares = if threads > 1 {
                    key_shares(&cluster_sizes(txn)?, threads)
                } else {
                    vec![(Unbounded, Unbounded)]
                };
                let parts = in_parallel(threads, |part| {
                    let (mut state, mut kept, mut keys) = (
                        start(),
                        Vec::with_capacity(share),
                        Vec::with_capacity(share),
                    );
                    let (low, high) = shares[part];
                    for entry in calls.range::<&[u8; 32]>((low.as_ref(), high.as_ref()))? {
                        let (k, v) = entry?;
                        let key = Digest::from_bytes(*k.value());
                        keys.push(key);
                        read(&mut state, &mut kept, key, v.value());
                    }
                    Ok(((state, kept), keys))
                })?;
                let mut all_keys = Vec::with_capacity(total as usize);
                let parts = parts
                    .into_iter()
                    .map(|(part, keys)| {
                        all_keys.extend(keys);
                        part
                    })
                    .collect();
                visited.store(all_keys.len() as u64, Ordering::Relaxed);
                return Ok(Candidates {
                    parts,
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
            let ratio = match sized[0].1 {
                Probe::Name(_) => INTERSECT_RATIO_ONE_NAME,
                _ => INTERSECT_RATIO,
            };
            for (size, probe) in &sized[1..] {
                if prefixes.is_empty() || *size > ratio.saturating_mul(prefixes.len() as u64) {
                    break;
                }
                let other = probe_prefixes(txn, probe)?;
                prefixes.retain(|p| other.binary_search(p).is_ok());
            }
            // Every call under each prefix (usually one); `visit` checks it against the
            // query, so a call that only shares a prefix with a match is left out there.
            let threads = threads_for(prefixes.len() as u64, LOOKED_UP_PER_THREAD);
            let share = prefixes.len().div_ceil(threads).max(1);
            // A few lookups cost less than sizing the clusters (a hash per function).
            let sizes = if prefixes.len() >= READ_ON_FROM {
                cluster_sizes(txn)?
            } else {
                [0; 256]
            };
            let parts = in_parallel(threads, |part| {
                let (mut state, mut kept) = (start(), Vec::with_capacity(share));
                let mine = prefixes.chunks(share).nth(part).unwrap_or_default();
                let seen = calls_under(&calls, mine, &sizes, |key, entry| {
                    read(&mut state, &mut kept, key, entry);
                })?;
                visited.fetch_add(seen, Ordering::Relaxed);
                Ok((state, kept))
            })?;
            Ok(Candidates {
                parts,
                all_keys: None,
            })
        })?;
        self.record_reads
            .fetch_add(visited.into_inner(), Ordering::Relaxed);
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
        out.reserve(values.len() as usize);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts come back in order; an error in one is the read's error; a panic in one (on any
    /// thread) is raised again on the reading thread with its own message, for the store's
    /// guard to report, once every part is done.
    #[test]
    fn parts_come_back_in_order_and_failures_reach_the_reader() {
        assert_eq!(in_parallel(1, Ok).unwrap(), [0]);
        assert_eq!(in_parallel(5, |i| Ok(i * 10)).unwrap(), [0, 10, 20, 30, 40]);
        let failed = in_parallel(3, |i| {
            if i == 1 {
                Err(redb::Error::Corrupted("page 7".into()))
            } else {
                Ok(i)
            }
        });
        assert!(failed.unwrap_err().to_string().contains("page 7"));
        for panicking in [0, 2] {
            let done = AtomicU64::new(0);
            let payload = std::panic::catch_unwind(AssertUnwindSafe(|| {
                in_parallel(3, |i| {
                    if i == panicking {
                        panic!("a damaged page {i}");
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    Ok(i)
                })
            }))
            .unwrap_err();
            assert_eq!(
                payload.downcast_ref::<String>().map(String::as_str),
                Some(format!("a damaged page {panicking}").as_str())
            );
            assert_eq!(done.into_inner(), 2, "the other parts ran to the end");
        }
    }

    /// The stretches of keys cover every key once, in order, and split clusters by their
    /// sizes.
    #[test]
    fn key_shares_cover_every_key_once() {
        let mut one = [0u64; 256];
        one[0x7a] = 1000;
        let mut skewed = [1u64; 256];
        skewed[3] = 10_000;
        let uniform = [40u64; 256];
        for sizes in [[0u64; 256], one, skewed, uniform] {
            for parts in 1..=8 {
                let shares = key_shares(&sizes, parts);
                assert_eq!(shares.len(), parts);
                assert_eq!(shares[0].0, Unbounded);
                assert_eq!(shares[parts - 1].1, Unbounded);
                for pair in shares.windows(2) {
                    let (Excluded(end), Included(start)) = (pair[0].1, pair[1].0) else {
                        panic!("{pair:?}");
                    };
                    assert_eq!(end, start);
                }
                for share in &shares {
                    if let (Included(low), Excluded(high)) = share {
                        assert!(low <= high, "{share:?}");
                    }
                }
            }
        }
        // One function's calls: split by their second byte.
        let halves = key_shares(&one, 2);
        let Included(edge) = halves[1].0 else {
            panic!("{halves:?}")
        };
        assert_eq!(edge[..2], [0x7a, 0x80]);
        // Uneven clusters: the big one is split, the small ones go whole.
        let Included(edge) = key_shares(&skewed, 2)[1].0 else {
            panic!()
        };
        assert_eq!(edge[0], 3);
    }

    /// Reading on and looking up find the same calls, with good cluster sizes, wrong ones and
    /// none, for prefixes dense and sparse, twins sharing a prefix and prefixes of no call.
    #[test]
    fn calls_under_prefixes_are_those_looked_up_one_by_one() {
        use redb::ReadableDatabase;
        let db = redb::Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .unwrap();
        let mut keys: Vec<Key> = Vec::new();
        for i in 0u32..3000 {
            let mut key = *blake3::hash(&i.to_le_bytes()).as_bytes();
            // Two clusters of many calls, the rest spread.
            if i % 3 != 0 {
                key[0] = if i % 3 == 1 { 0x10 } else { 0x11 };
            }
            keys.push(key);
        }
        // A twin: another key under the same 8-byte prefix.
        let mut twin = keys[5];
        twin[31] ^= 1;
        keys.push(twin);
        let txn = db.begin_write().unwrap();
        {
            let mut calls = txn.open_table(super::super::CALLS).unwrap();
            for key in &keys {
                calls.insert(key, (0, &key[..4])).unwrap();
            }
        }
        txn.commit().unwrap();
        keys.sort_unstable();
        let mut right = [0u64; 256];
        for key in &keys {
            right[usize::from(key[0])] += 1;
        }
        let mut wrong = [0u64; 256];
        wrong[0x10] = 1_000_000;
        let read = db.begin_read().unwrap();
        let calls = read.open_table(CALLS_IN_PLACE).unwrap();
        for every in [1usize, 2, 7, 50] {
            let mut prefixes: Vec<Prefix> = keys.iter().step_by(every).map(prefix).collect();
            // Prefixes of no call, between and beyond.
            prefixes.push(prefix(&keys[10]) + 1);
            prefixes.push(0x10ff_ffff_ffff_ffff);
            prefixes.push(u64::MAX);
            prefixes.sort_unstable();
            prefixes.dedup();
            let expected: Vec<Key> = keys
                .iter()
                .filter(|k| prefixes.binary_search(&prefix(k)).is_ok())
                .copied()
                .collect();
            for sizes in [right, wrong, [0; 256]] {
                let mut found = Vec::new();
                let seen = calls_under(&calls, &prefixes, &sizes, |key, (_, bytes)| {
                    assert_eq!(bytes, &key.as_bytes()[..4]);
                    found.push(*key.as_bytes());
                })
                .unwrap();
                assert_eq!(found, expected, "every {every}th call");
                assert_eq!(seen, expected.len() as u64);
            }
        }
    }
}
