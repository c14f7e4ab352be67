//! fleche: persistent memoization with queryable call records.
//!
//! Put `#[fleche]` on a function and a call with the same arguments returns the stored
//! result, across runs and processes. Every call is recorded (arguments, result, times,
//! tags) and can be loaded back lazily.
//!
//! ```
//! use fleche::fleche;
//!
//! #[fleche]
//! fn square(x: i64) -> i64 {
//!     x * x
//! }
//!
//! fn main() -> fleche::Result<()> {
//!     let cache = fleche::Cache::memory();
//!     let _active = cache.activate();
//!     assert_eq!(square(12), 144); // computed
//!     assert_eq!(square(12), 144); // from the cache
//!     assert!(square::contains(12));
//!     let call = cache.load(square::digest(12))?;
//!     assert_eq!(call.argument::<i64>("x")?, 12);
//!     assert_eq!(call.result::<i64>()?, 144);
//!     Ok(())
//! }
//! ```
//!
//! # Finding past calls
//!
//! [`Cache::query`] asks across the whole cache (by function name, module, argument value,
//! tag, result, start time, metadata); every `#[fleche]` function also gets a typed query,
//! `square::query()` for a free function and `Type::method_query()` /
//! `Type::method_query_with(&receiver, args..)` for a method. A free function's query has
//! setters typed by its parameters: `with(..)` fixes every argument and `arg_<name>(..)` one
//! of them (a wrong type does not compile; these names never clash with [`Query`]'s own
//! methods, so a parameter may be called `metadata` or `take`). Queries yield lazy [`Call`]s,
//! read only their records, and use the store's indexes for names, modules, tags, arguments,
//! results and time ranges (see [`Query`]). [`Query::table`] and [`Cache::table`] show calls as
//! a [`Table`]: text, Markdown, CSV, HTML, a notebook display, or (feature `polars`) a polars
//! `DataFrame`.
//!
//! ```
//! use fleche::{fleche, tags};
//!
//! #[fleche]
//! fn relax(temperature: i64, steps: u32) -> f64 {
//!     temperature as f64 / steps as f64
//! }
//!
//! # fn main() -> fleche::Result<()> {
//! let cache = fleche::Cache::memory();
//! let _active = cache.activate();
//! {
//!     let _t = tags!(project = "alloys");
//!     relax(300, 10);
//!     relax(300, 20);
//! }
//! relax(400, 10);
//!
//! assert_eq!(relax::query().arg_temperature(300).count()?, 2);
//! assert_eq!(cache.query().tag("project", "alloys").count()?, 2);
//! assert_eq!(relax::query().with(400, 10).only()?.result::<f64>()?, 40.0);
//! let table = relax::query().table().arguments(["temperature"]).results();
//! println!("{table}");
//! # Ok(())
//! # }
//! ```
//!
//! # Metadata
//!
//! Each record holds its times, its tags ([`tags!`], values kept with their types) and a
//! namespace per metadata collector that ran on its miss: the built-in `resources` (CPU time
//! and peak memory growth, on by default), `environment` and `git` (on in `fleche.toml` or
//! with [`meta!`]), and your own [`meta::Collector`]s, attached to a function
//! (`#[fleche(meta = [..])]`) or to a scope ([`meta!`]). Queries, tables and `fleche-tui`
//! read every namespace alike; see [`meta`](mod@meta).
//!
//! # Which cache, in which thread
//!
//! Calls use the *active cache*: the innermost [`Cache::activate`] on the calling thread, else
//! the latest [`Cache::activate_globally`] (for every thread of the process), else the default
//! cache from `fleche.toml` / `FLECHE_CACHE`. `activate` is per thread, so calls in spawned
//! threads and in rayon's pool do not see it; use `activate_globally` to reach them.
//!
//! # Results and errors
//!
//! Arguments need `serde::Serialize` (and `Deserialize` to be passed as `D("digest")`);
//! results need `Serialize` and `Deserialize`. Of a `Result`, only the `Ok` value is stored
//! and an `Err` is returned each time, so the error type needs nothing (`std::io::Error`,
//! `anyhow::Error` work); `#[fleche(cache_errors = true)]` stores errors too and then needs
//! serde on the error type. A failure to store (including a `Serialize` that panics) never
//! loses the result: it is returned and the failure is logged.
//!
//! Cached functions must be items of a module (at the top of a file, a notebook cell, or in
//! an `impl` block), not functions nested in another function's body: their helpers live in
//! a module of the same name (`square::digest`, `square::contains`, `square::load`,
//! `square::call`, `square::rerun`), and a module cannot see items inside a function body.

