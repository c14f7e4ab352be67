//! The redb file behind a cache: tables, indexes and the process-wide registry of open files.
//!
//! Values are content-addressed (digest -> encoded bytes, stored once). Call records are keyed
//! by call key and carry their result digest beside the encoded record, so a hit reads one
//! small fixed field. Secondary indexes (by function, module, tag, argument, result, time) make
//! queries cheap; they are kept in the same write transaction as the record they point to.
//! Only this folder opens a table: the rest of fleche goes through [`Store`]'s methods.

use std::collections::HashMap;
use std::ops::Bound::{Excluded, Unbounded};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use redb::{
    ConcurrencyMode, Database, MultimapTableDefinition, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition, TableHandle,
};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::record::CallRecord;

mod checksum;
mod claims;
mod limit;
#[cfg(target_os = "linux")]
mod lock_owner;
pub(crate) mod maintenance;
pub(crate) mod outbox;
mod paging;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod probe;
mod put;
mod rekey;
mod slot;
mod snapshot;
mod version;
mod writer;

use claims::KeyLocks;
pub(crate) use claims::{Claim, Claims, this_holder};
use limit::Limit;
pub use paging::{PagedRecord, TimeKey, UnreadableRecord, ValueHead};
pub(crate) use probe::Probe;
#[cfg(test)]
pub(crate) use probe::READ_THREADS;
use put::{ToPut, index, put_calls_in, put_values_in, unindex};
use slot::{Reopen, Slot};
pub(crate) use writer::QueuedCall;
use writer::{Queued, Writer};

type Key = [u8; 32];

/// The first 8 bytes of a call key or value digest, read big-endian so that prefixes sort as
/// the keys do: what the indexes store instead of whole keys (8 bytes where 32 would take a
/// quarter of a small call's bytes). A prefix names every call key that starts with it:
/// readers take each such call from `calls` and check it against what they look for, so two
/// keys sharing a prefix give an extra candidate, never a wrong answer.
type Prefix = u64;

/// value digest -> (checksum of the bytes, encoded value)
const VALUES: TableDefinition<'_, Key, (u64, &[u8])> = TableDefinition::new("values");
/// call key -> (checksum of the record, encoded [`CallRecord`]); a hit reads the result
/// digest from the record (`record::result_of`).
const CALLS: TableDefinition<'_, Key, (u64, &[u8])> = TableDefinition::new("calls");
/// (function name, module path) -> call key prefixes
const BY_FUNCTION: MultimapTableDefinition<'_, (&str, &str), Prefix> =
    MultimapTableDefinition::new("calls_by_function");
/// `"key\0value"` -> call key prefixes; a range over `"key\0"` finds every call with that
/// tag key.
const BY_TAG: MultimapTableDefinition<'_, &str, Prefix> =
    MultimapTableDefinition::new("calls_by_tag");
/// (argument name, value digest prefix, call key prefix) -> (). Plain tables rather than
/// multimaps for arguments and results: most values are named by one call, and a multimap
/// key with one value costs twice the bytes of a plain entry.
const BY_ARGUMENT: TableDefinition<'_, (&str, Prefix, Prefix), ()> =
    TableDefinition::new("calls_by_argument");
/// (result digest prefix, call key prefix) -> ()
const BY_RESULT: TableDefinition<'_, (Prefix, Prefix), ()> =
    TableDefinition::new("calls_by_result");
/// (start time in ns since the Unix epoch, call key prefix) -> ()
const BY_TIME: TableDefinition<'_, (i64, Prefix), ()> = TableDefinition::new("calls_by_time");

/// A key read in place. redb gives `[u8; N]` and `&[u8; N]` the same type name and bytes,
/// so a table opens with either; reading a `[u8; N]` builds it through a `Vec`, reading a
/// `&[u8; N]` borrows it. Reads that go through many keys use the definitions below.
type KeyRef = &'static [u8; 32];
/// [`CALLS`], read in place.
const CALLS_IN_PLACE: TableDefinition<'_, KeyRef, (u64, &[u8])> = TableDefinition::new("calls");
/// [`VALUES`], read in place.
const VALUES_IN_PLACE: TableDefinition<'_, KeyRef, (u64, &[u8])> = TableDefinition::new("values");

/// The index prefix of a call key or value digest.
fn prefix(key: &[u8; 32]) -> Prefix {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    Prefix::from_be_bytes(first)
}

/// The smallest and largest keys that start with `p`.
fn prefix_bounds(p: Prefix) -> (Key, Key) {
    let (mut low, mut high) = ([0u8; 32], [0xffu8; 32]);
    low[..8].copy_from_slice(&p.to_be_bytes());
    high[..8].copy_from_slice(&p.to_be_bytes());
    (low, high)
}

/// The calls whose keys start with `p`, in key order, read in place: usually one.
fn calls_with_prefix<'t>(
    calls: &'t impl ReadableTable<KeyRef, (u64, &'static [u8])>,
    p: Prefix,
) -> Result<redb::Range<'t, KeyRef, (u64, &'static [u8])>, redb::Error> {
    let (low, high) = prefix_bounds(p);
    Ok(calls.range::<&[u8; 32]>(&low..=&high)?)
}

