//! The browser's state and how actions change it. Nothing here touches the terminal; stored
//! values are read through a [`ValueStore`] only when a tree node is opened, and everything
//! else the outside world must do (copy, delete, rescan) comes back as an [`Effect`].

use chrono::{DateTime, Local, Utc};
use fleche::Digest;
use fleche::record::CallRecord;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::calls::{Calls, Column, SortKey, Sorter, Tag};
use crate::filter::{Query, Scope, escape};
use crate::loader::Loaded;
use crate::tree::{Body, NodeId, Tree, Unread, ValueStore};
use crate::value::{group, human_size};

/// How the browser was started.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cache file, as shown in the title.
    pub source: String,
    /// Whether deleting is allowed (`--write`).
    pub writable: bool,
    /// Colours on (off under `NO_COLOR`).
    pub color: bool,
    /// Show times in local time (else UTC, for tests).
    pub local_time: bool,
}

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The table of calls.
    Table,
    /// One call as a tree.
    Call,
}

/// A window over the main screen.
#[derive(Debug, Clone)]
pub enum Overlay {
    /// None.
    None,
    /// Every key.
    Help,
    /// The tag picker.
    Tags(TagPicker),
    /// "Delete these calls?"
    Confirm(Vec<Digest>),
}

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

/// One call opened as a tree.
#[derive(Debug, Clone)]
pub struct CallView {
    /// The call.
    pub key: Digest,
    /// `name(short key)`.
    pub title: String,
    /// Its tree.
    pub tree: Tree,
    /// Selected row of the tree.
    pub selected: usize,
    /// First row shown.
    pub offset: usize,
}

/// Progress of the background reader.
#[derive(Debug, Clone, Default)]
pub struct Loading {
    /// Calls in the cache, when known.
    pub total: Option<u64>,
    /// Whether the first full load is done.
    pub done: bool,
    /// The last reading error.
    pub error: Option<String>,
}

/// Everything the user can ask for, and what the reader reports.
#[derive(Debug, Clone)]
pub enum Action {
    /// Leave.
    Quit,
    /// Move the selection by this many rows.
    Move(isize),
    /// Move by a page (negative: up).
    Page(isize),
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Open the selected call, or open the selected node.
    Open,
    /// Back to the table (from a call), or close an overlay.
    Back,
    /// Start typing a filter.
    EditFilter,
    /// A character typed into the filter or the tag picker.
    Type(char),
    /// Delete a character.
    Backspace,
    /// Delete a word.
    DeleteWord,
    /// Clear the line.
    ClearLine,
    /// Keep the filter and stop typing.
    Accept,
    /// Clear the filter and stop typing.
    Cancel,
    /// Cycle which fields plain terms search.
    CycleScope,
    /// Sort by a column (again: reverse).
    SortBy(Column),
    /// Sort by the next column.
    NextSort,
    /// Reverse the sort.
    ReverseSort,
    /// Open the tag picker.
    Tags,
    /// Show or hide the keys.
    Help,
    /// Copy the selected call's key, or the selected node's value.
    YankValue,
    /// Copy the selected node's path.
    YankPath,
    /// Copy the selected value's digest.
    YankDigest,
    /// Copy the call key.
    YankKey,
    /// Tree: open, or go to the first child.
    Right,
    /// Tree: close, or go to the parent.
    Left,
    /// Tree: open or close.
    Toggle,
    /// Tree: the parent.
    Parent,
    /// Tree: next (1) or previous (-1) sibling.
    Sibling(isize),
    /// Tree: open every sibling.
    ExpandSiblings,
    /// Tree: close every sibling.
    CollapseSiblings,
    /// Tree: open everything below.
    ExpandDeep,
    /// Tree: show down to this level.
    Level(usize),
    /// Delete the selected call (asks first).
    Delete,
    /// Delete every call the filter shows (asks first).
    DeleteShown,
    /// Answer to the confirmation.
    Confirm(bool),
    /// Re-read the cache now.
    Rescan,
    /// A mouse click at (column, row).
    Click(u16, u16),
    /// The terminal's size.
    Resize(u16, u16),
    /// Something from the background reader.
    Loaded(Loaded),
    /// Periodic: apply pending re-sorts.
    Tick,
    /// Show a message in the status area.
    Say(String),
}

