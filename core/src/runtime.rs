//! What a `#[fleche]` function does on each call: key, lookup, compute once, record.
//!
//! The macro keeps itself small and calls [`begin`] and [`Pending::finish`]; everything with
//! a decision in it lives here, as ordinary code.

use std::cell::Cell;
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
use crate::error::{unpanicked, warn_once};
pub use crate::function::{Argument, Function};
use crate::lease::{self, Acquired, Lease};
use crate::meta::Running;
use crate::record::{CallRecord, Metadata};
use crate::store::{HitBytes, QueuedCall};
use crate::stored::{Encode, ValueCodec, encode_whole};

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

/// Wraps an argument for autoref-based dispatch: `(&&&Select(&x)).pick()` is [`CacheKey`]
/// when `x` has it, else the byte-slice fast path for `Vec<u8>` and the like, else serde,
/// else (for a type whose compile-time check already failed) a placeholder, so that the
/// check's error is the only one. Method lookup tries `&&Select` (key), `&&&Select` (bytes),
/// `&Select` (serde), then `Select`.
#[doc(hidden)]
pub struct Select<'a, T: ?Sized>(pub &'a T);
#[doc(hidden)]
pub struct ByKey<'a, T: ?Sized>(&'a T);
#[doc(hidden)]
pub struct ByBytes<'a, T: ?Sized>(&'a T);
#[doc(hidden)]
pub struct BySerde<'a, T: ?Sized>(&'a T);

#[doc(hidden)]
pub trait PickKey<'a, T: ?Sized> {
    fn pick(&self) -> ByKey<'a, T>;
}
impl<'a, T: CacheKey + ?Sized> PickKey<'a, T> for &&Select<'a, T> {
    fn pick(&self) -> ByKey<'a, T> {
        ByKey(self.0)
    }
}
#[doc(hidden)]
pub trait PickBytes<'a, T: ?Sized> {
    fn pick(&self) -> ByBytes<'a, T>;
}
impl<'a, T: ByteSlice + Serialize + ?Sized> PickBytes<'a, T> for &&&Select<'a, T> {
    fn pick(&self) -> ByBytes<'a, T> {
        ByBytes(self.0)
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

/// Types whose serde form is a sequence of bytes, digested from the slice at BLAKE3 speed
/// rather than one `serialize_u8` at a time; the digest is the same either way, as the
/// digest's canonical form hashes every run of byte-sized integers whole (a test checks).
#[doc(hidden)]
pub trait ByteSlice {
    fn byte_slice(&self) -> &[u8];
}
impl ByteSlice for [u8] {
    fn byte_slice(&self) -> &[u8] {
        self
    }
}
impl ByteSlice for Vec<u8> {
    fn byte_slice(&self) -> &[u8] {
        self
    }
}
impl ByteSlice for Box<[u8]> {
    fn byte_slice(&self) -> &[u8] {
        self
    }
}
impl<const N: usize> ByteSlice for [u8; N] {
    fn byte_slice(&self) -> &[u8] {
        self
    }
}
impl<T: ByteSlice + ?Sized> ByteSlice for &T {
    fn byte_slice(&self) -> &[u8] {
        (**self).byte_slice()
    }
}
#[doc(hidden)]
pub trait PickUnstorable {
    fn pick(&self) -> Unstorable;
}
impl<T: ?Sized> PickUnstorable for Select<'_, T> {
    fn pick(&self) -> Unstorable {
        Unstorable
    }
}
/// The argument of a type without serde; never run, as its compile-time check fails.
#[doc(hidden)]
pub struct Unstorable;

impl<T: CacheKey + ?Sized> Argument for ByKey<'_, T> {
    fn digest(&self) -> Result<Digest, DigestError> {
        Ok(self.0.cache_key())
    }
    fn encode(&self) -> Result<Vec<u8>, codec::CodecError> {
        codec::encode(self.0)
    }
    /// Stored apart from its key: under the key digest it would take the place of an
    /// unrelated value that has that digest (`MyClass` keyed by `digest(&self.val)` and the
    /// plain integer `self.val`).
    fn value_digest(&self, _key: Digest) -> Result<Digest, DigestError> {
        digest::try_digest(self.0)
    }
}

