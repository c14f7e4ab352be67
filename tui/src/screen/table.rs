//! The calls table: every loaded call, sorted by a column and narrowed by the filter, with its
//! keys (moving, sorting, the filter line) and its drawing. The loaded calls themselves belong
//! to the app; this screen keeps the sorted order over them and what the user selected.

use crossterm::event::{KeyCode, KeyEvent};
use fleche::Digest;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

use crate::action::{Action, Effect, Reply};
use crate::calls::{Calls, Column, SortKey, Sorter, Tag};
use crate::draw::{Theme, fit};
use crate::filter::{Query, RowSet, Scope, escape};
use crate::input;
use crate::layout::{HEADER_ROW, column_at, columns, keep_visible, step, table_height};
use crate::loading::Loading;
use crate::times::{time, wall};
use crate::value::{group, human_size};

/// The table's keys, as the help lists them.
pub const KEYS: &[(&str, &str)] = &[
    ("j k ↓ ↑", "move"),
    ("PgDn PgUp ^d ^u", "move by a page"),
    ("g G Home End", "first, last call"),
    ("Enter l →", "open the call"),
    ("/", "filter (Enter keeps it, Esc clears it)"),
    ("Tab", "scope of plain filter terms"),
    ("t", "tag picker: type to search, Enter filters"),
    ("1-8", "sort by column (again: reverse)"),
    ("s S", "sort by next column, reverse"),
    ("y", "copy the call key (OSC 52)"),
    ("d D", "delete the call, every shown call (--write)"),
    ("r", "re-read the cache now"),
    ("Esc", "clear the kept filter; with none, quit"),
    ("q", "quit"),
];

/// The keys the hint line shows.
pub const HINTS: &[(&str, &str)] = &[
    ("/", "filter"),
    ("t", "tags"),
    ("⏎", "open"),
    ("1-8", "sort"),
    ("y", "copy key"),
    ("d", "delete"),
    ("?", "help"),
    ("q", "quit"),
];

/// Calls of a table larger than this catch up with arrivals on the next tick, not at once.
const SETTLE_AT_ONCE: usize = 50_000;

/// The calls table's state: order, filter and selection.
#[derive(Debug)]
pub struct CallsTable {
    /// Every row, sorted, each with its sort key.
    order: Vec<SortKey>,
    /// Rows shown: indices into `calls.rows`, sorted and filtered (no keys: arrivals are
    /// merged into the order, and the view taken from it again).
    pub view: Vec<u32>,
    /// Strings the sort keys rank (they change when a new name, tag or type arrives).
    ranked: usize,
    /// Sort column.
    pub sort: Column,
    /// Sort direction.
    pub descending: bool,
    /// Filter text.
    pub filter: String,
    query: Query,
    /// Whether the filter is being typed.
    pub editing: bool,
    /// Fields plain filter terms search.
    pub scope: Scope,
    /// The scope the view was filtered with.
    view_scope: Scope,
    /// Selected index into `view`.
    pub selected: usize,
    /// First index of `view` shown.
    pub offset: usize,
    /// Terminal size (columns, rows): the columns and the page follow it.
    size: (u16, u16),
    /// The table needs a full re-sort (calls were removed or replaced).
    dirty: bool,
    /// Rows loaded since the table was last brought up to date.
    pending: Vec<u32>,
    /// Argument values the filter uses arrived since it last ran.
    refilter_due: bool,
}

impl CallsTable {
    /// An empty table for a terminal of this size, newest calls first.
    pub fn new(size: (u16, u16)) -> CallsTable {
        CallsTable {
            order: Vec::new(),
            view: Vec::new(),
            ranked: 0,
            sort: Column::Started,
            descending: true,
            filter: String::new(),
            query: Query::default(),
            editing: false,
            scope: Scope::All,
            view_scope: Scope::All,
            selected: 0,
            offset: 0,
            size,
            dirty: false,
            pending: Vec::new(),
            refilter_due: false,
        }
    }