/// Separator between a tag's key and value in [`BY_TAG`].
const TAG_SEPARATOR: char = '\0';

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A redb file (canonical path).
    File(PathBuf),
    /// Process memory; gone when the last handle drops.
    Memory,
}

impl Location {
    pub(crate) fn display_path(&self) -> PathBuf {
        match self {
            Location::File(p) => p.clone(),
            Location::Memory => PathBuf::from("<memory>"),
        }
    }
}

/// One open redb database.
pub(crate) struct Store {
    /// Declared before `slot` so it drops first: the queue is committed before the file closes.
    writer: Option<Writer>,
    /// The database, shared with the writer thread; emptied when the file is closed.
    slot: Arc<Slot>,
    read_only: bool,
    /// A format-6 file read as it is (read-only): its call keys lack their function's
    /// cluster, which calls copied out of it get (see `rekey.rs`).
    pub(crate) unclustered_keys: bool,
    /// Whether the file is open for writing only while a commit runs (`Handle::BriefWrites`).
    brief_writes: bool,
    pub(crate) location: Location,
    /// Whether hits reuse a recent read snapshot (see `snapshot.rs`): a memory store, or a
    /// file with a writer thread, which releases a snapshot left behind by the last hit.
    reuses_snapshots: bool,
    /// Value reads through this handle, so tests can prove that lazy reads are lazy.
    pub(crate) value_reads: AtomicU64,
    /// Call records read by queries through this handle, so tests can prove indexes are used.
    pub(crate) record_reads: AtomicU64,
    /// The size limit (`max_size`) and the hits noted for it; see `limit.rs`.
    pub(crate) limit: Arc<Limit>,
    /// Calls being computed here, locked in the file so that other processes wait for them
    /// (compute once across processes); `None` for memory and read-only stores.
    locks: Option<Arc<KeyLocks>>,
    /// Whether committed records get an outbox entry (the file is stacked above a shared
    /// database); shared with the writer thread.
    outbox: Arc<outbox::Outbox>,
}

/// The bytes of a hit's result: shared with the write queue (a memory store keeps small
/// results there, so most of its hits copy nothing), or read from the database.
pub(crate) enum HitBytes {
    Queued(Arc<[u8]>),
    Read(Vec<u8>),
}

impl HitBytes {
    pub(crate) fn into_vec(self) -> Vec<u8> {
        match self {
            HitBytes::Queued(bytes) => bytes.to_vec(),
            HitBytes::Read(bytes) => bytes,
        }
    }
}

impl std::ops::Deref for HitBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            HitBytes::Queued(bytes) => bytes,
            HitBytes::Read(bytes) => bytes,
        }
    }
}

/// A read-write handle, or a read-only one that never changes the file (not even to repair it).
pub(crate) enum Handle {
    ReadWrite(Arc<Database>),
    ReadOnly(Arc<redb::ReadOnlyDatabase>),
    /// Read-only between commits: every write opens the file for writing and closes it once
    /// committed. redb marks a file open for writing as needing repair until it is closed, so
    /// a process killed between commits leaves it clean: the evcxr kernel, which Jupyter
    /// stops (and interrupts) by killing evcxr's runtime process with SIGKILL.
    BriefWrites {
        read: Arc<redb::ReadOnlyDatabase>,
        path: Arc<PathBuf>,
    },
}

/// How to open a cache file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Create the file if missing; read and write.
    Create,
    /// The file must exist and hold a fleche cache; never write to it.
    ReadOnly,
    /// [`Mode::ReadOnly`], with a small read cache: for a browser that reads every record
    /// once, where redb's default cache (1 GiB) only holds memory.
    Browse,
    /// The file must exist and hold a fleche cache; read and write.
    ReadWriteExisting,
}

type OpenFiles = Mutex<HashMap<PathBuf, Weak<Store>>>;

/// Read-write file stores open in this process, by canonical path: redb allows one handle per
/// file per process, and sharing the store also shares its write queue. Under evcxr, one
/// registry for every cell's copy of fleche (see `process.rs`).
fn open_files() -> &'static OpenFiles {
    static LOCAL: LazyLock<OpenFiles> = LazyLock::new(|| Mutex::new(HashMap::new()));
    crate::process::shared_static!("store::OPEN_FILES", OpenFiles, &*LOCAL)
}

impl Store {
    fn new(db: Handle, location: Location, reopen: Option<Reopen>) -> Store {
        let read_only = matches!(db, Handle::ReadOnly(_));
        let brief_writes = matches!(db, Handle::BriefWrites { .. });
        let slot = Arc::new(Slot::new(db, location.clone(), reopen));
        let limit = Arc::new(Limit::default());
        let outbox = Arc::new(outbox::Outbox::default());
        let locks = match &location {
            Location::File(path) if !read_only => Some(Arc::new(KeyLocks::new(path.clone()))),
            _ => None,
        };
        // A memory store writes behind too: a commit to redb's in-memory backend costs about
        // as much as the whole of a small call, and queries wait for the queue anyway.
        let writer = (!read_only)
            .then(|| {
                Writer::start(
                    slot.clone(),
                    location.clone(),
                    limit.clone(),
                    outbox.clone(),
                    locks.clone(),
                )
            })
            .filter(Writer::is_running);
        Store {
            reuses_snapshots: writer.is_some(),
            writer,
            slot,
            read_only,
            unclustered_keys: false,
            brief_writes,
            location,
            value_reads: AtomicU64::new(0),
            record_reads: AtomicU64::new(0),
            limit,
            locks,
            outbox,
        }
    }

