//! A small, lazy CBOR reader for the value tree: it reads one item's head at a time, skips
//! items without building them, and reads typed-array elements by index. It never recurses
//! on input, so hostile bytes give an error, never a stack overflow or a panic.
//!
//! (Stand-in for `fleche::codec::inspect` until that lands on main.)

use std::fmt::Write as _;

/// Why bytes could not be read as CBOR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CborError(pub String);

impl std::fmt::Display for CborError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, CborError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(CborError(msg.into()))
}

/// The element type of an RFC 8746 typed array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// Unsigned integer of this many bytes.
    U(u8, bool),
    /// Signed integer of this many bytes (`bool`: little endian).
    I(u8, bool),
    /// IEEE float of this many bytes (`bool`: little endian).
    F(u8, bool),
}

impl Elem {
    /// The element type for a typed-array tag (64..=87), if it is one.
    pub fn from_tag(tag: u64) -> Option<Elem> {
        if !(64..=87).contains(&tag) {
            return None;
        }
        let t = (tag - 64) as u8;
        let float = t & 0b1_0000 != 0;
        let signed = t & 0b0_1000 != 0;
        let little = t & 0b0_0100 != 0;
        let ll = t & 0b11;
        if float {
            // ll: 0 = f16, 1 = f32, 2 = f64, 3 = f128
            Some(Elem::F(2 << ll, little))
        } else if tag == 68 {
            // uint8 clamped
            Some(Elem::U(1, false))
        } else if signed {
            Some(Elem::I(1 << ll, little))
        } else {
            Some(Elem::U(1 << ll, little))
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            Elem::U(n, _) | Elem::I(n, _) | Elem::F(n, _) => n as usize,
        }
    }

    /// The Rust name of the element type.
    pub fn name(self) -> &'static str {
        match self {
            Elem::U(1, _) => "u8",
            Elem::U(2, _) => "u16",
            Elem::U(4, _) => "u32",
            Elem::U(_, _) => "u64",
            Elem::I(1, _) => "i8",
            Elem::I(2, _) => "i16",
            Elem::I(4, _) => "i32",
            Elem::I(_, _) => "i64",
            Elem::F(2, _) => "f16",
            Elem::F(4, _) => "f32",
            Elem::F(8, _) => "f64",
            Elem::F(_, _) => "f128",
        }
    }

    /// Renders the element at `bytes` (exactly `size()` bytes).
    pub fn render(self, bytes: &[u8]) -> String {
        let mut b = [0u8; 16];
        let n = self.size().min(16).min(bytes.len());
        b[..n].copy_from_slice(&bytes[..n]);
        let little = match self {
            Elem::U(_, l) | Elem::I(_, l) | Elem::F(_, l) => l,
        };
        if !little {
            b[..n].reverse();
        }
        let raw = u128::from_le_bytes(b);
        match self {
            Elem::U(_, _) => raw.to_string(),
            Elem::I(size, _) => {
                let bits = u32::from(size) * 8;
                let shift = 128 - bits.min(128);
                (((raw << shift) as i128) >> shift).to_string()
            }
            Elem::F(2, _) => float(f16_to_f64(raw as u16)),
            Elem::F(4, _) => float(f64::from(f32::from_bits(raw as u32))),
            Elem::F(8, _) => float(f64::from_bits(raw as u64)),
            Elem::F(_, _) => format!("0x{raw:032x}"),
        }
    }
}

/// What one CBOR item is, from its head alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Head {
    /// Unsigned integer.
    Unsigned(u64),
    /// Negative integer `-1 - n`.
    Negative(u64),
    /// Byte string (`None`: indefinite length, in chunks).
    Bytes(Option<u64>),
    /// Text string (`None`: indefinite length, in chunks).
    Text(Option<u64>),
    /// Array of items (`None`: indefinite length).
    Array(Option<u64>),
    /// Map of pairs (`None`: indefinite length).
    Map(Option<u64>),
    /// A tag on the next item.
    Tag(u64),
    /// `false` or `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// Another simple value.
    Simple(u8),
    /// A float (any width, widened).
    Float(f64),
    /// The end of an indefinite-length item.
    Break,
}

