//! `fleche stats`: what a cache holds: calls, values, bytes per function, what `gc` would
//! free, the file's size, the oldest and newest call.

use crate::failure::Outcome;
use crate::out::{self, Options};
use crate::progress;
use crate::target::Target;

/// Runs `fleche stats`.
pub fn run(target: &Target, options: Options) -> Outcome {
    let cache = target.open_read()?;
    let spinner = progress::spinner("counting");
    let stats = cache.stats();
    spinner.finish_and_clear();
    let stats = stats?;
    if options.json {
        return out::json(&stats);
    }
    let path = stats
        .path
        .as_ref()
        .map_or("<memory>".into(), |p| p.display().to_string());
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".into(), out::time);
    let line = |label: &str, text: String| println!("{label:<16}{text}");
    line("cache", path);
    line("file size", out::human_size(stats.file_size));
    line("calls", out::group(stats.calls));
    line(
        "values",
        format!(
            "{} ({})",
            out::group(stats.values),
            out::human_size(stats.value_bytes)
        ),
    );
    line(
        "orphaned",
        format!(
            "{} values ({}){}",
            out::group(stats.orphaned_values),
            out::human_size(stats.orphaned_bytes),
            if stats.orphaned_values > 0 {
                ": `fleche gc` removes them"
            } else {
                ""
            }
        ),
    );
    if stats.unreadable_calls > 0 {
        line(
            "unreadable",
            format!(
                "{} call records: run `fleche verify`",
                stats.unreadable_calls
            ),
        );
    }
    line("oldest call", when(stats.oldest_call));
    line("newest call", when(stats.newest_call));
    if !stats.functions.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = stats
            .functions
            .iter()
            .map(|f| {
                vec![
                    out::group(f.calls),
                    out::human_size(f.bytes),
                    format!("{}::{}", f.module, f.name),
                ]
            })
            .collect();
        out::columns(&["CALLS", "BYTES", "FUNCTION"], &rows);
    }
    Ok(())
}
