//! Write-behind for caches: a cached call returns as soon as its record is queued, and a
//! background thread commits queued records in batches (memory caches too: a commit to redb's
//! in-memory backend costs some 100 us, many times a small call's own work).
//!
//! Why: every redb commit in multi-process mode is durable (two fsyncs), which costs from a
//! fraction of a millisecond to several milliseconds depending on the disk. Paid inline, a
//! recursive function such as `fib(20)` would spend 21 commits; batched, it spends one or two.
//! Within the process nothing changes: a hit checks the queue first, and every other read
//! waits until what was queued before it is committed. Other processes see a result once its
//! batch commits, a few milliseconds later. A process that exits normally commits the queue
//! (see `Store::close_all`); one killed loses only the records not yet committed.
//!
//! The queue is bounded, so that a killed process loses little: the writer starts a commit as
//! soon as work arrives, and a caller that finds the queue full waits for the writer to take
//! it. A record therefore waits for at most the commit under way and its own, each of at most
//! one full queue, whose size in records follows how fast the last commits went.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::claims::KeyLocks;
use super::limit::{Limit, USES_BATCH, Written};
use super::outbox::{self, Outbox};
use super::slot::Slot;
use super::{Location, ToPut, put_calls_in, write_in};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::record::CallRecord;

/// How long one commit should take at most: a returned record waits for the commit under way
/// and its own, so two of these plus scheduling stay within the 100 ms promised.
const COMMIT_BUDGET: Duration = Duration::from_millis(40);

/// Hits noted for the size limit wait at most this long for a commit to carry them.
const USES_DELAY: Duration = Duration::from_secs(1);

/// The queue holds at most this many records, adapted to what the writer commits within
/// [`COMMIT_BUDGET`]: inserting a small record with its index entries costs from about 20 us
/// (idle machine) to 180 us (a loaded one, measured), on top of the commit's two fsyncs.
/// Larger batches would save little: the fsyncs are already shared by hundreds of records.
const MAX_QUEUED_RECORDS: usize = 1024;
const MIN_QUEUED_RECORDS: usize = 16;
const FIRST_QUEUED_RECORDS: usize = 64;

/// At most this many bytes (records and values) wait in the queue, so that large results
/// commit within about 100 ms on a disk that writes at least 200 MB/s (twice this for the
/// commit under way and the next). A single record larger than this is still queued, alone.
pub(crate) const MAX_QUEUED_BYTES: usize = 8 << 20;

/// A memory store's queue holds up to this many records and bytes instead: no other process
/// reads its database, and a killed process loses all of it anyway, so a burst of misses
/// need not wait for the writer (whose insertions cost several times a small miss). Readers
/// still wait until every queued record is committed.
const MEMORY_QUEUED_RECORDS: usize = 1 << 16;
const MEMORY_QUEUED_BYTES: usize = 64 << 20;

/// A memory store keeps committed results of at most this many bytes in the queue's map, and
/// at most [`KEPT_RESULTS`] of them: a hit on one is a map lookup instead of two B-tree reads
/// in redb. Its other hits, and everything else, read redb as before.
const KEPT_RESULT_BYTES: usize = 1024;
const KEPT_RESULTS: usize = 1 << 16;

/// Hashes a digest by its first eight bytes: they are already uniformly random.
#[derive(Default, Clone, Copy)]
pub(crate) struct ByDigest;

/// See [`ByDigest`].
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl std::hash::BuildHasher for ByDigest {
    type Hasher = DigestHasher;
    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // A digest hashes as its 32 bytes (after their length, which `write_usize` drops).
        let mut first = [0u8; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(first);
    }
    fn write_usize(&mut self, _: usize) {}
}

/// One call record to commit, with the values it refers to.
pub(crate) struct QueuedCall {
    pub(crate) key: Digest,
    pub(crate) record: CallRecord,
    pub(crate) encoded_record: Vec<u8>,
    /// The result first, then the arguments.
    pub(crate) values: Vec<(Digest, Vec<u8>)>,
    /// The shared database below already holds it (it was copied up from there): no outbox
    /// entry.
    pub(crate) pushed: bool,
}

impl QueuedCall {
    /// The bytes it holds, as counted against [`MAX_QUEUED_BYTES`] (and the size limit).
    pub(crate) fn size(&self) -> usize {
        self.encoded_record.len() + self.values.iter().map(|(_, v)| v.len()).sum::<usize>()
    }