/// An item's head and where its content starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Item {
    /// What it is.
    pub head: Head,
    /// Offset of the head.
    pub start: usize,
    /// Offset just after the head (where its content or first child starts).
    pub content: usize,
}

/// Reads the head of the item at `at`.
pub fn head(bytes: &[u8], at: usize) -> Result<Item> {
    let Some(&first) = bytes.get(at) else {
        return err(format!("ends early at byte {at}"));
    };
    let major = first >> 5;
    let info = first & 0x1f;
    let (arg, len) = match info {
        0..=23 => (u64::from(info), 0),
        24..=27 => {
            let n = 1usize << (info - 24);
            let Some(slice) = bytes.get(at + 1..at + 1 + n) else {
                return err(format!("ends early at byte {at}"));
            };
            let mut v = 0u64;
            for b in slice {
                v = (v << 8) | u64::from(*b);
            }
            (v, n)
        }
        31 => (u64::MAX, 0),
        _ => return err(format!("reserved value {info} at byte {at}")),
    };
    let indefinite = info == 31;
    let content = at + 1 + len;
    let head = match major {
        0 if !indefinite => Head::Unsigned(arg),
        1 if !indefinite => Head::Negative(arg),
        2 => Head::Bytes((!indefinite).then_some(arg)),
        3 => Head::Text((!indefinite).then_some(arg)),
        4 => Head::Array((!indefinite).then_some(arg)),
        5 => Head::Map((!indefinite).then_some(arg)),
        6 if !indefinite => Head::Tag(arg),
        7 => match info {
            20 => Head::Bool(false),
            21 => Head::Bool(true),
            22 => Head::Null,
            23 => Head::Undefined,
            24 => Head::Simple(arg as u8),
            25 => Head::Float(f16_to_f64(arg as u16)),
            26 => Head::Float(f64::from(f32::from_bits(arg as u32))),
            27 => Head::Float(f64::from_bits(arg)),
            31 => Head::Break,
            _ => Head::Simple(info),
        },
        _ => return err(format!("indefinite length not allowed at byte {at}")),
    };
    Ok(Item {
        head,
        start: at,
        content,
    })
}

/// Checks that `len` bytes fit after `at`.
fn fits(bytes: &[u8], at: usize, len: u64) -> Result<usize> {
    let end = (at as u64)
        .checked_add(len)
        .filter(|&e| e <= bytes.len() as u64);
    match end {
        Some(e) => Ok(e as usize),
        None => err(format!(
            "a {len}-byte string at byte {at} runs past the end"
        )),
    }
}

/// The offset just after the item starting at `at`. Iterative: nesting depth costs heap, not
/// stack, and every step consumes at least one byte, so the work is bounded by the input.
pub fn skip(bytes: &[u8], at: usize) -> Result<usize> {
    // Each entry: items still to read at that level (`u64::MAX`: until a break).
    let mut pending: Vec<u64> = Vec::new();
    let mut pos = at;
    loop {
        let item = head(bytes, pos)?;
        pos = item.content;
        let mut opened = None;
        match item.head {
            Head::Bytes(Some(n)) | Head::Text(Some(n)) => pos = fits(bytes, pos, n)?,
            Head::Bytes(None) | Head::Text(None) => opened = Some(u64::MAX),
            Head::Array(Some(n)) => opened = Some(n),
            Head::Map(Some(n)) => opened = Some(n.saturating_mul(2)),
            Head::Array(None) | Head::Map(None) => opened = Some(u64::MAX),
            Head::Tag(_) => opened = Some(1),
            Head::Break => match pending.pop() {
                Some(u64::MAX) => {}
                _ => return err(format!("unexpected break at byte {}", item.start)),
            },
            _ => {}
        }
        match opened {
            Some(0) => {}
            Some(n) => {
                if n != u64::MAX && n > (bytes.len() - pos.min(bytes.len())) as u64 {
                    return err(format!(
                        "item at byte {} claims {n} entries, more than the bytes left",
                        item.start
                    ));
                }
                pending.push(n);
                continue;
            }
            None => {}
        }
        // One item finished: count it against its parents.
        loop {
            match pending.last_mut() {
                None => return Ok(pos),
                Some(n) if *n == u64::MAX => break,
                Some(n) => {
                    *n -= 1;
                    if *n == 0 {
                        pending.pop();
                    } else {
                        break;
                    }
                }
            }
        }
    }
}

