//! Drawing pieces every screen uses: the theme (styles by meaning, plain under `NO_COLOR`),
//! text fitted to a width, and the frame of a window drawn over the screen.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Borders};

/// Styles by meaning; without colour (`NO_COLOR`) only bold and reverse video are used.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// The theme for these options.
    pub fn new(color: bool) -> Theme {
        Theme { color }
    }

    fn pick(self, colored: Style, plain: Style) -> Style {
        if self.color { colored } else { plain }
    }

    /// Title and status bars.
    pub fn bar(self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Cyan),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }
    /// Table headers and window frames.
    pub fn header(self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    /// The selected row.
    pub fn selected(self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Yellow),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }
    /// Less important text: keys, hints, counts.
    pub fn dim(self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new())
    }
    /// Function names.
    pub fn name(self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }
    /// Tree labels.
    pub fn label(self) -> Style {
        self.pick(
            Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    /// Tags.
    pub fn tag(self) -> Style {
        self.pick(Style::new().fg(Color::Magenta), Style::new())
    }
    /// Keys in hints and help.
    pub fn key(self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    /// Errors and destructive questions.
    pub fn alert(self) -> Style {
        self.pick(
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    /// What the user types, and messages.
    pub fn prompt(self) -> Style {
        self.pick(Style::new().fg(Color::Yellow), Style::new())
    }
}

/// Cuts or pads text to exactly `w` columns (right-aligned for numbers).
pub fn fit(text: &str, w: usize, right: bool) -> String {
    let n = text.chars().count();
    if n > w {
        let mut s: String = text.chars().take(w.saturating_sub(1)).collect();
        s.push('…');
        s
    } else if right {
        format!("{}{text}", " ".repeat(w - n))
    } else {
        text.to_owned()
    }
}

/// A rectangle of this size in the middle of `area` (smaller when `area` is).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A window's frame with its title.
pub fn popup<'a>(title: &'a str, theme: Theme) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.header())
        .title(Span::styled(format!(" {title} "), theme.header()))
}