/// What the outside world must do after an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Put text on the clipboard (OSC 52); the string says what it is.
    Yank(String, String),
    /// Delete these calls from the cache.
    Delete(Vec<Digest>),
    /// Ask the reader to re-read the key list.
    Rescan,
}

/// The whole browser state.
#[derive(Debug)]
pub struct State {
    /// How it was started.
    pub options: Options,
    /// Loaded calls.
    pub calls: Calls,
    /// Every row, sorted, with the sort keys beside them.
    order: Vec<u32>,
    order_keys: Vec<SortKey>,
    /// Rows shown: indices into `calls.rows`, sorted and filtered.
    pub view: Vec<u32>,
    view_keys: Vec<SortKey>,
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
    /// Selected index into `view`.
    pub selected: usize,
    /// First index of `view` shown.
    pub offset: usize,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// The screen shown.
    pub screen: Screen,
    /// The opened call.
    pub call: Option<CallView>,
    /// A window on top.
    pub overlay: Overlay,
    /// A message for the user, until the next key.
    pub message: Option<String>,
    /// Reader progress.
    pub loading: Loading,
    /// The table needs a full re-sort (calls were removed or replaced).
    dirty: bool,
    /// Rows loaded since the table was last brought up to date.
    pending: Vec<u32>,
    /// Argument values the filter uses arrived since it last ran.
    refilter_due: bool,
    /// Rows and summaries of the reader's last message not added yet.
    arriving: std::vec::IntoIter<(Digest, CallRecord)>,
    arriving_summaries: std::vec::IntoIter<(Digest, String)>,
    pending_yank: bool,
    /// Set when the user asked to leave.
    pub quit: bool,
}

/// Rows of the table body for a terminal of this height (title, header, status, hints).
pub fn table_height(rows: u16) -> usize {
    rows.saturating_sub(4) as usize
}

/// Rows of the tree for a terminal of this height (title, status, hints).
pub fn tree_height(rows: u16) -> usize {
    rows.saturating_sub(3) as usize
}

impl State {
    /// A browser with no calls loaded yet.
    pub fn new(options: Options) -> State {
        State {
            options,
            calls: Calls::new(),
            order: Vec::new(),
            order_keys: Vec::new(),
            view: Vec::new(),
            view_keys: Vec::new(),
            ranked: 0,
            sort: Column::Started,
            descending: true,
            filter: String::new(),
            query: Query::default(),
            editing: false,
            scope: Scope::All,
            selected: 0,
            offset: 0,
            size: (100, 30),
            screen: Screen::Table,
            call: None,
            overlay: Overlay::None,
            message: None,
            loading: Loading::default(),
            dirty: false,
            pending: Vec::new(),
            refilter_due: false,
            arriving: Vec::new().into_iter(),
            arriving_summaries: Vec::new().into_iter(),
            pending_yank: false,
            quit: false,
        }
    }

    /// Formats a time for display (local time unless the options say UTC).
    pub fn time(&self, t: DateTime<Utc>) -> String {
        if self.options.local_time {
            t.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        } else {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        }
    }

    /// The key of the selected call.
    pub fn selected_key(&self) -> Option<Digest> {
        self.view
            .get(self.selected)
            .map(|&r| self.calls.rows[r as usize].key)
    }

    /// Re-sorts and re-filters everything now, keeping the selected call selected.
    pub fn flush(&mut self) {
        let keep = self.anchor();
        let sorter = Sorter::new(&self.calls, self.sort, self.descending);
        (self.order_keys, self.order) = sorter.sort((0..self.calls.len() as u32).collect());
        self.ranked = self.calls.strings.sorted_len();
        self.dirty = false;
        self.pending.clear();
        self.refilter_due = false;
        self.filter_all();
        self.reselect(keep);
    }

