//! Queries: find stored calls by function, module, argument, tag, result, time or metadata.
//!
//! A [`Query`] describes calls; it holds no results. Every traversal reads the cache as it is
//! then, so one query can be run again after more calls were stored.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::active::try_cache;
use crate::batch::{BatchBuilder, Slot, Summary};
use crate::cache::Cache;
use crate::call::Call;
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::function::Function;
use crate::layer::{IndexedFilter, Layer, Layers};
use crate::record::RecordView;
use crate::store::Probe;

mod builders;
mod copy;
mod field;
mod filter;
pub(crate) mod typed;

pub use field::Field;
use field::{by_stop, field_value};
use filter::{Filter, ValueMatch, describe, matches, probes};

/// fleche's own metadata namespaces and the built-in collectors'; your own collectors add
/// namespaces named after them.
pub const NAMESPACES: [&str; 5] = crate::record::BUILT_IN_NAMESPACES;

/// A query over stored calls: filters, then conveniences (`take`, `sort_by`, `only`, ...).
///
/// Build one with [`Cache::query`] (every call in a cache) or with the `query()` helper that
/// `#[fleche]` generates for a function (`double::query()`, `MyType::compute_query()`), then
/// narrow it. Builder methods take and return the query; nothing is read until a terminal
/// method (`calls`, `count`, `only`, `table`, iterating, ...) runs it, and every run reads
/// the cache afresh. Calls come out oldest first (by start time), as lazy [`Call`]s: their
/// argument and result values are read only when asked for.
///
/// # Which filters use an index
///
/// `name`, `name_like` (with a literal start), `module`, `module_like` (likewise), `tag`,
/// `has_tag`, `metadata_key`/`metadata_eq` on `"tags"`, `argument`, `argument_digest`,
/// `argument_prefix`, `has_argument`, `result`, `result_digest`, `started_after`,
/// `started_before` and `among` are answered from the store's indexes; when several are
/// given their hits are intersected, smallest first (an index more than 32 times larger than
/// the candidates left is checked on their records instead, which is cheaper). `version`,
/// `unversioned`, `code`, `current_only` and the other metadata filters are checked on the
/// records those indexes return (or on every record, when no indexed filter is given).
/// Pipeline steps (`filter`, `sort_by`, `take`, ...) run on the matched calls, in the order
/// they were added.
///
/// # Typed queries of cached functions
///
/// `f::query()` returns `f::Query`: this type's methods plus setters typed by `f`'s
/// parameters, `with(a, b, ..)` (every argument) and `arg_<name>(value)` (one), which also
/// accept `D("prefix")` for owned parameters. The `arg_` prefix keeps them apart from the
/// methods here, so parameters named `metadata`, `name` or `take` work. A call's query
/// includes the calls of every `version` and every edit of the function's body;
/// `.current_only()` keeps those of the current definition. Methods get
/// `Type::method_query()` (every call) and `Type::method_query_with(&receiver, args..)`.
///
/// ```
/// use fleche::{fleche, tags};
///
/// #[fleche]
/// fn another_calculation(a: i64, b: i64) -> i64 {
///     a + b
/// }
///
/// # fn main() -> fleche::Result<()> {
/// let cache = fleche::Cache::memory();
/// let _active = cache.activate();
/// {
///     let _t = tags!(project = "my_project");
///     another_calculation(1, 2);
/// }
/// another_calculation(3, 4);
///
/// let tagged = cache.query().has_tag("project");
/// assert_eq!(tagged.only()?.argument::<i64>("a")?, 1);
/// // Typed: a wrong argument type does not compile.
/// let call = another_calculation::query().with(3, 4).only()?;
/// assert_eq!(call.result::<i64>()?, 7);
/// assert_eq!(cache.query().argument("b", 4).count()?, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Query {
    cache: Option<Cache>,
    function: Option<&'static Function>,
    filters: Vec<Filter>,
    ops: Vec<Op>,
    /// Problems found while building (a value without a digest), reported when it runs.
    problems: Vec<String>,
}

