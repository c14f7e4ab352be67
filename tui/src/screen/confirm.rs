//! "Delete these calls?": the window that asks before deleting, its one key (y deletes, any
//! other keeps) and its drawing.

use crossterm::event::{KeyCode, KeyEvent};
use fleche::Digest;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::action::{Action, Effect, Reply};
use crate::calls::Calls;
use crate::draw::{Theme, centered, popup};

/// The answer a key gives.
pub fn key(key: &KeyEvent) -> Action {
    Action::Confirm(matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')))
}

/// What the answer does: delete the calls, or say nothing was deleted.
pub fn update(keys: &[Digest], action: Action) -> Reply {
    match action {
        Action::Confirm(true) => Reply::Effect(Effect::Delete(keys.to_vec())),
        _ => Reply::Say("nothing deleted".into()),
    }
}

/// Draws the question over `area`.
pub fn draw(keys: &[Digest], calls: &Calls, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let what = match keys {
        [one] => match calls.position(one) {
            Some(r) => {
                let row = &calls.rows[r as usize];
                format!(
                    "the call {}({})",
                    calls.text(row.name),
                    &one.to_string()[..8]
                )
            }
            None => "this call".to_owned(),
        },
        many => format!("{} calls (every call the filter shows)", many.len()),
    };
    let rect = centered(area, 64, 7);
    frame.render_widget(Clear, rect);
    let lines = vec![
        Line::from(format!("Delete {what}?")),
        Line::styled(
            "Their values stay: other calls may share them.",
            theme.dim(),
        ),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", theme.key()),
            Span::raw(" delete   "),
            Span::styled("any other key", theme.key()),
            Span::raw(" keep"),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(popup("delete", theme).border_style(theme.alert())),
        rect,
    );
}
