//! One-line text for stored values, whole or cut short by a partial read: whole items are
//! summarised by the codec's own [`inspect::summary`]; an item cut short shows what was read
//! of it and its stored length, so the first elements of a 100 MB array show from its head.

use fleche::codec::inspect::{self, Elem, Item, Kind};
use fleche::codec::{Cut, Prefix};

/// Nesting shown in the summary of a cut item before `…` (its whole children are bounded
/// by the inspector itself).
const DEPTH: usize = 32;

/// A one-line summary of at most `max_chars` characters.
pub fn summary(item: &Prefix<'_>, max_chars: usize) -> String {
    match item {
        Prefix::Whole(item) => inspect::summary(item.raw(), max_chars),
        Prefix::Cut(cut) => cut_summary(cut, max_chars, 0),
    }
}

/// The summary of a cut item: `[1.0, 2.0, … (12500000 items)]`, `{name: "a", data: […]…`,
/// `"text…"`: what was read, and its length as stored.
fn cut_summary(cut: &Cut<'_>, max_chars: usize, depth: usize) -> String {
    let text = match cut.kind() {
        Kind::Text(read) => {
            // Quoted and escaped as the inspector does it, with `…` where reading stopped.
            let enc = fleche::codec::encode(read).unwrap_or_default();
            let mut s = inspect::summary(&enc, max_chars);
            if !s.ends_with("…\"") {
                // Not cut by the width: cut where reading stopped, with room for the `…`.
                s = inspect::summary(&enc, max_chars.saturating_sub(1));
                if s.ends_with('"') && !s.ends_with("…\"") {
                    s.pop();
                    s.push_str("…\"");
                }
            }
            s
        }
        Kind::Bytes { len } => format!("<{len} bytes>"),
        Kind::Tag(_) | Kind::Some => {
            let name = match cut.kind() {
                Kind::Tag(tag) => tag.to_string(),
                _ => "Some".to_owned(),
            };
            let inner = match cut.children().next() {
                Some(child) if depth < DEPTH => {
                    let room = max_chars.saturating_sub(name.len() + 2);
                    child_summary(&child.value, room, depth + 1)
                }
                _ => "…".to_owned(),
            };
            format!("{name}({inner})")
        }
        Kind::TypedArray { elem, len } => container(
            max_chars,
            ('[', ']'),
            len,
            "item",
            (0..cut.elements_read()).map_while(|i| cut.element(i).map(|k| number(&k, elem))),
        ),
        Kind::Array { len } | Kind::Map { len } => {
            let map = matches!(cut.kind(), Kind::Map { .. });
            let marks = if map { ('{', '}') } else { ('[', ']') };
            let noun = if map { "entry" } else { "item" };
            if depth >= DEPTH {
                return format!("{}…{}", marks.0, marks.1);
            }
            // Each child gets the room left over; the container stops taking them when
            // none is left, so only the children shown are read.
            let mut room = max_chars.saturating_sub(suffix(len, noun, marks.1).chars().count() + 3);
            let pieces = cut.children().map_while(|child| {
                if room < 4 {
                    return None;
                }
                let mut piece = String::new();
                if let Some(key) = &child.key {
                    piece.push_str(&key_text(key, true));
                    piece.push_str(": ");
                }
                let left = room.saturating_sub(piece.chars().count());
                piece.push_str(&child_summary(&child.value, left, depth + 1));
                room = room.saturating_sub(piece.chars().count() + 2);
                Some(piece)
            });
            container(max_chars, marks, len, noun, pieces)
        }
        _ => String::new(),
    };
    cut_to(text, max_chars)
}

fn child_summary(item: &Prefix<'_>, max_chars: usize, depth: usize) -> String {
    match item {
        Prefix::Whole(item) => inspect::summary(item.raw(), max_chars),
        Prefix::Cut(cut) => cut_summary(cut, max_chars, depth),
    }
}

/// `open` + the pieces that fit + `, … (len nouns)` + `close`: a cut container always has
/// more than was shown.
fn container(
    max_chars: usize,
    (open, close): (char, char),
    len: usize,
    noun: &str,
    pieces: impl Iterator<Item = String>,
) -> String {
    let suffix = suffix(len, noun, close);
    let budget = max_chars.saturating_sub(suffix.chars().count() + 2);
    let mut out = String::from(open);
    let mut chars = 1;
    for piece in pieces {
        let n = piece.chars().count();
        let sep = if chars > 1 { 2 } else { 0 };
        if chars + sep + n > budget {
            break;
        }
        if sep > 0 {
            out.push_str(", ");
        }
        out.push_str(&piece);
        chars += sep + n;
    }
    if chars > 1 {
        out.push_str(", ");
    }
    out.push_str(&suffix);
    out
}

/// `… (3 items)]`: the end of a cut container.
fn suffix(len: usize, noun: &str, close: char) -> String {
    let noun = if len == 1 {
        noun.to_owned()
    } else if let Some(stem) = noun.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{noun}s")
    };
    format!("… ({len} {noun}){close}")
}

/// Cuts text to `max` characters, ending in `…` when cut.
pub fn cut_to(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        out.push('…');
    }
    out
}