type Step = dyn Fn(Vec<Call>) -> Result<Vec<Call>> + Send + Sync;

/// One pipeline step, applied to the matched calls in order.
#[derive(Clone)]
struct Op {
    label: String,
    run: Arc<Step>,
}

/// What one run of a query found.
pub(crate) struct Found {
    pub(crate) cache: Cache,
    pub(crate) calls: Vec<Call>,
    /// Every call key of the snapshot, sorted, when the run scanned all records.
    pub(crate) all_keys: Option<Vec<Digest>>,
    /// The calls in key order, as indexes into `calls`, when the run knows it without
    /// sorting (one store, no pipeline step): a table needs that order for its `key` column.
    pub(crate) by_key: Option<Vec<u32>>,
    /// What a table shows of the calls as a whole, when gathered while reading them (one
    /// store, no pipeline step).
    pub(crate) summary: Option<Summary>,
}

impl Cache {
    /// A query over every call in this cache; add filters to narrow it. See [`Query`].
    ///
    /// ```
    /// # use fleche::fleche;
    /// #[fleche]
    /// fn double(x: i64) -> i64 { x * 2 }
    /// # fn main() -> fleche::Result<()> {
    /// let cache = fleche::Cache::memory();
    /// let _active = cache.activate();
    /// double(100);
    /// assert_eq!(cache.query().argument("x", 100).count()?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn query(&self) -> Query {
        Query::new(Some(self.clone()))
    }
}

impl Query {
    pub(crate) fn new(cache: Option<Cache>) -> Query {
        Query {
            cache,
            function: None,
            filters: Vec::new(),
            ops: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The cached function whose own query this is, if it is one.
    pub(crate) fn function(&self) -> Option<&'static Function> {
        self.function
    }

    /// The calls of one cached function, on the cache active when the query runs.
    pub(crate) fn of_function(function: &'static Function) -> Query {
        let mut q = Query::new(None);
        q.function = Some(function);
        q.filters.push(Filter::Name(function.name.to_owned()));
        q.filters.push(Filter::Module(function.module().to_owned()));
        q
    }

    fn with_filter(mut self, filter: Filter) -> Query {
        self.filters.push(filter);
        self
    }

    fn with_op(
        mut self,
        label: String,
        run: impl Fn(Vec<Call>) -> Result<Vec<Call>> + Send + Sync + 'static,
    ) -> Query {
        self.ops.push(Op {
            label,
            run: Arc::new(run),
        });
        self
    }

    // The builders (filters and pipeline steps) are declared in builders.rs, in one list
    // shared with the typed queries of cached functions.

    // ---- running -----------------------------------------------------------------------

    /// Runs the query: the matching calls, oldest first, after the pipeline steps.
    pub fn calls(&self) -> Result<Vec<Call>> {
        Ok(self.run()?.calls)
    }

    /// The keys of the matching calls.
    pub fn keys(&self) -> Result<Vec<Digest>> {
        Ok(self.calls()?.iter().map(Call::key).collect())
    }

    /// How many calls match (reads records, never values).
    pub fn count(&self) -> Result<usize> {
        Ok(self.calls()?.len())
    }

    /// Whether no call matches.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.count()? == 0)
    }

    /// The one matching call: [`Error::NoMatch`] if none, [`Error::NotUnique`] if several.
    pub fn only(&self) -> Result<Call> {
        let mut calls = self.calls()?;
        match calls.len() {
            1 => Ok(calls.remove(0)),
            0 => Err(Error::NoMatch {
                query: self.to_description(),
            }),
            found => Err(Error::NotUnique {
                query: self.to_description(),
                found,
            }),
        }
    }

    /// The first matching call, if any.
    pub fn first(&self) -> Result<Option<Call>> {
        Ok(self.calls()?.into_iter().next())
    }