    /// Waits until every queued call record is committed; says how many records queued
    /// since the last report could not be stored.
    pub(crate) fn flush(&self) -> Result<()> {
        match &self.writer {
            Some(writer) => writer.flush(),
            None => Ok(()),
        }
    }

    /// Called when an outermost cached call has stored its record: on a file open for writing
    /// only while it commits (under evcxr), waits for the commit, so that a kernel killed
    /// right after the cell (Jupyter's shutdown does) has the result and a clean file.
    /// Nested calls are committed with it, in one batch. Elsewhere the write stays behind.
    pub(crate) fn settle(&self) {
        if self.brief_writes {
            self.wait_for_queue();
        }
    }

    /// Waits until every queued call record is committed or has failed.
    pub(crate) fn wait_for_queue(&self) {
        if let Some(writer) = &self.writer {
            writer.wait();
        }
    }

    /// Whether this store was opened read-only (it never writes, not even to repair).
    pub(crate) fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Identity of this store, for telling handles apart.
    pub(crate) fn id(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Commits the queue and closes the file, even while `Cache` handles to it live: later
    /// uses give [`Error::Closed`]. Run at exit, since Rust never drops statics and redb
    /// flags a file that was never closed as needing repair.
    pub(crate) fn close(&self) {
        if let Err(e) = self.flush() {
            tracing::warn!("{e}");
        }
        self.outbox.closing();
        self.slot.close();
    }

    /// Closes every read-write file store open in this process (at exit).
    pub(crate) fn close_all() {
        let stores: Vec<Arc<Store>> = open_files()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for store in stores {
            store.close();
        }
    }

    /// A fresh in-memory store.
    pub(crate) fn memory() -> Result<Store> {
        let db = guard(&Location::Memory, || {
            redb::Builder::new()
                .create_with_backend(redb::backends::InMemoryBackend::new())
                .map_err(|e| database_error(&Location::Memory, e))
        })?;
        let store = Store::new(Handle::ReadWrite(Arc::new(db)), Location::Memory, None);
        store.create_tables()?;
        // Empty: every result it will hold passes through the queue.
        if let Some(writer) = &store.writer {
            writer.keeps_all();
        }
        Ok(store)
    }

    /// Opens the redb file at `path` in multi-process mode. A file already open read-write in
    /// this process is shared, as redb allows one handle per file per process.
    pub(crate) fn open(path: &Path, mode: Mode) -> Result<Arc<Store>> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let exists = path.exists();
        if !exists && mode != Mode::Create {
            return Err(Error::Io {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such cache file"),
            });
        }
        if !exists && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let canonical = if exists {
            path.canonicalize().map_err(io)?
        } else {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            parent
                .canonicalize()
                .map_err(io)?
                .join(path.file_name().unwrap_or_default())
        };
        if exists && std::fs::metadata(&canonical).map_err(io)?.is_dir() {
            return Err(Error::NotACache {
                path: canonical,
                detail: "it is a directory".into(),
            });
        }
        let location = Location::File(canonical.clone());
        if matches!(mode, Mode::ReadOnly | Mode::Browse) {
            let read_builder = move || {
                let mut builder = builder();
                if mode == Mode::Browse {
                    builder.set_cache_size(BROWSE_CACHE);
                }
                builder
            };
            let db = guard(&location, || {
                read_builder()
                    .open_read_only(&canonical)
                    .map_err(|e| database_error(&location, e))
            })?;
            let path = canonical.clone();
            let reopen: Reopen = Box::new(move || {
                Ok(Handle::ReadOnly(Arc::new(
                    read_builder().open_read_only(&path)?,
                )))
            });
            let mut store = Store::new(Handle::ReadOnly(Arc::new(db)), location, Some(reopen));
            let holds = store.format()?;
            store.check_format(holds)?;
            store.upgrade_format(holds)?;
            store.unclustered_keys = holds == version::Holds::Version(6);
            return Ok(Arc::new(store));
        }
        let mut open = open_files().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = open.get(&canonical).and_then(Weak::upgrade) {
            return Ok(store);
        }
        // An empty file (from `touch` or a temp-file API) is a new cache.
        let empty = std::fs::metadata(&canonical).is_ok_and(|m| m.len() == 0);
        if exists && !empty {
            refuse_without_writing(&canonical, &location)?;
        }
        let db = guard(&location, || {
            let db = if exists && !empty {
                builder().open(&canonical)
            } else {
                builder().create(&canonical)
            };
            db.map_err(|e| database_error(&location, e))
        })?;
        let path = canonical.clone();
        let reopen: Reopen =
            Box::new(move || Ok(Handle::ReadWrite(Arc::new(builder().open(&path)?))));
        let mut store = Arc::new(Store::new(
            Handle::ReadWrite(Arc::new(db)),
            location.clone(),
            Some(reopen),
        ));
        match store.format()? {
            version::Holds::Nothing if mode == Mode::Create => {
                store.refuse_foreign()?;
                store.create_tables()?;
            }
            holds => {
                store.check_format(holds)?;
                store.upgrade_format(holds)?;
            }
        }
        if crate::process::in_evcxr() {
            // Created, repaired and checked with the file open for writing; from now on it is
            // open for writing only while a commit runs (see `Handle::BriefWrites`).
            drop(store);
            let path = Arc::new(canonical.clone());
            let brief = move || -> Result<Handle, redb::DatabaseError> {
                Ok(Handle::BriefWrites {
                    read: Arc::new(builder().open_read_only(path.as_path())?),
                    path: path.clone(),
                })
            };
            let handle = guard(&location, || {
                brief().map_err(|e| database_error(&location, e))
            })?;
            store = Arc::new(Store::new(handle, location, Some(Box::new(brief))));
        }
        open.insert(canonical, Arc::downgrade(&store));
        drop(open);
        static CLOSE_AT_EXIT: std::sync::Once = std::sync::Once::new();
        CLOSE_AT_EXIT.call_once(|| crate::exit::at_exit(Store::close_all));
        Ok(store)
    }

