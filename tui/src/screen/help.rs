//! The help window: every key of every screen, taken from the lists the screens keep beside
//! their key maps, and the filter's syntax. Any key closes it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::draw::{Theme, centered, popup};
use crate::screen::{call, table};

/// The filter's syntax, as the help lists it.
pub const FILTER: &[(&str, &str)] = &[
    ("fib", "fuzzy; 'exact ^prefix suffix$ !not"),
    ("fn: mod:", "function, module name"),
    ("tag:k tag:k=v", "has tag k; tag k is v"),
    ("arg:x=100", "argument x is 100 (~ fuzzy, ' ^ $ !)"),
];

/// Keys that work everywhere.
pub const ANYWHERE: &[(&str, &str)] = &[
    ("?", "this help"),
    ("^c", "quit"),
    ("mouse", "wheel scrolls; click selects, again opens"),
];

/// Every key, by place: (where, keys, what).
pub fn sections() -> [(&'static str, &'static [(&'static str, &'static str)]); 4] {
    [
        ("calls", table::KEYS),
        ("filter", FILTER),
        ("call", call::KEYS),
        ("all", ANYWHERE),
    ]
}

/// Draws the help over `area`.
pub fn draw(theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let sections = sections();
    let count: usize = sections.iter().map(|(_, keys)| keys.len()).sum();
    let rect = centered(area, 74, count as u16 + 4);
    frame.render_widget(Clear, rect);
    let mut lines = Vec::new();
    for (place, keys) in sections {
        for (i, (keys, what)) in keys.iter().enumerate() {
            let place = if i == 0 { place } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{place:<7}"), theme.header()),
                Span::styled(format!("{keys:<18}"), theme.key()),
                Span::raw(*what),
            ]));
        }
    }
    lines.push(Line::styled("any key closes this", theme.dim()));
    frame.render_widget(Paragraph::new(lines).block(popup("keys", theme)), rect);
}