    /// The call that finished last ([`Error::NoMatch`] if none matches).
    pub fn latest(&self) -> Result<Call> {
        self.calls()?
            .into_iter()
            .max_by(by_stop)
            .ok_or_else(|| Error::NoMatch {
                query: self.to_description(),
            })
    }

    /// The call that finished first ([`Error::NoMatch`] if none matches).
    pub fn oldest(&self) -> Result<Call> {
        self.calls()?
            .into_iter()
            .min_by(by_stop)
            .ok_or_else(|| Error::NoMatch {
                query: self.to_description(),
            })
    }

    /// The matching calls grouped by a field; each group is a query of its own (restricted
    /// to the group's keys), so it can be counted, tabled or queried further. Calls without
    /// the field (an absent tag) are grouped under `None`.
    pub fn group_by(&self, field: Field) -> Result<BTreeMap<Option<String>, Query>> {
        let mut groups: BTreeMap<Option<String>, Vec<Digest>> = BTreeMap::new();
        for call in self.calls()? {
            groups
                .entry(field_value(&call, &field).map(|v| v.to_string()))
                .or_default()
                .push(call.key());
        }
        Ok(groups
            .into_iter()
            .map(|(k, keys)| (k, self.restricted(keys)))
            .collect())
    }

    /// The matching calls grouped by the value of argument `name` decoded as `T` (reads that
    /// argument of every call). A call without that argument, or whose value does not decode
    /// as `T`, is an error naming the call.
    pub fn group_by_argument<T: DeserializeOwned + Ord>(
        &self,
        name: &str,
    ) -> Result<BTreeMap<T, Query>> {
        let mut groups: BTreeMap<T, Vec<Digest>> = BTreeMap::new();
        for call in self.calls()? {
            groups
                .entry(call.argument::<T>(name)?)
                .or_default()
                .push(call.key());
        }
        Ok(groups
            .into_iter()
            .map(|(k, keys)| (k, self.restricted(keys)))
            .collect())
    }

