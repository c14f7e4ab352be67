//! Compute once between processes that share one cache file: a miss locks one byte of the
//! file, named by its call key, before the body runs, and the commit that stores the record
//! unlocks it. The lock is advisory (nothing is written, the byte need not exist) and the
//! kernel drops it when its holder exits or dies, so a killed holder never blocks anyone.
//!
//! A lock costs two system calls, where the earlier design's lease table cost a durable
//! commit per claim (8 ms here) and made a cold recursion on a file 70-150 times slower
//! (fib(20): 1.3 ms now, 90-195 ms then; `cargo bench -p fleche --bench memoize -- fib`). The trait [`Claims`] is also implemented by the PostgreSQL tier, whose leases
//! are rows on the server.

use std::collections::HashSet;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex, OnceLock};
use std::time::Duration;

use super::{Key, Store};
use crate::digest::Digest;
use crate::error::Result;
use crate::meta::hostname;

/// Who computes a call: this machine, this process and when this copy of fleche started (a
/// notebook runs several copies of fleche's statics in one process, and each claims apart).
pub(crate) fn this_holder() -> &'static str {
    static HOLDER: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{} pid {} since {}",
            hostname(),
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ")
        )
    });
    &HOLDER
}

/// What a claim on a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The key is ours until we release it (or our record's commit does).
    Ours,
    /// Another holder has it, described for the waiting side's message.
    HeldBy(String),
}

/// Where the claims of a cache live: its file, or the shared database below it. Whoever
/// claims through it holds the key until it releases it (or, for leases on a server, until
/// its lease lapses; it renews the leases it holds by itself).
pub(crate) trait Claims: Send + Sync {
    /// Claims `key` unless another holder has it; `lease` bounds how long a holder that
    /// stops renewing keeps it, where claims are leases.
    fn claim(&self, key: &Digest, lease: Duration) -> Result<Claim>;
    /// Who holds `key` now, if anyone but us.
    fn claim_holder(&self, key: &Digest) -> Result<Option<String>>;
    /// Gives up our claim on `key`: with `remove`, at once (nothing was stored); without, it
    /// ends with the commit of the record just queued.
    fn release_claim(&self, key: &Digest, remove: bool) -> Result<()>;
    /// Whether a claim costs about as much as a small body (a durable write, a round trip),
    /// so bodies known to be quick are better run without one.
    fn costly(&self) -> bool;
}

/// The byte locks of one cache file, through a handle of our own on it (opened at the first
/// claim). Open-file-description locks on Linux: they belong to this handle, so redb opening
/// and closing the same file never drops them, and two handles in one process exclude each
/// other like two processes do.
pub(crate) struct KeyLocks {
    path: PathBuf,
    file: OnceLock<std::io::Result<File>>,
    /// Keys locked through this handle and not yet unlocked.
    held: Mutex<HashSet<Key>>,
}

impl KeyLocks {
    pub(crate) fn new(path: PathBuf) -> KeyLocks {
        KeyLocks {
            path,
            file: OnceLock::new(),
            held: Mutex::new(HashSet::new()),
        }
    }

    fn file(&self) -> Result<&File> {
        let opened = self.file.get_or_init(|| {
            // Write access, because a write lock needs it; the file is never written through it.
            File::options().read(true).write(true).open(&self.path)
        });
        opened.as_ref().map_err(|e| crate::Error::Io {
            path: self.path.clone(),
            source: std::io::Error::new(e.kind(), e.to_string()),
        })
    }

    /// Locks `key`, unless another handle holds it.
    pub(crate) fn claim(&self, key: &Digest) -> Result<Claim> {
        let file = self.file()?;
        match lock::try_lock(file, offset(key)) {
            Ok(true) => {
                held(&self.held).insert(*key.as_bytes());
                Ok(Claim::Ours)
            }
            Ok(false) => Ok(Claim::HeldBy(describe(file, offset(key)))),
            Err(e) => Err(self.io_error(e)),
        }
    }

