//! What a `#[fleche]` function does on each call: key, lookup, compute once, record.
//!
//! The macro keeps itself small and calls [`begin`] and [`Pending::finish`]; everything with
//! a decision in it lives here, as ordinary code.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::thread::ThreadId;
use std::time::Instant;

use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::active::try_cache;
use crate::cache::Cache;
use crate::codec;
use crate::digest::{self, Digest, DigestError};
use crate::error::warn_once;
pub use crate::function::{Argument, Function};
use crate::record::{CallRecord, Metadata};
use crate::store::QueuedCall;

/// A type with its own cache identity, the counterpart of Python fleche's `__digest__`.
///
/// By default an argument (and a `&self` receiver) is identified by the digest of its serde
/// structure. Implement this to choose the identity yourself, for example to leave out a
/// field that does not change the result:
///
/// ```
/// #[derive(serde::Serialize)]
/// struct Model { val: i64, #[serde(skip)] scratch: Vec<u8> }
/// impl fleche::CacheKey for Model {
///     fn cache_key(&self) -> fleche::Digest { fleche::digest(&self.val) }
/// }
/// ```
pub trait CacheKey: Serialize {
    /// The digest that identifies this value in call keys.
    fn cache_key(&self) -> Digest;
}

impl<T: CacheKey + ?Sized> CacheKey for &T {
    fn cache_key(&self) -> Digest {
        (**self).cache_key()
    }
}

/// Holds for types that can be arguments of a cached function; its only job is the error
/// message when a type cannot.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a cached function: it does not implement `serde::Serialize`",
    label = "the cache digests and stores every argument",
    note = "derive it: `#[derive(serde::Serialize)]`, or leave the argument out of the key with `#[fleche(ignore = [name])]`"
)]
pub trait StorableArgument {}
impl<T: Serialize + ?Sized> StorableArgument for T {}

/// Compile-time check that `T` can be an argument; see [`StorableArgument`].
#[doc(hidden)]
pub const fn assert_argument<T: StorableArgument + ?Sized>() {}

/// Wraps an argument for autoref-based dispatch between [`CacheKey`] and plain serde.
#[doc(hidden)]
pub struct Select<'a, T: ?Sized>(pub &'a T);
#[doc(hidden)]
pub struct ByKey<'a, T: ?Sized>(&'a T);
#[doc(hidden)]
pub struct BySerde<'a, T: ?Sized>(&'a T);

#[doc(hidden)]
pub trait PickKey<'a, T: ?Sized> {
    fn pick(&self) -> ByKey<'a, T>;
}
impl<'a, T: CacheKey + ?Sized> PickKey<'a, T> for Select<'a, T> {
    fn pick(&self) -> ByKey<'a, T> {
        ByKey(self.0)
    }
}
#[doc(hidden)]
pub trait PickSerde<'a, T: ?Sized> {
    fn pick(&self) -> BySerde<'a, T>;
}
impl<'a, T: Serialize + ?Sized> PickSerde<'a, T> for &Select<'a, T> {
    fn pick(&self) -> BySerde<'a, T> {
        BySerde(self.0)
    }
}

impl<T: CacheKey + ?Sized> Argument for ByKey<'_, T> {
    fn digest(&self) -> Result<Digest, DigestError> {
        Ok(self.0.cache_key())
    }
    fn encode(&self) -> Result<Vec<u8>, codec::CodecError> {
        codec::encode(self.0)
    }
}

impl<T: Serialize + ?Sized> Argument for BySerde<'_, T> {
    fn digest(&self) -> Result<Digest, DigestError> {
        digest::try_digest(self.0)
    }
    fn encode(&self) -> Result<Vec<u8>, codec::CodecError> {
        codec::encode(self.0)
    }
}

