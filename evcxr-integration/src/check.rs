//! Verifying a cache file after a notebook kernel has used it: redb's full integrity check
//! (every page, checksum and allocator state), then fleche's own count of stored calls.

use std::path::Path;

/// What [`check_cache`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Whether redb's integrity check passed without repairing anything.
    pub intact: bool,
    /// Number of calls stored.
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

/// Runs redb's integrity check on the cache file at `path` (opened in the multi-process mode
/// fleche uses, so a running kernel is waited for, not refused), then counts its calls.
///
/// A check that had to repair the file reports `intact: false`: the file was damaged.
pub fn check_cache(path: &Path) -> Result<CheckReport, CheckError> {
    let redb_error = |e: &dyn std::fmt::Display| CheckError::Redb {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let intact = {
        let mut db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .open(path)
            .map_err(|e| redb_error(&e))?;
        db.check_integrity().map_err(|e| redb_error(&e))?
    };
    let calls = fleche::Cache::open_read_only(path)?.len()?;
    Ok(CheckReport { intact, calls })
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
                calls: 0
            }
        );
    }

    #[test]
    fn a_file_that_is_not_a_cache_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        std::fs::write(&path, b"not a database").unwrap();
        assert!(check_cache(&path).is_err());
    }
}