    /// The terminal's new size.
    pub fn resize(&mut self, size: (u16, u16)) {
        self.size = size;
        self.scroll();
    }

    /// The key of the selected call.
    pub fn selected_key(&self, calls: &Calls) -> Option<Digest> {
        self.view
            .get(self.selected)
            .map(|&r| calls.rows[r as usize].key)
    }

    /// The parsed filter.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// A call arrived: as the new row `row`, or (`None`) replacing a loaded one, which
    /// re-sorts everything on the next catch-up.
    pub fn arrived(&mut self, row: Option<u32>) {
        match row {
            Some(row) => self.pending.push(row),
            None => self.dirty = true,
        }
    }

    /// Argument values were read: a filter on them runs again at the next catch-up.
    pub fn summaries_arrived(&mut self) {
        if self.query.uses_arguments(self.scope) {
            self.refilter_due = true;
        }
    }

    /// Re-sorts and re-filters everything now, keeping the selected call selected.
    pub fn flush(&mut self, calls: &Calls) {
        let keep = self.anchor(calls);
        self.resort(calls, keep);
    }

    /// Calls were taken off (`keep` is the [`CallsTable::anchor`] from before): the rows
    /// moved, so everything is sorted and filtered again, the selected call kept selected if
    /// it is still there.
    pub fn removed(&mut self, calls: &Calls, keep: (Option<Digest>, Option<usize>)) {
        self.resort(calls, keep);
    }

    fn resort(&mut self, calls: &Calls, keep: (Option<Digest>, Option<usize>)) {
        let sorter = Sorter::new(calls, self.sort, self.descending);
        sorter.sort_into(&mut self.order, 0..calls.len() as u32);
        self.ranked = calls.strings.sorted_len();
        self.dirty = false;
        self.pending.clear();
        self.refilter_due = false;
        self.filter_all(calls);
        self.reselect(calls, keep);
    }

    /// Makes room for `n` more calls (the count the reader gave): so the order and the view
    /// never grow, which would hold an old list and a new one at once.
    pub fn reserve(&mut self, n: usize) {
        self.order.reserve_exact(n);
        self.view.reserve_exact(n);
    }

    /// The view from the whole order and the filter (in the view's own memory).
    fn filter_all(&mut self, calls: &Calls) {
        self.view_scope = self.scope;
        self.view.clear();
        let all = self.order.iter().map(|k| k.row);
        if self.query.is_empty() {
            self.view.extend(all);
            return;
        }
        let passing = self.query.test(calls, self.scope).passing();
        self.view.extend(all.filter(|&r| passing.has(r)));
    }

    /// Brings the table up to date with what the reader sent: new rows are sorted and merged
    /// into the order, in place, and the view taken from it again (the rows it showed and
    /// the new ones that pass); the filter re-runs when argument values it uses arrived.
    /// Removed or replaced calls, or a text column whose strings changed rank, re-sort
    /// everything.
    pub fn catch_up(&mut self, calls: &Calls) {
        let reranked = self.sort.is_text() && calls.strings.sorted_len() != self.ranked;
        if self.dirty || (reranked && !self.pending.is_empty()) {
            return self.flush(calls);
        }
        if self.pending.is_empty() && !self.refilter_due {
            return;
        }
        let keep = self.anchor(calls);
        let new = std::mem::take(&mut self.pending);
        if !new.is_empty() {
            let sorter = Sorter::new(calls, self.sort, self.descending);
            let new = sorter.sort(new);
            sorter.merge(&mut self.order, &new);
            if self.query.is_empty() {
                self.filter_all(calls);
            } else if !self.refilter_due {
                let test = self.query.test(calls, self.scope);
                let mut shown = RowSet::new(calls.len());
                for &r in &self.view {
                    shown.insert(r);
                }
                for k in new.iter().filter(|k| test.passes(k.row)) {
                    shown.insert(k.row);
                }
                self.view.clear();
                let rows = self.order.iter().map(|k| k.row);
                self.view.extend(rows.filter(|&r| shown.has(r)));
            }
        }
        if std::mem::take(&mut self.refilter_due) {
            self.filter_all(calls);
        }
        self.reselect(calls, keep);
    }

