//! PostgreSQL as a layer of a cache stack (`type = "postgres"` in `fleche.toml`,
//! [`Stack::postgres`](crate::Stack::postgres), [`Cache::postgres`](crate::Cache::postgres)).
//!
//! Under a local file it is what users mostly run: a local hit costs what it always did, a
//! local miss asks the server and back-fills the file, and a new result is committed to the
//! file with an outbox entry and pushed by a background thread. Alone (or under a memory
//! cache) it stores each new result at once. Its leases make machines compute once.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::digest::Digest;
use crate::error::Result;
use crate::layer::{EncodedRecord, IndexedFilter, Layer, StoredCall};
use crate::store::postgres::{Filter, Postgres, Pusher};
use crate::store::{Claims, Store, TimeKey};

/// How long [`Layer::flush`] waits for the push before it says what is left.
const FLUSH_WAIT: Duration = Duration::from_secs(30);

/// A PostgreSQL database as a cache layer.
pub(crate) struct PostgresLayer {
    pg: Arc<Postgres>,
    /// The push from the local file above, when there is one.
    pusher: OnceLock<(Pusher, Arc<Store>)>,
}

impl PostgresLayer {
    /// Connects to `url`; see [`Stack::postgres`](crate::Stack::postgres).
    pub(crate) fn connect(url: &str) -> Result<Arc<PostgresLayer>> {
        Ok(Arc::new(PostgresLayer {
            pg: Postgres::connect(url)?,
            pusher: OnceLock::new(),
        }))
    }

    /// Pushes new results of the cache file `top` (the stack's top writable layer) through an
    /// outbox kept in that file, and first whatever an earlier process left in it. Returns
    /// whether it does (a memory cache above keeps no outbox: new results go straight down).
    pub(crate) fn push_from(&self, top: &Arc<Store>) -> bool {
        if !top.can_claim() {
            return false;
        }
        self.pusher.get_or_init(|| {
            let pusher = Pusher::start(top, &self.pg);
            pusher.wake();
            (pusher, top.clone())
        });
        true
    }

    /// Where this layer's leases live.
    pub(crate) fn claims(&self) -> Arc<dyn Claims> {
        self.pg.clone()
    }
}

/// How long a stack that is dropped keeps pushing before it leaves the rest in the outbox.
const ON_DROP: Duration = Duration::from_secs(5);

impl Drop for PostgresLayer {
    /// A stack dropped at the end of `main` goes before the exit hook would push: commit
    /// the file's queue and push what it holds now (for a few seconds, not during an
    /// outage), so waiting machines get the last results at once.
    fn drop(&mut self) {
        if let Some((pusher, top)) = self.pusher.get() {
            if let Err(e) = top.flush() {
                tracing::warn!("{e}");
            }
            pusher.wait(ON_DROP);
        }
    }
}

impl Layer for PostgresLayer {
    fn describe(&self) -> String {
        self.pg.describe()
    }

    /// Alone it takes each new result itself; under a file, the file's outbox feeds it.
    fn wants_new_calls(&self) -> bool {
        self.pusher.get().is_none()
    }

    fn result_of(&self, key: &Digest) -> Result<Option<(Digest, Vec<u8>)>> {
        self.pg.result_of(key)
    }

    fn calls(&self, keys: &[Digest]) -> Result<Vec<StoredCall>> {
        self.pg.calls(keys)
    }

    fn hit(&self, key: &Digest) -> Result<Option<StoredCall>> {
        self.pg.hit(key)
    }

    fn value(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        self.pg.value(digest)
    }

    fn store(&self, calls: &[StoredCall]) -> Result<()> {
        self.pg.store(calls).map(drop)
    }

    fn records_after(&self, after: Option<Digest>, limit: usize) -> Result<Vec<(Digest, Vec<u8>)>> {
        self.pg.records_after(after, limit)
    }

    fn records(&self, keys: &[Digest]) -> Result<Vec<EncodedRecord>> {
        self.pg.records(keys)
    }

    fn calls_before(&self, before: Option<TimeKey>, limit: usize) -> Result<Option<Vec<TimeKey>>> {
        self.pg.calls_before(before, limit).map(Some)
    }

    fn calls_after(&self, after: TimeKey) -> Result<Option<Vec<TimeKey>>> {
        self.pg.calls_after(after).map(Some)
    }

    fn count(&self) -> Result<Option<u64>> {
        self.pg.count().map(Some)
    }

    fn records_indexed(&self, filter: &IndexedFilter<'_>) -> Option<Result<Vec<EncodedRecord>>> {
        let filter = match filter {
            IndexedFilter::Name(name) => Filter::Name(name),
            IndexedFilter::Module(module) => Filter::Module(module),
            IndexedFilter::Tag(tag, value) => Filter::Tag(tag, value),
            IndexedFilter::Argument(name, digest) => Filter::Argument(name, digest.as_bytes()),
        };
        Some(self.pg.records_where(&filter))
    }

    fn remove(&self, keys: &[Digest]) -> Result<usize> {
        self.pg.remove(keys)
    }

    /// Waits for the push of everything the file above committed (at most 30 s).
    fn flush(&self) -> Result<()> {
        let Some((pusher, top)) = self.pusher.get() else {
            return Ok(());
        };
        if pusher.wait(FLUSH_WAIT) {
            return Ok(());
        }
        let left = top.outbox_len().unwrap_or(0);
        Err(crate::Error::Layer {
            layer: self.describe(),
            detail: format!(
                "{left} results are not on the server yet; they stay in the outbox of {} and are pushed when it answers",
                top.location.display_path().display()
            ),
        })
    }
}