    /// The call, as [`put_calls_in`] stores it.
    pub(super) fn to_put(&self) -> ToPut<'_> {
        ToPut {
            key: &self.key,
            record: &self.record,
            encoded: &self.encoded_record,
        }
    }

    /// Its values, as [`put_calls_in`] stores them.
    pub(super) fn values_to_put(&self) -> impl Iterator<Item = (Digest, &[u8])> {
        self.values.iter().map(|(d, b)| (*d, b.as_slice()))
    }
}

/// See [`Writer::queued_result`].
pub(crate) enum Queued {
    /// The result's digest and bytes.
    Result(Digest, Arc<[u8]>),
    /// A memory store that holds no result the queue did not keep: not stored.
    Absent,
    /// Not queued: the database may hold it.
    Unknown,
}

struct State {
    queue: Vec<(u64, QueuedCall)>,
    /// What `queue` holds, in bytes.
    queued_bytes: usize,
    /// Results queued but not yet committed: call key -> (sequence number, result digest,
    /// result bytes). A hit finds them here. A memory store also keeps small committed
    /// results here (see [`KEPT_RESULTS`]), so most of its hits never open a table.
    pending: HashMap<Digest, (u64, Digest, Arc<[u8]>), ByDigest>,
    queued: u64,
    committed: u64,
    /// Records that failed to commit since the last `flush` reported them, and why.
    not_stored: u64,
    failure: Option<String>,
    /// How many records the queue holds at most now, between the bounds above.
    limit: usize,
    /// A memory store's `pending` holds every result its database holds: it started empty
    /// and nothing left the map since. A key missing from the map is then not stored at
    /// all, and a miss need not read the database (twice).
    kept_all: bool,
    /// The writer thread waits for work: only then does a queued record need to wake it
    /// (a notification is a system call, on every miss otherwise).
    idle: bool,
    shutdown: bool,
}

impl Default for State {
    fn default() -> State {
        State {
            queue: Vec::new(),
            queued_bytes: 0,
            pending: HashMap::default(),
            queued: 0,
            committed: 0,
            not_stored: 0,
            failure: None,
            limit: FIRST_QUEUED_RECORDS,
            kept_all: false,
            idle: false,
            shutdown: false,
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the writer thread.
    work: Condvar,
    /// Wakes threads waiting in `flush` or for room in the queue.
    progress: Condvar,
}

/// The background writer of one cache file.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    location: Location,
}

/// Whether committed results stay in the map: only for a memory store, which no other
/// process changes, and whose every other change goes through [`Writer::forget_committed`].
fn keeps_results(location: &Location) -> bool {
    *location == Location::Memory
}

impl Writer {
    /// Starts the writer of one file; while `outbox` is enabled, every committed record gets
    /// an outbox entry in the same commit.
    pub(crate) fn start(
        slot: Arc<Slot>,
        location: Location,
        size_limit: Arc<Limit>,
        outbox: Arc<Outbox>,
        locks: Option<Arc<KeyLocks>>,
    ) -> Writer {
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            work: Condvar::new(),
            progress: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            let location = location.clone();
            std::thread::Builder::new()
                .name("fleche-writer".into())
                .spawn(move || {
                    run(
                        &shared,
                        &slot,
                        &location,
                        &size_limit,
                        &outbox,
                        locks.as_deref(),
                    );
                })
                .ok()
        };
        Writer {
            shared,
            thread,
            location,
        }
    }

    /// Whether the background thread could be started; without it, writes go inline.
    pub(crate) fn is_running(&self) -> bool {
        self.thread.is_some()
    }

