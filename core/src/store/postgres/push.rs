//! The push from a local cache file to the shared database: new results are committed to the
//! file with an outbox entry in the same commit, and a background thread sends what the outbox
//! names in batches, then clears those entries. Nothing is lost when the server is away or the
//! process is killed: the entries stay, and this process or the next one on the file sends
//! them when the server is back.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use super::Postgres;
use crate::store::Store;
use crate::store::outbox::Sender;

/// Calls per transaction: large enough that a push costs a few round trips per hundreds of
/// calls, small enough that one transaction stays short.
const BATCH_CALLS: usize = 512;
/// Value bytes per transaction, so that large results go a few at a time.
const BATCH_BYTES: usize = 64 << 20;
/// Calls read from the file at once while a batch is gathered.
const READ_CALLS: usize = 16;
/// How often an idle pusher looks at the outbox, for entries left by other processes.
const IDLE_LOOK: Duration = Duration::from_millis(500);
/// How long to wait before trying again after the server failed.
const AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Sends the outbox of one cache file to one database, on its own thread.
pub(crate) struct Pusher {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// Wake-ups asked for (a new result was queued).
    asked: u64,
    /// Wake-ups answered by a pass that found the outbox empty afterwards.
    settled: u64,
    /// The last pass failed (the server is away): an exiting process does not wait for it.
    failing: bool,
    stop: bool,
}

impl Pusher {
    /// Starts draining `local`'s outbox into `pg`; it marks new results for the outbox from
    /// now on.
    pub(crate) fn start(local: &Arc<Store>, pg: &Arc<Postgres>) -> Pusher {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        local.enable_outbox(Arc::new(Listener(Arc::downgrade(&shared))));
        let (local, pg, thread_shared) = (Arc::downgrade(local), pg.clone(), shared.clone());
        let spawned = std::thread::Builder::new()
            .name("fleche-pg-push".into())
            .spawn(move || run(&thread_shared, &local, &pg));
        if let Err(e) = spawned {
            tracing::warn!("no thread to push results to the shared cache: {e}");
        }
        Pusher { shared }
    }

    /// Push soon (new results were committed to the file).
    pub(crate) fn wake(&self) {
        self.shared.wake();
    }

    /// Waits until every result committed before this call has been pushed, or `limit`
    /// passed. Returns whether the outbox emptied.
    pub(crate) fn wait(&self, limit: Duration) -> bool {
        self.shared.wait(limit)
    }
}

impl Shared {
    fn wake(&self) {
        lock(&self.state).asked += 1;
        self.wake.notify_one();
    }

    fn wait(&self, limit: Duration) -> bool {
        let mut state = lock(&self.state);
        state.asked += 1;
        let target = state.asked;
        self.wake.notify_one();
        let deadline = std::time::Instant::now() + limit;
        while state.settled < target {
            if state.failing {
                return false;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .done
                .wait_timeout(state, left)
                .map_or_else(|e| e.into_inner().0, |(s, _)| s);
        }
        true
    }
}

/// The file's side of the push: commits wake it, and closing the file (at exit) gives it
/// a few seconds to send what is left, so waiting machines get the results now rather than
/// when the next process opens the file.
struct Listener(Weak<Shared>);

/// How long an exiting process keeps pushing before it leaves the rest in the outbox.
const AT_EXIT: Duration = Duration::from_secs(5);

impl Sender for Listener {
    fn committed(&self) {
        if let Some(shared) = self.0.upgrade() {
            shared.wake();
        }
    }

    fn closing(&self) {
        if let Some(shared) = self.0.upgrade() {
            shared.wait(AT_EXIT);
        }
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_one();
    }
}

fn run(shared: &Shared, local: &Weak<Store>, pg: &Postgres) {
    loop {
        let target = {
            let state = lock(&shared.state);
            if state.stop {
                return;
            }
            state.asked
        };
        let Some(store) = local.upgrade() else { return };
        let outcome = drain(&store, pg);
        drop(store);
        let mut state = lock(&shared.state);
        match outcome {
            Ok(()) => {
                state.failing = false;
                state.settled = state.settled.max(target);
                shared.done.notify_all();
            }
            Err(e) => {
                tracing::debug!("push to the shared cache failed, trying again: {e}");
                state.failing = true;
                shared.done.notify_all();
                drop(state);
                std::thread::sleep(AFTER_FAILURE);
                continue;
            }
        }
        if state.asked == target && !state.stop {
            state = shared
                .wake
                .wait_timeout(state, IDLE_LOOK)
                .map_or_else(|e| e.into_inner().0, |(s, _)| s);
        }
        drop(state);
    }
}

/// Sends everything in the outbox, batch by batch, removing each batch's entries once the
/// server committed it. Calls are read from the file a few at a time, so a batch of large
/// values holds about [`BATCH_BYTES`] in memory, not the whole outbox.
fn drain(store: &Store, pg: &Postgres) -> crate::Result<()> {
    // Not waiting for this process's write queue: its commits wake the pusher, and `flush`
    // and closing commit the queue before they wait for the push.
    loop {
        let keys = store.outbox(BATCH_CALLS)?;
        if keys.is_empty() {
            return Ok(());
        }
        let mut batch = Vec::new();
        let mut batch_keys = Vec::new();
        let mut bytes = 0;
        for group in keys.chunks(READ_CALLS) {
            for call in store.bundles(group)? {
                bytes += call.bytes();
                batch.push(call);
            }
            // Keys whose calls left the file meanwhile (evicted) leave the outbox too.
            batch_keys.extend_from_slice(group);
            if bytes >= BATCH_BYTES {
                pg.store(&batch)?;
                store.outbox_done(&batch_keys)?;
                (batch, batch_keys, bytes) = (Vec::new(), Vec::new(), 0);
            }
        }
        pg.store(&batch)?;
        store.outbox_done(&batch_keys)?;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