    /// The view from the whole order and the filter.
    fn filter_all(&mut self) {
        if self.query.is_empty() {
            // The view is the order; its keys are needed only to merge into a filtered one.
            self.view.clone_from(&self.order);
            self.view_keys = Vec::new();
            return;
        }
        let test = self.query.test(&self.calls, self.scope);
        (self.view_keys, self.view) = self
            .order_keys
            .iter()
            .zip(&self.order)
            .filter(|&(_, &r)| test.passes(r))
            .map(|(k, r)| (*k, *r))
            .unzip();
    }

    /// Brings the table up to date with what the reader sent: new rows are sorted and merged
    /// into the order (and the view), one pass over keys held side by side; the filter
    /// re-runs when argument values it uses arrived. Removed or replaced calls, or a text
    /// column whose strings changed rank, re-sort everything.
    pub fn catch_up(&mut self) {
        let reranked = self.sort.is_text() && self.calls.strings.sorted_len() != self.ranked;
        if self.dirty || (reranked && !self.pending.is_empty()) {
            return self.flush();
        }
        if self.pending.is_empty() && !self.refilter_due {
            return;
        }
        let keep = self.anchor();
        let new = std::mem::take(&mut self.pending);
        if !new.is_empty() {
            let sorter = Sorter::new(&self.calls, self.sort, self.descending);
            let (new_keys, new) = sorter.sort(new);
            (self.order_keys, self.order) =
                sorter.merge((&self.order_keys, &self.order), (&new_keys, &new));
            if self.query.is_empty() {
                self.view.clone_from(&self.order);
            } else if !self.refilter_due {
                let test = self.query.test(&self.calls, self.scope);
                let (pass_keys, pass): (Vec<SortKey>, Vec<u32>) = new_keys
                    .iter()
                    .zip(&new)
                    .filter(|&(_, &r)| test.passes(r))
                    .map(|(k, r)| (*k, *r))
                    .unzip();
                (self.view_keys, self.view) =
                    sorter.merge((&self.view_keys, &self.view), (&pass_keys, &pass));
            }
        }
        if std::mem::take(&mut self.refilter_due) {
            self.filter_all();
        }
        self.reselect(keep);
    }

    /// Applies what the reader sent for at most `budget`, a few rows at a time, so that a
    /// burst of records never holds up drawing; returns whether more may be waiting.
    pub fn receive(&mut self, rx: &Receiver<Loaded>, budget: Duration) -> bool {
        let started = Instant::now();
        loop {
            while self.arriving.len() > 0 {
                if started.elapsed() >= budget {
                    return true;
                }
                let some: Vec<(Digest, CallRecord)> = self.arriving.by_ref().take(64).collect();
                for (key, record) in &some {
                    self.add_row(*key, record);
                }
            }
            while self.arriving_summaries.len() > 0 {
                if started.elapsed() >= budget {
                    return true;
                }
                let some: Vec<(Digest, String)> =
                    self.arriving_summaries.by_ref().take(256).collect();
                self.loaded(Loaded::Summaries(some));
            }
            self.settle();
            if started.elapsed() >= budget {
                return true;
            }
            match rx.try_recv() {
                Ok(Loaded::Rows(rows)) => self.arriving = rows.into_iter(),
                Ok(Loaded::Summaries(s)) => self.arriving_summaries = s.into_iter(),
                Ok(msg) => self.loaded(msg),
                Err(_) => return false,
            }
        }
    }

    fn refilter(&mut self) {
        let keep = self.anchor();
        self.query = Query::parse(&self.filter);
        self.filter_all();
        self.reselect(keep);
    }

    /// The selected call and its row on the screen; `None` for the row when the table shows
    /// its top, which then stays in view (new calls appear there).
    fn anchor(&self) -> (Option<Digest>, Option<usize>) {
        let row = (self.offset > 0).then(|| self.selected.saturating_sub(self.offset));
        (self.selected_key(), row)
    }