    /// Whether another handle holds `key` (polled while waiting, so it names no one).
    pub(crate) fn holder(&self, key: &Digest) -> Result<Option<String>> {
        let file = self.file()?;
        match lock::holder(file, offset(key)) {
            Ok(None) => Ok(None),
            Ok(Some(_)) => Ok(Some(ANOTHER.to_owned())),
            Err(e) => Err(self.io_error(e)),
        }
    }

    /// Unlocks those of `keys` that this handle holds (a commit stored their records, or it
    /// failed and a waiter should take over).
    pub(crate) fn release<'k>(&self, keys: impl IntoIterator<Item = &'k Digest>) {
        let mut held = held(&self.held);
        if held.is_empty() {
            return;
        }
        let Some(Ok(file)) = self.file.get() else {
            return;
        };
        for key in keys {
            if held.remove(key.as_bytes())
                && let Err(e) = lock::unlock(file, offset(key))
            {
                // Only a closed handle fails here, and closing it unlocks everything anyway.
                tracing::warn!(key = %key, "could not unlock a claimed call: {e}");
            }
        }
    }

    fn io_error(&self, source: std::io::Error) -> crate::Error {
        crate::Error::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl Store {
    /// Whether other processes can share this store's claims: a file opened read-write.
    pub(crate) fn can_claim(&self) -> bool {
        self.locks.is_some()
    }
}

impl Claims for Store {
    fn claim(&self, key: &Digest, _lease: Duration) -> Result<Claim> {
        match &self.locks {
            Some(locks) => locks.claim(key),
            None => Ok(Claim::Ours),
        }
    }
    fn claim_holder(&self, key: &Digest) -> Result<Option<String>> {
        match &self.locks {
            Some(locks) => locks.holder(key),
            None => Ok(None),
        }
    }
    fn release_claim(&self, key: &Digest, remove: bool) -> Result<()> {
        // A queued record keeps its lock until the writer has committed it.
        if let Some(locks) = &self.locks
            && remove
        {
            locks.release([key]);
        }
        Ok(())
    }
    fn costly(&self) -> bool {
        false
    }
}

/// A holder that could not be named.
const ANOTHER: &str = "another process";

/// The holder of byte `at` as the waiting side's message names it: its process id where the
/// system tells it (classic locks), else as found in `/proc` on Linux, else "another
/// process".
fn describe(file: &File, at: i64) -> String {
    if let Ok(Some(Some(pid))) = lock::holder(file, at) {
        return format!("process {pid}");
    }
    #[cfg(target_os = "linux")]
    if let Some(found) = super::lock_owner::find(file, at) {
        return found;
    }
    ANOTHER.to_owned()
}

fn held(m: &Mutex<HashSet<Key>>) -> std::sync::MutexGuard<'_, HashSet<Key>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The byte a key locks: 62 bits of the key, so distinct keys share a byte with odds of
/// 1 in 4.6e18, and the offset stays a valid positive file offset.
fn offset(key: &Digest) -> i64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key.as_bytes()[..8]);
    i64::try_from(u64::from_le_bytes(first) >> 2).unwrap_or(0)
}

#[cfg(unix)]
mod lock {
    //! One-byte write locks with `fcntl`: open-file-description locks where the system has
    //! them (Linux), else classic POSIX record locks (which belong to the process: within one
    //! process, the runtime's in-flight map is what keeps threads from computing twice).

    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    const SET: libc::c_int = libc::F_OFD_SETLK;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const GET: libc::c_int = libc::F_OFD_GETLK;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const SET: libc::c_int = libc::F_SETLK;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const GET: libc::c_int = libc::F_GETLK;

