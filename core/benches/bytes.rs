//! Bytes on disk per small call, and where they go: one line per redb table.
//!
//! `cargo bench -p fleche --bench bytes` (`FLECHE_BYTES_CALLS=100000` for more calls). It
//! stores N calls of a function of one small integer through `#[fleche]` (default metadata:
//! times and resources), compacts the file and prints, per table, the bytes its pages take
//! (stored, metadata and fragmented) divided by the number of calls, and the file's size per
//! call. Goal: at most 500 bytes per small call.

use fleche::{Cache, fleche};
use redb::{MultimapTableHandle, ReadableDatabase, ReadableTableMetadata, TableHandle};

#[fleche]
fn small(x: i64) -> i64 {
    x.wrapping_mul(3)
}

fn main() {
    let calls: u64 = std::env::var("FLECHE_BYTES_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bytes.redb");
    let mut cache = Cache::open(&path).unwrap();
    {
        let _active = cache.activate();
        for i in 0..calls as i64 {
            small(i);
        }
    }
    cache.flush().unwrap();
    cache.compact().unwrap();
    drop(cache);

    let mut builder = redb::Builder::new();
    builder.set_concurrency_mode(redb::ConcurrencyMode::MultiWriter);
    let db = builder.open_read_only(&path).unwrap();
    let txn = db.begin_read().unwrap();
    let mut rows: Vec<(String, u64)> = Vec::new();
    for handle in txn.list_tables().unwrap() {
        let stats = txn
            .open_untyped_table(handle.clone())
            .unwrap()
            .stats()
            .unwrap();
        rows.push((handle.name().to_owned(), on_disk(&stats)));
    }
    for handle in txn.list_multimap_tables().unwrap() {
        let stats = txn
            .open_untyped_multimap_table(handle.clone())
            .unwrap()
            .stats()
            .unwrap();
        rows.push((handle.name().to_owned(), on_disk(&stats)));
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.1));
    let per_call = |bytes: u64| bytes as f64 / calls as f64;
    println!("{calls} small calls, bytes per call after compaction");
    let mut total = 0;
    for (name, bytes) in &rows {
        total += bytes;
        println!("  {name:<20} {:>8.1}", per_call(*bytes));
    }
    println!("  {:<20} {:>8.1}", "all tables", per_call(total));
    let file = std::fs::metadata(&path).unwrap().len();
    println!("  {:<20} {:>8.1}", "file", per_call(file));
}

/// Bytes a table's pages take: its entries, its branch pages and the unused space in them.
fn on_disk(stats: &redb::TableStats) -> u64 {
    stats.stored_bytes() + stats.metadata_bytes() + stats.fragmented_bytes()
}
