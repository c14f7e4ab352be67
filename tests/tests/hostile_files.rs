//! Files that are not fleche caches, or no longer whole ones: refused with a clear error, and
//! left exactly as they were.

use std::process::Command;

use fleche::{Cache, Error};

const USERS: redb::TableDefinition<'_, &str, u64> = redb::TableDefinition::new("users");

#[test]
fn another_programs_redb_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("theirs.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(USERS).unwrap().insert("ada", 36).unwrap();
        txn.commit().unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Cache::open(&path).unwrap_err();
    assert!(matches!(err, Error::NotACache { .. }), "{err}");
    let read_only = Cache::open_read_only(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        read_only.to_string(),
        "the same error either way"
    );
    assert!(err.to_string().contains("without fleche's tables"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );

    // The default cache, pointed at it, is refused the same way; the program still computes.
    let out = Command::new(env!("CARGO_BIN_EXE_cache-worker"))
        .args(["-", "square", "4"])
        .current_dir(dir.path())
        .env("FLECHE_CACHE", &path)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "computed 16");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a fleche cache"), "{stderr}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is untouched"
    );
    let db = redb::Database::open(&path).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
    assert_eq!(txn.list_tables().unwrap().count(), 1, "no table was added");
}

#[test]
fn a_redb_database_without_tables_becomes_a_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.redb");
    drop(redb::Database::create(&path).unwrap());
    let cache = Cache::open(&path).unwrap();
    cache.put_value(&7u8).unwrap();
    assert_eq!(cache.len().unwrap(), 0);
}

#[test]
fn a_truncated_file_opened_read_only_is_called_truncated_or_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.redb");
    {
        let cache = Cache::open(&path).unwrap();
        let values: Vec<_> = (0..2000u64)
            .map(|i| (fleche::digest(&i), vec![i as u8; 64]))
            .collect();
        cache.insert_records(&[], &values).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    // Where the pages a read-only open needs lie depends on the digests, so the file is cut
    // at several lengths: an open that reads past the end must say so, and none may write.
    let mut called_truncated = 0;
    for sixteenths in 1..16 {
        std::fs::write(&path, &bytes[..bytes.len() * sixteenths / 16]).unwrap();
        let cut = std::fs::read(&path).unwrap();
        match Cache::open_read_only(&path) {
            Err(err) if err.to_string().contains("truncated or damaged") => called_truncated += 1,
            Err(err) => assert!(
                matches!(
                    err,
                    fleche::Error::Corrupted { .. } | fleche::Error::NotACache { .. }
                ),
                "read-only open of {sixteenths}/16 says: {err}"
            ),
            Ok(_) => {}
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            cut,
            "a read-only open never writes"
        );
    }
    assert!(called_truncated > 0, "no cut was called truncated");
}