mod active;
pub mod arg;
mod batch;
mod browse;
pub mod cache;
pub mod call;
mod cell;
pub mod codec;
pub mod config;
pub mod digest;
pub mod display;
pub mod error;
mod exit;
mod function;
pub mod layer;
mod lease;
pub mod meta;
mod notebook;
#[cfg(feature = "postgres")]
mod postgres;
mod process;
pub mod query;
pub mod record;
mod runtime;
mod stack;
mod store;
mod stored;
pub mod table;
#[cfg(feature = "polars")]
mod table_polars;
pub mod tags;

pub use active::{ActiveCache, GlobalActiveCache, cache, try_cache};
pub use arg::Arg;
pub use browse::RecordRef;
pub use cache::{Cache, CallKey};
pub use call::{Call, FetchedCall};
pub use digest::{D, Digest, DigestError, ParseDigestError, digest, try_digest};
pub use error::{Error, Result};
/// Caches a block: `let t: u64 = fleche::cell!(n, &rows => { ... });`.
///
/// The key is the digest of the block's tokens and of the values listed before `=>`, so
/// editing the block or changing a listed value recomputes; anything else is a hit, in this
/// process or a later one. The block is recorded as a call named `cell` (or
/// `name = "..."`) with the listed values as its arguments, so tags, queries and tables see it.
///
/// - `n` moves (or copies) the value into the block; `&rows` lends it, and inside the block
///   `rows` is a reference.
/// - The block may read only what it lists: reading another variable is a compile error
///   (the block becomes a `fn`, which cannot capture), because its value would not be in the
///   key. Functions, constants and statics are not listed (and not in the key: give
///   `version = 2` to invalidate after changing one).
/// - The result type needs `Serialize` and `Deserialize`; a `Result::Err` is returned, not
///   stored. `return` inside the block returns its value.
///
/// ```
/// let cache = fleche::Cache::memory();
/// let _active = cache.activate();
/// let rows: Vec<u64> = (1..=4).collect();
/// let scale = 10u64;
/// let total: u64 = fleche::cell!(scale, &rows => { rows.iter().map(|r| r * scale).sum() });
/// assert_eq!(total, 100);
/// // Same tokens, same values: from the cache.
/// let again: u64 = fleche::cell!(scale, &rows => { rows.iter().map(|r| r * scale).sum() });
/// assert_eq!(again, 100);
/// assert_eq!(cache.len()?, 1);
/// # Ok::<(), fleche::Error>(())
/// ```
pub use fleche_macros::cell;
pub use fleche_macros::fleche;
pub use meta::{TagValue, Value};
pub use query::{Field, Query};
pub use record::{CallRecord, Metadata};
pub use runtime::{CacheKey, CallParts, rerun};
pub use stack::Stack;
pub use store::{Location, PagedRecord, TimeKey, UnreadableRecord, ValueHead};
pub use table::{Row, Table};

/// Items the `#[fleche]` macro expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::__typed_query as typed_query;
    pub use crate::cell::{list_every_variable_the_block_reads, run_cell};
    /// For records made by hand (benches, tests): see `digest::clustered_key`.
    pub use crate::digest::clustered_key;
    pub use crate::query::typed::{function_query, typed_argument};
    pub use crate::runtime::{
        Argument, Begin, ByBytes, ByKey, BySerde, Function, Pending, PickBytes, PickKey, PickSerde,
        PickUnstorable, Select, Unstorable, begin, begin_with, helper_call, helper_contains,
        helper_key, helper_load, parent_module, resolve_arg,
    };
    pub use crate::stored::{
        Outcome, PickCodec, PickDecoder, PickOkCodec, PickUncheckedCodec, PickUncheckedDecoder,
        PickUncheckedOkCodec, StorableArgument, StorableError, StorableResult, Stored, ValueCodec,
        assert_argument, assert_argument_value, assert_error, assert_result,
    };
    pub use chrono::{DateTime, Utc};
    pub use serde;
}