/// Reads the content of a definite or chunked string starting with `item`, up to `max`
/// bytes; returns the bytes, whether it was cut, and the offset after the item.
pub fn string_bytes(bytes: &[u8], item: &Item, max: usize) -> Result<(Vec<u8>, bool, usize)> {
    match item.head {
        Head::Bytes(Some(n)) | Head::Text(Some(n)) => {
            let end = fits(bytes, item.content, n)?;
            let take = (n as usize).min(max);
            Ok((
                bytes[item.content..item.content + take].to_vec(),
                take < n as usize,
                end,
            ))
        }
        Head::Bytes(None) | Head::Text(None) => {
            let mut out = Vec::new();
            let mut cut = false;
            let mut pos = item.content;
            loop {
                let chunk = head(bytes, pos)?;
                match chunk.head {
                    Head::Break => return Ok((out, cut, chunk.content)),
                    Head::Bytes(Some(n)) | Head::Text(Some(n)) => {
                        let end = fits(bytes, chunk.content, n)?;
                        let room = max.saturating_sub(out.len());
                        let take = room.min(n as usize);
                        out.extend_from_slice(&bytes[chunk.content..chunk.content + take]);
                        cut |= take < n as usize;
                        pos = end;
                    }
                    _ => return err(format!("bad string chunk at byte {pos}")),
                }
            }
        }
        _ => err("not a string"),
    }
}

/// A typed array: element type, where its elements start, and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypedArray {
    /// Element type.
    pub elem: Elem,
    /// Offset of the first element.
    pub data: usize,
    /// Number of elements.
    pub len: u64,
    /// Offset after the array.
    pub end: usize,
}

/// If the item at `item` is a tag 64..=87 on a definite byte string, the typed array.
pub fn typed_array(bytes: &[u8], item: &Item) -> Option<TypedArray> {
    let Head::Tag(tag) = item.head else {
        return None;
    };
    let elem = Elem::from_tag(tag)?;
    let inner = head(bytes, item.content).ok()?;
    let Head::Bytes(Some(n)) = inner.head else {
        return None;
    };
    let end = fits(bytes, inner.content, n).ok()?;
    Some(TypedArray {
        elem,
        data: inner.content,
        len: n / elem.size() as u64,
        end,
    })
}

impl TypedArray {
    /// Element `i`, rendered; O(1).
    pub fn nth(&self, bytes: &[u8], i: u64) -> Option<String> {
        if i >= self.len {
            return None;
        }
        let at = self.data + (i as usize) * self.elem.size();
        bytes
            .get(at..at + self.elem.size())
            .map(|b| self.elem.render(b))
    }
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// A float as Rust would print it, always with a decimal point or exponent.
pub fn float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// Text for display on one line: control characters escaped, never raw.
pub fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Hex preview of bytes.
pub fn hex_preview(b: &[u8], max: usize, out: &mut String) {
    for (i, x) in b.iter().take(max).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{x:02x}");
    }
    if b.len() > max {
        out.push_str(" …");
    }
}

/// A one-line rendering of the item at `at`, at most about `max_chars` characters, reading
/// only as much of the input as it shows. Errors show in place as `<invalid: …>`.
pub fn summary(bytes: &[u8], at: usize, max_chars: usize) -> String {
    let mut out = String::new();
    let mut budget = Budget {
        chars: max_chars,
        steps: max_chars.saturating_mul(4).max(16),
    };
    if let Err(e) = write_summary(bytes, at, &mut out, &mut budget, 0) {
        let _ = write!(out, "<invalid: {e}>");
    }
    truncate_chars(&mut out, max_chars);
    out
}