    /// Small tables catch up at once; large ones on the next tick, a few times a second.
    pub fn settle(&mut self, calls: &Calls) {
        if calls.len() < SETTLE_AT_ONCE || self.order.is_empty() {
            self.catch_up(calls);
        }
    }

    /// Sets the filter text as if typed.
    pub fn set_filter(&mut self, text: &str, calls: &Calls) {
        self.filter = text.to_owned();
        self.refilter(calls);
    }

    /// Adds `tag:key=value` to the filter (once).
    pub fn add_tag(&mut self, tag: Tag, calls: &Calls) {
        let term = format!(
            "tag:{}={}",
            escape(calls.text(tag.key)),
            escape(calls.text(tag.value))
        );
        if !self.filter.split(' ').any(|t| t == term) {
            if !self.filter.is_empty() && !self.filter.ends_with(' ') {
                self.filter.push(' ');
            }
            self.filter.push_str(&term);
        }
        self.refilter(calls);
    }

    fn refilter(&mut self, calls: &Calls) {
        let keep = self.anchor(calls);
        let query = Query::parse(&self.filter);
        let narrows = !self.query.is_empty()
            && self.scope == self.view_scope
            && !self.refilter_due
            && query.narrows(&self.query);
        self.query = query;
        if narrows {
            self.narrow(calls);
        } else {
            self.filter_all(calls);
        }
        self.reselect(calls, keep);
    }

    /// The view filtered again, for a query that lets through only calls it shows already.
    /// A large view is tested in the order calls are stored (see `RowTest::passing`), a
    /// small one call by call.
    fn narrow(&mut self, calls: &Calls) {
        let test = self.query.test(calls, self.scope);
        // In place: the view never needs a second list.
        if self.view.len() > calls.len() / 8 {
            let passing = test.passing();
            self.view.retain(|&r| passing.has(r));
        } else {
            self.view.retain(|&r| test.passes(r));
        }
    }

    /// The selected call and its row on the screen; `None` for the row when the table shows
    /// its top, which then stays in view (new calls appear there).
    pub fn anchor(&self, calls: &Calls) -> (Option<Digest>, Option<usize>) {
        let row = (self.offset > 0).then(|| self.selected.saturating_sub(self.offset));
        (self.selected_key(calls), row)
    }

    /// Selects the call `keep` selected again, on the same screen row as before when there
    /// was one, so rows arriving above it do not move what the user is looking at.
    fn reselect(&mut self, calls: &Calls, (keep, row): (Option<Digest>, Option<usize>)) {
        let found = keep.and_then(|k| {
            let row = calls.position(&k)?;
            self.view.iter().position(|&r| r == row)
        });
        self.selected = found.unwrap_or(self.selected.min(self.view.len().saturating_sub(1)));
        if let (Some(_), Some(row)) = (found, row) {
            self.offset = self.selected.saturating_sub(row);
        }
        self.scroll();
    }

    fn scroll(&mut self) {
        let h = table_height(self.size.1).max(1);
        self.offset = keep_visible(self.selected, self.offset, h, self.view.len());
    }

    /// Applies an action to the table (or to the filter line while it is typed).
    pub fn update(&mut self, action: Action, calls: &Calls) -> Reply {
        if self.editing {
            self.edit(action, calls)
        } else {
            self.browse(action, calls)
        }
    }

