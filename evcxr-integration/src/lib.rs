//! fleche in Rust notebooks: what makes the evcxr kernel and REPL first-class users of fleche
//! without belonging in the core.
//!
//! - [`setup`]: make every new notebook (or only those using a dedicated kernel) start with
//!   fleche loaded; exactly what it writes, and how to undo it.
//! - [`repl`]: drive the evcxr REPL as a subprocess, cell by cell, for tests that need a real
//!   kernel: redefinitions, restarts, many cells in one process.
//!
//! - [`check`]: after a kernel exits, verify its cache file with redb's integrity check.
//!
//! The command-line tool `fleche-evcxr` wraps [`setup`] and [`check`].

pub mod builds;
pub mod check;
pub mod repl;
pub mod setup;
