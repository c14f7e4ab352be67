//! `fleche ls [FILTER]`: the calls that pass a filter, newest first, one line each; on a
//! stack, the union of its layers, each call saying which layer it came from.

use std::collections::HashSet;

use serde::Serialize;

use crate::failure::Outcome;
use crate::out::{self, Options};
use crate::select::{self, Selection};
use crate::target::Target;

/// `fleche ls`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Filter, as in fleche-tui (`fn:fib arg:n=20 tag:project=alloys`, fuzzy words); quote it
    /// when it has spaces
    #[arg(default_value = "")]
    filter: String,
    /// Show at most this many calls
    #[arg(long, short = 'n')]
    limit: Option<usize>,
}

/// One call as `--json` lists it.
#[derive(Debug, Serialize)]
struct Listed {
    key: String,
    /// The stack layer it came from, on a stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<String>,
    module: String,
    name: String,
    start: chrono::DateTime<chrono::Utc>,
    wall_seconds: f64,
    arguments: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    result_type: String,
    result_size: u64,
}

/// Runs `fleche ls`.
pub fn run(target: &Target, args: &Args, options: Options) -> Outcome {
    let cache = target.open_read_layers()?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let stacked = cache.is_stack();
    let layers: Vec<(Option<String>, fleche::Cache)> = if stacked {
        cache
            .layer_names()
            .into_iter()
            .filter_map(|name| Some((Some(name.to_owned()), cache.layer(name)?)))
            .collect()
    } else {
        vec![(None, (*cache).clone())]
    };
    // The union, newest first; a call in several layers is listed from the first.
    let mut seen = HashSet::new();
    let mut listed: Vec<(Listed, fleche::Digest)> = Vec::new();
    let mut all: Vec<fleche::Digest> = Vec::new();
    for (layer, cache) in &layers {
        let selection = select::select(cache, &args.filter, true)?;
        all.extend(selection.calls.rows.iter().map(|r| r.key));
        for (mut call, key) in self::listed(&selection, usize::MAX) {
            if seen.insert(key) {
                call.layer.clone_from(layer);
                listed.push((call, key));
            }
        }
    }
    listed.sort_by_key(|(call, _)| std::cmp::Reverse(call.start));
    let matched = listed.len();
    listed.truncate(limit);
    all.sort_unstable();
    all.dedup();
    let total = all.len();
    let shown: Vec<fleche::Digest> = listed.iter().map(|(_, key)| *key).collect();
    let listed: Vec<Listed> = listed.into_iter().map(|(call, _)| call).collect();
    if options.json {
        return out::json(&listed);
    }
    let short = select::short_keys(&all, &shown);
    let rows: Vec<Vec<String>> = listed
        .iter()
        .zip(short)
        .map(|(call, key)| {
            let arguments: Vec<String> = call
                .arguments
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            let mut tail = format!("{}({})", call.name, arguments.join(", "));
            for (k, v) in &call.tags {
                tail.push_str(&format!(" #{k}={v}"));
            }
            let mut row = vec![key];
            if stacked {
                row.push(call.layer.clone().unwrap_or_default());
            }
            row.extend([
                out::time(call.start),
                fleche_tui::times::wall(call.wall_seconds),
                out::human_size(call.result_size),
                tail,
            ]);
            row
        })
        .collect();
    let headers: &[&str] = if stacked {
        &["KEY", "LAYER", "STARTED", "WALL", "RESULT", "CALL"]
    } else {
        &["KEY", "STARTED", "WALL", "RESULT", "CALL"]
    };
    out::columns(headers, &rows);
    let shown = rows.len();
    if shown < matched {
        eprintln!("{shown} of {matched} matching calls shown (--limit)");
    } else {
        eprintln!(
            "{} of {} calls",
            out::group(matched as u64),
            out::group(total as u64)
        );
    }
    Ok(())
}

fn listed(selection: &Selection, limit: usize) -> Vec<(Listed, fleche::Digest)> {
    let calls = &selection.calls;
    selection
        .iter()
        .take(limit)
        .map(|row| Listed {
            key: row.key.to_string(),
            layer: None,
            module: calls.text(row.module).to_owned(),
            name: calls.text(row.name).to_owned(),
            start: row.start(),
            wall_seconds: row.wall,
            arguments: calls
                .args_of(row)
                .iter()
                .map(|&a| {
                    let name = calls.args[a as usize].name;
                    let value = calls.arg_summary(a).map_or("?", |v| calls.text(v));
                    (calls.text(name).to_owned(), value.to_owned())
                })
                .collect(),
            tags: calls
                .tags(row)
                .iter()
                .map(|t| (calls.text(t.key).to_owned(), calls.text(t.value).to_owned()))
                .collect(),
            result_type: calls.text(row.result_type).to_owned(),
            result_size: row.result_size,
        })
        .zip(selection.iter().map(|row| row.key))
        .collect()
}
