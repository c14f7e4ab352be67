//! `fleche ls [FILTER]`: the calls that pass a filter, newest first, one line each.

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
    let cache = target.open_read()?;
    let selection = select::select(&cache, &args.filter, true)?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let listed = listed(&selection, limit);
    if options.json {
        return out::json(&listed);
    }
    let all: Vec<fleche::Digest> = selection.calls.rows.iter().map(|r| r.key).collect();
    let shown: Vec<fleche::Digest> = selection.iter().take(limit).map(|r| r.key).collect();
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
            vec![
                key,
                out::time(call.start),
                fleche_tui::times::wall(call.wall_seconds),
                out::human_size(call.result_size),
                tail,
            ]
        })
        .collect();
    out::columns(&["KEY", "STARTED", "WALL", "RESULT", "CALL"], &rows);
    let shown = rows.len();
    let matched = selection.rows.len();
    if shown < matched {
        eprintln!("{shown} of {matched} matching calls shown (--limit)");
    } else {
        eprintln!(
            "{} of {} calls",
            out::group(matched as u64),
            out::group(selection.calls.len() as u64)
        );
    }
    Ok(())
}

fn listed(selection: &Selection, limit: usize) -> Vec<Listed> {
    let calls = &selection.calls;
    selection
        .iter()
        .take(limit)
        .map(|row| Listed {
            key: row.key.to_string(),
            module: calls.text(row.module).to_owned(),
            name: calls.text(row.name).to_owned(),
            start: row.start,
            wall_seconds: row.wall,
            arguments: row
                .args
                .iter()
                .map(|&a| {
                    let arg = &calls.args[a as usize];
                    let value = arg.value.map_or("?", |v| calls.text(v));
                    (calls.text(arg.name).to_owned(), value.to_owned())
                })
                .collect(),
            tags: row
                .tags
                .iter()
                .map(|t| (calls.text(t.key).to_owned(), calls.text(t.value).to_owned()))
                .collect(),
            result_type: calls.text(row.result_type).to_owned(),
            result_size: row.result_size,
        })
        .collect()
}
