//! End-to-end tests of fleche: real cache files, several processes, a real PostgreSQL server.
//! The tests live in `tests/`; `src/bin/` holds the separate programs they run, and
//! [`postgres`] starts a throwaway server for them.

pub mod postgres;
pub mod workers;