    /// Queues a record, after waiting for room if the queue is full.
    pub(crate) fn enqueue(&self, call: QueuedCall) {
        let size = call.size();
        let mut state = lock(&self.shared.state);
        let (records, bytes) = if self.location == Location::Memory {
            (MEMORY_QUEUED_RECORDS, MEMORY_QUEUED_BYTES)
        } else {
            (state.limit, MAX_QUEUED_BYTES)
        };
        while !state.queue.is_empty()
            && (state.queue.len() >= records || state.queued_bytes + size > bytes)
        {
            state = self
                .shared
                .progress
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        state.queued += 1;
        state.queued_bytes += size;
        let seq = state.queued;
        if let Some((digest, bytes)) = call.values.first() {
            state
                .pending
                .insert(call.key, (seq, *digest, Arc::from(bytes.as_slice())));
        }
        state.queue.push((seq, call));
        let wake = state.idle;
        drop(state);
        if wake {
            self.shared.work.notify_one();
        }
    }

    /// Marks a memory store's database as empty but for what the queue keeps: see
    /// [`State::kept_all`]. Called once, on a fresh memory store.
    pub(crate) fn keeps_all(&self) {
        if keeps_results(&self.location) {
            lock(&self.shared.state).kept_all = true;
        }
    }

    /// Drops the committed results a memory store keeps, before and after a change made
    /// outside the queue (an eviction, a removal), which they could contradict.
    pub(crate) fn forget_committed(&self) {
        if keeps_results(&self.location) {
            let mut state = lock(&self.shared.state);
            let committed = state.committed;
            state.pending.retain(|_, (seq, _, _)| *seq > committed);
            state.kept_all = false;
        }
    }

    /// Wakes the writer to watch the snapshot a hit began while none was held: it releases it
    /// once its window is over, should the hits stop (see `snapshot.rs`).
    pub(crate) fn watch_snapshot(&self) {
        self.nudge();
    }

    /// Wakes the writer to commit the hits noted for the size limit (see `limit.rs`).
    pub(crate) fn nudge(&self) {
        // Taking the lock first: the writer is either before its check for noted hits (and
        // sees them) or waiting (and is woken).
        drop(lock(&self.shared.state));
        self.shared.work.notify_one();
    }

    /// What the queue knows of the result of a call: queued but not yet committed (or, on
    /// a memory store, committed and kept), not stored at all, or nothing.
    /// The bytes are shared with the queue, not copied.
    pub(crate) fn queued_result(&self, key: &Digest) -> Queued {
        let state = lock(&self.shared.state);
        match state.pending.get(key) {
            Some((_, digest, bytes)) => Queued::Result(*digest, bytes.clone()),
            None if state.kept_all => Queued::Absent,
            None => Queued::Unknown,
        }
    }

    /// Waits until everything queued before this call is committed, and reports the records
    /// that failed since the last report.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut state = self.wait_locked();
        let count = std::mem::take(&mut state.not_stored);
        let detail = state.failure.take().unwrap_or_default();
        drop(state);
        if count == 0 {
            return Ok(());
        }
        Err(Error::NotStored {
            path: self.location.display_path(),
            count,
            detail,
        })
    }

    /// Waits until everything queued before this call is committed or has failed (failures
    /// are left for `flush` to report).
    pub(crate) fn wait(&self) {
        drop(self.wait_locked());
    }

