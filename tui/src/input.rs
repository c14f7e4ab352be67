//! Keys more than one screen shares: moving through a list, and editing a one-line input (the
//! filter, the tag picker's search). Each screen maps the rest of its keys itself.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::action::Action;

/// Whether Ctrl is held.
pub fn ctrl(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
}

/// Keys that move through a list (the table, the tree), and `?` for help.
pub fn movement(key: &KeyEvent) -> Option<Action> {
    let ctrl = ctrl(key);
    Some(match key.code {
        KeyCode::Down => Action::Move(1),
        KeyCode::Up => Action::Move(-1),
        KeyCode::Char('j') if !ctrl => Action::Move(1),
        KeyCode::Char('k') if !ctrl => Action::Move(-1),
        KeyCode::PageDown => Action::Page(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::Char('d') if ctrl => Action::Page(1),
        KeyCode::Char('u') if ctrl => Action::Page(-1),
        KeyCode::Char('f') if ctrl => Action::Page(1),
        KeyCode::Char('b') if ctrl => Action::Page(-1),
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        _ => return None,
    })
}

/// Keys of a one-line input.
pub fn line(key: &KeyEvent) -> Option<Action> {
    let ctrl = ctrl(key);
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