thread_local! {
    static RERUN: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` with every cached call inside it recomputed and overwritten (nested ones too).
pub fn rerun<R>(f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            RERUN.with(|r| r.set(r.get() - 1));
        }
    }
    RERUN.with(|r| r.set(r.get() + 1));
    let _reset = Reset;
    f()
}

/// What [`begin`] found.
pub enum Begin<R> {
    /// The stored result.
    Hit(R),
    /// Not stored: run the body, then [`Pending::finish`].
    Miss(Pending),
    /// Cannot be cached (see the logged warning): run the body and return its result.
    Uncached,
}

/// Looks a call up; on a miss, records the start and stores the arguments' encodings.
pub fn begin<R: DeserializeOwned>(
    function: &'static Function,
    args: &[(&'static str, &dyn Argument)],
) -> Begin<R> {
    let cache = match try_cache() {
        Ok(cache) => cache,
        Err(e) => {
            warn_once(&format!("running {} uncached: {e}", function.name));
            return Begin::Uncached;
        }
    };
    let (key, digests) = match function.key(args) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(function = function.name, "running uncached: {e}");
            return Begin::Uncached;
        }
    };
    let rerunning = RERUN.with(Cell::get) > 0;
    let flight = loop {
        if !rerunning && let Some(value) = lookup::<R>(&cache, function, &key) {
            return Begin::Hit(value);
        }
        match InFlight::claim(&cache, key) {
            Claim::Owner(guard) => {
                // Another thread may have stored it between our lookup and our claim.
                if !rerunning && let Some(value) = lookup::<R>(&cache, function, &key) {
                    return Begin::Hit(value);
                }
                break Some(guard);
            }
            Claim::Reentrant => break None,
            // Another thread computed it meanwhile: look again.
            Claim::Waited if !rerunning => continue,
            Claim::Waited => break None,
        }
    };
    let mut values = Vec::with_capacity(args.len());
    for ((_, arg), digest) in args.iter().zip(&digests) {
        match arg.encode() {
            Ok(bytes) => values.push((*digest, bytes)),
            Err(e) => tracing::warn!(
                function = function.name,
                "argument not stored, only its digest: {e}"
            ),
        }
    }
    Begin::Miss(Pending {
        cache,
        function,
        key,
        arguments: args
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .zip(digests)
            .collect(),
        values,
        timestart: Utc::now(),
        started: Instant::now(),
        _flight: flight,
    })
}

fn lookup<R: DeserializeOwned>(cache: &Cache, function: &Function, key: &Digest) -> Option<R> {
    match cache.store.result_of(key) {
        Ok(Some((_, bytes))) => match codec::decode::<R>(&bytes) {
            Ok(value) => Some(value),
            Err(e) => {
                tracing::warn!(
                    function = function.name,
                    "stored result no longer decodes as {} (the type changed?); recomputing: {e}",
                    std::any::type_name::<R>()
                );
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            warn_once(&format!(
                "{}: cache read failed, computing instead: {e}",
                function.name
            ));
            None
        }
    }
}

/// A call being computed: finishing it stores the result and the call record.
pub struct Pending {
    cache: Cache,
    function: &'static Function,
    key: Digest,
    arguments: Vec<(String, Digest)>,
    values: Vec<(Digest, Vec<u8>)>,
    timestart: chrono::DateTime<Utc>,
    started: Instant,
    _flight: Option<FlightGuard>,
}

impl Pending {
    /// Records the result (unless `store` is false, as for an `Err`) and returns it.
    /// A failure to store is logged; the result is returned regardless.
    pub fn finish<R: Serialize>(self, result: R, store: bool) -> R {
        let walltime = self.started.elapsed().as_secs_f64();
        let timestop = Utc::now();
        if !store {
            tracing::debug!(function = self.function.name, "result not cached (an Err)");
            return result;
        }
        let name = self.function.name;
        if let Err(e) = self.store(&result, timestop, walltime) {
            tracing::warn!(function = name, "result returned but not cached: {e}");
        }
        result
    }

    fn store<R: Serialize>(
        self,
        result: &R,
        timestop: chrono::DateTime<Utc>,
        walltime: f64,
    ) -> crate::Result<()> {
        let result_digest =
            digest::try_digest(result).map_err(|e| codec::CodecError::Encode(e.to_string()))?;
        let result_bytes = codec::encode(result)?;
        let record = CallRecord {
            name: self.function.name.to_owned(),
            module: self.function.module().to_owned(),
            version: self.function.version.map(str::to_owned),
            code: self.function.code_digest(),
            arguments: self.arguments,
            result: result_digest,
            result_type: std::any::type_name::<R>().to_owned(),
            result_size: result_bytes.len() as u64,
            metadata: Metadata {
                timestart: self.timestart,
                timestop,
                walltime,
                tags: crate::tags::current(),
                environment: crate::collect::environment(),
                git: crate::collect::git(),
            },
        };
        let encoded_record = record.encode()?;
        let mut values = Vec::with_capacity(self.values.len() + 1);
        values.push((result_digest, result_bytes));
        values.extend(self.values);
        self.cache.store.put_call(QueuedCall {
            key: self.key,
            record,
            encoded_record,
            values,
        })
    }
}

/// Keys being computed in this process, so that two threads missing on one key compute once.
struct InFlight {
    owner: ThreadId,
    done: Mutex<bool>,
    cv: Condvar,
}

type FlightKey = (usize, Digest);
static FLIGHTS: LazyLock<Mutex<HashMap<FlightKey, Arc<InFlight>>>> =
    LazyLock::new(Default::default);

enum Claim {
    Owner(FlightGuard),
    Reentrant,
    Waited,
}

/// Releases a claimed key when the computation ends, by return or by panic.
pub struct FlightGuard {
    key: FlightKey,
    flight: Arc<InFlight>,
}

impl InFlight {
    fn claim(cache: &Cache, key: Digest) -> Claim {
        let flight_key = (cache.store.id(), key);
        let me = std::thread::current().id();
        let mut flights = FLIGHTS.lock().unwrap_or_else(|e| e.into_inner());
        match flights.get(&flight_key).cloned() {
            Some(f) if f.owner == me => Claim::Reentrant,
            Some(f) => {
                drop(flights);
                let mut done = f.done.lock().unwrap_or_else(|e| e.into_inner());
                while !*done {
                    done = f.cv.wait(done).unwrap_or_else(|e| e.into_inner());
                }
                Claim::Waited
            }
            None => {
                let flight = Arc::new(InFlight {
                    owner: me,
                    done: Mutex::new(false),
                    cv: Condvar::new(),
                });
                flights.insert(flight_key, flight.clone());
                Claim::Owner(FlightGuard {
                    key: flight_key,
                    flight,
                })
            }
        }
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        FLIGHTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
        *self.flight.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.flight.cv.notify_all();
    }
}

/// Resolves an argument passed as a value or as a [`D`](crate::D) digest prefix.
///
/// # Panics
///
/// If the prefix names no stored value, or several, or the value has another type: passing
/// `D(...)` asks for a specific stored value, and a cached function has no error channel.
pub fn resolve_arg<T: DeserializeOwned>(arg: crate::Arg<T>, function: &str, param: &str) -> T {
    match arg.resolve() {
        Ok(v) => v,
        Err(e) => panic!("{function}: cannot use the digest passed for `{param}`: {e}"),
    }
}

/// The module path of the parent of `path` (the helper module's `module_path!()`).
pub const fn parent_module(path: &'static str) -> &'static str {
    let bytes = path.as_bytes();
    let mut i = bytes.len();
    while i >= 2 {
        if bytes[i - 1] == b':' && bytes[i - 2] == b':' {
            return path.split_at(i - 2).0;
        }
        i -= 1;
    }
    path
}

/// What identifies one call of a cached function: its call key and the parts it is made of.
///
/// The `call` helper that `#[fleche]` generates returns it without running the function
/// (`square::call(12)` for a free function, `value.method_call(..)` for a `&self` method).
///
/// ```
/// use fleche::fleche;
///
/// #[fleche(version = 2)]
/// fn square(x: i64) -> i64 {
///     x * x
/// }
///
/// fn main() {
///     let parts: fleche::CallParts = square::call(12);
///     assert_eq!(parts.key, square::digest(12));
///     assert_eq!((parts.name, parts.version), ("square", Some("2")));
///     assert_eq!(parts.arguments, vec![("x", fleche::digest(&12i64))]);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallParts {
    /// The call key.
    pub key: Digest,
    /// Function name.
    pub name: &'static str,
    /// Module (as recorded).
    pub module: &'static str,
    /// `version`, if given.
    pub version: Option<&'static str>,
    /// Digest of the function's tokens, when `hash_code` is on.
    pub code: Option<Digest>,
    /// Argument names and digests, in parameter order.
    pub arguments: Vec<(&'static str, Digest)>,
}

/// The call key for `args`, for the `digest` helper.
///
/// # Panics
///
/// If an argument's `Serialize` implementation fails.
pub fn helper_key(function: &'static Function, args: &[(&'static str, &dyn Argument)]) -> Digest {
    helper_call(function, args).key
}