    fn browse(&mut self, action: Action, calls: &Calls) -> Reply {
        let n = self.view.len();
        let page = table_height(self.size.1).max(1) as isize;
        let reply = match action {
            Action::Move(d) => {
                self.selected = step(self.selected, d, n);
                Reply::Done
            }
            Action::Page(d) => {
                self.selected = step(self.selected, d * page, n);
                Reply::Done
            }
            Action::Top => {
                self.selected = 0;
                Reply::Done
            }
            Action::Bottom => {
                self.selected = n.saturating_sub(1);
                Reply::Done
            }
            Action::Open | Action::Right => self.open(calls),
            // Esc undoes the kept filter (a picked tag is a term of it) before it leaves.
            Action::Back | Action::Cancel if !self.filter.is_empty() => {
                self.filter.clear();
                self.refilter(calls);
                Reply::Done
            }
            Action::Back => Reply::Quit,
            Action::EditFilter => {
                self.editing = true;
                Reply::Done
            }
            Action::CycleScope => {
                self.scope = self.scope.next();
                self.refilter(calls);
                Reply::Done
            }
            Action::SortBy(c) => {
                self.sort_by(c, calls);
                Reply::Done
            }
            Action::NextSort => {
                let i = Column::ALL
                    .iter()
                    .position(|&c| c == self.sort)
                    .unwrap_or(0);
                self.sort_by(Column::ALL[(i + 1) % Column::ALL.len()], calls);
                Reply::Done
            }
            Action::ReverseSort => {
                self.descending = !self.descending;
                self.flush(calls);
                Reply::Done
            }
            Action::Tags => Reply::Tags,
            Action::Help => Reply::Help,
            Action::YankValue | Action::YankKey | Action::YankDigest => {
                match self.selected_key(calls) {
                    Some(key) => Reply::Effect(Effect::Yank(key.to_string(), "call key".into())),
                    None => Reply::Done,
                }
            }
            Action::Delete => match self.selected_key(calls) {
                Some(key) => Reply::AskDelete(vec![key]),
                None => Reply::Done,
            },
            Action::DeleteShown => {
                let keys: Vec<Digest> = self
                    .view
                    .iter()
                    .map(|&r| calls.rows[r as usize].key)
                    .collect();
                if keys.is_empty() {
                    Reply::Done
                } else {
                    Reply::AskDelete(keys)
                }
            }
            Action::Rescan => Reply::Effect(Effect::Rescan),
            Action::Click(x, y) => return self.click(x, y, calls),
            _ => Reply::Done,
        };
        self.scroll();
        reply
    }

    /// Opens the selected call, if there is one (an unreadable record has nothing to open:
    /// it says why).
    fn open(&self, calls: &Calls) -> Reply {
        match self.view.get(self.selected) {
            Some(&r) if calls.rows[r as usize].unreadable => {
                let row = &calls.rows[r as usize];
                Reply::Say(format!("call {}: {}", row.key, calls.text(row.name)))
            }
            Some(&row) => Reply::OpenCall(row),
            None => Reply::Done,
        }
    }

    fn sort_by(&mut self, c: Column, calls: &Calls) {
        if self.sort == c {
            self.descending = !self.descending;
        } else {
            self.sort = c;
            self.descending = matches!(
                c,
                Column::Started | Column::Wall | Column::Size | Column::Cpu
            );
        }
        self.flush(calls);
    }

    fn edit(&mut self, action: Action, calls: &Calls) -> Reply {
        match action {
            Action::Type(c) => self.filter.push(c),
            Action::Backspace => {
                self.filter.pop();
            }
            Action::DeleteWord => {
                let trimmed = self.filter.trim_end().len();
                self.filter.truncate(trimmed);
                let cut = self.filter.rfind(' ').map_or(0, |i| i + 1);
                self.filter.truncate(cut);
            }
            Action::ClearLine => self.filter.clear(),
            Action::Accept => self.editing = false,
            Action::Cancel | Action::Back => {
                self.editing = false;
                self.filter.clear();
            }
            Action::CycleScope => self.scope = self.scope.next(),
            Action::Move(_) | Action::Page(_) | Action::Open | Action::Top | Action::Bottom => {
                if matches!(action, Action::Open) {
                    self.editing = false;
                }
                return self.browse(action, calls);
            }
            _ => return Reply::Done,
        }
        self.refilter(calls);
        Reply::Done
    }

