//! The browser's state and how actions change it. Nothing here touches the terminal; stored
//! values are read through a [`ValueStore`] only when a tree node is opened, and everything
//! else the outside world must do (copy, delete, rescan) comes back as an [`Effect`].
//!
//! The state is the loaded calls plus one state per screen (`crate::screen`); this module
//! routes each action to the screen or window in front and carries out what it replies.

use fleche::Digest;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::action::Reply;
pub use crate::action::{Action, Effect};
use crate::batch::Batch;
use crate::calls::{Arriving, Calls};
use crate::filter::{Query, RowSet};
use crate::loader::{Loaded, Row, SUMMARY_ASK};
pub use crate::loading::Loading;
pub use crate::screen::call::CallView;
use crate::screen::confirm;
pub use crate::screen::table::CallsTable;
pub use crate::screen::tags::TagPicker;
use crate::tree::ValueStore;

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
    /// The cache shown is a repaired private copy of a file that needs repair: it does not
    /// follow the file.
    pub copy: bool,
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

/// The whole browser state.
#[derive(Debug)]
pub struct State {
    /// How it was started.
    pub options: Options,
    /// Loaded calls.
    pub calls: Calls,
    /// Reader progress.
    pub loading: Loading,
    /// The calls table: order, filter, selection.
    pub table: CallsTable,
    /// The opened call.
    pub call: Option<CallView>,
    /// The screen shown.
    pub screen: Screen,
    /// A window on top.
    pub overlay: Overlay,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// A message for the user, until the next key.
    pub message: Option<String>,
    /// Calls and summaries of the reader's last message not added yet.
    arriving: Option<Arriving>,
    arriving_summaries: std::vec::IntoIter<(Digest, String)>,
    /// When the reader's last message came.
    last_message: Option<Instant>,
    /// While the reader lists every stored call: how many rows there were when it began,
    /// and those of them listed so far.
    listed: Option<(usize, RowSet)>,
    /// Set when the user asked to leave.
    pub quit: bool,
}

impl State {
    /// A browser with no calls loaded yet.
    pub fn new(options: Options) -> State {
        let size = (100, 30);
        State {
            options,
            calls: Calls::new(),
            loading: Loading::default(),
            table: CallsTable::new(size),
            call: None,
            screen: Screen::Table,
            overlay: Overlay::None,
            size,
            message: None,
            arriving: None,
            arriving_summaries: Vec::new().into_iter(),
            last_message: None,
            listed: None,
            quit: false,
        }
    }

    /// The key of the selected call.
    pub fn selected_key(&self) -> Option<Digest> {
        self.table.selected_key(&self.calls)
    }

    /// The count line: `12 of 1,024 calls`, with loading progress.
    pub fn count_text(&self) -> String {
        self.table.count_text(&self.calls, &self.loading)
    }

    /// The parsed filter, for tests.
    pub fn query(&self) -> &Query {
        self.table.query()
    }

    /// Sets the filter text as if typed (for tests and `--filter`).
    pub fn set_filter(&mut self, text: &str) {
        self.table.set_filter(text, &self.calls);
    }

    /// Re-sorts and re-filters everything now, keeping the selected call selected.
    pub fn flush(&mut self) {
        self.table.flush(&self.calls);
    }

    /// Brings the table up to date with what the reader sent.
    pub fn catch_up(&mut self) {
        self.table.catch_up(&self.calls);
    }