    /// The results of the matching calls decoded as `T`, in order.
    pub fn results<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.calls()?.iter().map(Call::result::<T>).collect()
    }

    /// Removes every matching call record in one commit (values stay: other calls may share
    /// them). Returns how many were removed. On a stack, calls are removed from every
    /// writable layer; read-only layers keep theirs.
    pub fn evict(&self) -> Result<usize> {
        let found = self.run()?;
        let keys: Vec<Digest> = found.calls.iter().map(Call::key).collect();
        let Some(layers) = &found.cache.layers else {
            return found.cache.store.remove_calls(&keys);
        };
        // A stack: from every writable layer; read-only layers keep their copies.
        let mut removed = HashSet::new();
        for entry in layers.entries.iter().filter(|e| !e.read_only) {
            let there: Vec<Digest> = match &entry.store {
                Some(store) => store.missing_calls(&keys).map(|missing| {
                    keys.iter()
                        .filter(|k| !missing.contains(k))
                        .copied()
                        .collect()
                })?,
                None => keys.clone(),
            };
            if entry.layer.remove(&there)? > 0 && entry.store.is_some() {
                removed.extend(there);
            }
        }
        Ok(removed.len())
    }

    /// The calls, or an error; the fallible counterpart of iterating over the query.
    pub fn try_iter(&self) -> Result<std::vec::IntoIter<Call>> {
        Ok(self.calls()?.into_iter())
    }

    /// What the query asks for, in words (used in error messages).
    pub fn to_description(&self) -> String {
        let mut parts: Vec<String> = self.filters.iter().map(describe).collect();
        parts.extend(self.ops.iter().map(|o| o.label.clone()));
        if parts.is_empty() {
            "the query for all calls".to_owned()
        } else {
            format!("the query {}", parts.join(", "))
        }
    }

    pub(crate) fn push_problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    fn restricted(&self, keys: Vec<Digest>) -> Query {
        let mut q = self.clone();
        q.ops.clear();
        q.among(keys)
    }

    fn resolve_cache(&self) -> Result<Cache> {
        match &self.cache {
            Some(c) => Ok(c.clone()),
            None => try_cache(),
        }
    }

    pub(crate) fn run(&self) -> Result<Found> {
        if let Some(problem) = self.problems.first() {
            return Err(Error::InvalidQuery {
                detail: problem.clone(),
            });
        }
        let cache = self.resolve_cache()?;
        let filters = self.resolved_filters(&cache)?;
        let Some(probes) = probes(&filters) else {
            return Ok(Found {
                cache,
                calls: Vec::new(),
                all_keys: None,
                by_key: None,
                summary: None,
            });
        };
        let mut found = match &cache.layers {
            None => matching_in_store(&cache, &filters, &probes)?,
            Some(layers) => Found {
                calls: oldest_first(matching_in_layers(&cache, layers, &filters, &probes)?),
                cache,
                all_keys: None,
                by_key: None,
                summary: None,
            },
        };
        for op in &self.ops {
            found.calls = (op.run)(std::mem::take(&mut found.calls))?;
            found.by_key = None;
            found.summary = None;
        }
        Ok(found)
    }

    /// The filters with digest prefixes resolved and metadata namespaces checked.
    fn resolved_filters(&self, cache: &Cache) -> Result<Vec<Filter>> {
        let resolve = |m: &ValueMatch| -> Result<ValueMatch> {
            Ok(match m {
                ValueMatch::Digest(d) => ValueMatch::Digest(*d),
                ValueMatch::Prefix(p) => ValueMatch::Digest(cache.expand(p)?),
            })
        };
        // Any name may be a collector's; only an empty one is surely a mistake.
        let check_namespace = |ns: &str| -> Result<()> {
            if ns.is_empty() {
                Err(Error::InvalidQuery {
                    detail: format!(
                        "an empty metadata namespace; name one of {} or your own collector's",
                        NAMESPACES.join(", ")
                    ),
                })
            } else {
                Ok(())
            }
        };
        self.filters
            .iter()
            .map(|f| {
                Ok(match f {
                    Filter::Argument(n, m) => Filter::Argument(n.clone(), resolve(m)?),
                    Filter::Result(m) => Filter::Result(resolve(m)?),
                    Filter::Namespace(ns) => {
                        check_namespace(ns)?;
                        f.clone()
                    }
                    Filter::MetaKey(ns, k) if ns == "tags" => Filter::Tag(k.clone(), None),
                    Filter::MetaEq(ns, k, v) if ns == "tags" && v.to_tag().is_some() => {
                        Filter::Tag(k.clone(), v.to_tag())
                    }
                    Filter::MetaKey(ns, _) | Filter::MetaEq(ns, _, _) => {
                        check_namespace(ns)?;
                        f.clone()
                    }
                    other => other.clone(),
                })
            })
            .collect()
    }
}

/// The calls of one store that pass `filters`, oldest first, found through its indexes; with
/// their key order and every key of the store when it scanned them all anyway.
fn matching_in_store(cache: &Cache, filters: &[Filter], probes: &[Probe]) -> Result<Found> {
    // Records are checked in place and kept encoded: only the calls someone looks at
    // are decoded in full.
    let candidates =
        cache
            .store
            .candidates(probes, BatchBuilder::default, |batches, key, bytes| {
                check(filters, key, bytes, batches)
            })?;
    // The parts were read side by side, each into its own batches: one set of them.
    let mut parts = candidates.parts.into_iter();
    let (mut batches, mut kept) = parts.next().unwrap_or_default();
    for (more, slots) in parts {
        let moved = batches.absorb(more);
        kept.extend(slots.into_iter().map(|(key, slot)| (key, moved(slot))));
    }
    let (batches, summary) = batches.finish();
    // The store gives them in key order, which breaks ties of start time as the key would:
    // a sort of small numbers puts them in time order, and each call is made once, in place.
    let order = by_time(
        kept.iter()
            .enumerate()
            .map(|(i, (_, slot))| (batches.start_nanos(*slot), i as u32))
            .collect(),
    );
    let mut by_key = vec![0u32; order.len()];
    for (to, &(_, from)) in order.iter().enumerate() {
        by_key[from as usize] = to as u32;
    }
    let calls = order
        .iter()
        .map(|&(_, i)| {
            let (key, slot) = kept[i as usize];
            Call::in_batch(cache.clone(), key, batches.get(slot))
        })
        .collect();
    Ok(Found {
        cache: cache.clone(),
        calls,
        all_keys: candidates.all_keys,
        by_key: Some(by_key),
        summary: Some(summary),
    })
}

