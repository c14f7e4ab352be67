//! The tag picker: a window over the table listing every `key=value` with how many calls carry
//! it, fuzzy-searched as the user types; Enter hands the chosen tag to the table's filter.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::action::{Action, Reply};
use crate::calls::{Calls, Tag};
use crate::draw::{Theme, centered, fit, popup};
use crate::input;
use crate::layout::{keep_visible, step};

/// The tag picker: every `key=value` with its count, fuzzy-searched.
#[derive(Debug, Clone)]
pub struct TagPicker {
    /// What was typed.
    pub query: String,
    /// Every tag with its count.
    pub all: Vec<(Tag, usize)>,
    /// Indices into `all` that match, best first.
    pub shown: Vec<usize>,
    /// Selected entry of `shown`.
    pub selected: usize,
}

impl TagPicker {
    /// The picker over every tag of the calls; `None` when no call has tags.
    pub fn open(calls: &Calls) -> Option<TagPicker> {
        let all = calls.tag_counts();
        if all.is_empty() {
            return None;
        }
        let mut picker = TagPicker {
            query: String::new(),
            shown: (0..all.len()).collect(),
            all,
            selected: 0,
        };
        picker.rank(calls);
        Some(picker)
    }

    fn rank(&mut self, calls: &Calls) {
        use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
        let pattern = Pattern::parse(&self.query, CaseMatching::Smart, Normalization::Smart);
        let mut matcher = nucleo_matcher::Matcher::new(nucleo_matcher::Config::DEFAULT);
        let mut buf = Vec::new();
        let mut scored: Vec<(u32, usize)> = self
            .all
            .iter()
            .enumerate()
            .filter_map(|(i, (tag, _))| {
                let hay = calls.strings.utf32(tag.pair, &mut buf);
                pattern.score(hay, &mut matcher).map(|s| (s, i))
            })
            .collect();
        if !self.query.is_empty() {
            // Best match first; among equals, the most used tag (all is ordered by count).
            scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        self.shown = scored.into_iter().map(|(_, i)| i).collect();
        self.selected = self.selected.min(self.shown.len().saturating_sub(1));
    }

    /// Applies an action: typing searches, Enter picks, Esc closes.
    pub fn update(&mut self, action: Action, calls: &Calls) -> Reply {
        match action {
            Action::Type(c) => self.query.push(c),
            Action::Backspace => {
                self.query.pop();
            }
            Action::ClearLine | Action::DeleteWord => self.query.clear(),
            Action::Move(d) => self.selected = step(self.selected, d, self.shown.len()),
            Action::Page(d) => self.selected = step(self.selected, d * 10, self.shown.len()),
            Action::Back | Action::Cancel | Action::Quit => return Reply::Close,
            Action::Open | Action::Accept => {
                return match self.shown.get(self.selected) {
                    Some(&i) => Reply::PickTag(self.all[i].0),
                    None => Reply::Close,
                };
            }
            _ => {}
        }
        self.rank(calls);
        Reply::Done
    }

    /// The picker's keys: those of a one-line input; any other key does nothing.
    pub fn key(key: &KeyEvent) -> Action {
        input::line(key).unwrap_or(Action::Tick)
    }

    /// Draws the picker over `area`.
    pub fn draw(&self, calls: &Calls, theme: Theme, frame: &mut Frame<'_>, area: Rect) {
        let rect = centered(area, 60, area.height.saturating_sub(4).min(24));
        frame.render_widget(Clear, rect);
        let block = popup("tags: type to search, Enter filters, Esc closes", theme);
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        let [input, list] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        let prompt = Line::from(vec![
            Span::styled("tag> ", theme.key()),
            Span::styled(self.query.clone(), theme.prompt()),
            Span::raw("█"),
            Span::styled(
                format!("  {} of {}", self.shown.len(), self.all.len()),
                theme.dim(),
            ),
        ]);
        frame.render_widget(Paragraph::new(prompt), input);
        let h = list.height as usize;
        let offset = keep_visible(self.selected, 0, h, self.shown.len());
        let lines: Vec<Line<'_>> = self
            .shown
            .iter()
            .enumerate()
            .skip(offset)
            .take(h)
            .map(|(i, &t)| {
                let (tag, count) = self.all[t];
                let text = calls.text(tag.pair);
                let count = count.to_string();
                let w = list.width as usize;
                let text = fit(text, w.saturating_sub(count.len() + 2), false);
                let pad = w.saturating_sub(text.chars().count() + count.len() + 1);
                if i == self.selected {
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
}