    /// A store over a database on a custom backend (tests use one that fails on demand);
    /// `open` opens it, first and again after an I/O error.
    #[cfg(test)]
    pub(crate) fn with_backend(
        path: &Path,
        open: impl Fn() -> Result<Database, redb::DatabaseError> + Send + Sync + 'static,
    ) -> Result<Arc<Store>> {
        let location = Location::File(path.to_owned());
        let db = open().map_err(|e| database_error(&location, e))?;
        let reopen: Reopen = Box::new(move || Ok(Handle::ReadWrite(Arc::new(open()?))));
        let store = Store::new(Handle::ReadWrite(Arc::new(db)), location, Some(reopen));
        store.create_tables()?;
        Ok(Arc::new(store))
    }

    /// Refuses a database that holds tables but not fleche's: another program's data, which
    /// a new cache must not be mixed into. A database without any table (one whose creation
    /// was interrupted, by fleche or anyone) holds nothing to protect and becomes a cache.
    fn refuse_foreign(&self) -> Result<()> {
        let foreign = self.read(|txn| {
            if txn.list_tables()?.any(|t| t.name() == CALLS.name()) {
                return Ok(false);
            }
            Ok(txn.list_tables()?.next().is_some() || txn.list_multimap_tables()?.next().is_some())
        })?;
        if foreign {
            return Err(not_fleche_tables(&self.location));
        }
        Ok(())
    }

    fn create_tables(&self) -> Result<()> {
        self.write(|txn| {
            txn.open_table(VALUES)?;
            txn.open_table(CALLS)?;
            create_indexes(txn)?;
            version::write(txn)
        })
    }