/// Whether the record `bytes` passes `filters`; kept encoded in `batches` if so.
fn check(
    filters: &[Filter],
    key: Digest,
    bytes: &[u8],
    batches: &mut BatchBuilder,
) -> Option<(Digest, Slot)> {
    let record = match RecordView::decode(bytes) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(key = %key, "skipping a call record that does not decode (a damaged cache?): {e}");
            return None;
        }
    };
    filters
        .iter()
        .all(|f| matches(f, &key, &record))
        .then(|| (key, batches.push(bytes, &record)))
}

/// Records read per page from a layer that is not a cache file.
const LAYER_PAGE: usize = 4096;

/// The union of the matching calls of every layer of a stack, each saying its layer; a call
/// held by several layers comes from the first (as a lookup would find it). A read-only
/// layer that cannot be read is skipped with a warning.
fn matching_in_layers(
    stack: &Cache,
    layers: &Layers,
    filters: &[Filter],
    probes: &[Probe],
) -> Result<Vec<Call>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for entry in &layers.entries {
        let found = match &entry.store {
            Some(store) => {
                matching_in_store(&Cache::plain(store.clone()), filters, probes).map(|f| f.calls)
            }
            None => matching_in_layer(stack, &*entry.layer, filters, probes),
        };
        match found {
            Ok(calls) => out.extend(
                calls
                    .into_iter()
                    .filter(|c| seen.insert(c.key()))
                    .map(|c| c.in_layer(entry.name.clone())),
            ),
            // A shared cache that is away leaves its calls out, as a read-only layer would.
            Err(e) if entry.read_only || matches!(e, Error::Unreachable { .. }) => {
                crate::error::warn_once(&entry.skipped(&e));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The matching calls of a layer that is not a cache file (a shared database): those its own
/// index selects for one of the query's indexed filters, else every record, page by page.
/// Their values are read through the stack.
fn matching_in_layer(
    stack: &Cache,
    layer: &dyn Layer,
    filters: &[Filter],
    probes: &[Probe],
) -> Result<Vec<Call>> {
    let mut batches = BatchBuilder::default();
    let mut kept = Vec::new();
    let indexed = probes.iter().find_map(|probe| {
        let filter = match probe {
            Probe::Name(name) => IndexedFilter::Name(name),
            Probe::Module(module) => IndexedFilter::Module(module),
            Probe::Tag(tag, value) => IndexedFilter::Tag(tag, value),
            Probe::Argument(name, digest) => IndexedFilter::Argument(name, digest),
            _ => return None,
        };
        layer.records_indexed(&filter)
    });
    if let Some(records) = indexed {
        kept.extend(
            records?
                .iter()
                .filter_map(|(key, bytes)| check(filters, *key, bytes, &mut batches)),
        );
        let (batches, _) = batches.finish();
        return Ok(kept
            .into_iter()
            .map(|(key, slot)| Call::in_batch(stack.clone(), key, batches.get(slot)))
            .collect());
    }
    let mut after = None;
    loop {
        let page = layer.records_after(after, LAYER_PAGE)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(*last);
        let full = page.len() == LAYER_PAGE;
        kept.extend(
            page.iter()
                .filter_map(|(key, bytes)| check(filters, *key, bytes, &mut batches)),
        );
        if !full {
            break;
        }
    }
    let (batches, _) = batches.finish();
    Ok(kept
        .into_iter()
        .map(|(key, slot)| Call::in_batch(stack.clone(), key, batches.get(slot)))
        .collect())
}

/// Sorts calls by start time, then key. Calls are large, so a small index is sorted and the
/// calls are moved once, instead of being moved at every step of the sort.
fn oldest_first(calls: Vec<Call>) -> Vec<Call> {
    let mut order: Vec<(DateTime<Utc>, Digest, usize)> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| (c.timestart(), c.key(), i))
        .collect();
    order.sort_unstable();
    let order: Vec<u32> = order.into_iter().map(|(_, _, i)| i as u32).collect();
    reorder(calls, &order)
}

/// Sorts (start time, place) pairs given in order of place by time, then place. A radix sort
/// (stable, so places stay in order among equal times) on the bytes in which the times
/// differ: calls of a cache started within days or years of each other, so the top bytes
/// are skipped, and 100,000 calls sort in a millisecond or so.
fn by_time(pairs: Vec<(i64, u32)>) -> Vec<(i64, u32)> {
    // Calls are often stored in the order they ran: then there is nothing to sort.
    if pairs.is_sorted() {
        return pairs;
    }
    // Times as unsigned numbers in the same order.
    let mut from: Vec<(u64, u32)> = pairs
        .into_iter()
        .map(|(t, i)| ((t as u64) ^ (1 << 63), i))
        .collect();
    // How many times hold each value of each byte, counted in one pass; a byte that all
    // times share (the high ones, for times close together) needs no pass of its own.
    let mut counts = [[0usize; 256]; 8];
    for (t, _) in &from {
        for (byte, count) in counts.iter_mut().enumerate() {
            count[((t >> (8 * byte)) & 0xff) as usize] += 1;
        }
    }
    let mut to = vec![(0u64, 0u32); from.len()];
    for (byte, starts) in counts.iter_mut().enumerate() {
        if starts.contains(&from.len()) {
            continue;
        }
        let mut at = 0;
        for start in starts.iter_mut() {
            let count = *start;
            *start = at;
            at += count;
        }
        let shift = 8 * byte;
        for &(t, i) in &from {
            let digit = ((t >> shift) & 0xff) as usize;
            to[starts[digit]] = (t, i);
            starts[digit] += 1;
        }
        std::mem::swap(&mut from, &mut to);
    }
    from.into_iter()
        .map(|(t, i)| ((t ^ (1 << 63)) as i64, i))
        .collect()
}

/// The calls in the order `order` gives (a permutation of their indexes).
fn reorder(calls: Vec<Call>, order: &[u32]) -> Vec<Call> {
    let mut slots: Vec<Option<Call>> = calls.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| slots[i as usize].take())
        .collect()
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_description())
    }
}

