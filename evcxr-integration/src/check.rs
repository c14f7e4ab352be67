//! Verifying a cache file after a notebook kernel has used it: redb's full integrity check
//! (every page, checksum and allocator state), then fleche's own count of stored calls.
//!
//! Checking never writes to the file checked. redb's check needs a writable database and
//! repairs what it finds, so it runs on a private copy: the cache's bytes stay as they were,
//! and a damaged file stays damaged for the next writer (which repairs it) to see.

use std::path::Path;

/// What [`check_cache`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Whether redb's integrity check passed without repairing anything.
    pub intact: bool,
    /// Whether the file was left needing repair by a writer that stopped without closing it
    /// (the check runs on a copy that opening repaired; the next writer repairs the file).
    pub needs_repair: bool,
    /// Number of calls stored (in the repaired copy, when the file was damaged).
    pub calls: u64,
}

/// Why a cache could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// redb could not open or check the file.
    #[error("redb cannot check {path}: {detail}")]
    Redb {
        /// The file.
        path: String,
        /// What redb reported.
        detail: String,
    },
    /// fleche could not read the file as a cache.
    #[error(transparent)]
    Fleche(#[from] fleche::Error),
}

/// Runs redb's integrity check on a private copy of the cache file at `path`, then counts its
/// calls. The file itself is only read.
///
/// A check that had to repair the copy reports `intact: false`: the file is damaged.
pub fn check_cache(path: &Path) -> Result<CheckReport, CheckError> {
    let redb_error = |e: &dyn std::fmt::Display| CheckError::Redb {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    if !path.is_file() {
        return Err(redb_error(&"no such cache file"));
    }
    // Asked before the copy is opened for writing, which repairs the copy by itself.
    let needs_repair = matches!(
        fleche::Cache::open_read_only(path),
        Err(fleche::Error::NeedsRepair { .. })
    );
    let scratch = tempfile::tempdir().map_err(|e| redb_error(&e))?;
    let copy = scratch.path().join("cache.redb");
    std::fs::copy(path, &copy).map_err(|e| redb_error(&e))?;
    // redb can panic on a badly damaged file; that is a finding, not a crash of the checker.
    let checked = std::panic::catch_unwind(|| {
        let mut db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .open(&copy)
            .map_err(|e| redb_error(&e))?;
        db.check_integrity().map_err(|e| redb_error(&e))
    });
    let intact = match checked {
        Ok(outcome) => outcome?,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            return Err(redb_error(&format!(
                "the file is damaged beyond repair ({detail}); it was not changed"
            )));
        }
    };
    let calls = fleche::Cache::open_read_only(&copy)
        .map_err(|e| redb_error(&e))?
        .len()
        .map_err(|e| redb_error(&e))?;
    Ok(CheckReport {
        intact,
        needs_repair,
        calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_cache_is_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        {
            let cache = fleche::Cache::open(&path).unwrap();
            cache.put_value(&42u64).unwrap();
        }
        let report = check_cache(&path).unwrap();
        assert_eq!(
            report,
            CheckReport {
                intact: true,
                needs_repair: false,
                calls: 0
            }
        );
    }

    #[test]
    fn checking_leaves_the_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        {
            let cache = fleche::Cache::open(&path).unwrap();
            cache.put_value(&"kept").unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        check_cache(&path).unwrap();
        check_cache(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_damaged_file_is_reported_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        {
            let cache = fleche::Cache::open(&path).unwrap();
            for i in 0..200u64 {
                cache.put_value(&vec![i; 64]).unwrap();
            }
        }
        let mut bytes = std::fs::read(&path).unwrap();
        // Damage a page that holds values (found by one stored value's bytes), wherever the
        // digests placed it.
        let value = fleche::codec::encode(&vec![100u64; 64]).unwrap();
        let at = bytes
            .windows(value.len())
            .position(|w| w == value.as_slice())
            .expect("the value is stored as encoded");
        for b in &mut bytes[at..at + 64] {
            *b ^= 0xa5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let outcome = check_cache(&path);
        assert!(
            !matches!(outcome, Ok(CheckReport { intact: true, .. })),
            "damage went unnoticed: {outcome:?}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "the check wrote to the file"
        );
    }

    #[test]
    fn a_file_needing_repair_is_reported_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live.redb");
        let path = dir.path().join("c.redb");
        // A copy taken while a writer holds the file is what a crash leaves behind.
        let cache = fleche::Cache::open(&live).unwrap();
        cache.put_value(&1u8).unwrap();
        std::fs::copy(&live, &path).unwrap();
        drop(cache);
        let before = std::fs::read(&path).unwrap();
        let report = check_cache(&path).unwrap();
        assert!(report.needs_repair && report.intact, "{report:?}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // The advice works: a writer's open repairs it.
        drop(fleche::Cache::open(&path).unwrap());
        assert!(!check_cache(&path).unwrap().needs_repair);
    }

    #[test]
    fn a_file_that_is_not_a_cache_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        std::fs::write(&path, b"not a database").unwrap();
        assert!(check_cache(&path).is_err());
    }
}