    /// Runs `f` in a read transaction.
    /// Runs `f` in a read transaction, after every queued write is committed, so a read never
    /// misses what this process stored before it.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T> {
        self.wait_for_queue();
        self.read_now(f)
    }

    /// Runs `f` in a read transaction without waiting for queued writes.
    fn read_now<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, redb::Error>,
    ) -> Result<T> {
        self.slot.with(|db| {
            let txn = match db {
                Handle::ReadWrite(db) => db.begin_read(),
                Handle::ReadOnly(db) | Handle::BriefWrites { read: db, .. } => db.begin_read(),
            }?;
            f(&txn)
        })
    }

    /// Runs `f` in a write transaction and commits it durably, after every queued write is
    /// committed, so that it lands after what this process stored before it.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
    ) -> Result<T> {
        if self.read_only {
            return Err(Error::ReadOnly {
                path: self.location.display_path(),
            });
        }
        self.wait_for_queue();
        let forget = || {
            if let Some(writer) = &self.writer {
                writer.forget_committed();
            }
        };
        forget();
        let out = self.slot.with(|db| write_in(db, f));
        self.slot.changed();
        forget();
        out
    }

    pub(crate) fn error(&self, e: impl Into<redb::Error>) -> Error {
        storage_error(&self.location, e.into())
    }

    /// The result digest stored for a call key: the whole read of a hit, before the value.
    /// It may come from a snapshot a few milliseconds old (see `snapshot.rs` for why that is
    /// safe); every other read sees the latest commit.
    pub(crate) fn result_of(&self, key: &Digest) -> Result<Option<(Digest, HitBytes)>> {
        self.value_reads.fetch_add(1, Ordering::Relaxed);
        // The queue first: the writer marks its commit before it lets a result leave the
        // queue, so a result not found here is in the snapshot of the generation read next.
        match self.writer.as_ref().map(|w| w.queued_result(key)) {
            Some(Queued::Result(digest, bytes)) => {
                return Ok(Some((digest, HitBytes::Queued(bytes))));
            }
            // Under a size limit a commit may evict what the map still holds.
            Some(Queued::Absent) if self.limit.get().is_none() => return Ok(None),
            _ => {}
        }
        let found = if self.reuses_snapshots {
            self.result_of_in_recent(key)?
        } else {
            self.read_now(|txn| {
                Lookup::of_result(
                    &txn.open_table(CALLS_IN_PLACE)?,
                    &txn.open_table(VALUES_IN_PLACE)?,
                    key,
                )
            })?
        };
        Ok(self
            .found(key, found)?
            .map(|(digest, bytes)| (digest, HitBytes::Read(bytes))))
    }

    /// A hit's lookup in the snapshot hits reuse.
    fn result_of_in_recent(&self, key: &Digest) -> Result<Lookup> {
        let generation = self.slot.generation();
        let begin = || {
            self.read_now(|txn| {
                Ok(snapshot::Tables {
                    calls: txn.open_table(CALLS_IN_PLACE)?,
                    values: txn.open_table(VALUES_IN_PLACE)?,
                })
            })
        };
        let look = |tables: &snapshot::Tables| {
            guard(&self.location, || {
                Lookup::of_result(&tables.calls, &tables.values, key).map_err(|e| self.error(e))
            })
        };
        let read = self.slot.recent.read(generation, begin, look)?;
        if read.began_idle
            && let Some(writer) = &self.writer
        {
            writer.watch_snapshot();
        }
        Ok(read.value)
    }

    /// Drops the snapshot hits reuse: the next hit reads the latest commit.
    pub(crate) fn forget_snapshot(&self) {
        self.slot.recent.forget();
    }

    /// Notes a hit on `key` for the size limit's least-recently-used order (nothing without
    /// a limit); the note is committed with the next write, never on its own per hit.
    pub(crate) fn note_use(&self, key: &Digest) {
        if self.limit.note_use(key)
            && let Some(writer) = &self.writer
        {
            writer.nudge();
        }
    }

    /// The size limit in bytes, if any.
    pub(crate) fn max_size(&self) -> Option<u64> {
        self.limit.get()
    }

    /// Sets the size limit (`None`: none); it applies from the next commit on.
    pub(crate) fn set_max_size(&self, max_size: Option<u64>) {
        self.limit.set(max_size);
    }

    /// A hit's lookup, or the error that says what is damaged.
    fn found(&self, key: &Digest, found: Lookup) -> Result<Option<(Digest, Vec<u8>)>> {
        match found {
            Lookup::Absent => Ok(None),
            Lookup::Value(d, bytes) => Ok(Some((d, bytes))),
            Lookup::DamagedRecord => Err(Error::DamagedRecord {
                path: self.location.display_path(),
                key: *key,
            }),
            Lookup::DamagedValue(digest) => Err(Error::DamagedValue {
                path: self.location.display_path(),
                digest,
            }),
        }
    }

    pub(crate) fn contains_call(&self, key: &Digest) -> Result<bool> {
        self.read(|txn| Ok(txn.open_table(CALLS)?.get(key.as_bytes())?.is_some()))
    }

    /// The bytes of the value stored under `digest`, checked against their checksum.
    pub(crate) fn value(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        self.value_reads.fetch_add(1, Ordering::Relaxed);
        let found = self.read(|txn| {
            Ok(Lookup::of_value(
                *digest,
                txn.open_table(VALUES)?
                    .get(digest.as_bytes())?
                    .as_ref()
                    .map(|v| v.value()),
            ))
        })?;
        Ok(self.found(digest, found)?.map(|(_, bytes)| bytes))
    }

    /// The bytes of the values stored under `digests` (sorted, without repeats), each checked
    /// against its checksum, in one read transaction: what a table column of 100,000 values
    /// reads, where a transaction per value would cost more than the values.
    pub(crate) fn values(&self, digests: &[Digest]) -> Result<Vec<Result<Option<Vec<u8>>>>> {
        self.value_reads
            .fetch_add(digests.len() as u64, Ordering::Relaxed);
        debug_assert!(
            digests.is_sorted_by(|a, b| a < b),
            "sorted, without repeats"
        );
        let found = self.read(|txn| {
            let values = txn.open_table(VALUES_IN_PLACE)?;
            let mut out = Vec::with_capacity(digests.len());
            let (Some(first), Some(last)) = (digests.first(), digests.last()) else {
                return Ok(out);
            };
            // A good share of the table: one pass over the stretch they span costs less
            // than a B-tree descent for each.
            if (digests.len() as u64).saturating_mul(16) < values.len()? {
                for digest in digests {
                    let entry = values.get(digest.as_bytes())?;
                    out.push(Lookup::of_value(*digest, entry.as_ref().map(|v| v.value())));
                }
                return Ok(out);
            }
            let mut wanted = digests.iter().peekable();
            for entry in values.range::<&[u8; 32]>(first.as_bytes()..=last.as_bytes())? {
                let (k, v) = entry?;
                let k = k.value();
                while wanted.next_if(|d| d.as_bytes() < k).is_some() {
                    out.push(Lookup::Absent);
                }
                if let Some(d) = wanted.next_if(|d| d.as_bytes() == k) {
                    out.push(Lookup::of_value(*d, Some(v.value())));
                }
            }
            out.resize_with(digests.len(), || Lookup::Absent);
            Ok(out)
        })?;
        Ok((digests.iter().zip(found))
            .map(|(digest, found)| Ok(self.found(digest, found)?.map(|(_, bytes)| bytes)))
            .collect())
    }

    /// The encoded record stored under `key`, checked against its checksum.
    pub(crate) fn record(&self, key: &Digest) -> Result<Option<Vec<u8>>> {
        let found = self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let Some(entry) = calls.get(key.as_bytes())? else {
                return Ok(Lookup::Absent);
            };
            let (sum, record) = entry.value();
            Ok(if checksum::record_intact(sum, record) {
                Lookup::Value(*key, record.to_vec())
            } else {
                Lookup::DamagedRecord
            })
        })?;
        Ok(self.found(key, found)?.map(|(_, bytes)| bytes))
    }

    /// Stores a call record and its values (the result first, then the arguments; values
    /// already present are skipped), replacing any earlier record under the same key. It is
    /// queued for the background writer (committed at once if that thread could not start).
    pub(crate) fn put_call(&self, call: QueuedCall) -> Result<()> {
        if let Some(writer) = &self.writer {
            writer.enqueue(call);
            return Ok(());
        }
        let outbox = self.outbox.enabled() && !call.pushed;
        let written = [limit::Written::of(&call)];
        let sent = self.write(|txn| {
            put_calls_in(
                txn,
                &[call.to_put()],
                &call.values_to_put().collect::<Vec<_>>(),
            )?;
            self.limit.apply(txn, &written)?;
            if outbox {
                outbox::add_in(txn, std::iter::once(&call.key))?;
            }
            Ok(())
        });
        if outbox && sent.is_ok() {
            self.outbox.committed();
        }
        if let Some(locks) = &self.locks {
            locks.release([&call.key]);
        }
        sent
    }

    /// Stores a value under its digest, unless a value is already stored there.
    pub(crate) fn put_value(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        self.write(|txn| put_values_in(txn, &[(*digest, bytes)]))
    }

    /// Removes a call record and its index entries; values stay (they may be shared).
    pub(crate) fn remove_call(&self, key: &Digest) -> Result<bool> {
        self.write(|txn| {
            let old = txn
                .open_table(CALLS)?
                .remove(key.as_bytes())?
                .and_then(|v| intact_record(v.value()));
            match old {
                Some(old) => {
                    if let Ok(old) = CallRecord::decode(&old) {
                        unindex(txn, key, &old)?;
                    }
                    Ok(true)
                }
                None => Ok(false),
            }
        })
    }

    /// Up to `limit` distinct digests starting with the hex `prefix`, from calls and values.
    pub(crate) fn digests_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Digest>> {
        let (low, high) = prefix_range(prefix);
        self.read(|txn| {
            let mut found: Vec<Digest> = Vec::new();
            let calls = txn.open_table(CALLS)?;
            for entry in calls.range(low..=high)? {
                found.push(Digest::from_bytes(entry?.0.value()));
                if found.len() >= limit {
                    break;
                }
            }
            let values = txn.open_table(VALUES)?;
            for entry in values.range(low..=high)? {
                let d = Digest::from_bytes(entry?.0.value());
                if !found.contains(&d) {
                    found.push(d);
                }
                if found.len() >= 2 * limit {
                    break;
                }
            }
            found.sort();
            found.dedup();
            found.truncate(limit);
            Ok(found)
        })
    }

    /// The stored digests next to `digest` (below and above) in calls and values.
    pub(crate) fn neighbours(&self, digest: &Digest) -> Result<(bool, Vec<Digest>)> {
        let k = *digest.as_bytes();
        self.read(|txn| {
            let mut out = Vec::new();
            let calls = txn.open_table(CALLS)?;
            let values = txn.open_table(VALUES)?;
            let present = calls.get(&k)?.is_some() || values.get(&k)?.is_some();
            let above = (Excluded(k), Unbounded::<Key>);
            let key_of =
                |e: Option<Result<(redb::AccessGuard<'_, Key>, _), redb::StorageError>>| {
                    e.map(|r| r.map(|(k, _)| Digest::from_bytes(k.value())))
                };
            let nearest = [
                key_of(calls.range(..k)?.next_back()),
                key_of(calls.range::<Key>(above)?.next()),
            ];
            let value_key_of =
                |e: Option<Result<(redb::AccessGuard<'_, Key>, _), redb::StorageError>>| {
                    e.map(|r| r.map(|(k, _)| Digest::from_bytes(k.value())))
                };
            let nearest_values = [
                value_key_of(values.range(..k)?.next_back()),
                value_key_of(values.range::<Key>(above)?.next()),
            ];
            for entry in nearest.into_iter().chain(nearest_values).flatten() {
                out.push(entry?);
            }
            Ok((present, out))
        })
    }

    /// Every call key, newest start time first.
    pub(crate) fn keys_newest_first(&self) -> Result<Vec<Digest>> {
        self.read(|txn| {
            let by_time = txn.open_table(BY_TIME)?;
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let mut keys = Vec::with_capacity(by_time.len()? as usize);
            for entry in by_time.iter()?.rev() {
                let (start, p) = entry?.0.value();
                let found = paging::resolve_time(&calls, start, p)?;
                keys.extend(found.iter().rev().map(|t| t.key));
            }
            Ok(keys)
        })
    }

    /// The encoded records of these keys, in one read transaction; missing keys are skipped,
    /// and a damaged record (its checksum does not hold) is `None`, with a warning.
    pub(crate) fn records(&self, keys: &[Digest]) -> Result<Vec<(Digest, Option<Vec<u8>>)>> {
        self.read(|txn| {
            let calls = txn.open_table(CALLS_IN_PLACE)?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(v) = calls.get(key.as_bytes())? {
                    let (sum, record) = v.value();
                    if checksum::record_intact(sum, record) {
                        out.push((*key, Some(record.to_vec())));
                    } else {
                        checksum::warn_skipped(key);
                        out.push((*key, None));
                    }
                }
            }
            Ok(out)
        })
    }

    /// Number of call records.
    pub(crate) fn call_count(&self) -> Result<u64> {
        self.read(|txn| Ok(txn.open_table(CALLS)?.len()?))
    }
    /// Up to `limit` call keys starting with the hex `prefix` (values are not considered).
    pub(crate) fn call_keys_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Digest>> {
        let (low, high) = prefix_range(prefix);
        self.read(|txn| {
            let calls = txn.open_table(CALLS)?;
            let mut found = Vec::new();
            for entry in calls.range(low..=high)? {
                found.push(Digest::from_bytes(entry?.0.value()));
                if found.len() >= limit {
                    break;
                }
            }
            Ok(found)
        })
    }

    /// Removes these call records and their index entries in one commit; returns how many
    /// were there.
    pub(crate) fn remove_calls(&self, keys: &[Digest]) -> Result<usize> {
        self.write(|txn| {
            let mut removed = 0;
            for key in keys {
                let old = txn
                    .open_table(CALLS)?
                    .remove(key.as_bytes())?
                    .map(|v| intact_record(v.value()));
                if let Some(old) = old {
                    let Some(old) = old else {
                        // A damaged record's index entries cannot be known; it is gone.
                        removed += 1;
                        continue;
                    };
                    removed += 1;
                    if let Ok(old) = CallRecord::decode(&old) {
                        unindex(txn, key, &old)?;
                    }
                }
            }
            Ok(removed)
        })
    }

    /// Stores many records and values in one commit (test and benchmark setup), each record
    /// as a call would store it (replacing an earlier record under its key).
    pub(crate) fn put_many(
        &self,
        calls: &[(Digest, CallRecord)],
        values: &[(Digest, Vec<u8>)],
    ) -> Result<()> {
        let encoded = calls
            .iter()
            .map(|(_, r)| r.encode())
            .collect::<Result<Vec<_>, _>>()?;
        let values: Vec<(Digest, &[u8])> = values.iter().map(|(d, b)| (*d, b.as_slice())).collect();
        let calls: Vec<ToPut<'_>> = calls
            .iter()
            .zip(&encoded)
            .map(|((key, record), encoded)| ToPut {
                key,
                record,
                encoded,
            })
            .collect();
        self.write(|txn| put_calls_in(txn, &calls, &values))
    }
}