    #[allow(unsafe_code)]
    fn request(kind: libc::c_int, at: i64) -> libc::flock {
        // SAFETY: `flock` is a plain C struct for which all-zero bytes are a valid value
        // (open-file-description locks even require `l_pid` to be 0).
        let mut request: libc::flock = unsafe { std::mem::zeroed() };
        request.l_type = kind as libc::c_short;
        request.l_whence = libc::SEEK_SET as libc::c_short;
        request.l_start = at as libc::off_t;
        request.l_len = 1;
        request
    }

    #[allow(unsafe_code)]
    fn fcntl(file: &File, command: libc::c_int, request: &mut libc::flock) -> io::Result<()> {
        // SAFETY: the descriptor is open for the borrow of `file`, and `request` is a valid
        // `flock` that the call may write to (for the GET command).
        let status = unsafe { libc::fcntl(file.as_raw_fd(), command, std::ptr::from_mut(request)) };
        if status == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Takes the write lock on byte `at`; `false` when another holder has it.
    pub(super) fn try_lock(file: &File, at: i64) -> io::Result<bool> {
        match fcntl(file, SET, &mut request(libc::F_WRLCK, at)) {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) fn unlock(file: &File, at: i64) -> io::Result<()> {
        fcntl(file, SET, &mut request(libc::F_UNLCK, at))
    }

    /// `None` when byte `at` is free (or ours); else the holder's process id when the
    /// system tells it (classic locks do, open-file-description locks do not).
    pub(super) fn holder(file: &File, at: i64) -> io::Result<Option<Option<i32>>> {
        let mut probe = request(libc::F_WRLCK, at);
        fcntl(file, GET, &mut probe)?;
        Ok((probe.l_type != libc::F_UNLCK as libc::c_short)
            .then_some((probe.l_pid > 0).then_some(probe.l_pid)))
    }
}

#[cfg(not(unix))]
mod lock {
    //! No byte locks here: every claim succeeds, so processes may compute a call twice (as
    //! without claims); threads of one process still compute it once.

    use std::fs::File;
    use std::io;

    pub(super) fn try_lock(_: &File, _: i64) -> io::Result<bool> {
        Ok(true)
    }
    pub(super) fn unlock(_: &File, _: i64) -> io::Result<()> {
        Ok(())
    }
    pub(super) fn holder(_: &File, _: i64) -> io::Result<Option<Option<i32>>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Digest {
        Digest::from_bytes([n; 32])
    }

    // Open-file-description locks: two handles in one process behave like two processes.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn two_handles_on_one_file_exclude_each_other_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.redb");
        std::fs::write(&path, b"").unwrap();
        let (a, b) = (KeyLocks::new(path.clone()), KeyLocks::new(path));
        assert_eq!(a.claim(&key(1)).unwrap(), Claim::Ours);
        match b.claim(&key(1)).unwrap() {
            Claim::HeldBy(holder) => assert!(
                holder.contains(&std::process::id().to_string()) || !cfg!(target_os = "linux"),
                "the holder is named: {holder}"
            ),
            Claim::Ours => panic!("claimed twice"),
        }
        assert!(b.holder(&key(1)).unwrap().is_some());
        assert_eq!(
            a.holder(&key(1)).unwrap(),
            None,
            "our own lock is no one else's"
        );
        assert_eq!(
            b.claim(&key(2)).unwrap(),
            Claim::Ours,
            "other keys are free"
        );
        a.release([&key(1)]);
        assert_eq!(b.claim(&key(1)).unwrap(), Claim::Ours, "released");
        assert!(matches!(a.claim(&key(1)).unwrap(), Claim::HeldBy(_)));
        drop(b);
        assert_eq!(
            a.claim(&key(1)).unwrap(),
            Claim::Ours,
            "a closed handle lets go"
        );
    }

    #[test]
    fn a_missing_file_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let locks = KeyLocks::new(dir.path().join("gone.redb"));
        let e = locks.claim(&key(1)).unwrap_err().to_string();
        assert!(e.contains("gone.redb"), "{e}");
    }
}
