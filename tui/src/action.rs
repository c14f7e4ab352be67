//! What the user can ask for and what the reader reports ([`Action`]), what a screen asks of
//! the browser in return ([`Reply`]), and what the outside world must do ([`Effect`]). The
//! screens and the app speak these words; nothing here holds state.

use fleche::Digest;

use crate::calls::{Column, Tag};
use crate::loader::Loaded;

/// Everything the user can ask for, and what the reader reports.
#[derive(Debug, Clone)]
pub enum Action {
    /// Leave.
    Quit,
    /// Move the selection by this many rows.
    Move(isize),
    /// Move by a page (negative: up).
    Page(isize),
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Open the selected call, or open the selected node.
    Open,
    /// One step back: close an overlay, leave a call, clear a kept filter, or (with nothing
    /// left to undo) leave.
    Back,
    /// Start typing a filter.
    EditFilter,
    /// A character typed into the filter or the tag picker.
    Type(char),
    /// Delete a character.
    Backspace,
    /// Delete a word.
    DeleteWord,
    /// Clear the line.
    ClearLine,
    /// Keep the filter and stop typing.
    Accept,
    /// Clear the filter and stop typing.
    Cancel,
    /// Cycle which fields plain terms search.
    CycleScope,
    /// Sort by a column (again: reverse).
    SortBy(Column),
    /// Sort by the next column.
    NextSort,
    /// Reverse the sort.
    ReverseSort,
    /// Open the tag picker.
    Tags,
    /// Show or hide the keys.
    Help,
    /// Copy the selected call's key, or the selected node's value.
    YankValue,
    /// Copy the selected node's path.
    YankPath,
    /// Copy the selected value's digest.
    YankDigest,
    /// Copy the call key.
    YankKey,
    /// Tree: open, or go to the first child.
    Right,
    /// Tree: close, or go to the parent.
    Left,
    /// Tree: open or close.
    Toggle,
    /// Tree: the parent.
    Parent,
    /// Tree: next (1) or previous (-1) sibling.
    Sibling(isize),
    /// Tree: open every sibling.
    ExpandSiblings,
    /// Tree: close every sibling.
    CollapseSiblings,
    /// Tree: open everything below.
    ExpandDeep,
    /// Tree: show down to this level.
    Level(usize),
    /// Delete the selected call (asks first).
    Delete,
    /// Delete every call the filter shows (asks first).
    DeleteShown,
    /// Answer to the confirmation.
    Confirm(bool),
    /// Re-read the cache now.
    Rescan,
    /// A mouse click at (column, row).
    Click(u16, u16),
    /// The terminal's size.
    Resize(u16, u16),
    /// Something from the background reader.
    Loaded(Loaded),
    /// Periodic: apply pending re-sorts.
    Tick,
    /// Show a message in the status area.
    Say(String),
}

/// What the outside world must do after an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Put text on the clipboard (OSC 52); the string says what it is.
    Yank(String, String),
    /// Delete these calls from the cache.
    Delete(Vec<Digest>),
    /// Ask the reader to re-read the key list.
    Rescan,
}

/// What a screen asks of the browser after an action, beyond the changes to its own state:
/// a screen never reaches into another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Nothing more.
    Done,
    /// Something the outside world must do.
    Effect(Effect),
    /// Show a message until the next key.
    Say(String),
    /// Open this row of the calls as a tree.
    OpenCall(u32),
    /// Open the tag picker.
    Tags,
    /// Show every key.
    Help,
    /// Ask before deleting these calls.
    AskDelete(Vec<Digest>),
    /// Filter by this tag (the tag picker's choice).
    PickTag(Tag),
    /// Close this screen or window.
    Close,
    /// Leave the program.
    Quit,
}
