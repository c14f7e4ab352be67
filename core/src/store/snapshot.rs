//! The read snapshot that hits reuse for a short while: on a file shared between processes,
//! beginning a read transaction and opening two tables costs several system calls (locks on
//! the file, a read of its header) and most of a hit; reused, a hit is two B-tree lookups.
//!
//! Why a snapshot a few milliseconds old is safe to answer hits from:
//! - Records are immutable and values content-addressed, and a snapshot is consistent (redb
//!   keeps its pages while it is held), so an old snapshot never gives a wrong or torn result;
//!   it can only miss a call stored since, or still see one deleted since.
//! - A call stored since, by this process: it is in the writer's queue, which a hit reads
//!   first, and every commit of ours drops the snapshot (`Slot::changed`) and moves the
//!   generation, so no snapshot older than our own last commit answers.
//! - A call stored since, by another process: the hit misses, and the miss claims the key in
//!   the file, which drops the snapshot (`Claims::claim` for `Store`), so the look after the
//!   claim begins a new transaction: it finds the call, and compute-once holds.
//! - A call deleted since, by this process: a commit of ours, as above.
//! - A call deleted since, by another process (`fleche gc`, `fleche delete`): served for at
//!   most [`WINDOW`], the same as a hit that began just before the deletion.
//! - An old snapshot pins the pages freed after it, so the file would grow while one is held:
//!   it is used for at most [`WINDOW`] and [`MAX_USES`] hits, and the writer thread releases
//!   one that outlived its window while the process is idle (`writer.rs`).
//!
//! Queries, the TUI and every other read begin their own transaction, after the queue is
//! committed: only a hit's lookup reads a snapshot. A memory store, which no other process
//! writes, keeps its snapshot until its next commit.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Result;

/// How long a file's snapshot answers hits: long enough that beginning one is a small part
/// of a run of hits (it costs a few microseconds), short against what another process's
/// change takes to be noticed anyway (its commit waits for its writer's batch).
pub(crate) const WINDOW: Duration = Duration::from_millis(2);

/// How many hits a file's snapshot answers at most, whatever the clock says.
pub(crate) const MAX_USES: u32 = 1000;

