//! Choosing calls with a filter: every record is read into `fleche-tui`'s compact table of
//! calls and filtered with its parser, so `ls`, `evict` and `export` take exactly the filter
//! syntax the browser does (argument values are summarised first when a term needs them).

use fleche::{Cache, Digest};
use fleche_tui::batch::Batch;
use fleche_tui::calls::{CallRow, Calls};
use fleche_tui::filter::{self, Scope};
use fleche_tui::loader::{CHUNK, SUMMARY_BYTES, SUMMARY_CHUNK, argument_summary};

use crate::failure::Failure;
use crate::progress;

/// The calls of a cache that pass a filter, newest first.
pub struct Selection {
    /// Every call read.
    pub calls: Calls,
    /// Rows (indices into `calls.rows`) that pass, newest first.
    pub rows: Vec<u32>,
}

impl Selection {
    /// The selected rows.
    pub fn iter(&self) -> impl Iterator<Item = &CallRow> + '_ {
        self.rows.iter().map(|&r| &self.calls.rows[r as usize])
    }

    /// The selected call keys.
    pub fn keys(&self) -> Vec<Digest> {
        self.iter().map(|r| r.key).collect()
    }
}

/// Reads every call of `cache` and keeps those that pass `text`. Argument values are read
/// (their first 4 KB) when `summaries` is set or a filter term looks at them.
pub fn select(cache: &Cache, text: &str, summaries: bool) -> Result<Selection, Failure> {
    let query = filter::Query::parse(text);
    let total = cache.len()?;
    let bar = progress::bar("reading", total);
    let mut calls = Calls::new();
    calls.reserve(total as usize);
    let mut after = None;
    loop {
        // Read in place into a batch, as the browser's reader does.
        let mut batch = Batch::new();
        let mut unreadable = Vec::new();
        let keys = cache.visit_records_after(after, CHUNK, |key, layer, record| match record {
            Ok(record) => batch.push_ref(key, layer, &record),
            Err(e) => unreadable.push((key, e.to_string())),
        })?;
        let Some(&last) = keys.last() else { break };
        after = Some(last);
        // An unreadable record is listed as a row of its own, as the browser shows it.
        for (key, why) in &unreadable {
            calls.add_unreadable(*key, why);
        }
        let mut arriving = calls.arriving(batch);
        calls.add_arriving(&mut arriving, usize::MAX, |_| {});
        bar.inc(keys.len() as u64);
    }
    bar.finish_and_clear();
    if summaries || query.uses_arguments(Scope::All) {
        summarise(cache, &mut calls)?;
    }
    let mut order: Vec<u32> = (0..calls.len() as u32).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&calls.rows[a as usize], &calls.rows[b as usize]);
        b.start().cmp(&a.start()).then_with(|| a.key.cmp(&b.key))
    });
    let rows = query.apply(&calls, Scope::All, &order);
    Ok(Selection { calls, rows })
}

/// Reads a one-line summary of every distinct argument value.
fn summarise(cache: &Cache, calls: &mut Calls) -> Result<(), Failure> {
    let keys: Vec<Digest> = calls.rows.iter().map(|r| r.key).collect();
    let digests = calls.unsummarised(&keys);
    let bar = progress::bar("arguments", digests.len() as u64);
    for chunk in digests.chunks(SUMMARY_CHUNK) {
        let heads = cache.value_heads(chunk, SUMMARY_BYTES)?;
        for (digest, head) in chunk.iter().zip(heads) {
            let summary = match head {
                Some(head) => argument_summary(&head),
                None => "<missing>".to_owned(),
            };
            calls.add_summary(*digest, &summary);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(())
}

/// The shortest prefix (at least 4 hex characters) of each of `keys` that no other call key
/// of `all` shares.
pub fn short_keys(all: &[Digest], keys: &[Digest]) -> Vec<String> {
    let mut sorted = all.to_vec();
    sorted.sort_unstable();
    let common = |a: &Digest, b: &Digest| {
        let (a, b) = (a.to_string(), b.to_string());
        a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
    };
    keys.iter()
        .map(|key| {
            let hex = key.to_string();
            let Ok(i) = sorted.binary_search(key) else {
                return hex;
            };
            let below = i.checked_sub(1).map_or(0, |j| common(key, &sorted[j]) + 1);
            let above = sorted.get(i + 1).map_or(0, |n| common(key, n) + 1);
            let len = below.max(above).clamp(fleche::cache::MIN_PREFIX, hex.len());
            hex[..len].to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_unique_and_at_least_four_characters() {
        let a: Digest = format!("abcd1{}", "0".repeat(59)).parse().unwrap();
        let b: Digest = format!("abcd2{}", "0".repeat(59)).parse().unwrap();
        let c: Digest = format!("ffff{}", "0".repeat(60)).parse().unwrap();
        let all = [a, b, c];
        assert_eq!(short_keys(&all, &all), ["abcd1", "abcd2", "ffff"]);
    }
}
