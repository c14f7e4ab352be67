//! Drawing: a pure function of the state. The frame (title, body, status and hint lines) is
//! drawn here; each screen and window draws its own part. Only the visible rows are
//! formatted, so a million calls draw as fast as thirty.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{Overlay, Screen, State};
pub use crate::draw::Theme;
use crate::screen::table::TableView;
use crate::screen::{call, confirm, help, table};

/// Draws the whole screen.
pub fn render(state: &State, frame: &mut Frame<'_>) {
    let theme = Theme::new(state.options.color);
    let area = frame.area();
    let [title, body, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    title_bar(state, theme, frame, title);
    let call = state.call.as_ref().filter(|_| state.screen == Screen::Call);
    match call {
        Some(view) => view.draw(theme, frame, body),
        None if state.screen == Screen::Call => {}
        None => {
            let view = TableView {
                calls: &state.calls,
                loading: &state.loading,
                theme,
                local_time: state.options.local_time,
            };
            state.table.draw(&view, frame, body);
        }
    }
    status_line(state, theme, frame, status);
    hint_line(state, theme, frame, hints);
    match &state.overlay {
        Overlay::None => {}
        Overlay::Help => help::draw(theme, frame, area),
        Overlay::Tags(picker) => picker.draw(&state.calls, theme, frame, area),
        Overlay::Confirm(keys) => confirm::draw(keys, &state.calls, theme, frame, area),
    }
}

fn title_bar(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let how = if state.options.copy {
        "read-only, a repaired copy: the file needs repair"
    } else if state.options.writable {
        "read-write, live"
    } else {
        "read-only, live"
    };
    let left = format!(" fleche-tui  {}  ({how})", state.options.source);
    let right = "? help ";
    let pad = (area.width as usize).saturating_sub(left.chars().count() + right.len());
    let text = format!("{left}{}{right}", " ".repeat(pad));
    frame.render_widget(Paragraph::new(text).style(theme.bar()), area);
}

fn status_line(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let text = match state.screen {
        Screen::Table => state.table.status(&state.calls, &state.loading),
        Screen::Call => state.call.as_ref().map(|v| v.status()).unwrap_or_default(),
    };
    let style = if state.loading.error.is_some() && state.screen == Screen::Table {
        theme.alert()
    } else {
        theme.bar()
    };
    frame.render_widget(Paragraph::new(text).style(style), area);
}

fn hint_line(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    if let Some(line) = state.table.prompt(theme) {
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(msg) = &state.message {
        frame.render_widget(
            Paragraph::new(format!(" {msg}")).style(theme.prompt()),
            area,
        );
        return;
    }
    let pairs = match state.screen {
        Screen::Table => table::HINTS,
        Screen::Call => call::HINTS,
    };
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in pairs {
        spans.push(Span::styled(*k, theme.key()));
        spans.push(Span::styled(format!(" {what}  "), theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