/// Runs `f` in a write transaction of `db` and commits it durably.
fn write_in<T>(
    db: &Handle,
    f: impl FnOnce(&redb::WriteTransaction) -> Result<T, redb::Error>,
) -> Result<T, redb::Error> {
    let opened;
    let db = match db {
        Handle::ReadWrite(db) => db.as_ref(),
        Handle::BriefWrites { path, .. } => {
            opened = builder().open(path.as_path())?;
            &opened
        }
        Handle::ReadOnly(_) => unreachable!("read-only stores do not write"),
    };
    let txn = db.begin_write()?;
    let out = f(&txn)?;
    txn.commit()?;
    Ok(out)
}

/// The record bytes of a call entry whose checksum holds.
fn intact_record((sum, record): (u64, &[u8])) -> Option<Vec<u8>> {
    checksum::record_intact(sum, record).then(|| record.to_vec())
}

/// What a checked read of a call or value found.
enum Lookup {
    Absent,
    Value(Digest, Vec<u8>),
    DamagedRecord,
    DamagedValue(Digest),
}

impl Lookup {
    /// The result stored for the call `key`, checked: the read of a hit.
    fn of_result(
        calls: &impl ReadableTable<KeyRef, (u64, &'static [u8])>,
        values: &impl ReadableTable<KeyRef, (u64, &'static [u8])>,
        key: &Digest,
    ) -> Result<Lookup, redb::Error> {
        let Some(entry) = calls.get(key.as_bytes())? else {
            return Ok(Lookup::Absent);
        };
        let (sum, record) = entry.value();
        let Some(result) = checksum::intact_result(sum, record) else {
            return Ok(Lookup::DamagedRecord);
        };
        drop(entry);
        let entry = values.get(result.as_bytes())?;
        Ok(Lookup::of_value(result, entry.as_ref().map(|v| v.value())))
    }

    /// The value stored under `digest` (as read from the values table), checked.
    fn of_value(digest: Digest, entry: Option<(u64, &[u8])>) -> Lookup {
        match entry {
            None => Lookup::Absent,
            Some((sum, bytes)) => {
                if checksum::value_intact(sum, bytes) {
                    Lookup::Value(digest, bytes.to_vec())
                } else {
                    Lookup::DamagedValue(digest)
                }
            }
        }
    }
}

/// redb's read cache for a browser's read-only open ([`Mode::Browse`]): the pages of the
/// indexes and of the records on screen, not the whole file. A browser reads each record
/// once, in key order, so a larger cache would only keep pages it does not read again.
const BROWSE_CACHE: usize = 8 << 20;

/// A redb builder for cache files: multi-process mode, so other processes (a browser, a
/// second notebook) can use the file at once.
fn builder() -> redb::Builder {
    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(ConcurrencyMode::MultiWriter);
    builder
}

/// Creates the five index tables (opening a table in a write transaction creates it).
fn create_indexes(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_multimap_table(BY_FUNCTION)?;
    txn.open_multimap_table(BY_TAG)?;
    txn.open_table(BY_ARGUMENT)?;
    txn.open_table(BY_RESULT)?;
    txn.open_table(BY_TIME)?;
    Ok(())
}

fn not_fleche_tables(location: &Location) -> Error {
    Error::NotACache {
        path: location.display_path(),
        detail: "it is a redb database without fleche's tables".into(),
    }
}

/// Looks at an existing file through a read-only open, which never writes, and refuses it if
/// it is another program's database or a cache of a format this fleche does not read; opening
/// it for writing first would already change it.
/// A file the read-only open cannot read (it needs repair, say) is checked after opening.
fn refuse_without_writing(path: &Path, location: &Location) -> Result<()> {
    let Ok(Ok(db)) = std::panic::catch_unwind(|| builder().open_read_only(path)) else {
        return Ok(());
    };
    let probe = Store::new(Handle::ReadOnly(Arc::new(db)), location.clone(), None);
    if let Err(e @ Error::NotACache { .. }) = probe.refuse_foreign() {
        return Err(e);
    }
    // A cache of a format this fleche does not read is left exactly as it is, too.
    match probe.format() {
        Ok(holds @ version::Holds::Version(_)) => probe.check_format(holds),
        _ => Ok(()),
    }
}

/// The smallest and largest 32-byte keys that start with the hex `prefix` (already validated).
fn prefix_range(prefix: &str) -> (Key, Key) {
    let mut low = [0u8; 32];
    let mut high = [0xffu8; 32];
    for (i, c) in prefix.bytes().take(64).enumerate() {
        let v = crate::digest::hex_value(c).unwrap_or(0);
        let byte = i / 2;
        if i % 2 == 0 {
            low[byte] = v << 4;
            high[byte] = (v << 4) | 0x0f;
        } else {
            low[byte] |= v;
            high[byte] = (high[byte] & 0xf0) | v;
        }
    }
    (low, high)
}

/// Runs a storage operation, turning a panic inside redb (which a damaged file can cause)
/// into an error instead of unwinding through the user's program.
fn guard<T>(location: &Location, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "internal failure while reading it".to_owned());
            Err(Error::Corrupted {
                path: location.display_path(),
                detail,
            })
        }
    }
}

