//! The browser's screens and windows. Each keeps its own state, maps its own keys to actions,
//! applies them (asking the app through a [`crate::action::Reply`] for anything beyond its
//! state) and draws itself, so a change to one screen stays in its file.

pub mod call;
pub mod confirm;
pub mod help;
pub mod table;
pub mod tags;
