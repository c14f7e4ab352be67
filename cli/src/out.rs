//! How output reads: JSON for scripts, or lines cut to the terminal's width for people, with
//! sizes, counts and times written the way `fleche-tui` writes them.

use serde::Serialize;

pub use fleche_tui::value::{group, human_size};

use crate::failure::Failure;

/// Output options shared by every command.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--json`.
    pub json: bool,
}

/// The terminal's width in columns; 100 when stdout is not a terminal (`COLUMNS` wins).
pub fn width() -> usize {
    if let Some(cols) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return cols;
    }
    terminal_size::terminal_size().map_or(100, |(w, _)| usize::from(w.0))
}

/// `text` cut to `max` characters, ending in `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Prints `value` as pretty JSON on stdout.
pub fn json(value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::failed(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// A time in local time, to the second.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    fleche_tui::times::time(t, true)
}

/// Prints rows as columns padded to the widest cell; the last column is cut to what is left
/// of the terminal's width.
pub fn columns(header: &[&str], rows: &[Vec<String>]) {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row).take(n - 1) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let used: usize = widths[..n - 1].iter().map(|w| w + 2).sum();
    let last = width().saturating_sub(used).max(10);
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 == n {
                out.push_str(&cut(cell, last));
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_counts_characters_and_marks_the_cut() {
        assert_eq!(cut("héllo", 5), "héllo");
        assert_eq!(cut("héllo world", 5), "héll…");
    }
}