impl Argument for Unstorable {
    fn digest(&self) -> Result<Digest, DigestError> {
        unreachable!("fleche checks at compile time that arguments implement serde")
    }
    fn encode(&self) -> Result<Vec<u8>, codec::CodecError> {
        unreachable!("fleche checks at compile time that arguments implement serde")
    }
}

impl<T: ByteSlice + Serialize + ?Sized> Argument for ByBytes<'_, T> {
    fn digest(&self) -> Result<Digest, DigestError> {
        digest::try_digest(&AsBytes(self.0.byte_slice()))
    }
    fn encode(&self) -> Result<Vec<u8>, codec::CodecError> {
        codec::encode(self.0)
    }
}

/// A byte slice serialized as one byte string (`serialize_bytes`).
struct AsBytes<'a>(&'a [u8]);

impl Serialize for AsBytes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
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
    /// Misses this thread is computing (claims it owns): 1 in the outermost one.
    static COMPUTING: Cell<u32> = const { Cell::new(0) };
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
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per call and matched at once; boxing would allocate on every miss"
)]
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
    begin_decoding(function, args, codec::decode::<R>)
}

/// [`begin`] for a result stored with `codec` (the macro's pick, see [`Stored`](crate::stored::Stored)).
pub fn begin_with<R>(
    function: &'static Function,
    args: &[(&'static str, &dyn Argument)],
    codec: &ValueCodec<R>,
) -> Begin<R> {
    begin_decoding(function, args, codec.decode)
}

fn begin_decoding<R>(
    function: &'static Function,
    args: &[(&'static str, &dyn Argument)],
    decode: fn(&[u8]) -> Result<R, codec::CodecError>,
) -> Begin<R> {
    let cache = match try_cache() {
        Ok(cache) => cache,
        Err(e) => {
            warn_once(&format!("running {} uncached: {e}", function.name));
            return Begin::Uncached;
        }
    };
    if cache.is_off() {
        return Begin::Uncached;
    }
    let (key, digests) = match unpanicked(|| function.call_key(args)) {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => {
            tracing::warn!(function = function.name, "running uncached: {e}");
            return Begin::Uncached;
        }
        Err(panic) => {
            tracing::warn!(
                function = function.name,
                "running uncached: an argument's `Serialize` panicked while it was digested: {panic}"
            );
            return Begin::Uncached;
        }
    };
    let rerunning = RERUN.with(Cell::get) > 0;
    let flight = loop {
        if !rerunning && let Some(value) = lookup(&cache, function, &key, decode) {
            return Begin::Hit(value);
        }
        match InFlight::claim(&cache, key) {
            Claim::Owner(guard) => {
                // Another thread may have stored it between our lookup and our claim.
                if !rerunning && let Some(value) = lookup(&cache, function, &key, decode) {
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
    // One thread per process gets here for a key; other processes may want it too.
    let lease = if rerunning || flight.is_none() {
        None
    } else {
        match lease::acquire(&cache, function, &key, || {
            lookup(&cache, function, &key, decode)
        }) {
            Acquired::Hit(value) => return Begin::Hit(value),
            Acquired::Compute(lease) => lease,
        }
    };
    let mut values = Vec::with_capacity(args.len());
    let mut stored_as = Vec::with_capacity(args.len());
    for ((_, arg), digest) in args.iter().zip(digests.iter()) {
        // The value digest (of a `CacheKey` argument) and the encoding both serialize it, so
        // both are guarded against a panicking `Serialize`.
        let stored = match unpanicked(|| arg.value_digest(*digest).map(|d| (d, arg.encode()))) {
            Ok(Ok((d, Ok(bytes)))) => Ok((d, bytes)),
            Ok(Ok((_, Err(e)))) => Err(e.to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(panic) => Err(format!("its `Serialize` panicked: {panic}")),
        };
        match stored {
            Ok((d, bytes)) => {
                values.push((d, bytes));
                stored_as.push(d);
            }
            Err(e) => {
                tracing::warn!(
                    function = function.name,
                    "argument not stored, only its digest: {e}"
                );
                stored_as.push(*digest);
            }
        }
    }
    Begin::Miss(Pending {
        cache,
        function,
        key,
        argument_keys: args
            .iter()
            .zip(digests.iter().zip(&stored_as))
            .filter(|(_, (key, stored))| key != stored)
            .map(|((n, _), (key, _))| ((*n).to_owned(), *key))
            .collect(),
        arguments: args
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .zip(stored_as)
            .collect(),
        values,
        // Before the clocks start, so that the collectors' own work is not the call's.
        collecting: Running::start(function.name, function.collectors()),
        timestart: Utc::now(),
        started: Instant::now(),
        lease,
        _flight: flight,
    })
}

fn lookup<R>(
    cache: &Cache,
    function: &Function,
    key: &Digest,
    decode: fn(&[u8]) -> Result<R, codec::CodecError>,
) -> Option<R> {
    let found = match &cache.layers {
        None => cache.store.result_of(key).inspect(|hit| {
            if hit.is_some() {
                cache.store.note_use(key);
            }
        }),
        Some(layers) => Ok(cache
            .stacked_result_of(layers, key)
            .map(|(digest, bytes)| (digest, HitBytes::Read(bytes)))),
    };
    match found {
        Ok(Some((_, bytes))) => match decode(&bytes) {
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
        Err(e @ (crate::Error::DamagedValue { .. } | crate::Error::DamagedRecord { .. })) => {
            tracing::warn!(
                function = function.name,
                key = %key,
                "{}({key}): the stored result is damaged; computing it again: {e}",
                function.name
            );
            None
        }
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
    argument_keys: Vec<(String, Digest)>,
    values: Vec<(Digest, Vec<u8>)>,
    collecting: Running,
    timestart: chrono::DateTime<Utc>,
    started: Instant,
    /// This process's claim on the key among processes sharing the file.
    lease: Option<Lease>,
    _flight: Option<FlightGuard>,
}

impl Pending {
    /// Records the result (unless `store` is false, as for an `Err`) and returns it.
    /// A failure to store is logged; the result is returned regardless.
    pub fn finish<R: Serialize>(self, result: R, store: bool) -> R {
        if !store {
            tracing::debug!(function = self.function.name, "result not cached (an Err)");
            return result;
        }
        self.store_with(result, encode_whole::<R>, std::any::type_name::<R>())
    }

    /// Records `result` with `codec` and returns it; `R` is the function's return type, as
    /// the record names it. A failure to store is logged; the result is returned regardless.
    pub fn finish_with<R>(self, result: R, codec: &ValueCodec<R>) -> R {
        self.store_with(result, codec.encode, std::any::type_name::<R>())
    }

    /// For a function returning `Result` without `cache_errors`: records an `Ok` value (as
    /// the `Result` it came in), returns an `Err` without storing it.
    pub fn finish_ok<T, E>(self, result: Result<T, E>, codec: &ValueCodec<T>) -> Result<T, E> {
        match result {
            Ok(value) => {
                Ok(self.store_with(value, codec.encode, std::any::type_name::<Result<T, E>>()))
            }
            Err(e) => {
                tracing::debug!(function = self.function.name, "result not cached (an Err)");
                Err(e)
            }
        }
    }

    fn store_with<R>(mut self, result: R, encode: Encode<R>, result_type: &str) -> R {
        let took = self.started.elapsed();
        lease::body_took(self.function, took);
        let walltime = took.as_secs_f64();
        let timestop = Utc::now();
        let name = self.function.name;
        let mut metadata = Metadata {
            timestart: self.timestart,
            timestop,
            walltime,
            tags: crate::tags::current(),
            ..Metadata::default()
        };
        std::mem::replace(&mut self.collecting, Running::none()).finish(name, &mut metadata);
        match unpanicked(|| encode(&result)) {
            Ok(Ok(encoded)) => {
                if let Err(e) = self.store(encoded, result_type, metadata) {
                    tracing::warn!(function = name, "result returned but not cached: {e}");
                }
            }
            Ok(Err(e)) => tracing::warn!(function = name, "result returned but not cached: {e}"),
            Err(panic) => tracing::warn!(
                function = name,
                "result returned but not cached: its `Serialize` panicked: {panic}"
            ),
        }
        result
    }

    fn store(
        mut self,
        (result_digest, result_bytes): (Digest, Vec<u8>),
        result_type: &str,
        metadata: Metadata,
    ) -> crate::Result<()> {
        let record = CallRecord {
            name: self.function.name.to_owned(),
            module: self.function.module().to_owned(),
            version: self.function.version.map(str::to_owned),
            code: self.function.code_digest(),
            arguments: self.arguments,
            argument_keys: self.argument_keys,
            result: result_digest,
            result_type: result_type.to_owned(),
            result_size: result_bytes.len() as u64,
            metadata,
        };
        let encoded_record = record.encode()?;
        let mut values = Vec::with_capacity(self.values.len() + 1);
        values.push((result_digest, result_bytes));
        values.extend(self.values);
        self.cache.put_call(QueuedCall {
            key: self.key,
            record,
            encoded_record,
            values,
            pushed: false,
        })?;
        if let Some(lease) = &mut self.lease {
            lease.stored();
        }
        if COMPUTING.with(Cell::get) <= 1 {
            self.cache.store.settle();
        }
        Ok(())
    }
}

/// Keys being computed in this process, so that two threads missing on one key compute once.
struct InFlight {
    owner: ThreadId,
    done: Mutex<bool>,
    cv: Condvar,
}

type FlightKey = (usize, Digest);
// foldhash, not the default SipHash: a miss hashes its key three times here.
static FLIGHTS: LazyLock<Mutex<foldhash::HashMap<FlightKey, Arc<InFlight>>>> =
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
                COMPUTING.with(|c| c.set(c.get() + 1));
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
        let _ = COMPUTING.try_with(|c| c.set(c.get().saturating_sub(1)));
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
pub fn resolve_arg<T>(
    arg: crate::Arg<T>,
    decode: fn(&[u8]) -> Result<T, codec::CodecError>,
    function: &str,
    param: &str,
) -> T {
    match arg.resolve_with(decode) {
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
    let Ok(Ok((key, _))) = unpanicked(|| function.key(args)) else {
        return false;
    };
    cache.contains(&key).unwrap_or(false)
}

/// The stored result for `args`, read with `codec`, for the `load` helper.
pub fn helper_load<R>(
    function: &'static Function,
    args: &[(&'static str, &dyn Argument)],
    codec: &ValueCodec<R>,
) -> Option<R> {
    let cache = try_cache().ok()?;
    let (key, _) = unpanicked(|| function.key(args)).ok()?.ok()?;
    lookup(&cache, function, &key, codec.decode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_module_drops_the_last_segment() {
        assert_eq!(parent_module("a::b::c"), "a::b");
        assert_eq!(parent_module("crate_root"), "crate_root");
    }

    #[test]
    fn byte_slices_digest_as_their_serde_form_does() {
        fn both<T: ByteSlice + Serialize + ?Sized>(value: &T) -> (Digest, Digest) {
            let fast = ByBytes(value).digest().unwrap();
            let serde = BySerde(value).digest().unwrap();
            (fast, serde)
        }
        // Around the run buffer and the BLAKE3 chunk sizes, and a few megabytes.
        for len in [
            0,
            1,
            2,
            63,
            64,
            65,
            1023,
            1024,
            1025,
            4095,
            4096,
            4097,
            65_537,
            3 << 20,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let (fast, serde) = both(&bytes);
            assert_eq!(fast, serde, "Vec<u8> of {len}");
            assert_eq!(both(bytes.as_slice()), (serde, serde), "[u8] of {len}");
            let boxed: Box<[u8]> = bytes.clone().into_boxed_slice();
            assert_eq!(both(&boxed), (serde, serde), "Box<[u8]> of {len}");
            assert_eq!(both(&&bytes), (serde, serde), "&Vec<u8> of {len}");
        }
        let (fast, serde) = both(&[1u8, 2, 3]);
        assert_eq!(fast, serde, "[u8; 3]");
        let (fast, serde) = both(&[0u8; 0]);
        assert_eq!(fast, serde, "[u8; 0]");
    }

    #[test]
    fn the_macro_picks_the_byte_path_for_byte_vectors_only() {
        #[allow(unused_imports)]
        use super::{PickBytes as _, PickKey as _, PickSerde as _};
        let bytes: Vec<u8> = vec![1, 2, 3];
        let picked: ByBytes<'_, Vec<u8>> = (&&&Select(&bytes)).pick();
        assert_eq!(picked.digest().unwrap(), digest::digest(&bytes));
        let words: Vec<u16> = vec![1, 2, 3];
        #[allow(clippy::needless_borrow, reason = "every `&` counts for the dispatch")]
        let picked: BySerde<'_, Vec<u16>> = (&&&Select(&words)).pick();
        assert_eq!(picked.digest().unwrap(), digest::digest(&words));
    }
}