struct Budget {
    chars: usize,
    steps: usize,
}

fn truncate_chars(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
        s.pop();
        s.push('…');
    }
}

/// Writes a summary and returns the offset after the item (or `None` when it stopped early).
fn write_summary(
    bytes: &[u8],
    at: usize,
    out: &mut String,
    budget: &mut Budget,
    depth: usize,
) -> Result<Option<usize>> {
    budget.steps = budget.steps.saturating_sub(1);
    let item = head(bytes, at)?;
    match item.head {
        Head::Unsigned(n) => {
            let _ = write!(out, "{n}");
        }
        Head::Negative(n) => {
            let _ = write!(out, "{}", -1 - i128::from(n));
        }
        Head::Float(f) => out.push_str(&float(f)),
        Head::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Head::Null => out.push_str("null"),
        Head::Undefined => out.push_str("undefined"),
        Head::Simple(s) => {
            let _ = write!(out, "simple({s})");
        }
        Head::Break => return err(format!("unexpected break at byte {at}")),
        Head::Text(_) => {
            let (b, cut, end) = string_bytes(bytes, &item, budget.chars.max(1) * 4)?;
            out.push('"');
            escape_text(&String::from_utf8_lossy(&b), out);
            if cut {
                out.push('…');
            }
            out.push('"');
            return Ok(Some(end));
        }
        Head::Bytes(_) => {
            let (b, cut, end) = string_bytes(bytes, &item, 16)?;
            let total = match item.head {
                Head::Bytes(Some(n)) => n.to_string(),
                _ => "?".to_owned(),
            };
            let _ = write!(out, "<{total} bytes: ");
            hex_preview(&b, 8, out);
            if cut && b.len() <= 8 {
                out.push_str(" …");
            }
            out.push('>');
            return Ok(Some(end));
        }
        Head::Tag(tag) => {
            if let Some(ta) = typed_array(bytes, &item) {
                out.push('[');
                let mut i = 0;
                while i < ta.len {
                    if out.chars().count() >= budget.chars || budget.steps == 0 {
                        out.push_str(", …");
                        break;
                    }
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&ta.nth(bytes, i).unwrap_or_default());
                    budget.steps = budget.steps.saturating_sub(1);
                    i += 1;
                }
                out.push(']');
                return Ok(Some(ta.end));
            }
            let _ = write!(out, "tag({tag}) ");
            if depth > 32 {
                out.push('…');
                return Ok(None);
            }
            return write_summary(bytes, item.content, out, budget, depth + 1);
        }
        Head::Array(n) | Head::Map(n) => {
            let is_map = matches!(item.head, Head::Map(_));
            out.push(if is_map { '{' } else { '[' });
            let mut pos = item.content;
            let mut i = 0u64;
            loop {
                if n.is_some_and(|n| i >= n) {
                    break;
                }
                if n.is_none() {
                    let h = head(bytes, pos)?;
                    if h.head == Head::Break {
                        pos = h.content;
                        break;
                    }
                }
                if out.chars().count() >= budget.chars || budget.steps == 0 || depth > 32 {
                    out.push_str(if i > 0 { ", …" } else { "…" });
                    out.push(if is_map { '}' } else { ']' });
                    return Ok(None);
                }
                if i > 0 {
                    out.push_str(", ");
                }
                if is_map {
                    match key_label(bytes, pos)? {
                        (label, Some(end)) => {
                            out.push_str(&label);
                            pos = end;
                        }
                        (_, None) => {
                            let Some(end) = write_summary(bytes, pos, out, budget, depth + 1)?
                            else {
                                out.push('}');
                                return Ok(None);
                            };
                            pos = end;
                        }
                    }
                    out.push_str(": ");
                }
                let Some(end) = write_summary(bytes, pos, out, budget, depth + 1)? else {
                    out.push(if is_map { '}' } else { ']' });
                    return Ok(None);
                };
                pos = end;
                i += 1;
            }
            out.push(if is_map { '}' } else { ']' });
            return Ok(Some(pos));
        }
    }
    Ok(Some(item.content))
}