/// The key parts for `args`, for the `call` helper.
///
/// # Panics
///
/// If an argument's `Serialize` implementation fails.
pub fn helper_call(
    function: &'static Function,
    args: &[(&'static str, &dyn Argument)],
) -> CallParts {
    let (key, digests) = function
        .key(args)
        .unwrap_or_else(|e| panic!("{}: cannot compute the call key: {e}", function.name));
    CallParts {
        key,
        name: function.name,
        module: function.module(),
        version: function.version,
        code: function.code_digest(),
        arguments: args.iter().map(|(n, _)| *n).zip(digests).collect(),
    }
}

/// Whether the active cache holds a result for `args`, for the `contains` helper.
pub fn helper_contains(
    function: &'static Function,
    args: &[(&'static str, &dyn Argument)],
) -> bool {
    let Ok(cache) = try_cache() else { return false };
    let Ok((key, _)) = function.key(args) else {
        return false;
    };
    cache.contains(&key).unwrap_or(false)
}

/// The stored result for `args`, for the `load` helper.
pub fn helper_load<R: DeserializeOwned>(
    function: &'static Function,
    args: &[(&'static str, &dyn Argument)],
) -> Option<R> {
    let cache = try_cache().ok()?;
    let (key, _) = function.key(args).ok()?;
    lookup(&cache, function, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_module_drops_the_last_segment() {
        assert_eq!(parent_module("a::b::c"), "a::b");
        assert_eq!(parent_module("crate_root"), "crate_root");
    }
}