/// Iterating runs the query. A query that cannot run (storage error, bad prefix) prints the
/// error on stderr and yields nothing; use [`Query::calls`] or [`Query::try_iter`] to handle
/// the error yourself.
impl IntoIterator for &Query {
    type Item = Call;
    type IntoIter = std::vec::IntoIter<Call>;

    fn into_iter(self) -> Self::IntoIter {
        match self.calls() {
            Ok(calls) => calls.into_iter(),
            Err(e) => {
                crate::error::notice(
                    tracing::Level::ERROR,
                    &format!("query failed: {e}"),
                    crate::error::Stream::Stderr,
                );
                Vec::new().into_iter()
            }
        }
    }
}

/// See the `&Query` implementation.
impl IntoIterator for Query {
    type Item = Call;
    type IntoIter = std::vec::IntoIter<Call>;

    fn into_iter(self) -> Self::IntoIter {
        (&self).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::record::{CallRecord, Metadata};
    use crate::store::READ_THREADS;
    use proptest::prelude::*;

    /// A cache of `n` calls of five functions (one of them in two definitions if asked), under four
    /// tag key sets (none, `a`, `a b`, `b`), started in an order unlike their keys'.
    fn mixed(n: usize, two_definitions: bool) -> Cache {
        let cache = Cache::memory();
        let value = crate::digest(&1i64);
        let bytes = crate::codec::encode(&1i64).unwrap();
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let calls: Vec<(Digest, CallRecord)> = (0..n)
            .map(|i| {
                let mut tags = BTreeMap::new();
                if i % 4 == 1 || i % 4 == 2 {
                    tags.insert("a".to_owned(), format!("v{}", i % 3).into());
                }
                if i % 4 >= 2 {
                    tags.insert("b".to_owned(), (i as i64).into());
                }
                let function = i % 5;
                let record = CallRecord {
                    name: format!("f{function}"),
                    module: "mixed".into(),
                    version: None,
                    code: (function == 0 && two_definitions).then(|| crate::digest(&(i % 2))),
                    arguments: vec![("x".into(), value)],
                    argument_keys: Vec::new(),
                    result: value,
                    result_type: "i64".into(),
                    result_size: bytes.len() as u64,
                    metadata: Metadata {
                        // A few calls share a start time; ties go by key.
                        timestart: t0 + chrono::Duration::microseconds(((i * 7919) % n / 3) as i64),
                        timestop: t0 + chrono::Duration::seconds(1),
                        walltime: 1.0,
                        tags,
                        ..Default::default()
                    },
                };
                (crate::digest(&("mixed", i)), record)
            })
            .collect();
        cache.insert_records(&calls, &[(value, bytes)]).unwrap();
        cache
    }

    /// What a table and a few queries of `cache` give when every read uses `threads`: the
    /// table's columns and text, and each query's calls with what they know before decoding
    /// (function name, tag keys).
    fn read_with(cache: &Cache, threads: usize) -> (Vec<String>, String, Vec<Seen>, Vec<Seen>) {
        READ_THREADS.set(Some(threads));
        let table = cache.table();
        let by_name = cache.query().name("f0").calls().unwrap();
        let by_tag = cache.query().has_tag("b").calls().unwrap();
        READ_THREADS.set(None);
        let seen = |calls: &[Call]| {
            (calls.iter())
                .map(|c| {
                    (
                        c.key(),
                        c.name().to_owned(),
                        c.tag_keys().collect::<Vec<_>>().join(" "),
                    )
                })
                .collect()
        };
        (
            table.column_names(),
            table.to_csv(),
            seen(&by_name),
            seen(&by_tag),
        )
    }

    type Seen = (Digest, String, String);

    /// Reads shared among threads give what one thread's read gives: the same calls in the
    /// same order, one definition per function and tag key set (a function read by two
    /// threads is not taken for two definitions), and the table's columns.
    #[test]
    fn reads_on_several_threads_equal_one_threads() {
        for two_definitions in [true, false] {
            let cache = mixed(3000, two_definitions);
            let one = read_with(&cache, 1);
            assert_eq!(one.1.lines().count(), 3001, "a header and a line per call");
            let has = |column: &str| one.0.iter().any(|c| c == column);
            assert!(has("a") && has("b"));
            assert_eq!(has("version"), two_definitions);
            assert_eq!(one.2.len(), 600);
            assert_eq!(one.3.len(), 1500);
            for threads in [2, 3, 5] {
                // Not assert_eq: the two sides run to thousands of lines.
                assert!(
                    read_with(&cache, threads) == one,
                    "{threads} threads read otherwise"
                );
            }
        }
    }

    proptest! {
        /// The radix sort orders as a comparison sort of (time, place) does: negative times,
        /// equal times, times far apart and close together.
        #[test]
        fn by_time_sorts_as_a_comparison_sort(
            times in proptest::collection::vec(
                prop_oneof![any::<i64>(), -3i64..3, 1_800_000_000_000_000_000i64..1_800_000_000_000_100_000],
                0..300,
            ),
        ) {
            let pairs: Vec<(i64, u32)> = times.iter().enumerate().map(|(i, t)| (*t, i as u32)).collect();
            let mut expected = pairs.clone();
            expected.sort_unstable();
            prop_assert_eq!(by_time(pairs), expected);
        }
    }
}