    /// Selects the call `keep` selected again, on the same screen row as before when there
    /// was one, so rows arriving above it do not move what the user is looking at.
    fn reselect(&mut self, (keep, row): (Option<Digest>, Option<usize>)) {
        let found = keep.and_then(|k| {
            let row = self.calls.position(&k)?;
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

    /// Applies an action; returns what the caller must do.
    pub fn update(&mut self, action: Action, store: &dyn ValueStore) -> Option<Effect> {
        if !matches!(
            action,
            Action::Loaded(_) | Action::Tick | Action::Resize(..)
        ) {
            self.message = None;
        }
        match action {
            Action::Loaded(msg) => {
                self.loaded(msg);
                return None;
            }
            Action::Tick => {
                self.catch_up();
                return None;
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.scroll();
                if let Some(c) = &mut self.call {
                    c.offset =
                        keep_visible(c.selected, c.offset, tree_height(h), c.tree.rows().len());
                }
                return None;
            }
            Action::Say(text) => {
                self.message = Some(text);
                return None;
            }
            Action::Quit => {
                self.quit = true;
                return None;
            }
            _ => {}
        }
        match &self.overlay {
            Overlay::Help => {
                self.overlay = Overlay::None;
                return None;
            }
            Overlay::Confirm(keys) => {
                let keys = keys.clone();
                self.overlay = Overlay::None;
                return match action {
                    Action::Confirm(true) => Some(Effect::Delete(keys)),
                    _ => {
                        self.message = Some("nothing deleted".into());
                        None
                    }
                };
            }
            Overlay::Tags(_) => return self.picker(action),
            Overlay::None => {}
        }
        if self.editing {
            return self.edit(action);
        }
        match self.screen {
            Screen::Table => self.table(action),
            Screen::Call => self.tree(action, store),
        }
    }

    fn loaded(&mut self, msg: Loaded) {
        match msg {
            Loaded::Total(n) => {
                self.loading.total = Some(n);
                let more = usize::try_from(n)
                    .unwrap_or(0)
                    .saturating_sub(self.calls.len());
                self.calls.reserve(more);
            }
            Loaded::Rows(rows) => {
                for (k, r) in &rows {
                    self.add_row(*k, r);
                }
            }
            Loaded::Summaries(s) => {
                for (d, text) in &s {
                    self.calls.add_summary(*d, text);
                }
                if self.query.uses_arguments(self.scope) {
                    self.refilter_due = true;
                }
            }
            Loaded::Removed(keys) => {
                self.calls.remove(&keys);
                if let Some(c) = &self.call
                    && keys.contains(&c.key)
                {
                    self.message = Some("this call was deleted from the cache".into());
                }
                // Row indices moved: the table must not draw with the old ones.
                self.flush();
            }
            Loaded::Done => self.loading.done = true,
            Loaded::Failed(e) => self.loading.error = Some(e),
        }
        self.settle();
    }

    fn add_row(&mut self, key: Digest, record: &CallRecord) {
        match self.calls.position(&key) {
            Some(_) => self.dirty = true,
            None => self.pending.push(self.calls.len() as u32),
        }
        self.calls.add(key, record);
    }

    /// Small tables catch up at once; large ones on the next tick, a few times a second.
    fn settle(&mut self) {
        if self.calls.len() < 50_000 || self.order.is_empty() {
            self.catch_up();
        }
    }

    fn edit(&mut self, action: Action) -> Option<Effect> {
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
                return self.table(action);
            }
            _ => return None,
        }
        self.refilter();
        None
    }

    fn table(&mut self, action: Action) -> Option<Effect> {
        let n = self.view.len();
        let page = table_height(self.size.1).max(1) as isize;
        match action {
            Action::Move(d) => self.selected = step(self.selected, d, n),
            Action::Page(d) => self.selected = step(self.selected, d * page, n),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = n.saturating_sub(1),
            Action::Open | Action::Right => self.open_call(),
            Action::Back => self.quit = true,
            Action::EditFilter => self.editing = true,
            Action::Cancel => {
                self.filter.clear();
                self.refilter();
            }
            Action::CycleScope => {
                self.scope = self.scope.next();
                self.refilter();
            }
            Action::SortBy(c) => {
                if self.sort == c {
                    self.descending = !self.descending;
                } else {
                    self.sort = c;
                    self.descending = matches!(c, Column::Started | Column::Wall | Column::Size);
                }
                self.flush();
            }
            Action::NextSort => {
                let i = Column::ALL
                    .iter()
                    .position(|&c| c == self.sort)
                    .unwrap_or(0);
                return self.table(Action::SortBy(Column::ALL[(i + 1) % Column::ALL.len()]));
            }
            Action::ReverseSort => {
                self.descending = !self.descending;
                self.flush();
            }
            Action::Tags => self.open_picker(),
            Action::Help => self.overlay = Overlay::Help,
            Action::YankValue | Action::YankKey | Action::YankDigest => {
                let key = self.selected_key()?;
                return Some(Effect::Yank(key.to_string(), "call key".into()));
            }
            Action::Delete => {
                let key = self.selected_key()?;
                self.ask_delete(vec![key]);
            }
            Action::DeleteShown => {
                let keys: Vec<Digest> = self
                    .view
                    .iter()
                    .map(|&r| self.calls.rows[r as usize].key)
                    .collect();
                if !keys.is_empty() {
                    self.ask_delete(keys);
                }
            }
            Action::Rescan => {
                self.message = Some("re-reading the cache…".into());
                return Some(Effect::Rescan);
            }
            Action::Click(x, y) => return self.click_table(x, y),
            _ => {}
        }
        self.scroll();
        None
    }

    fn click_table(&mut self, x: u16, y: u16) -> Option<Effect> {
        let body_top = 2u16;
        if y == 1 {
            let columns = crate::ui::columns(self.size.0);
            let mut left = 0u16;
            for (c, w) in columns {
                if x >= left && x < left + w + 1 {
                    return self.table(Action::SortBy(c));
                }
                left += w + 1;
            }
            return None;
        }
        if y < body_top || (y - body_top) as usize >= table_height(self.size.1) {
            return None;
        }
        let i = self.offset + (y - body_top) as usize;
        if i >= self.view.len() {
            return None;
        }
        if i == self.selected {
            self.open_call();
        } else {
            self.selected = i;
        }
        None
    }

    fn ask_delete(&mut self, keys: Vec<Digest>) {
        if self.options.writable {
            self.overlay = Overlay::Confirm(keys);
        } else {
            self.message =
                Some("opened read-only: start fleche-tui with --write to delete calls".into());
        }
    }

    fn open_picker(&mut self) {
        let all = self.calls.tag_counts();
        if all.is_empty() {
            self.message = Some("no call has tags".into());
            return;
        }
        let mut picker = TagPicker {
            query: String::new(),
            shown: (0..all.len()).collect(),
            all,
            selected: 0,
        };
        self.rank_tags(&mut picker);
        self.overlay = Overlay::Tags(picker);
    }

    fn rank_tags(&self, picker: &mut TagPicker) {
        use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
        let pattern = Pattern::parse(&picker.query, CaseMatching::Smart, Normalization::Smart);
        let mut matcher = nucleo_matcher::Matcher::new(nucleo_matcher::Config::DEFAULT);
        let mut buf = Vec::new();
        let mut scored: Vec<(u32, usize)> = picker
            .all
            .iter()
            .enumerate()
            .filter_map(|(i, (tag, _))| {
                let hay = self.calls.strings.utf32(tag.pair, &mut buf);
                pattern.score(hay, &mut matcher).map(|s| (s, i))
            })
            .collect();
        if !picker.query.is_empty() {
            // Best match first; among equals, the most used tag (all is ordered by count).
            scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        picker.shown = scored.into_iter().map(|(_, i)| i).collect();
        picker.selected = picker.selected.min(picker.shown.len().saturating_sub(1));
    }

    fn picker(&mut self, action: Action) -> Option<Effect> {
        let Overlay::Tags(mut picker) = std::mem::replace(&mut self.overlay, Overlay::None) else {
            return None;
        };
        match action {
            Action::Type(c) => picker.query.push(c),
            Action::Backspace => {
                picker.query.pop();
            }
            Action::ClearLine | Action::DeleteWord => picker.query.clear(),
            Action::Move(d) => picker.selected = step(picker.selected, d, picker.shown.len()),
            Action::Page(d) => picker.selected = step(picker.selected, d * 10, picker.shown.len()),
            Action::Back | Action::Cancel | Action::Quit => return None,
            Action::Open | Action::Accept => {
                if let Some(&i) = picker.shown.get(picker.selected) {
                    let tag = picker.all[i].0;
                    let term = format!(
                        "tag:{}={}",
                        escape(self.calls.text(tag.key)),
                        escape(self.calls.text(tag.value))
                    );
                    if !self.filter.split(' ').any(|t| t == term) {
                        if !self.filter.is_empty() && !self.filter.ends_with(' ') {
                            self.filter.push(' ');
                        }
                        self.filter.push_str(&term);
                    }
                    self.refilter();
                }
                return None;
            }
            _ => {}
        }
        self.rank_tags(&mut picker);
        self.overlay = Overlay::Tags(picker);
        None
    }

    /// Opens the selected call as a tree.
    pub fn open_call(&mut self) {
        let Some(&r) = self.view.get(self.selected) else {
            return;
        };
        let row = &self.calls.rows[r as usize];
        let calls = &self.calls;
        let short = &row.key.to_string()[..8];
        let title = format!("{}({short})", calls.text(row.name));
        let mut t = Tree::new();
        let call = t.add(None, "call", Body::Text(title.clone()));
        let line = |t: &mut Tree, parent, label: &str, text: String| {
            t.add(Some(parent), label, Body::Text(text));
        };
        line(&mut t, call, "key", row.key.to_string());
        line(&mut t, call, "function", calls.text(row.name).to_owned());
        line(&mut t, call, "module", calls.text(row.module).to_owned());
        if let Some(v) = &row.version {
            line(&mut t, call, "version", v.to_string());
        }
        if let Some(c) = &row.code {
            line(&mut t, call, "code", c.to_string());
        }
        line(&mut t, call, "started", self.time(row.start));
        line(&mut t, call, "stopped", self.time(row.stop));
        line(&mut t, call, "wall time", wall(row.wall));
        if !row.tags.is_empty() {
            let tags = t.add(
                Some(call),
                "tags",
                Body::Text(plural(row.tags.len(), "tag")),
            );
            for tag in row.tags.iter() {
                line(
                    &mut t,
                    tags,
                    calls.text(tag.key),
                    calls.text(tag.value).to_owned(),
                );
            }
        }
        if let Some(env) = &row.environment {
            let e = t.add(Some(call), "environment", Body::Text(String::new()));
            line(&mut t, e, "host", env.hostname.clone());
            line(&mut t, e, "user", env.user.clone());
            line(&mut t, e, "directory", env.cwd.clone());
            line(&mut t, e, "fleche", env.fleche_version.clone());
        }
        if let Some(git) = &row.git {
            let g = t.add(Some(call), "git", Body::Text(String::new()));
            let unknown = || "?".to_owned();
            line(
                &mut t,
                g,
                "commit",
                git.commit.clone().unwrap_or_else(unknown),
            );
            line(
                &mut t,
                g,
                "branch",
                git.branch.clone().unwrap_or_else(unknown),
            );
            line(
                &mut t,
                g,
                "dirty",
                git.dirty.map_or_else(unknown, |d| d.to_string()),
            );
        }
        let args = t.add(
            None,
            "arguments",
            Body::Text(plural(row.args.len(), "argument")),
        );
        for &a in row.args.iter() {
            let info = &calls.args[a as usize];
            let id = t.add(
                Some(args),
                calls.text(info.name),
                Body::Unread(Unread {
                    digest: info.digest,
                    hint: format!("digest {}", &info.digest.to_string()[..8]),
                    summary: info.value.map(|v| calls.text(v).to_owned()),
                    type_name: None,
                }),
            );
            t.set_digest(id, info.digest);
        }
        let result = t.add(
            None,
            "result",
            Body::Unread(Unread {
                digest: row.result,
                hint: format!(
                    "{} · {}",
                    calls.text(row.result_type),
                    human_size(row.result_size)
                ),
                summary: None,
                type_name: Some(calls.text(row.result_type).to_owned()),
            }),
        );
        t.set_digest(result, row.result);
        // Open the headings (no values are read by that) and select the result.
        t.expand(call, &crate::tree::NoValues);
        t.expand(args, &crate::tree::NoValues);
        t.refresh();
        let selected = t.rows().iter().position(|&n| n == result).unwrap_or(0);
        let mut view = CallView {
            key: row.key,
            title,
            tree: t,
            selected,
            offset: 0,
        };
        view.offset = keep_visible(
            selected,
            0,
            tree_height(self.size.1).max(1),
            view.tree.rows().len(),
        );
        self.call = Some(view);
        self.screen = Screen::Call;
    }

    fn tree(&mut self, action: Action, store: &dyn ValueStore) -> Option<Effect> {
        let height = tree_height(self.size.1).max(1);
        let yank = std::mem::take(&mut self.pending_yank);
        let Some(view) = &mut self.call else {
            self.screen = Screen::Table;
            return None;
        };
        let rows = view.tree.rows().len();
        let &node = view.tree.rows().get(view.selected)?;
        let tree = &mut view.tree;
        if yank {
            let (what, text) = match action {
                Action::YankValue => ("value", tree.value_text(node)),
                Action::YankPath => ("path", tree.path(node)),
                Action::YankDigest => match tree.digest(node) {
                    Some(d) => ("digest", d.to_string()),
                    None => ("call key", view.key.to_string()),
                },
                Action::YankKey => ("call key", view.key.to_string()),
                _ => return None,
            };
            return Some(Effect::Yank(text, what.to_owned()));
        }
        let mut select = None;
        match action {
            Action::Move(d) => view.selected = step(view.selected, d, rows),
            Action::Page(d) => view.selected = step(view.selected, d * height as isize, rows),
            Action::Top => view.selected = 0,
            Action::Bottom => view.selected = rows.saturating_sub(1),
            Action::Back => {
                self.screen = Screen::Table;
                self.call = None;
                return None;
            }
            Action::Help => {
                self.overlay = Overlay::Help;
                return None;
            }
            Action::Open | Action::Toggle => tree.toggle(node, store),
            Action::Right => {
                if tree.node(node).expanded {
                    select = tree.children(node).first().copied();
                } else {
                    tree.expand(node, store);
                }
            }
            Action::Left => {
                if tree.node(node).expanded {
                    tree.collapse(node);
                } else {
                    select = tree.node(node).parent;
                }
            }
            Action::Parent => select = tree.node(node).parent,
            Action::Sibling(d) => {
                let sibs: Vec<NodeId> = match tree.node(node).parent {
                    Some(p) => tree.children(p).to_vec(),
                    None => tree
                        .rows()
                        .iter()
                        .copied()
                        .filter(|&n| tree.node(n).parent.is_none())
                        .collect(),
                };
                if let Some(i) = sibs.iter().position(|&n| n == node) {
                    let j = step(i, d, sibs.len());
                    select = sibs.get(j).copied();
                }
            }
            Action::ExpandSiblings => tree.expand_siblings(node, store),
            Action::CollapseSiblings => tree.collapse_siblings(node),
            Action::ExpandDeep => tree.expand_deep(node, store),
            // The selection moves to the nearest ancestor still visible (below).
            Action::Level(level) => tree.collapse_to_level(level, store),
            Action::YankValue => {
                self.pending_yank = true;
                self.message = Some("y: value   p: path   d: digest   k: call key".into());
                return None;
            }
            Action::YankPath => return Some(Effect::Yank(tree.path(node), "path".into())),
            Action::YankDigest => {
                let d = tree.digest(node).unwrap_or(view.key);
                return Some(Effect::Yank(d.to_string(), "digest".into()));
            }
            Action::YankKey => return Some(Effect::Yank(view.key.to_string(), "call key".into())),
            Action::Click(_, y) if y >= 1 && ((y - 1) as usize) < height => {
                let i = view.offset + (y - 1) as usize;
                if i < rows {
                    if i == view.selected {
                        tree.toggle(node, store);
                    } else {
                        view.selected = i;
                    }
                }
            }
            _ => {}
        }
        tree.refresh();
        // Keep the selected node selected when rows above it appear or vanish.
        let target = select.unwrap_or_else(|| match action {
            Action::Move(_)
            | Action::Page(_)
            | Action::Top
            | Action::Bottom
            | Action::Click(..) => tree.rows().get(view.selected).copied().unwrap_or(node),
            _ => node,
        });
        let mut t = Some(target);
        while let Some(id) = t {
            if let Some(i) = tree.rows().iter().position(|&n| n == id) {
                view.selected = i;
                break;
            }
            t = tree.node(id).parent;
        }
        let rows = tree.rows().len();
        view.selected = view.selected.min(rows.saturating_sub(1));
        view.offset = keep_visible(view.selected, view.offset, height, rows);
        None
    }

    /// The count line: `12 of 1,024 calls`, with loading progress.
    pub fn count_text(&self) -> String {
        let total = self.calls.len() as u64;
        let mut s = if self.query.is_empty() {
            format!("{} calls", group(total))
        } else {
            format!(
                "{} of {} calls",
                group(self.view.len() as u64),
                group(total)
            )
        };
        if !self.loading.done {
            match self.loading.total {
                Some(t) if t > 0 => {
                    let pct = (total * 100 / t).min(100);
                    s.push_str(&format!(" · loading {pct}%"));
                }
                _ => s.push_str(" · loading"),
            }
        } else if self.query.uses_arguments(self.scope) {
            let (done, all) = self.calls.summary_progress();
            if done < all {
                s.push_str(&format!(" · argument values {}%", done * 100 / all.max(1)));
            }
        }
        s
    }

    /// Whether `y` was pressed and the next key says what to copy.
    pub fn yank_pending(&self) -> bool {
        self.pending_yank
    }

    /// The parsed filter, for tests.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// Sets the filter text as if typed (for tests and `--filter`).
    pub fn set_filter(&mut self, text: &str) {
        self.filter = text.to_owned();
        self.refilter();
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A wall time for people: `412 µs`, `13.2 ms`, `2.00 s`, `12m 34s`, `2h 03m`.
pub fn wall(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    if seconds < 1e-3 {
        format!("{:.0} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else if seconds < 60.0 {
        format!("{seconds:.2} s")
    } else if seconds < 3600.0 {
        let s = seconds as u64;
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let m = (seconds / 60.0) as u64;
        format!("{}h {:02}m", m / 60, m % 60)
    }
}

/// Moves an index by `d` within `0..n`.
fn step(i: usize, d: isize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    (i as isize + d).clamp(0, n as isize - 1) as usize
}

/// The first row to show so that `selected` is visible in a window of `height` rows.
pub fn keep_visible(selected: usize, offset: usize, height: usize, len: usize) -> usize {
    let height = height.max(1);
    let mut offset = offset.min(len.saturating_sub(height));
    if selected < offset {
        offset = selected;
    } else if selected >= offset + height {
        offset = selected + 1 - height;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_read_well() {
        assert_eq!(wall(0.000_412), "412 µs");
        assert_eq!(wall(0.0132), "13.2 ms");
        assert_eq!(wall(2.0), "2.00 s");
        assert_eq!(wall(754.2), "12m 34s");
        assert_eq!(wall(7380.0), "2h 03m");
    }

    #[test]
    fn scrolling_keeps_the_selection_visible() {
        assert_eq!(keep_visible(0, 0, 10, 100), 0);
        assert_eq!(keep_visible(15, 0, 10, 100), 6);
        assert_eq!(keep_visible(3, 6, 10, 100), 3);
        assert_eq!(keep_visible(5, 90, 10, 8), 0);
    }
}
