//! Who holds a byte lock on a cache file, for the one line a waiting process prints. Linux
//! does not say: an open-file-description lock belongs to no process (`F_OFD_GETLK` reports
//! pid -1), so the holder is looked up in `/proc`, as the process with a descriptor of the
//! same file whose lock lines (`/proc/PID/fdinfo/FD`) cover the byte. Best effort, and only
//! once per wait: processes of other users cannot be read, and the answer can be stale by
//! the time it is shown.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The process holding a write lock on byte `at` of `file`, as "process PID (NAME)".
pub(crate) fn find(file: &File, at: i64) -> Option<String> {
    let ours = file.metadata().ok()?;
    let me = std::process::id();
    for process in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = process
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            // `metadata` follows the link to the open file itself.
            let Ok(meta) = std::fs::metadata(fd.path()) else {
                continue;
            };
            if (meta.dev(), meta.ino()) != (ours.dev(), ours.ino()) {
                continue;
            }
            let info = process.path().join("fdinfo").join(fd.file_name());
            if locks_byte(&info, at) {
                return Some(describe(pid, me, &process.path()));
            }
        }
    }
    None
}

/// Whether the descriptor's lock lines hold a write lock covering byte `at`. A line reads
/// `lock: 1: OFDLCK  ADVISORY  WRITE -1 fd:01:1234 START END`, END being `EOF` for a lock
/// to the end of the file.
fn locks_byte(fdinfo: &Path, at: i64) -> bool {
    let Ok(text) = std::fs::read_to_string(fdinfo) else {
        return false;
    };
    text.lines()
        .filter(|line| line.starts_with("lock:") && line.contains(" WRITE "))
        .any(|line| {
            let mut fields = line.split_whitespace().rev();
            let end = fields.next();
            let start = fields.next().and_then(|s| s.parse::<i64>().ok());
            let end = match end {
                Some("EOF") => Some(i64::MAX),
                other => other.and_then(|s| s.parse::<i64>().ok()),
            };
            matches!((start, end), (Some(s), Some(e)) if s <= at && at <= e)
        })
}

fn describe(pid: u32, me: u32, dir: &Path) -> String {
    if pid == me {
        return format!("this process ({pid}, another handle on the cache file)");
    }
    match std::fs::read_to_string(dir.join("comm")) {
        Ok(name) => format!("process {pid} ({})", name.trim()),
        Err(_) => format!("process {pid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_lines_are_read_by_their_range() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("fdinfo");
        std::fs::write(
            &info,
            "pos:\t0\nflags:\t0100002\nlock:\t1: OFDLCK  ADVISORY  WRITE -1 fd:01:4242 100 100\n\
             lock:\t2: OFDLCK  ADVISORY  READ -1 fd:01:4242 300 300\n\
             lock:\t3: OFDLCK  ADVISORY  WRITE -1 fd:01:4242 500 EOF\n",
        )
        .unwrap();
        assert!(locks_byte(&info, 100));
        assert!(!locks_byte(&info, 101));
        assert!(!locks_byte(&info, 300), "a read lock is no claim");
        assert!(locks_byte(&info, 1 << 60));
        assert!(!locks_byte(&dir.path().join("gone"), 100));
    }
}