    /// Applies what the reader sent for at most `budget`, a few rows at a time, so that a
    /// burst of records never holds up drawing; returns whether more may be waiting.
    pub fn receive(&mut self, rx: &Receiver<Loaded>, budget: Duration) -> bool {
        let started = Instant::now();
        loop {
            while let Some(arriving) = &mut self.arriving {
                if started.elapsed() >= budget {
                    return true;
                }
                let table = &mut self.table;
                if !self
                    .calls
                    .add_arriving(arriving, 256, |new| table.arrived(new))
                {
                    self.arriving = None;
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
            self.table.settle(&self.calls);
            if started.elapsed() >= budget {
                return true;
            }
            let msg = rx.try_recv();
            if msg.is_ok() {
                self.last_message = Some(Instant::now());
            }
            match msg {
                Ok(Loaded::Rows(rows)) => {
                    self.arriving = Some(self.calls.arriving(batch_of(&rows)))
                }
                Ok(Loaded::Batch(batch)) => self.arriving = Some(self.calls.arriving(*batch)),
                Ok(Loaded::Summaries(s)) => self.arriving_summaries = s.into_iter(),
                Ok(msg) => self.loaded(msg),
                Err(_) => return false,
            }
        }
    }

    /// How long the loop may wait for input before it takes the reader's messages again:
    /// not at all while some wait (`backlog`); 2 ms until the first calls arrive (the first
    /// screen); 20 ms while the reader is sending (it waits for room in its channel, so a
    /// long wait would hold the load up, and 20 ms keeps the frames drawn meanwhile few);
    /// else until the next tick (`tick_left`).
    pub fn input_wait(&self, backlog: bool, tick_left: Duration) -> Duration {
        const SENDING: Duration = Duration::from_millis(500);
        let wait = match self.last_message {
            _ if backlog => Duration::ZERO,
            _ if self.calls.is_empty() && !self.loading.done => Duration::from_millis(2),
            None => tick_left,
            Some(t) if t.elapsed() < SENDING => Duration::from_millis(20),
            Some(_) => tick_left,
        };
        wait.min(tick_left)
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
                self.table.resize(self.size);
                if let Some(c) = &mut self.call {
                    c.resize(h);
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
        let reply = match &mut self.overlay {
            Overlay::Help => Reply::Close,
            Overlay::Confirm(keys) => {
                let reply = confirm::update(keys, action);
                self.overlay = Overlay::None;
                reply
            }
            Overlay::Tags(picker) => picker.update(action, &self.calls),
            Overlay::None => match (self.screen, &mut self.call) {
                (Screen::Call, Some(view)) => view.update(action, store),
                (Screen::Call, None) => {
                    self.screen = Screen::Table;
                    Reply::Done
                }
                (Screen::Table, _) => self.table.update(action, &self.calls),
            },
        };
        self.carry_out(reply, store)
    }

    /// Does what a screen or window replied (an opened call's record is read from `store`).
    fn carry_out(&mut self, reply: Reply, store: &dyn ValueStore) -> Option<Effect> {
        match reply {
            Reply::Done => {}
            Reply::Effect(effect) => {
                if effect == Effect::Rescan {
                    self.message = Some("re-reading the cache…".into());
                }
                return Some(effect);
            }
            Reply::Say(text) => self.message = Some(text),
            Reply::OpenCall(row) => {
                let (local, height) = (self.options.local_time, self.size.1);
                let view = CallView::open(&self.calls, row, local, height, store);
                self.call = Some(view);
                self.screen = Screen::Call;
            }
            Reply::Tags => match TagPicker::open(&self.calls) {
                Some(picker) => self.overlay = Overlay::Tags(picker),
                None => self.message = Some("no call has tags".into()),
            },
            Reply::Help => self.overlay = Overlay::Help,
            Reply::AskDelete(keys) => {
                if self.options.writable {
                    self.overlay = Overlay::Confirm(keys);
                } else {
                    self.message = Some(
                        "opened read-only: start fleche-tui with --write to delete calls".into(),
                    );
                }
            }
            Reply::PickTag(tag) => {
                self.overlay = Overlay::None;
                self.table.add_tag(tag, &self.calls);
            }
            Reply::Close => {
                if !matches!(self.overlay, Overlay::None) {
                    self.overlay = Overlay::None;
                } else {
                    self.screen = Screen::Table;
                    self.call = None;
                }
            }
            Reply::Quit => self.quit = true,
        }
        None
    }

    fn loaded(&mut self, msg: Loaded) {
        match msg {
            Loaded::Total(n) => {
                self.loading.total = Some(n);
                let more = usize::try_from(n)
                    .unwrap_or(0)
                    .saturating_sub(self.calls.len());
                self.calls.reserve(more);
                self.table.reserve(more);
            }
            Loaded::Rows(rows) => self.add_batch(batch_of(&rows)),
            Loaded::Batch(batch) => self.add_batch(*batch),
            Loaded::Unreadable(rows) => {
                for (key, reason) in &rows {
                    let new = (!self.calls.contains(key)).then_some(self.calls.len() as u32);
                    self.table.arrived(new);
                    self.calls.add_unreadable(*key, reason);
                }
            }
            Loaded::Summaries(s) => {
                for (d, text) in &s {
                    self.calls.add_summary(*d, text);
                }
                self.table.summaries_arrived();
            }
            Loaded::Removed(keys) => self.removed(&keys),
            Loaded::Done => self.loading.done = true,
            Loaded::SummariesWanted(from, ask) => {
                // A reader that went away needs no answer.
                let _ = ask.send(self.calls.unsummarised_values(from, SUMMARY_ASK));
            }
            Loaded::Listing => {
                let n = self.calls.len();
                self.listed = Some((n, RowSet::new(n)));
            }
            Loaded::Unknown(keys, ask) => {
                let mut unknown = Vec::new();
                for key in keys {
                    match self.calls.position(&key) {
                        Some(i) => {
                            if let Some((_, listed)) = self.listed.as_mut() {
                                listed.insert(i);
                            }
                        }
                        None => unknown.push(key),
                    }
                }
                let _ = ask.send(unknown);
            }
            Loaded::Listed => {
                if let Some((n, listed)) = self.listed.take() {
                    // Rows past the first `n` arrived after the listing began: none is gone.
                    let gone: Vec<Digest> = (0..self.calls.len().min(n))
                        .filter(|&i| !listed.has(i as u32))
                        .map(|i| self.calls.rows[i].key)
                        .collect();
                    if !gone.is_empty() {
                        self.removed(&gone);
                    }
                }
            }
            Loaded::Failed(e) => self.loading.error = Some(e),
            Loaded::Warning(w) => self.loading.warn(w),
        }
        self.table.settle(&self.calls);
    }

    /// Takes off calls that are gone. A listing under way is dropped: its bits name rows by
    /// their place, which the removal changes (the reader's next poll sees the count differ
    /// and lists again).
    fn removed(&mut self, keys: &[Digest]) {
        self.listed = None;
        // Found before the rows move (the table's row numbers are stale after).
        let keep = self.table.anchor(&self.calls);
        self.calls.remove(keys);
        if let Some(c) = &self.call
            && keys.contains(&c.key)
        {
            self.message = Some("this call was deleted from the cache".into());
        }
        // Row indices moved: the table must not draw with the old ones.
        self.table.removed(&self.calls, keep);
    }

    fn add_batch(&mut self, batch: Batch) {
        let mut arriving = self.calls.arriving(batch);
        let table = &mut self.table;
        self.calls
            .add_arriving(&mut arriving, usize::MAX, |new| table.arrived(new));
    }
}

/// The calls of records sent as such (by tests), as the reader sends them.
fn batch_of(rows: &[Row]) -> Batch {
    Batch::of(
        rows.iter()
            .map(|(key, layer, record)| (*key, *layer, record)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::notebook;
    use crate::tree::NoValues as NoStore;

    fn state() -> State {
        crate::testing::state("test")
    }

    /// What the UI answers to a question about these keys.
    fn ask(st: &mut State, keys: &[Digest]) -> Vec<Digest> {
        let (tx, rx) = std::sync::mpsc::channel();
        st.update(Action::Loaded(Loaded::Unknown(keys.to_vec(), tx)), &NoStore);
        rx.recv().expect("the UI answers")
    }

    #[test]
    fn a_listing_drops_the_calls_not_listed_and_names_those_not_held() {
        let (records, _) = notebook();
        assert!(records.len() >= 4);
        let keys: Vec<Digest> = records.iter().map(|(k, _)| *k).collect();
        let mut st = state();
        let first = records[..3].to_vec();
        st.update(Action::Loaded(Loaded::rows(first)), &NoStore);
        let new = Digest::from_bytes([5; 32]);
        // Outside a listing, a question marks nothing.
        assert_eq!(ask(&mut st, &[keys[0], new]), [new]);
        st.update(Action::Loaded(Loaded::Listing), &NoStore);
        // Listed in two parts: the second and a call the UI does not hold, then the third.
        assert_eq!(ask(&mut st, &[keys[1], new]), [new]);
        // A call arriving while the listing goes on is not taken for gone.
        let late = vec![records[3].clone()];
        st.update(Action::Loaded(Loaded::rows(late)), &NoStore);
        assert_eq!(ask(&mut st, &[keys[2]]), Vec::<Digest>::new());
        st.update(Action::Loaded(Loaded::Listed), &NoStore);
        let mut held: Vec<Digest> = st.calls.rows.iter().map(|r| r.key).collect();
        held.sort();
        let mut expected = vec![keys[1], keys[2], keys[3]];
        expected.sort();
        assert_eq!(held, expected);
        assert_eq!(st.table.view.len(), 3);
        // A second listing starts afresh.
        st.update(Action::Loaded(Loaded::Listing), &NoStore);
        assert_eq!(ask(&mut st, &[keys[3]]), Vec::<Digest>::new());
        st.update(Action::Loaded(Loaded::Listed), &NoStore);
        assert_eq!(st.calls.len(), 1);
        assert!(st.calls.contains(&keys[3]));
    }

    /// Rows removed while a listing goes on move the others: that listing drops nothing.
    #[test]
    fn a_removal_during_a_listing_leaves_the_listing_without_effect() {
        let (records, _) = notebook();
        let keys: Vec<Digest> = records.iter().map(|(k, _)| *k).collect();
        let mut st = state();
        st.update(
            Action::Loaded(Loaded::rows(records[..3].to_vec())),
            &NoStore,
        );
        st.update(Action::Loaded(Loaded::Listing), &NoStore);
        assert_eq!(ask(&mut st, &[keys[2]]), Vec::<Digest>::new());
        st.update(Action::Loaded(Loaded::Removed(vec![keys[0]])), &NoStore);
        st.update(Action::Loaded(Loaded::Listed), &NoStore);
        assert_eq!(st.calls.len(), 2);
        assert!(st.calls.contains(&keys[1]) && st.calls.contains(&keys[2]));
    }

    #[test]
    fn unsummarised_values_are_handed_over_a_part_at_a_time() {
        let (records, values) = notebook();
        let mut st = state();
        st.update(Action::Loaded(Loaded::rows(records.clone())), &NoStore);
        let mut all: Vec<Digest> = records
            .iter()
            .flat_map(|(_, r)| r.arguments.iter().map(|(_, d)| *d))
            .collect();
        all.sort();
        all.dedup();
        assert!(all.len() >= 3);
        // One summary known already: it is not asked for.
        let (known, rest) = all.split_first().unwrap();
        st.calls.add_summary(*known, "known");
        let (mut from, mut given) = (0, Vec::new());
        loop {
            let (tx, rx) = std::sync::mpsc::channel();
            st.update(Action::Loaded(Loaded::SummariesWanted(from, tx)), &values);
            let (part, next): (Vec<Digest>, usize) = rx.recv().unwrap();
            if part.is_empty() {
                break;
            }
            assert!(next > from);
            from = next;
            given.extend(part);
        }
        given.sort();
        assert_eq!(given, rest);
        // Parts of two.
        let (part, next) = st.calls.unsummarised_values(0, 2);
        assert_eq!(part.len(), 2);
        let (after, _) = st.calls.unsummarised_values(next, usize::MAX);
        assert_eq!(part.len() + after.len(), rest.len());
        assert!(part.iter().all(|d| !after.contains(d)));
    }
}
