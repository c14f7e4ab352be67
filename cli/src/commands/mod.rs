//! One module per subcommand (or per pair of subcommands that share their work).

pub mod config;
pub mod evict;
pub mod ls;
pub mod maintain;
pub mod moving;
pub mod show;
pub mod stats;
pub mod tui;