    /// A click on the header sorts by that column; on a row, selects it, and on the
    /// selected row, opens it.
    fn click(&mut self, x: u16, y: u16, calls: &Calls) -> Reply {
        if y == HEADER_ROW {
            if let Some(c) = column_at(self.size.0, &calls.optional_columns(), x) {
                self.sort_by(c, calls);
                self.scroll();
            }
            return Reply::Done;
        }
        let body_top = HEADER_ROW + 1;
        if y < body_top || (y - body_top) as usize >= table_height(self.size.1) {
            return Reply::Done;
        }
        let i = self.offset + (y - body_top) as usize;
        if i >= self.view.len() {
            return Reply::Done;
        }
        if i == self.selected {
            return self.open(calls);
        }
        self.selected = i;
        Reply::Done
    }

    /// The table's keys (the filter line's while it is typed).
    pub fn key(&self, key: &KeyEvent) -> Option<Action> {
        if self.editing {
            return input::line(key).or(match key.code {
                KeyCode::Tab => Some(Action::CycleScope),
                KeyCode::Char('s') if input::ctrl(key) => Some(Action::CycleScope),
                _ => None,
            });
        }
        if let Some(action) = input::movement(key) {
            return Some(action);
        }
        match key.code {
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
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Esc => Some(Action::Back),
            _ => None,
        }
    }

    /// The count line: `12 of 1,024 calls`, with loading progress.
    pub fn count_text(&self, calls: &Calls, loading: &Loading) -> String {
        let total = calls.len() as u64;
        let mut s = if self.query.is_empty() {
            format!("{} calls", group(total))
        } else {
            format!(
                "{} of {} calls",
                group(self.view.len() as u64),
                group(total)
            )
        };
        if calls.unreadable() > 0 {
            s.push_str(&format!(
                " · {} unreadable",
                group(calls.unreadable() as u64)
            ));
        }
        if !loading.done {
            s.push_str(&loading.progress(total));
        } else if self.query.uses_arguments(self.scope) {
            let (done, all) = calls.summary_progress();
            if done < all {
                s.push_str(&format!(" · argument values {}%", done * 100 / all.max(1)));
            }
        }
        s
    }

    /// The status line: filter, count, scope and sort (and a reading error).
    pub fn status(&self, calls: &Calls, loading: &Loading) -> String {
        let filter = if self.filter.is_empty() {
            "no filter".to_owned()
        } else {
            format!("filter: {}", self.filter)
        };
        let dir = if self.descending { "↓" } else { "↑" };
        format!(
            " {filter} · {} · scope: {} · sort: {} {dir}{}",
            self.count_text(calls, loading),
            self.scope.label(),
            self.sort.title(),
            loading.failure()
        )
    }

