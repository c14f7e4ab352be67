//! Write-behind for cache files: a cached call returns as soon as its record is queued, and a
//! background thread commits queued records in batches.
//!
//! Why: every redb commit in multi-process mode is durable (two fsyncs), which costs from a
//! fraction of a millisecond to several milliseconds depending on the disk. Paid inline, a
//! recursive function such as `fib(20)` would spend 21 commits; batched, it spends one or two.
//! Within the process nothing changes: a hit checks the queue first, and every other read
//! waits until what was queued before it is committed. Other processes see a result once its
//! batch commits, a few milliseconds later. A process that exits normally flushes the queue
//! (see `Store::flush_all`); one killed in the window loses only the records not yet committed.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use redb::Database;

use super::{Location, put_call_in};
use crate::digest::Digest;
use crate::record::CallRecord;

/// One call record to commit, with the values it refers to.
pub(crate) struct QueuedCall {
    pub(crate) key: Digest,
    pub(crate) record: CallRecord,
    pub(crate) encoded_record: Vec<u8>,
    /// The result first, then the arguments.
    pub(crate) values: Vec<(Digest, Vec<u8>)>,
}

#[derive(Default)]
struct State {
    queue: Vec<(u64, QueuedCall)>,
    /// Results queued but not yet committed: call key -> (sequence number, result digest,
    /// result bytes). A hit finds them here.
    pending: HashMap<Digest, (u64, Digest, Arc<[u8]>)>,
    queued: u64,
    committed: u64,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the writer thread.
    work: Condvar,
    /// Wakes threads waiting in `flush`.
    progress: Condvar,
}

/// The background writer of one cache file.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(crate) fn start(db: Arc<Database>, location: Location) -> Writer {
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            work: Condvar::new(),
            progress: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("fleche-writer".into())
                .spawn(move || run(&shared, &db, &location))
                .ok()
        };
        Writer { shared, thread }
    }

    /// Whether the background thread could be started; without it, writes go inline.
    pub(crate) fn is_running(&self) -> bool {
        self.thread.is_some()
    }

    pub(crate) fn enqueue(&self, call: QueuedCall) {
        let mut state = lock(&self.shared.state);
        state.queued += 1;
        let seq = state.queued;
        if let Some((digest, bytes)) = call.values.first() {
            state
                .pending
                .insert(call.key, (seq, *digest, Arc::from(bytes.as_slice())));
        }
        state.queue.push((seq, call));
        drop(state);
        self.shared.work.notify_one();
    }

    /// The result of a call that is queued but not yet committed.
    pub(crate) fn pending_result(&self, key: &Digest) -> Option<(Digest, Vec<u8>)> {
        let state = lock(&self.shared.state);
        state
            .pending
            .get(key)
            .map(|(_, digest, bytes)| (*digest, bytes.to_vec()))
    }

    /// Waits until everything queued before this call is committed (or failed and logged).
    pub(crate) fn flush(&self) {
        let mut state = lock(&self.shared.state);
        let target = state.queued;
        while state.committed < target && self.thread.is_some() {
            state = self
                .shared
                .progress
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
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

fn run(shared: &Shared, db: &Database, location: &Location) {
    loop {
        let batch = {
            let mut state = lock(&shared.state);
            while state.queue.is_empty() && !state.shutdown {
                state = shared.work.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.queue.is_empty() {
                return;
            }
            std::mem::take(&mut state.queue)
        };
        let last = batch.last().map_or(0, |(seq, _)| *seq);
        if let Err(e) = commit(db, &batch) {
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
        state.pending.retain(|_, (seq, _, _)| *seq > last);
        drop(state);
        shared.progress.notify_all();
    }
}

fn commit(db: &Database, batch: &[(u64, QueuedCall)]) -> Result<(), String> {
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> Result<(), redb::Error> {
            let txn = db.begin_write()?;
            for (_, call) in batch {
                let values: Vec<(Digest, &[u8])> = call
                    .values
                    .iter()
                    .map(|(d, b)| (*d, b.as_slice()))
                    .collect();
                put_call_in(&txn, &call.key, &call.record, &call.encoded_record, &values)?;
            }
            txn.commit()?;
            Ok(())
        },
    ));
    match attempt {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("the storage engine failed while committing (is the file damaged?)".into()),
    }
}