    fn wait_locked(&self) -> std::sync::MutexGuard<'_, State> {
        let mut state = lock(&self.shared.state);
        let target = state.queued;
        while state.committed < target && self.thread.is_some() {
            state = self
                .shared
                .progress
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        state
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        lock(&self.shared.state).shutdown = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(
    shared: &Shared,
    slot: &Slot,
    location: &Location,
    size_limit: &Limit,
    outbox: &Outbox,
    locks: Option<&KeyLocks>,
) {
    loop {
        let batch = {
            let mut state = lock(&shared.state);
            // Hits noted for the size limit ride on the next commit, or get one of their own
            // once the first of them has waited `USES_DELAY` (or a batch is full).
            // A snapshot the hits left behind is released once its window is over, so that
            // an idle process pins no pages that other processes' commits free.
            let mut uses_since: Option<Instant> = None;
            while state.queue.is_empty() && !state.shutdown {
                let waiting = size_limit.waiting_uses();
                let uses_left = (waiting > 0).then(|| {
                    USES_DELAY.saturating_sub(uses_since.get_or_insert_with(Instant::now).elapsed())
                });
                if uses_left.is_some_and(|left| left.is_zero()) || waiting >= USES_BATCH {
                    break;
                }
                let snapshot_left = slot.recent.release_in();
                if snapshot_left.is_some_and(|left| left.is_zero()) {
                    drop(state);
                    slot.recent.release_old();
                    state = lock(&shared.state);
                    continue;
                }
                state.idle = true;
                state = match uses_left.into_iter().chain(snapshot_left).min() {
                    None => shared.work.wait(state).unwrap_or_else(|e| e.into_inner()),
                    Some(left) => {
                        shared
                            .work
                            .wait_timeout(state, left)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                };
                state.idle = false;
            }
            if state.queue.is_empty() {
                let shutdown = state.shutdown;
                drop(state);
                if size_limit.waiting_uses() > 0 {
                    commit_uses(slot, location, size_limit);
                }
                if shutdown {
                    return;
                }
                continue;
            }
            state.queued_bytes = 0;
            std::mem::take(&mut state.queue)
        };
        // Room in the queue again: callers waiting for it go on while this batch commits.
        shared.progress.notify_all();
        let last = batch.last().map_or(0, |(seq, _)| *seq);
        let started = Instant::now();
        let with_outbox = outbox.enabled();
        let failure = commit(slot, &batch, size_limit, with_outbox).err();
        if with_outbox && failure.is_none() {
            outbox.committed();
        }
        // Stored (or failed): processes waiting for these calls look for the records now,
        // and compute the ones that failed themselves.
        if let Some(locks) = locks {
            locks.release(batch.iter().map(|(_, call)| &call.key));
        }
        let took = started.elapsed();
        if let Some(e) = &failure {
            tracing::warn!(
                "{} results were returned but not cached in {}: {e}",
                batch.len(),
                location.display_path().display()
            );
            crate::error::warn_once(&format!(
                "results not cached in {}: {e}",
                location.display_path().display()
            ));
        }
        let mut state = lock(&shared.state);
        state.committed = last;
        // Under a size limit a commit may evict calls, which kept results would still answer.
        let kept = state.pending.len();
        if keeps_results(location) && failure.is_none() && size_limit.get().is_none() {
            if state.pending.len() > KEPT_RESULTS {
                state.pending.retain(|_, (seq, _, _)| *seq > last);
            } else {
                state
                    .pending
                    .retain(|_, (seq, _, bytes)| *seq > last || bytes.len() <= KEPT_RESULT_BYTES);
            }
            // A committed result left the map: the map no longer holds them all.
            state.kept_all &= state.pending.len() == kept;
        } else {
            state.pending.retain(|_, (seq, _, _)| *seq > last);
            state.kept_all = false;
        }
        state.limit = next_limit(state.limit, batch.len(), took);
        if let Some(e) = failure {
            state.not_stored += batch.len() as u64;
            state.failure = Some(e.to_string());
        }
        drop(state);
        shared.progress.notify_all();
    }
}

/// The queue's next bound: smaller when a commit overran its budget, larger when a full
/// queue committed in well under it.
fn next_limit(limit: usize, batch: usize, took: Duration) -> usize {
    let next = if took > COMMIT_BUDGET {
        let scaled = batch as f64 * COMMIT_BUDGET.as_secs_f64() / took.as_secs_f64();
        (scaled as usize).min(limit)
    } else if batch >= limit && took < COMMIT_BUDGET / 2 {
        limit * 2
    } else {
        limit
    };
    next.clamp(MIN_QUEUED_RECORDS, MAX_QUEUED_RECORDS)
}

/// Commits the hits noted for the size limit, when no record is waiting to carry them.
fn commit_uses(slot: &Slot, location: &Location, size_limit: &Limit) {
    let done = slot.with(|db| write_in(db, |txn| size_limit.apply(txn, &[])));
    slot.changed();
    if let Err(e) = done {
        tracing::debug!(
            "uses of calls in {} not recorded: {e}",
            location.display_path().display()
        );
    }
}

/// Commits a batch, and marks the commit before the caller lets its results leave the queue.
fn commit(
    slot: &Slot,
    batch: &[(u64, QueuedCall)],
    size_limit: &Limit,
    outbox: bool,
) -> Result<()> {
    let committed = slot.with(|db| {
        write_in(db, |txn| {
            let calls: Vec<ToPut<'_>> = batch.iter().map(|(_, call)| call.to_put()).collect();
            let values: Vec<(Digest, &[u8])> = batch
                .iter()
                .flat_map(|(_, call)| call.values_to_put())
                .collect();
            put_calls_in(txn, &calls, &values)?;
            // Stacked above a shared database: the push reads what to send from here.
            if outbox {
                let new = batch.iter().filter(|(_, call)| !call.pushed);
                outbox::add_in(txn, new.map(|(_, call)| &call.key))?;
            }
            let written: Vec<Written> = batch.iter().map(|(_, call)| Written::of(call)).collect();
            size_limit.apply(txn, &written)?;
            Ok(())
        })
    });
    slot.changed();
    committed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_bound_follows_the_commit_time() {
        let ms = Duration::from_millis;
        assert_eq!(next_limit(256, 256, ms(80)), 128, "too slow: halved");
        assert_eq!(next_limit(256, 256, ms(5)), 512, "full and quick: doubled");
        assert_eq!(next_limit(256, 10, ms(5)), 256, "not full: kept");
        assert_eq!(next_limit(16, 16, ms(500)), MIN_QUEUED_RECORDS);
        assert_eq!(next_limit(1024, 1024, ms(1)), MAX_QUEUED_RECORDS);
    }
}