    /// The filter line while it is typed.
    pub fn prompt(&self, theme: Theme) -> Option<Line<'_>> {
        self.editing.then(|| {
            Line::from(vec![
                Span::styled("/", theme.key()),
                Span::styled(self.filter.clone(), theme.prompt()),
                Span::raw("█"),
                Span::styled(
                    "   Enter keep · Esc clear · Tab scope · fn: mod: tag:k=v arg:x=v 'exact ^pre suf$ !not",
                    theme.dim(),
                ),
            ])
        })
    }

    /// Draws the header and the visible rows (only those are formatted).
    pub fn draw(&self, view: &TableView<'_>, frame: &mut Frame<'_>, area: Rect) {
        let TableView {
            calls,
            loading,
            theme,
            local_time,
        } = *view;
        let cols = columns(area.width, &calls.optional_columns());
        let header = Row::new(cols.iter().map(|&(c, _)| {
            let mut t = c.title().to_owned();
            if c == self.sort {
                t.push_str(if self.descending { " ↓" } else { " ↑" });
            }
            t
        }))
        .style(theme.header());
        let height = area.height.saturating_sub(1) as usize;
        let end = (self.offset + height).min(self.view.len());
        let rows = self.view[self.offset.min(end)..end]
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                let row = &calls.rows[r as usize];
                let selected = self.offset + i == self.selected;
                let cells = cols.iter().map(|&(c, w)| {
                    let text = match c {
                        // Only its key and why it does not decode are known.
                        Column::Started | Column::Wall | Column::Size | Column::Cpu
                            if row.unreadable =>
                        {
                            String::new()
                        }
                        Column::Key => row.key.to_string()[..8].to_owned(),
                        Column::Function => calls.text(row.name).to_owned(),
                        Column::Module => calls.text(row.module).to_owned(),
                        Column::Started => time(row.start(), local_time),
                        Column::Wall => wall(row.wall),
                        Column::Tags => calls.tags_text(row),
                        Column::Result => calls.text(row.result_type).to_owned(),
                        Column::Size => human_size(row.result_size),
                        Column::Layer => calls.layer_name(row).to_owned(),
                        Column::Cpu => row.cpu().map(wall).unwrap_or_default(),
                    };
                    let right = matches!(c, Column::Wall | Column::Size | Column::Cpu);
                    let text = fit(&text, w as usize, right);
                    let style = match c {
                        _ if selected => Style::new(),
                        Column::Function if row.unreadable => theme.alert(),
                        Column::Key => theme.dim(),
                        Column::Function => theme.name(),
                        Column::Tags => theme.tag(),
                        _ => Style::new(),
                    };
                    Span::styled(text, style)
                });
                let row = Row::new(cells);
                if selected {
                    row.style(theme.selected())
                } else {
                    row
                }
            });
        let widths: Vec<Constraint> = cols.iter().map(|&(_, w)| Constraint::Length(w)).collect();
        let table = Table::new(rows, widths).header(header).column_spacing(1);
        frame.render_widget(table, area);
        if self.view.is_empty() {
            let text = loading.empty_table(calls.is_empty());
            let y = area.y + 2.min(area.height.saturating_sub(1));
            frame.render_widget(
                Paragraph::new(format!("  {text}")).style(theme.dim()),
                Rect::new(area.x, y, area.width, 1),
            );
        }
    }
}

/// What drawing the table needs besides its own state.
#[derive(Debug, Clone, Copy)]
pub struct TableView<'a> {
    /// The loaded calls.
    pub calls: &'a Calls,
    /// The reader's progress.
    pub loading: &'a Loading,
    /// Styles.
    pub theme: Theme,
    /// Start times in local time (else UTC).
    pub local_time: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_arriving_in_parts_make_the_view_a_whole_sort_and_filter_makes() {
        let mut records = crate::testing::synthetic_records(3_000);
        // Out of time order, as the reader sends them (newest first, then by key).
        records.rotate_left(1_000);
        records[..1_000].reverse();
        for filter in ["", "relax", "tag:project=alloys", "!fit x=1"] {
            for sort in [Column::Started, Column::Function, Column::Tags] {
                let mut calls = Calls::new();
                let mut parts = CallsTable::new((120, 40));
                parts.sort = sort;
                parts.set_filter(filter, &calls);
                for part in records.chunks(613) {
                    for (key, record, x) in part {
                        parts.arrived(Some(calls.len() as u32));
                        calls.add(*key, record);
                        calls.add_summary(record.arguments[0].1, &x.to_string());
                    }
                    parts.catch_up(&calls);
                }
                let mut whole = CallsTable::new((120, 40));
                whole.sort = sort;
                whole.set_filter(filter, &calls);
                whole.flush(&calls);
                assert!(!whole.view.is_empty(), "{filter:?}");
                assert_eq!(parts.view, whole.view, "{filter:?} by {sort:?}");
                assert_eq!(parts.order, whole.order, "{filter:?} by {sort:?}");
                // Narrowing in place keeps what a whole filter gives.
                let narrower = format!("{filter} fn:r");
                parts.set_filter(&narrower, &calls);
                whole.set_filter(&narrower, &calls);
                whole.flush(&calls);
                assert_eq!(parts.view, whole.view, "{narrower:?} by {sort:?}");
            }
        }
    }
}
