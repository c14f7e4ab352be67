//! Keys and mouse to actions, depending on what is on screen; and the help listing every key.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::app::{Action, Overlay, Screen, State};
use crate::calls::Column;

/// Every key, by screen: (where, keys, what). The `?` window shows exactly this.
pub const HELP: &[(&str, &str, &str)] = &[
    ("calls", "j k ↓ ↑", "move"),
    ("calls", "PgDn PgUp ^d ^u", "move by a page"),
    ("calls", "g G Home End", "first, last call"),
    ("calls", "Enter l →", "open the call"),
    ("calls", "/", "filter (Enter keeps it, Esc clears it)"),
    ("calls", "Tab", "scope of plain filter terms"),
    ("calls", "t", "tag picker: type to search, Enter filters"),
    ("calls", "1-8", "sort by column (again: reverse)"),
    ("calls", "s S", "sort by next column, reverse"),
    ("calls", "y", "copy the call key (OSC 52)"),
    (
        "calls",
        "d D",
        "delete the call, every shown call (--write)",
    ),
    ("calls", "r", "re-read the cache now"),
    ("calls", "q Esc", "quit"),
    ("filter", "fib", "fuzzy; 'exact ^prefix suffix$ !not"),
    ("filter", "fn: mod:", "function, module name"),
    ("filter", "tag:k tag:k=v", "has tag k; tag k is v"),
    (
        "filter",
        "arg:x=100",
        "argument x is 100 (~ fuzzy, ' ^ $ !)",
    ),
    ("call", "j k ↓ ↑", "move"),
    ("call", "l → h ←", "open / first child; close / parent"),
    ("call", "Space Enter", "open or close"),
    ("call", "H J K", "parent, next, previous sibling"),
    ("call", "e c", "open, close all siblings"),
    ("call", "E", "open everything below"),
    ("call", "1-9", "show down to that level"),
    ("call", "yy yp yd yk", "copy value, path, digest, call key"),
    ("call", "q Esc Backspace", "back to the calls"),
    ("all", "?", "this help"),
    ("all", "^c", "quit"),
    ("all", "mouse", "wheel scrolls; click selects, again opens"),
];

/// The action for a terminal event, if any.
pub fn action(state: &State, event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_action(state, key),
        Event::Mouse(m) => mouse_action(m),
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

fn mouse_action(m: &MouseEvent) -> Option<Action> {
    match m.kind {
        MouseEventKind::ScrollDown => Some(Action::Move(3)),
        MouseEventKind::ScrollUp => Some(Action::Move(-3)),
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(m.column, m.row)),
        _ => None,
    }
}

fn key_action(state: &State, key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match &state.overlay {
        Overlay::Help => return Some(Action::Back),
        Overlay::Confirm(_) => {
            return Some(Action::Confirm(matches!(
                key.code,
                KeyCode::Char('y') | KeyCode::Char('Y')
            )));
        }
        Overlay::Tags(_) => return Some(line_key(key).unwrap_or(Action::Tick)),
        Overlay::None => {}
    }
    if state.screen == Screen::Call && state.yank_pending() {
        return Some(match key.code {
            KeyCode::Char('y') => Action::YankValue,
            KeyCode::Char('p') => Action::YankPath,
            KeyCode::Char('d') => Action::YankDigest,
            KeyCode::Char('k') => Action::YankKey,
            _ => Action::Say("nothing copied".into()),
        });
    }
    if state.editing {
        return line_key(key).or(match key.code {
            KeyCode::Tab => Some(Action::CycleScope),
            KeyCode::Char('s') if ctrl => Some(Action::CycleScope),
            _ => None,
        });
    }
    let common = match key.code {
        KeyCode::Down => Some(Action::Move(1)),
        KeyCode::Up => Some(Action::Move(-1)),
        KeyCode::Char('j') if !ctrl => Some(Action::Move(1)),
        KeyCode::Char('k') if !ctrl => Some(Action::Move(-1)),
        KeyCode::PageDown => Some(Action::Page(1)),
        KeyCode::PageUp => Some(Action::Page(-1)),
        KeyCode::Char('d') if ctrl => Some(Action::Page(1)),
        KeyCode::Char('u') if ctrl => Some(Action::Page(-1)),
        KeyCode::Char('f') if ctrl => Some(Action::Page(1)),
        KeyCode::Char('b') if ctrl => Some(Action::Page(-1)),
        KeyCode::Home | KeyCode::Char('g') => Some(Action::Top),
        KeyCode::End | KeyCode::Char('G') => Some(Action::Bottom),
        KeyCode::Char('?') | KeyCode::F(1) => Some(Action::Help),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match state.screen {
        Screen::Table => match key.code {
            KeyCode::Enter | KeyCode::Right | KeyCode::Char('l') => Some(Action::Open),
            KeyCode::Char('/') => Some(Action::EditFilter),
            KeyCode::Tab => Some(Action::CycleScope),
            KeyCode::Char('t') => Some(Action::Tags),
            KeyCode::Char('s') => Some(Action::NextSort),
            KeyCode::Char('S') => Some(Action::ReverseSort),
            KeyCode::Char(c @ '1'..='8') => {
                Some(Action::SortBy(Column::ALL[(c as u8 - b'1') as usize]))
            }
            KeyCode::Char('y') => Some(Action::YankKey),
            KeyCode::Char('d') | KeyCode::Delete => Some(Action::Delete),
            KeyCode::Char('D') => Some(Action::DeleteShown),
            KeyCode::Char('r') => Some(Action::Rescan),
            KeyCode::Char('q') | KeyCode::Esc => Some(Action::Quit),
            _ => None,
        },
        Screen::Call => match key.code {
            KeyCode::Char('l') | KeyCode::Right => Some(Action::Right),
            KeyCode::Char('h') | KeyCode::Left => Some(Action::Left),
            KeyCode::Char(' ') | KeyCode::Enter => Some(Action::Toggle),
            KeyCode::Char('H') => Some(Action::Parent),
            KeyCode::Char('J') => Some(Action::Sibling(1)),
            KeyCode::Char('K') => Some(Action::Sibling(-1)),
            KeyCode::Char('e') => Some(Action::ExpandSiblings),
            KeyCode::Char('c') => Some(Action::CollapseSiblings),
            KeyCode::Char('E') => Some(Action::ExpandDeep),
            KeyCode::Char(c @ '1'..='9') => Some(Action::Level((c as u8 - b'0') as usize)),
            KeyCode::Char('y') => Some(Action::YankValue),
            KeyCode::Char('q') | KeyCode::Esc | KeyCode::Backspace => Some(Action::Back),
            _ => None,
        },
    }
}

/// Keys of a one-line input (the filter, the tag picker's search).
fn line_key(key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Enter => Action::Accept,
        KeyCode::Esc => Action::Cancel,
        KeyCode::Backspace => Action::Backspace,
        KeyCode::Char('w') if ctrl => Action::DeleteWord,
        KeyCode::Char('u') if ctrl => Action::ClearLine,
        KeyCode::Char('n') if ctrl => Action::Move(1),
        KeyCode::Char('p') if ctrl => Action::Move(-1),
        KeyCode::Down => Action::Move(1),
        KeyCode::Up => Action::Move(-1),
        KeyCode::PageDown => Action::Page(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::Char(c) if !ctrl => Action::Type(c),
        _ => return None,
    })
}