/// A map key as a label: a text key is shown bare (it is usually a field name); other keys
/// give `None` so the caller renders them as values.
pub fn key_label(bytes: &[u8], at: usize) -> Result<(String, Option<usize>)> {
    let item = head(bytes, at)?;
    if let Head::Text(_) = item.head {
        let (b, cut, end) = string_bytes(bytes, &item, 256)?;
        let mut out = String::new();
        escape_text(&String::from_utf8_lossy(&b), &mut out);
        if cut {
            out.push('…');
        }
        return Ok((out, Some(end)));
    }
    Ok((String::new(), None))
}

/// A short name for the kind of the item at `at`: `map`, `array`, `text`, `f64[]`…
pub fn kind_name(bytes: &[u8], at: usize) -> String {
    let Ok(item) = head(bytes, at) else {
        return "invalid".into();
    };
    match item.head {
        Head::Unsigned(_) | Head::Negative(_) => "int".into(),
        Head::Float(_) => "float".into(),
        Head::Bool(_) => "bool".into(),
        Head::Null | Head::Undefined => "null".into(),
        Head::Simple(_) => "simple".into(),
        Head::Text(_) => "text".into(),
        Head::Bytes(_) => "bytes".into(),
        Head::Array(_) => "array".into(),
        Head::Map(_) => "map".into(),
        Head::Tag(t) => match typed_array(bytes, &item) {
            Some(ta) => format!("{}[]", ta.elem.name()),
            None => format!("tag {t}"),
        },
        Head::Break => "break".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc<T: serde::Serialize>(v: &T) -> Vec<u8> {
        fleche::codec::encode(v).unwrap()
    }

    #[derive(serde::Serialize)]
    struct Point {
        x: i64,
        label: String,
        tags: Vec<u8>,
    }

    #[test]
    fn summaries_show_field_names_and_values() {
        let p = Point {
            x: -3,
            label: "a\nb".into(),
            tags: vec![1, 2],
        };
        assert_eq!(
            summary(&enc(&p), 0, 80),
            r#"{x: -3, label: "a\nb", tags: <2 bytes: 01 02>}"#
        );
        assert_eq!(summary(&enc(&1.5f64), 0, 80), "1.5");
        assert_eq!(summary(&enc(&2.0f64), 0, 80), "2.0");
        assert_eq!(summary(&enc(&None::<i32>), 0, 80), "null");
    }

    #[test]
    fn long_values_are_cut_without_reading_everything() {
        let v: Vec<u64> = (0..1_000_000).collect();
        let s = summary(&enc(&v), 0, 30);
        assert!(s.chars().count() <= 30, "{s}");
        assert!(s.starts_with("[0, 1, 2"), "{s}");
    }

    #[test]
    fn skip_finds_ends_and_refuses_garbage() {
        let b = enc(&vec![vec![1u8, 2], vec![3]]);
        assert_eq!(skip(&b, 0).unwrap(), b.len());
        assert!(skip(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0).is_err());
        assert!(skip(&[0xff], 0).is_err());
        let deep = vec![0x81u8; 100_000];
        assert!(skip(&deep, 0).is_err());
        assert!(summary(&deep, 0, 40).contains('…'));
    }

    #[test]
    fn typed_arrays_read_by_index() {
        // tag 86 (f64 little endian) on 3 elements
        let mut b = vec![0xd8, 86, 0x58, 24];
        for v in [1.5f64, -2.0, 3.25] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let item = head(&b, 0).unwrap();
        let ta = typed_array(&b, &item).unwrap();
        assert_eq!(ta.len, 3);
        assert_eq!(ta.nth(&b, 1).unwrap(), "-2.0");
        assert_eq!(summary(&b, 0, 80), "[1.5, -2.0, 3.25]");
        assert_eq!(kind_name(&b, 0), "f64[]");
        assert_eq!(Elem::from_tag(72), Some(Elem::I(1, false)));
        assert_eq!(Elem::I(2, true).render(&(-5i16).to_le_bytes()), "-5");
    }
}
