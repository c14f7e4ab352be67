//! End-to-end tests of fleche: real cache files, several processes. The tests live in
//! `tests/`; `src/bin/cache-worker.rs` is the separate program they run.
