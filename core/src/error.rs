//! The errors fleche reports: one variant per thing a caller can act on; and the notices it
//! shows outside a returned error (caching is off, where the default cache is), which go
//! through `notice`, the one place where library code prints.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use crate::codec::CodecError;

/// What went wrong in a cache operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file exists but is not a fleche cache (not redb, or redb without fleche's tables).
    #[error(
        "{path} is not a fleche cache: {detail}. Point fleche at a cache file, or move this file away."
    )]
    NotACache {
        /// The file.
        path: PathBuf,
        /// What redb reported.
        detail: String,
    },
    /// Another process holds the cache in a mode that excludes this one.
    #[error(
        "cache {path} is locked by another process that opened it in a different mode (an older fleche or redb, or a program that opened it exclusively). Close that process, or use a fleche built with the same redb version."
    )]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The operation needs the cache to itself (compaction) and something else is using it.
    #[error("cannot compact cache {path} now: {detail}")]
    InUse {
        /// The file.
        path: PathBuf,
        /// Who is using it, as far as is known.
        detail: String,
    },
    /// The cache was left mid-commit by a crashed writer and a read-only open cannot repair it.
    #[error(
        "cache {path} needs repair after a crash; open it once for writing (any fleche program or `fleche-tui --write`) to repair it"
    )]
    NeedsRepair {
        /// The file.
        path: PathBuf,
    },
    /// The cache file is damaged.
    #[error(
        "cache {path} is damaged: {detail}. Move it away and let fleche create a new one; the damaged file is left untouched."
    )]
    Corrupted {
        /// The file, or `<memory>`.
        path: PathBuf,
        /// What was found.
        detail: String,
    },
    /// A stored value's bytes no longer match the checksum stored with them (a bit flip on
    /// disk or in memory): the value cannot be trusted.
    #[error(
        "the value {digest} in cache {path} is damaged: its bytes no longer match the checksum stored with them. A cached call that needs it runs again and stores it anew; to repair it now, run the call again under `fleche::rerun`, or evict the calls that use it"
    )]
    DamagedValue {
        /// The file, or `<memory>`.
        path: PathBuf,
        /// The digest it is stored under.
        digest: crate::Digest,
    },
    /// A stored call record no longer matches the checksum stored with it.
    #[error(
        "the call record {key} in cache {path} is damaged: its bytes no longer match the checksum stored with them. Queries skip it; run the call again to store it anew, or evict it"
    )]
    DamagedRecord {
        /// The file, or `<memory>`.
        path: PathBuf,
        /// The call key.
        key: crate::Digest,
    },
    /// The file is a fleche cache of another format version than this fleche reads.
    #[error(
        "cache {path} has format version {found}, and this fleche ({crate_version}) reads format version {expected}. {advice}"
    )]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// The file's format version.
        found: u64,
        /// The version this fleche reads.
        expected: u64,
        /// This fleche's release.
        crate_version: &'static str,
        /// What to do about it.
        advice: &'static str,
    },
    /// Reading or writing the cache file failed.
    #[error("cannot use cache {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Any other storage failure.
    #[error("cache {path}: storage error: {detail}")]
    Storage {
        /// The file, or `<memory>`.
        path: PathBuf,
        /// What redb reported.
        detail: String,
    },
    /// Results were returned to their callers but their records could not be stored (a full
    /// disk, an I/O error): reported by [`Cache::flush`](crate::Cache::flush).
    #[error("{count} returned results were not stored in cache {path}: {detail}")]
    NotStored {
        /// The file.
        path: PathBuf,
        /// How many call records were lost since the last report.
        count: u64,
        /// Why the last of them failed.
        detail: String,
    },
    /// The cache file was closed (when the process exits) while a handle to it was still in use.
    #[error("cache {path} is closed: the process is exiting")]
    Closed {
        /// The file.
        path: PathBuf,
    },
    /// The cache was opened read-only.
    #[error("cache {path} is open read-only; open it for writing to change it")]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// A layer of a cache stack that is not a cache file (a shared database) failed.
    #[error("cache layer {layer}: {detail}")]
    Layer {
        /// The layer, as it describes itself (a name and where it is).
        layer: String,
        /// What went wrong, and what to do about it.
        detail: String,
    },
    /// A shared cache (a PostgreSQL layer) cannot be reached. It said so once when the outage
    /// began; until it answers again, every use fails at once with this error, which the
    /// stack skips silently (calls compute, results wait in the outbox).
    #[error("cache layer {layer} is unreachable ({detail}); it is tried again shortly")]
    Unreachable {
        /// The layer, as it describes itself.
        layer: String,
        /// Why, as the last attempt found.
        detail: String,
    },
    /// A cache stack that cannot be built as asked.
    #[error("cannot build the cache stack: {detail}")]
    Stack {
        /// What is wrong and how to fix it.
        detail: String,
    },
    /// A digest prefix shorter than 4 characters.
    #[error("digest prefix `{prefix}` is too short: give at least 4 hex characters")]
    PrefixTooShort {
        /// The prefix given.
        prefix: String,
    },
    /// Text that is not hex.
    #[error("`{text}` is not a digest or digest prefix: use hex characters 0-9 and a-f")]
    NotHex {
        /// The text given.
        text: String,
    },
    /// No stored call or value has a digest with this prefix.
    #[error("no call or value in the cache has a digest starting with `{prefix}`")]
    UnknownDigest {
        /// The prefix given.
        prefix: String,
    },
    /// Several stored digests start with this prefix.
    #[error(
        "digest prefix `{prefix}` is ambiguous: it matches {matches} or more stored digests; give at least {needed} characters"
    )]
    AmbiguousDigest {
        /// The prefix given.
        prefix: String,
        /// How many matches were seen (at least 2).
        matches: usize,
        /// How many characters make the smallest matches distinct.
        needed: usize,
    },
    /// A value could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A stored value does not decode into the requested type.
    #[error(
        "{call}: stored {field} does not decode as `{requested}` (it was stored from `{stored}`): {detail}"
    )]
    WrongType {
        /// The call, as `name(key)`.
        call: String,
        /// `result` or `argument x`.
        field: String,
        /// The type asked for.
        requested: &'static str,
        /// The type it was stored from, when known.
        stored: String,
        /// What the decoder said.
        detail: String,
    },
    /// A call record refers to a value that is not in the cache.
    #[error("{call}: {field} was not stored (digest {digest})")]
    MissingValue {
        /// The call, as `name(key)`.
        call: String,
        /// `result` or `argument x`.
        field: String,
        /// The digest it refers to.
        digest: crate::Digest,
    },
    /// The call has no argument with this name.
    #[error("{call} has no argument `{name}`; its arguments are: {known}")]
    NoSuchArgument {
        /// The call, as `name(key)`.
        call: String,
        /// The name asked for.
        name: String,
        /// The names it has.
        known: String,
    },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A query asked for one call (`only`, `latest`, `oldest`) and matched none.
    #[error("no stored call matches {query}")]
    NoMatch {
        /// The query, described.
        query: String,
    },
    /// A query asked for exactly one call (`only`) and matched several.
    #[error(
        "{found} stored calls match {query}, expected exactly one: add filters, or use `first()` or `latest()`"
    )]
    NotUnique {
        /// The query, described.
        query: String,
        /// How many calls matched.
        found: usize,
    },
    /// A query cannot run as written (an unknown metadata namespace, a value without a digest).
    #[error("invalid query: {detail}")]
    InvalidQuery {
        /// What is wrong and how to fix it.
        detail: String,
    },
    /// A table could not be converted (see the message).
    #[error("cannot convert the table: {detail}")]
    Table {
        /// What went wrong.
        detail: String,
    },
}

