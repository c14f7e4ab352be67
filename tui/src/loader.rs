//! The background reader: loads the newest call records first by the time index (so the first
//! screens of a million calls show at once and in order), then every other record in key order
//! (several times faster than looking them up by time, and read in place into batches: see
//! `batch.rs`), then a short summary of each distinct argument value for the filter (of the
//! values the UI says have none: it holds them already); then it polls the cache for calls
//! other processes add or remove. It keeps no list of the calls: the UI, which holds every
//! key, says which of those it is shown it lacks, and which are gone. A record that does not
//! decode is sent as a call of its own with the reason, and a table that cannot be read ends
//! the first load with the error rather than stalling it. On a stack every read is the union
//! of the layers, and a layer left out is sent as a warning.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::Duration;

use fleche::codec::inspect;
use fleche::record::CallRecord;
use fleche::{Cache, Digest};
use fleche::{PagedRecord, TimeKey, ValueHead};

/// A call as the reader sends it: key, the stack layer it came from (an index into the
/// layer names; 0 for a plain cache) and its record.
pub type Row = (Digest, usize, CallRecord);
use foldhash::HashSet;

use crate::batch::Batch;
use crate::value;

/// Records in the first chunk: enough for a screen, quick to read.
pub const FIRST_CHUNK: usize = 100;
/// The newest calls read by the time index, in the order the table shows them, before the
/// rest is read in key order (and merged into place).
pub const NEWEST: usize = 5_000;
/// Records per later chunk.
pub const CHUNK: usize = 2_000;
/// Argument values read per transaction for their summaries.
pub const SUMMARY_CHUNK: usize = 4_096;
/// Argument values without a summary the UI hands over per question (2 MB of digests: the
/// whole list of a million calls would be 32 MB more at the peak).
pub const SUMMARY_ASK: usize = 65_536;
/// Keys per question while the reader lists every stored call for the UI to compare.
pub const LIST_CHUNK: usize = 65_536;
/// How often the cache is polled for changes.
pub const POLL: Duration = Duration::from_millis(1_000);
/// Argument summaries are computed from at most this many leading bytes of a value.
pub const SUMMARY_BYTES: usize = 4_096;
/// Argument summaries are cut to this many characters.
pub const SUMMARY_CHARS: usize = 60;
/// Messages the reader may send ahead of the UI: it waits beyond that, so decoded records
/// never pile up in memory while the UI adds them (at most 16,000 records, a few
/// MB).
pub const AHEAD: usize = 8;

/// The channel the reader sends on, holding at most [`AHEAD`] messages.
pub fn channel() -> (SyncSender<Loaded>, Receiver<Loaded>) {
    std::sync::mpsc::sync_channel(AHEAD)
}

/// What the reader sends to the UI.
#[derive(Debug, Clone)]
pub enum Loaded {
    /// How many calls the cache holds.
    Total(u64),
    /// Records of calls (new or first loaded).
    Rows(Vec<Row>),
    /// Calls (new or first loaded), as the reader sends them: ready to become rows.
    Batch(Box<Batch>),
    /// Calls whose records are stored but do not decode, with the reason.
    Unreadable(Vec<(Digest, String)>),
    /// One-line summaries of argument values, by value digest.
    Summaries(Vec<(Digest, String)>),
    /// Calls that are gone: deleted by this browser, which takes them off at once (those
    /// another process deletes go at the end of a [`Loaded::Listing`]).
    Removed(Vec<Digest>),
    /// The first full load finished (or stopped at an error, sent just before).
    Done,
    /// The reader asks for argument values that have no summary yet, at most
    /// [`SUMMARY_ASK`] of them, from this place in the UI's list of values on; the UI answers
    /// with them and the place to ask from next (a UI that drops the question gets none).
    SummariesWanted(usize, Sender<(Vec<Digest>, usize)>),
    /// Which of these calls the UI does not hold: it answers with those (the reader loads
    /// them). Between [`Loaded::Listing`] and [`Loaded::Listed`] they are every call stored
    /// now, and the UI notes those it holds as still there.
    Unknown(Vec<Digest>, Sender<Vec<Digest>>),
    /// The reader lists every stored call next, as [`Loaded::Unknown`] questions.
    Listing,
    /// The listing is over: the calls the UI holds that were not listed are gone (the UI,
    /// which holds every key, compares, so the reader keeps no list of its own).
    Listed,
    /// Reading failed; the reader keeps polling.
    Failed(String),
    /// A layer of the stack was left out of a read, and why.
    Warning(String),
}