fn database_error(location: &Location, e: redb::DatabaseError) -> Error {
    let path = location.display_path();
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen | redb::DatabaseError::LockProtocolMismatch => {
            Error::Locked { path }
        }
        redb::DatabaseError::RepairAborted => Error::NeedsRepair { path },
        other => storage_error(location, other.into()),
    }
}

fn storage_error(location: &Location, e: redb::Error) -> Error {
    let path = location.display_path();
    match e {
        redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => {
            Error::Locked { path }
        }
        redb::Error::RepairAborted => Error::NeedsRepair { path },
        redb::Error::Corrupted(detail) => Error::Corrupted { path, detail },
        redb::Error::Io(source) if source.kind() == std::io::ErrorKind::InvalidData => {
            Error::NotACache {
                path,
                detail: source.to_string(),
            }
        }
        // A read past the end: the file is shorter than its own header says.
        redb::Error::Io(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Corrupted {
                path,
                detail: format!("the file is truncated or damaged ({source})"),
            }
        }
        redb::Error::Io(source) => Error::Io { path, source },
        redb::Error::UpgradeRequired(v) => Error::NotACache {
            path,
            detail: format!("file format version {v} needs an upgrade"),
        },
        other => Error::Storage {
            path,
            detail: other.to_string(),
        },
    }
}
