//! fleche-tui: browse a fleche cache in the terminal.
//!
//! A table of every stored call (sortable, filterable with fzf-style terms and `fn:`, `mod:`,
//! `tag:`, `arg:` fields, live while other processes write), and each call as a tree of its
//! metadata, arguments and result whose values are read only when opened. The binary is a
//! thin loop around this library: [`app::State`] holds everything, [`keys::action`] turns
//! input into [`app::Action`]s, [`app::State::update`] applies them, and [`ui::render`] draws
//! the state, so whole screens are tested on ratatui's `TestBackend`. Each screen and window
//! (in [`screen`]) keeps its own state, keys and drawing; the modules below them (`layout`,
//! `draw`, `input`, `action`) never import the app.

pub mod action;
pub mod app;
pub mod batch;
pub mod calls;
pub mod clipboard;
pub mod compact;
pub mod draw;
pub mod filter;
pub mod input;
pub mod keys;
pub mod layout;
pub mod loader;
pub mod loading;
pub mod open;
pub mod screen;
pub mod strings;
pub mod svg;
#[doc(hidden)]
pub mod testing;
pub mod times;
pub mod tree;
pub mod ui;
pub mod value;
