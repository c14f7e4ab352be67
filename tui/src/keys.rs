//! Input to actions: the mouse, the terminal's size and Ctrl-C mean the same everywhere; every
//! other key goes to the window or screen in front, which maps it itself.

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind,
};

use crate::action::Action;
use crate::app::{Overlay, Screen, State};
use crate::input;
use crate::screen::{confirm, tags::TagPicker};

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
    if input::ctrl(key) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match &state.overlay {
        // Any key closes the help.
        Overlay::Help => return Some(Action::Back),
        Overlay::Confirm(_) => return Some(confirm::key(key)),
        Overlay::Tags(_) => return Some(TagPicker::key(key)),
        Overlay::None => {}
    }
    match (state.screen, &state.call) {
        (Screen::Call, Some(view)) => view.key(key),
        _ => state.table.key(key),
    }
}