impl Loaded {
    /// Records of a cache that is not a stack, as the reader sends them.
    pub fn rows(records: impl IntoIterator<Item = (Digest, CallRecord)>) -> Loaded {
        Loaded::Rows(records.into_iter().map(|(k, r)| (k, 0, r)).collect())
    }
}

/// Requests from the UI to the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Re-read the whole key list now (`r`).
    Rescan,
    /// These calls were deleted (and taken off the table): re-read the key list, and send
    /// again those still stored (on a stack, in a read-only layer).
    Deleted(Vec<Digest>),
}

/// The one-line summary of an argument value from its first bytes, as the filter matches
/// it: a text value without its quotes, anything else as rendered.
pub fn argument_summary(head: &ValueHead) -> String {
    let s = match head.item_at(0) {
        Ok(item) => value::summary(&item, SUMMARY_CHARS),
        // Shows what is readable, then `<invalid>`.
        Err(_) => inspect::summary(&head.bytes, SUMMARY_CHARS),
    };
    match s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) => inner.to_owned(),
        None => s,
    }
}

/// Runs the reader until the UI hangs up.
pub fn run(cache: Cache, tx: SyncSender<Loaded>, rx: Receiver<Request>) {
    // Skipped layers are shown on the screen, never printed over it.
    cache.collect_layer_warnings();
    let mut reader = Reader {
        cache,
        tx,
        held: 0,
        unsummarised: Vec::new(),
        newest: None,
        counts: Vec::new(),
        warned: 0,
    };
    if reader.first_load().is_err() {
        return;
    }
    loop {
        match rx.recv_timeout(POLL) {
            // Deleted calls are off the table already; the listing loads again those still
            // stored (on a stack, in a read-only layer).
            Ok(Request::Rescan | Request::Deleted(_)) => {
                if reader.rescan().is_err() {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if reader.poll().is_err() {
                    return;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The UI went away.
struct Gone;

struct Reader {
    cache: Cache,
    tx: SyncSender<Loaded>,
    /// How many calls the UI holds (every call sent is a new one: the first load sends each
    /// once, later ones only those the UI says it does not hold).
    held: usize,
    /// Argument values to summarise next (with repeats, until they are read).
    unsummarised: Vec<Digest>,
    newest: Option<TimeKey>,
    /// How many calls each layer of a stack held when last looked at (its change signal).
    counts: Vec<Option<u64>>,
    /// How many of the cache's layer warnings were sent.
    warned: usize,
}

impl Reader {
    fn send(&mut self, msg: Loaded) -> Result<(), Gone> {
        // Layers left out by the reads before this message, said before it.
        let warnings = self.cache.layer_warnings();
        for w in warnings.into_iter().skip(self.warned) {
            self.warned += 1;
            self.tx.send(Loaded::Warning(w)).map_err(|_| Gone)?;
        }
        self.tx.send(msg).map_err(|_| Gone)
    }

    fn fail(&mut self, e: fleche::Error) -> Result<(), Gone> {
        self.send(Loaded::Failed(e.to_string()))
    }

    /// Ends the first load at an error: the UI says it, and stops showing progress.
    fn stop(&mut self, e: fleche::Error) -> Result<(), Gone> {
        self.fail(e)?;
        self.send(Loaded::Done)
    }

    fn first_load(&mut self) -> Result<(), Gone> {
        // Counted before reading, so a change made meanwhile shows at the first poll.
        self.counts_changed();
        let total = match self.cache.len() {
            Ok(n) => n,
            Err(e) => return self.stop(e),
        };
        self.send(Loaded::Total(total))?;
        // The newest calls by the time index, a small chunk first: the first screens. A time
        // index that cannot be read is said, and every record is still read in key order.
        let mut before = None;
        let mut read = 0;
        // The newest calls, skipped in the pass by key order.
        let mut newest: HashSet<Digest> = HashSet::default();
        for size in [FIRST_CHUNK, NEWEST - FIRST_CHUNK] {
            let page = match self.cache.calls_before(before, size) {
                Ok(p) => p,
                Err(e) => {
                    self.fail(e)?;
                    break;
                }
            };
            let Some(&last) = page.last() else { break };
            self.newest.get_or_insert(page[0]);
            before = Some(last);
            read += page.len() as u64;
            let keys: Vec<Digest> = page.iter().map(|t| t.key).collect();
            newest.extend(keys.iter().copied());
            if !self.load(&keys)? {
                break;
            }
        }
        // The rest in key order, skipping those read already. A stack's count leaves out
        // layers that are not files, so a stack reads on to the last page.
        let stacked = self.cache.is_stack();
        let mut after = None;
        while read < total || stacked {
            // Read in place: a million records are not each allocated and freed.
            let mut batch = Batch::new();
            let mut unreadable = Vec::new();
            let visited = self
                .cache
                .visit_records_after(after, CHUNK, |key, layer, record| {
                    if newest.contains(&key) {
                        return;
                    }
                    match record {
                        Ok(r) => batch.push_ref(key, layer, &r),
                        Err(e) => unreadable.push((key, e.reason)),
                    }
                });
            let keys = match visited {
                Ok(k) => k,
                Err(e) => return self.stop(e),
            };
            let Some(&last) = keys.last() else { break };
            after = Some(last);
            let full = keys.len() == CHUNK;
            read += (batch.len() + unreadable.len()) as u64;
            self.send_calls(batch, unreadable)?;
            if !full {
                break;
            }
        }
        drop(newest);
        self.send(Loaded::Done)?;
        // The argument values of a million calls are a list as long as the calls (32 MB):
        // the UI holds them already, and hands over those without a summary a part at a
        // time, rather than the reader keeping its own list through the load.
        self.unsummarised.clear();
        let mut from = 0;
        loop {
            let (ask, answer) = std::sync::mpsc::channel();
            self.send(Loaded::SummariesWanted(from, ask))?;
            let Ok((digests, next)) = answer.recv() else {
                break;
            };
            if digests.is_empty() {
                break;
            }
            from = next;
            self.summarise_these(digests)?;
        }
        Ok(())
    }

    /// Loads the records of these calls and sends them (in key order: the order does not
    /// matter to the table, and it reads faster); returns whether they could be read.
    fn load(&mut self, keys: &[Digest]) -> Result<bool, Gone> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        match self.cache.records_of(&keys) {
            Ok(rows) => self.take(rows).map(|()| true),
            Err(e) => self.fail(e).map(|()| false),
        }
    }

    /// Sends records (and the unreadable ones apart), noting their keys and the argument
    /// values to summarise.
    fn take(&mut self, page: Vec<PagedRecord>) -> Result<(), Gone> {
        let mut batch = Batch::new();
        let mut unreadable = Vec::new();
        for PagedRecord { key, layer, record } in page {
            match record {
                Ok(record) => {
                    self.unsummarised
                        .extend(record.arguments.iter().map(|(_, d)| *d));
                    batch.push(key, layer, &record);
                }
                Err(e) => unreadable.push((key, e.reason)),
            }
        }
        self.send_calls(batch, unreadable)
    }

    /// Sends calls: those that do not decode first, then the others.
    fn send_calls(&mut self, batch: Batch, unreadable: Vec<(Digest, String)>) -> Result<(), Gone> {
        self.held += batch.len() + unreadable.len();
        if !unreadable.is_empty() {
            self.send(Loaded::Unreadable(unreadable))?;
        }
        self.send(Loaded::Batch(Box::new(batch)))
    }

    /// Reads and sends the summaries of the argument values noted since the last time.
    fn summarise(&mut self) -> Result<(), Gone> {
        let digests = std::mem::take(&mut self.unsummarised);
        self.summarise_these(digests)
    }

    /// Reads and sends the summaries of these argument values, freeing the list as it goes.
    fn summarise_these(&mut self, mut digests: Vec<Digest>) -> Result<(), Gone> {
        digests.sort_unstable();
        digests.dedup();
        while !digests.is_empty() {
            let chunk = digests.split_off(digests.len().saturating_sub(SUMMARY_CHUNK));
            if digests.len() < digests.capacity() / 2 {
                digests.shrink_to_fit();
            }
            let heads = match self.cache.value_heads(&chunk, SUMMARY_BYTES) {
                Ok(h) => h,
                Err(e) => return self.fail(e),
            };
            let summaries = chunk
                .iter()
                .zip(heads)
                .map(|(d, head)| {
                    let text =
                        head.map_or_else(|| "<missing>".to_owned(), |h| argument_summary(&h));
                    (*d, text)
                })
                .collect();
            self.send(Loaded::Summaries(summaries))?;
        }
        Ok(())
    }

    /// Picks up calls newer than the newest seen, then checks the count: a call that started
    /// earlier but finished later, or a deletion, shows as a count mismatch and a rescan.
    fn poll(&mut self) -> Result<(), Gone> {
        if let Some(newest) = self.newest {
            match self.cache.calls_after(newest) {
                Ok(new) if !new.is_empty() => {
                    self.newest = new.last().copied();
                    // Calls added during the first load were sent by it already.
                    let keys = self.unknown(new.iter().map(|t| t.key).collect())?;
                    self.load(&keys)?;
                    self.summarise()?;
                }
                Ok(_) => {}
                Err(e) => return self.fail(e),
            }
        }
        if self.cache.is_stack() {
            // Listing a stack's calls means reading every layer's index (a database's over
            // the network): done only when a layer's count moved.
            return match self.counts_changed() {
                true => self.rescan(),
                false => Ok(()),
            };
        }
        match self.cache.len() {
            Ok(n) if n as usize != self.held => self.rescan(),
            Ok(_) => Ok(()),
            Err(e) => self.fail(e),
        }
    }

    /// Notes each layer's count of calls; whether one changed since the last time. A count
    /// that cannot be read is taken as unchanged (the layer is warned about when read).
    fn counts_changed(&mut self) -> bool {
        match self.cache.layer_counts() {
            Ok(counts) if counts != self.counts => {
                self.counts = counts;
                true
            }
            _ => false,
        }
    }

    /// Which of these calls the UI does not hold, as it answers.
    fn unknown(&mut self, keys: Vec<Digest>) -> Result<Vec<Digest>, Gone> {
        let (ask, answer) = std::sync::mpsc::channel();
        self.send(Loaded::Unknown(keys, ask))?;
        answer.recv().map_err(|_| Gone)
    }

    /// Lists every stored call for the UI to compare with those it holds (it drops those
    /// gone), then loads those it does not hold.
    fn rescan(&mut self) -> Result<(), Gone> {
        let keys = match self.cache.keys_newest_first() {
            Ok(k) => k,
            Err(e) => return self.fail(e),
        };
        if self.newest.is_none()
            && let Ok(page) = self.cache.calls_before(None, 1)
        {
            self.newest = page.first().copied();
        }
        self.send(Loaded::Total(keys.len() as u64))?;
        self.send(Loaded::Listing)?;
        let mut added = Vec::new();
        for chunk in keys.chunks(LIST_CHUNK) {
            added.extend(self.unknown(chunk.to_vec())?);
        }
        self.send(Loaded::Listed)?;
        // The UI holds the listed calls less those still to load.
        self.held = keys.len() - added.len();
        drop(keys);
        for chunk in added.chunks(CHUNK) {
            self.load(chunk)?;
        }
        self.summarise()
    }
}