/// A typed-array element as the inspector's summary writes it (`f32` elements as `f32`).
pub fn number(kind: &Kind<'_>, elem: Elem) -> String {
    match *kind {
        Kind::Int(v) => v.to_string(),
        Kind::Float(v) if matches!(elem, Elem::F16 | Elem::F32) => format!("{:?}", v as f32),
        Kind::Float(v) => format!("{v:?}"),
        _ => "?".to_owned(),
    }
}

/// A map key as a label: text as it is (escaped), other keys summarised. With `quote`,
/// text that is not an identifier keeps its quotes, as in the inspector's summaries.
pub fn key_text(key: &Item<'_>, quote: bool) -> String {
    match key.as_str() {
        Some(s) if !quote || is_identifier(s) => escape(s),
        _ => inspect::summary(key.raw(), 40),
    }
}

/// The short name of a kind: `map`, `array`, `text`, `f64[]`, …
pub fn kind_name(kind: &Kind<'_>) -> String {
    match kind {
        Kind::Int(_) | Kind::BigInt { .. } => "int".into(),
        Kind::Float(_) => "float".into(),
        Kind::Bool(_) => "bool".into(),
        Kind::Null | Kind::Undefined => "null".into(),
        Kind::Simple(_) => "simple".into(),
        Kind::Text(_) => "text".into(),
        Kind::Bytes { .. } => "bytes".into(),
        Kind::Array { .. } => "array".into(),
        Kind::Map { .. } => "map".into(),
        Kind::TypedArray { elem, .. } => format!("{}[]", elem.name()),
        Kind::Tag(tag) => format!("tag {tag}"),
        Kind::Some => "Some".into(),
        _ => "value".into(),
    }
}

/// How many children or characters, when worth saying: `3 fields`, `1,000 items`.
pub fn shape(item: &Prefix<'_>) -> Option<String> {
    match item.kind() {
        Kind::Array { len } | Kind::TypedArray { len, .. } => Some(plural(len, "item")),
        Kind::Map { len } => Some(plural(len, "field")),
        Kind::Text(s) if matches!(item, Prefix::Whole(_)) && s.len() > 60 => {
            Some(format!("{} chars", group(s.chars().count() as u64)))
        }
        _ => None,
    }
}

/// Whether the item has children to show.
pub fn expandable(kind: &Kind<'_>) -> bool {
    match *kind {
        Kind::Array { len } | Kind::Map { len } | Kind::TypedArray { len, .. } => len > 0,
        Kind::Tag(_) | Kind::Some => true,
        _ => false,
    }
}

/// Text for display on one line: control characters escaped, never raw.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// `1 item`, `3 items`, `1,000 fields`.
pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{} {what}s", group(n as u64))
    }
}

/// 1234567 -> "1,234,567".
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count for people: `812 B`, `3.4 kB`, `100.0 MB`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleche::ValueHead;

    fn head<T: serde::Serialize>(v: &T, max: usize) -> ValueHead {
        let all = fleche::codec::encode(v).unwrap();
        ValueHead {
            size: all.len() as u64,
            bytes: all[..all.len().min(max)].to_vec(),
        }
    }

    fn summary_of<T: serde::Serialize>(v: &T, max_bytes: usize, max_chars: usize) -> String {
        let h = head(v, max_bytes);
        summary(&h.item_at(0).unwrap(), max_chars)
    }

    #[test]
    fn whole_values_read_as_the_inspector_writes_them() {
        #[derive(serde::Serialize)]
        struct Point {
            x: i64,
            label: String,
        }
        let p = Point {
            x: -3,
            label: "a\nb".into(),
        };
        assert_eq!(summary_of(&p, 1 << 20, 80), r#"{x: -3, label: "a\nb"}"#);
        assert_eq!(summary_of(&2.0f64, 1 << 20, 80), "2.0");
    }

    #[test]
    fn cut_values_show_their_first_elements_and_stored_length() {
        let v: Vec<f64> = (0..12_500_000).map(f64::from).collect();
        let s = summary_of(&v, 4096, 40);
        assert_eq!(s, "[0.0, 1.0, 2.0, 3.0, … (12500000 items)]");
        let f32s = vec![0.1f32; 1000];
        assert!(summary_of(&f32s, 100, 30).starts_with("[0.1, 0.1"));
        let s = summary_of(&"x".repeat(100_000), 4096, 12);
        assert_eq!(s, r#""xxxxxxxxx…""#);
        let items: Vec<Option<u32>> = (0..100_000).map(Some).collect();
        let s = summary_of(&items, 4096, 30);
        assert_eq!(s, "[0, 1, 2, 3, … (100000 items)]");
        let nested = (vec![1u8; 10], vec![2.5f64; 100_000]);
        let s = summary_of(&nested, 4096, 60);
        assert!(s.starts_with("[<10 bytes>, [2.5, 2.5"), "{s}");
        assert!(s.chars().count() <= 60, "{s}");
        for width in 0..50 {
            assert!(summary_of(&nested, 300, width).chars().count() <= width);
        }
    }

    #[test]
    fn sizes_and_counts_read_nicely() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(100_000_000), "100.0 MB");
        assert_eq!(escape("a\tb\u{7}"), "a\\tb\\u{7}");
    }
}