/// `Result` with fleche's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a notice is printed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Stderr,
    /// For a notebook cell, where stdout is the cell's output.
    Stdout,
}

/// Tells the user one line, prefixed with `fleche: `: logged through `tracing` at `level` and
/// printed on `stream`, since a program or notebook without a tracing subscriber would
/// otherwise never see it.
pub(crate) fn notice(level: tracing::Level, line: &str, stream: Stream) {
    if level == tracing::Level::ERROR {
        tracing::error!("{line}");
    } else if level == tracing::Level::WARN {
        tracing::warn!("{line}");
    } else {
        tracing::info!("{line}");
    }
    match stream {
        Stream::Stderr => eprintln!("fleche: {line}"),
        Stream::Stdout => println!("fleche: {line}"),
    }
}

/// Runs `f`, turning a panic into its message: a `Serialize` implementation or a metadata
/// collector that panics is a failure to cache or to record, never a failure of the call.
pub(crate) fn unpanicked<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

/// Logs a warning through `tracing` and, the first time a message is seen, on stderr too, so
/// a notebook user without a tracing subscriber still learns that caching is off.
pub(crate) fn warn_once(message: &str) {
    // Under evcxr, once per kernel rather than once per cell (see `process.rs`).
    static SEEN: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);
    let first = crate::process::shared_static!("error::SEEN", Mutex<HashSet<String>>, &*SEEN)
        .lock()
        .map(|mut s| s.insert(message.to_owned()))
        .unwrap_or(false);
    if first {
        notice(tracing::Level::WARN, message, Stream::Stderr);
    } else {
        tracing::warn!("{message}");
    }
}
