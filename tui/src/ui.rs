//! Drawing: a pure function of the state. Only the visible rows are formatted, so a million
//! calls draw as fast as thirty.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Row, Table};

use crate::app::{Overlay, Screen, State, tree_height, wall};
use crate::calls::Column;
use crate::keys::HELP;
use crate::tree::Body;
use crate::value::human_size;

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

    fn bar(self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Cyan),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }
    fn header(self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    fn selected(self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Yellow),
            Style::new().add_modifier(Modifier::REVERSED),
        )
    }
    fn dim(self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new())
    }
    fn name(self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }
    fn label(self) -> Style {
        self.pick(
            Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    fn tag(self) -> Style {
        self.pick(Style::new().fg(Color::Magenta), Style::new())
    }
    fn key(self) -> Style {
        self.pick(
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    fn alert(self) -> Style {
        self.pick(
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD),
        )
    }
    fn prompt(self) -> Style {
        self.pick(Style::new().fg(Color::Yellow), Style::new())
    }
}

/// The columns shown at this width, with their widths (narrow terminals drop module, then
/// tags).
pub fn columns(width: u16) -> Vec<(Column, u16)> {
    let mut shown: Vec<Column> = Column::ALL.to_vec();
    if width < 110 {
        shown.retain(|&c| c != Column::Module);
    }
    if width < 80 {
        shown.retain(|&c| c != Column::Tags);
    }
    let fixed = |c: Column| match c {
        Column::Key => Some(8),
        Column::Started => Some(19),
        Column::Wall => Some(8),
        Column::Size => Some(8),
        _ => None,
    };
    let spacing = shown.len().saturating_sub(1) as u16;
    let fixed_total: u16 = shown.iter().filter_map(|&c| fixed(c)).sum();
    let rest = width.saturating_sub(fixed_total + spacing);
    let weight = |c: Column| match c {
        Column::Function => 4,
        Column::Module => 2,
        Column::Tags => 3,
        Column::Result => 2,
        _ => 0,
    };
    let total_weight: u16 = shown.iter().map(|&c| weight(c)).sum::<u16>().max(1);
    let mut out: Vec<(Column, u16)> = shown
        .iter()
        .map(|&c| (c, fixed(c).unwrap_or(rest * weight(c) / total_weight)))
        .collect();
    // Give rounding leftovers to the function column.
    let used: u16 = out.iter().map(|(_, w)| w).sum::<u16>() + spacing;
    if let Some(f) = out.iter_mut().find(|(c, _)| *c == Column::Function) {
        f.1 += width.saturating_sub(used);
    }
    out
}

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
    match state.screen {
        Screen::Table => table(state, theme, frame, body),
        Screen::Call => call(state, theme, frame, body),
    }
    status_line(state, theme, frame, status);
    hint_line(state, theme, frame, hints);
    match &state.overlay {
        Overlay::None => {}
        Overlay::Help => help(theme, frame, area),
        Overlay::Tags(_) => tag_picker(state, theme, frame, area),
        Overlay::Confirm(keys) => confirm(state, keys, theme, frame, area),
    }
}

fn title_bar(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let mode = if state.options.writable {
        "read-write"
    } else {
        "read-only"
    };
    let left = format!(" fleche-tui  {}  ({mode}, live)", state.options.source);
    let right = "? help ";
    let pad = (area.width as usize).saturating_sub(left.chars().count() + right.len());
    let text = format!("{left}{}{right}", " ".repeat(pad));
    frame.render_widget(Paragraph::new(text).style(theme.bar()), area);
}

fn table(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let cols = columns(area.width);
    let header = Row::new(cols.iter().map(|&(c, _)| {
        let mut t = c.title().to_owned();
        if c == state.sort {
            t.push_str(if state.descending { " ↓" } else { " ↑" });
        }
        t
    }))
    .style(theme.header());
    let height = area.height.saturating_sub(1) as usize;
    let calls = &state.calls;
    let end = (state.offset + height).min(state.view.len());
    let rows = state.view[state.offset.min(end)..end]
        .iter()
        .enumerate()
        .map(|(i, &r)| {
            let row = &calls.rows[r as usize];
            let cells = cols.iter().map(|&(c, w)| {
                let text = match c {
                    Column::Key => row.key.to_string()[..8].to_owned(),
                    Column::Function => calls.text(row.name).to_owned(),
                    Column::Module => calls.text(row.module).to_owned(),
                    Column::Started => state.time(row.start),
                    Column::Wall => wall(row.wall),
                    Column::Tags => calls.tags_text(row),
                    Column::Result => calls.text(row.result_type).to_owned(),
                    Column::Size => human_size(row.result_size),
                };
                let text = fit(&text, w as usize, matches!(c, Column::Wall | Column::Size));
                let style = match c {
                    _ if state.offset + i == state.selected => Style::new(),
                    Column::Key => theme.dim(),
                    Column::Function => theme.name(),
                    Column::Tags => theme.tag(),
                    _ => Style::new(),
                };
                Span::styled(text, style)
            });
            let row = Row::new(cells);
            if state.offset + i == state.selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let widths: Vec<Constraint> = cols.iter().map(|&(_, w)| Constraint::Length(w)).collect();
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    frame.render_widget(table, area);
    if state.view.is_empty() {
        let text = if state.calls.is_empty() && !state.loading.done {
            "reading the cache…"
        } else if state.calls.is_empty() {
            "this cache holds no calls yet (new calls appear here as they are stored)"
        } else {
            "no call matches the filter"
        };
        let y = area.y + 2.min(area.height.saturating_sub(1));
        frame.render_widget(
            Paragraph::new(format!("  {text}")).style(theme.dim()),
            Rect::new(area.x, y, area.width, 1),
        );
    }
}

/// Cuts or pads text to exactly `w` columns (right-aligned for numbers).
fn fit(text: &str, w: usize, right: bool) -> String {
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

fn call(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let Some(view) = &state.call else {
        return;
    };
    let tree = &view.tree;
    let height = tree_height(state.size.1).min(area.height as usize);
    let rows = tree.rows();
    let end = (view.offset + height).min(rows.len());
    let mut lines = Vec::with_capacity(height);
    for (i, &id) in rows[view.offset.min(end)..end].iter().enumerate() {
        let node = tree.node(id);
        let indent = "  ".repeat(node.depth);
        let marker = if !tree.has_children(id) {
            "  "
        } else if node.expanded {
            "▾ "
        } else {
            "▸ "
        };
        let label_len = node.label.chars().count();
        let used = indent.len() + 2 + label_len + 2;
        let room = (area.width as usize).saturating_sub(used + 1);
        let text = tree.describe(id, room);
        let text = fit(&text, room, false);
        let value_style = match &node.body {
            Body::Error(_) => theme.alert(),
            Body::More { .. } => theme.dim(),
            Body::Unread(u) if u.summary.is_none() => theme.dim(),
            _ => Style::new(),
        };
        let mut spans = vec![Span::raw(indent), Span::styled(marker, theme.dim())];
        if !node.label.is_empty() {
            spans.push(Span::styled(node.label.clone(), theme.label()));
            spans.push(Span::raw(": "));
        }
        spans.push(Span::styled(text, value_style));
        let selected = view.offset + i == view.selected;
        if selected {
            // One style across the row, so it reads on the highlight.
            for span in &mut spans {
                span.style = Style::new();
            }
        }
        let mut line = Line::from(spans);
        if selected {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn status_line(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let text = match state.screen {
        Screen::Table => {
            let filter = if state.filter.is_empty() {
                "no filter".to_owned()
            } else {
                format!("filter: {}", state.filter)
            };
            let dir = if state.descending { "↓" } else { "↑" };
            let mut s = format!(
                " {filter} · {} · scope: {} · sort: {} {dir}",
                state.count_text(),
                state.scope.label(),
                state.sort.title()
            );
            if let Some(e) = &state.loading.error {
                s.push_str(&format!(" · reading failed: {e}"));
            }
            s
        }
        Screen::Call => match &state.call {
            Some(view) => {
                let node = view.tree.rows().get(view.selected).copied();
                let path = node.map(|n| view.tree.path(n)).unwrap_or_default();
                let digest = node
                    .and_then(|n| view.tree.digest(n))
                    .map(|d| format!(" · digest {}", &d.to_string()[..12]))
                    .unwrap_or_default();
                format!(" {} · {path}{digest}", view.title)
            }
            None => String::new(),
        },
    };
    let style = if state.loading.error.is_some() && state.screen == Screen::Table {
        theme.alert()
    } else {
        theme.bar()
    };
    frame.render_widget(Paragraph::new(text).style(style), area);
}

fn hint_line(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    if state.editing {
        let line = Line::from(vec![
            Span::styled("/", theme.key()),
            Span::styled(state.filter.clone(), theme.prompt()),
            Span::raw("█"),
            Span::styled(
                "   Enter keep · Esc clear · Tab scope · fn: mod: tag:k=v arg:x=v 'exact ^pre suf$ !not",
                theme.dim(),
            ),
        ]);
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
    let pairs: &[(&str, &str)] = match state.screen {
        Screen::Table => &[
            ("/", "filter"),
            ("t", "tags"),
            ("⏎", "open"),
            ("1-8", "sort"),
            ("y", "copy key"),
            ("d", "delete"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Screen::Call => &[
            ("l/h", "open/close"),
            ("e/c", "siblings"),
            ("1-9", "level"),
            ("yy/yp/yd", "copy value/path/digest"),
            ("?", "help"),
            ("q", "back"),
        ],
    };
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in pairs {
        spans.push(Span::styled(*k, theme.key()));
        spans.push(Span::styled(format!(" {what}  "), theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn popup<'a>(title: &'a str, theme: Theme) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.header())
        .title(Span::styled(format!(" {title} "), theme.header()))
}

fn help(theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let rect = centered(area, 74, HELP.len() as u16 + 4);
    frame.render_widget(Clear, rect);
    let mut lines = Vec::new();
    let mut last = "";
    for (place, keys, what) in HELP {
        let place = if *place == last { "" } else { place };
        last = if place.is_empty() { last } else { place };
        lines.push(Line::from(vec![
            Span::styled(format!("{place:<7}"), theme.header()),
            Span::styled(format!("{keys:<18}"), theme.key()),
            Span::raw(*what),
        ]));
    }
    lines.push(Line::styled("any key closes this", theme.dim()));
    frame.render_widget(Paragraph::new(lines).block(popup("keys", theme)), rect);
}

fn tag_picker(state: &State, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
    let Overlay::Tags(picker) = &state.overlay else {
        return;
    };
    let rect = centered(area, 60, area.height.saturating_sub(4).min(24));
    frame.render_widget(Clear, rect);
    let block = popup("tags: type to search, Enter filters, Esc closes", theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [input, list] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let prompt = Line::from(vec![
        Span::styled("tag> ", theme.key()),
        Span::styled(picker.query.clone(), theme.prompt()),
        Span::raw("█"),
        Span::styled(
            format!("  {} of {}", picker.shown.len(), picker.all.len()),
            theme.dim(),
        ),
    ]);
    frame.render_widget(Paragraph::new(prompt), input);
    let h = list.height as usize;
    let offset = crate::app::keep_visible(picker.selected, 0, h, picker.shown.len());
    let lines: Vec<Line<'_>> = picker
        .shown
        .iter()
        .enumerate()
        .skip(offset)
        .take(h)
        .map(|(i, &t)| {
            let (tag, count) = picker.all[t];
            let text = state.calls.text(tag.pair);
            let count = count.to_string();
            let w = list.width as usize;
            let text = fit(text, w.saturating_sub(count.len() + 2), false);
            let pad = w.saturating_sub(text.chars().count() + count.len() + 1);
            if i == picker.selected {
                return Line::from(format!("{text}{}{count}", " ".repeat(pad)))
                    .style(theme.selected());
            }
            Line::from(vec![
                Span::styled(text, theme.tag()),
                Span::raw(" ".repeat(pad)),
                Span::styled(count, theme.dim()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
}

fn confirm(
    state: &State,
    keys: &[fleche::Digest],
    theme: Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let what = match keys {
        [one] => match state.calls.position(one) {
            Some(r) => {
                let row = &state.calls.rows[r as usize];
                format!(
                    "the call {}({})",
                    state.calls.text(row.name),
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