/// The two tables a hit reads, in a read transaction of their own.
pub(crate) struct Tables {
    pub(crate) calls: redb::ReadOnlyTable<super::KeyRef, (u64, &'static [u8])>,
    pub(crate) values: redb::ReadOnlyTable<super::KeyRef, (u64, &'static [u8])>,
}

struct Held {
    /// The store's commit count when it was begun (see `Slot::generation`).
    generation: u64,
    taken: Instant,
    uses: u32,
    tables: Tables,
}

/// The snapshot a store's hits reuse, if any.
pub(crate) struct Recent {
    held: Mutex<Option<Held>>,
    /// `None`: no bound in time or uses (a memory store, which only we write).
    bounded: bool,
}

/// What [`Recent::read`] did.
pub(crate) struct Read<T> {
    pub(crate) value: T,
    /// A snapshot was begun where none was held: the writer should watch it (see
    /// `writer.rs`), as nothing else releases it once the hits stop.
    pub(crate) began_idle: bool,
}

impl Recent {
    /// A file's snapshot (`bounded`) or a memory store's.
    pub(crate) fn new(bounded: bool) -> Recent {
        Recent {
            held: Mutex::new(None),
            bounded,
        }
    }

    /// Runs `look` on the held snapshot when it is still recent for `generation`, else on a
    /// new one from `begin` (kept for the next hits). A failed look on a held snapshot drops
    /// it and is run once more on a new one: the database may have been reopened since.
    pub(crate) fn read<T>(
        &self,
        generation: u64,
        begin: impl FnOnce() -> Result<Tables>,
        look: impl Fn(&Tables) -> Result<T>,
    ) -> Result<Read<T>> {
        let mut held = self.lock();
        if let Some(h) = held.as_mut().filter(|h| self.is_recent(h, generation)) {
            h.uses += 1;
            match look(&h.tables) {
                Ok(value) => {
                    return Ok(Read {
                        value,
                        began_idle: false,
                    });
                }
                Err(_) => *held = None,
            }
        }
        let began_idle = held.take().is_none();
        let tables = begin()?;
        let value = look(&tables)?;
        *held = Some(Held {
            generation,
            taken: Instant::now(),
            uses: 1,
            tables,
        });
        Ok(Read { value, began_idle })
    }

    fn is_recent(&self, held: &Held, generation: u64) -> bool {
        held.generation == generation
            && (!self.bounded || (held.uses < MAX_USES && held.taken.elapsed() < WINDOW))
    }

    /// Drops the snapshot: the next hit begins a new one.
    pub(crate) fn forget(&self) {
        let old = self.lock().take();
        drop(old);
    }

    /// How long until the held snapshot outlives its window (zero: it has); `None` when none
    /// is held or it has no bound.
    pub(crate) fn release_in(&self) -> Option<Duration> {
        if !self.bounded {
            return None;
        }
        let held = self.lock();
        held.as_ref()
            .map(|h| WINDOW.saturating_sub(h.taken.elapsed()))
    }

    /// Drops the held snapshot if it outlived its window, so that it pins no pages.
    pub(crate) fn release_old(&self) {
        let mut held = self.lock();
        if self.bounded && held.as_ref().is_some_and(|h| h.taken.elapsed() >= WINDOW) {
            let old = held.take();
            drop(held);
            drop(old);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use redb::ReadableDatabase as _;

    use super::*;

    fn tables() -> Result<Tables> {
        let db = redb::Builder::new()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(super::super::CALLS).unwrap();
        txn.open_table(super::super::VALUES).unwrap();
        txn.commit().unwrap();
        let txn = db.begin_read().unwrap();
        Ok(Tables {
            calls: txn.open_table(super::super::CALLS_IN_PLACE).unwrap(),
            values: txn.open_table(super::super::VALUES_IN_PLACE).unwrap(),
        })
    }

    /// Counts the snapshots begun for these hits.
    fn hits(recent: &Recent, generation: u64, n: u32) -> u32 {
        let mut begun = 0;
        for _ in 0..n {
            recent
                .read(
                    generation,
                    || {
                        begun += 1;
                        tables()
                    },
                    |_| Ok(()),
                )
                .unwrap();
        }
        begun
    }

    #[test]
    fn a_file_snapshot_answers_at_most_max_uses_hits_and_no_hit_after_its_window() {
        let recent = Recent::new(true);
        assert_eq!(hits(&recent, 0, 1), 1);
        assert!(recent.release_in().is_some_and(|d| d <= WINDOW));
        std::thread::sleep(WINDOW + Duration::from_millis(1));
        assert_eq!(recent.release_in(), Some(Duration::ZERO));
        assert_eq!(hits(&recent, 0, 1), 1, "begun again after its window");
        recent.forget();
        // However quick the hits, a snapshot answers at most MAX_USES of them.
        let begun = hits(&recent, 0, MAX_USES * 3);
        assert!(begun >= 3, "{begun}");
    }

    #[test]
    fn a_commit_of_ours_retires_the_snapshot() {
        for bounded in [true, false] {
            let recent = Recent::new(bounded);
            assert_eq!(hits(&recent, 0, 5), 1);
            assert_eq!(hits(&recent, 1, 5), 1, "a new generation: begun again");
        }
    }

    #[test]
    fn a_memory_snapshot_has_no_bound_but_the_generation() {
        let recent = Recent::new(false);
        assert_eq!(hits(&recent, 0, MAX_USES * 2), 1);
        std::thread::sleep(WINDOW + Duration::from_millis(1));
        assert_eq!(hits(&recent, 0, 1), 0);
        assert_eq!(recent.release_in(), None);
    }

    #[test]
    fn the_writer_releases_a_snapshot_that_outlived_its_window() {
        let recent = Recent::new(true);
        let read = recent.read(0, tables, |_| Ok(())).unwrap();
        assert!(read.began_idle);
        let read = recent.read(0, tables, |_| Ok(())).unwrap();
        assert!(
            !read.began_idle,
            "one is held: the writer already watches it"
        );
        recent.release_old();
        assert!(
            recent.release_in().is_some(),
            "still within its window: kept"
        );
        std::thread::sleep(WINDOW + Duration::from_millis(1));
        recent.release_old();
        assert_eq!(recent.release_in(), None, "released");
        let read = recent.read(0, tables, |_| Ok(())).unwrap();
        assert!(read.began_idle);
    }

    #[test]
    fn a_failed_look_on_a_held_snapshot_is_tried_once_on_a_new_one() {
        let recent = Recent::new(true);
        recent.read(0, tables, |_| Ok(())).unwrap();
        let tries = std::cell::Cell::new(0);
        let read = recent.read(0, tables, |_| {
            tries.set(tries.get() + 1);
            if tries.get() == 1 {
                Err(crate::Error::Closed { path: "x".into() })
            } else {
                Ok(7)
            }
        });
        assert_eq!(read.unwrap().value, 7);
        assert_eq!(tries.get(), 2);
    }
}
