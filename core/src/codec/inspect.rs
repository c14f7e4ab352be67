//! Lazy inspection of encoded values, for readers that do not know the Rust types: the
//! terminal browser's tree view and table cells.
//!
//! [`Item::parse`] checks a whole encoding once, walking item heads without decoding or
//! allocating; after that, [`Item::children`] yields the children of an array, map or tag one
//! at a time, stepping over nested items by their heads, so reading the first rows of a huge
//! array costs only those rows. Typed arrays (such as an encoded `Vec<f64>`) are indexed
//! directly: [`Item::nth_child`] on one is O(1).
//!
//! [`summary`] renders any encoding, valid or not, as one short line, with work bounded by the
//! requested width rather than the size of the input.

use std::fmt;

use serde::de::DeserializeOwned;

pub use super::elem::Elem;
use super::elem::typed_array;
use super::num::{self, Num, NumDeserializer};
use super::some::TAG_SOME;
use super::wire::{
    self, ARRAY, BYTES, F16, F32, F64, FALSE, Head, MAP, NINT, NULL, TAG, TEXT, TRUE, UINT,
    UNDEFINED,
};
use super::{CodecError, MAX_DEPTH};

/// What an [`Item`] is, with its scalar value or its size.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Kind<'a> {
    /// `null`: `None`, `()` or a unit struct.
    Null,
    /// CBOR `undefined`.
    Undefined,
    /// A boolean.
    Bool(bool),
    /// An integer: major types 0 and 1, bignums (tags 2 and 3) that fit, and integer
    /// typed-array elements.
    Int(i128),
    /// A bignum beyond `i128`: the value is `magnitude` (big-endian, no leading zeros), or
    /// `-1 - magnitude` when `negative`.
    BigInt {
        /// Whether this is tag 3 (`-1 - magnitude`) rather than tag 2.
        negative: bool,
        /// The big-endian magnitude.
        magnitude: &'a [u8],
    },
    /// A float (binary16, 32 or 64, widened exactly).
    Float(f64),
    /// A simple value other than `false`, `true`, `null` and `undefined`.
    Simple(u8),
    /// A text string.
    Text(&'a str),
    /// A byte string (`Vec<u8>`, `serde_bytes`) of `len` bytes; see [`Item::as_bytes`].
    Bytes {
        /// Number of bytes.
        len: usize,
    },
    /// An array (sequence, tuple) of `len` items.
    Array {
        /// Number of items.
        len: usize,
    },
    /// A map (map, struct, enum variant with data) of `len` entries.
    Map {
        /// Number of entries.
        len: usize,
    },
    /// An RFC 8746 typed array (`Vec<f64>`, `Vec<i32>`, …) of `len` elements.
    TypedArray {
        /// The element type.
        elem: Elem,
        /// Number of elements.
        len: usize,
    },
    /// A `Some` written with its own mark because its content is `null` or another such
    /// `Some` (`Some(None)`, `Some(())`); the content is the single child. Any other `Some(x)`
    /// is written, and shown, as `x`.
    Some,
    /// Any other tag; the tagged item is the single child.
    Tag(u64),
}

/// One encoded item borrowed from a byte slice, or one element of a typed array.
///
/// Only [`Item::parse`] and [`Item::parse_prefix`] make items, after checking the whole
/// encoding, so the methods of an item and of its children do not fail on malformed input.
#[derive(Clone, Copy)]
pub struct Item<'a> {
    repr: Repr<'a>,
}

#[derive(Clone, Copy)]
enum Repr<'a> {
    /// The complete encoding of one item.
    Encoded(&'a [u8]),
    /// One fixed-width element of a typed array.
    Element {
        elem: Elem,
        big_endian: bool,
        raw: &'a [u8],
    },
}

impl fmt::Debug for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Item")
            .field("kind", &self.kind())
            .field("encoded_len", &self.encoded_len())
            .finish()
    }
}

/// One child of an array, map, tag or typed array.
#[derive(Debug, Clone, Copy)]
pub struct Child<'a> {
    /// The key, for a map entry.
    pub key: Option<Item<'a>>,
    /// The item, or the map entry's value.
    pub value: Item<'a>,
}

impl<'a> Item<'a> {
    /// Parses `bytes`, which must hold exactly one well-formed item.
    ///
    /// This walks every head of the item once (no decoding, no allocation): it checks lengths
    /// against the input, text for UTF-8, typed arrays and bignums for their shape, and
    /// nesting against [`MAX_DEPTH`]. Indefinite-length items are rejected.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, CodecError> {
        let (item, rest) = Self::parse_prefix(bytes)?;
        if !rest.is_empty() {
            return Err(wire::error_at(
                item.encoded_len(),
                format_args!("{} trailing bytes after the value", rest.len()),
            ));
        }
        Ok(item)
    }

    /// Parses the one item at the start of `bytes` and returns it with the bytes after it.
    pub fn parse_prefix(bytes: &'a [u8]) -> Result<(Self, &'a [u8]), CodecError> {
        let end = wire::skip(bytes, 0, MAX_DEPTH, true)?;
        let (item, rest) = bytes.split_at(end);
        Ok((
            Item {
                repr: Repr::Encoded(item),
            },
            rest,
        ))
    }

    fn head(bytes: &[u8]) -> Head {
        // Items are checked when parsed, so reading their heads cannot fail.
        wire::read_head(bytes, 0).unwrap_or(Head {
            major: 7,
            info: UNDEFINED,
            arg: 23,
            size: 1,
        })
    }

    /// What this item is.
    pub fn kind(&self) -> Kind<'a> {
        let bytes = match self.repr {
            Repr::Encoded(bytes) => bytes,
            Repr::Element {
                elem,
                big_endian,
                raw,
            } => {
                return number_kind(num::read_elem(elem, big_endian, raw));
            }
        };
        let head = Self::head(bytes);
        let body = &bytes[head.len()..];
        match head.major {
            UINT => Kind::Int(head.arg.into()),
            NINT => Kind::Int(-1 - i128::from(head.arg)),
            BYTES => Kind::Bytes { len: body.len() },
            TEXT => Kind::Text(std::str::from_utf8(body).unwrap_or_default()),
            ARRAY => Kind::Array {
                len: head.arg as usize,
            },
            MAP => Kind::Map {
                len: head.arg as usize,
            },
            TAG if head.arg == TAG_SOME => Kind::Some,
            TAG => {
                let Ok((start, end)) = wire::special_content(bytes, head.len(), head.arg) else {
                    return Kind::Tag(head.arg);
                };
                let data = &bytes[start..end];
                match typed_array(head.arg) {
                    Some((elem, _)) => Kind::TypedArray {
                        elem,
                        len: data.len() / elem.size(),
                    },
                    None => {
                        let negative = head.arg == wire::TAG_NEG_BIGNUM;
                        let zeros = data.iter().take_while(|&&b| b == 0).count();
                        let magnitude = &data[zeros..];
                        match bignum_i128(magnitude, negative) {
                            Some(v) => Kind::Int(v),
                            None => Kind::BigInt {
                                negative,
                                magnitude,
                            },
                        }
                    }
                }
            }
            _ => match head.info {
                FALSE => Kind::Bool(false),
                TRUE => Kind::Bool(true),
                NULL => Kind::Null,
                UNDEFINED => Kind::Undefined,
                F16 => Kind::Float(wire::f16_to_f64(head.arg as u16)),
                F32 => Kind::Float(wire::f32_to_f64(f32::from_bits(head.arg as u32))),
                F64 => Kind::Float(f64::from_bits(head.arg)),
                _ => Kind::Simple(head.arg as u8),
            },
        }
    }

    /// How many bytes this item takes (for a typed-array element, its width).
    pub fn encoded_len(&self) -> usize {
        self.raw().len()
    }

    /// This item's bytes: its whole encoding, or a typed-array element's raw bytes.
    pub fn raw(&self) -> &'a [u8] {
        match self.repr {
            Repr::Encoded(bytes) => bytes,
            Repr::Element { raw, .. } => raw,
        }
    }

    /// The text, if this is a text string.
    pub fn as_str(&self) -> Option<&'a str> {
        match self.kind() {
            Kind::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The content of a byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.repr {
            Repr::Encoded(bytes) => {
                let head = Self::head(bytes);
                (head.major == BYTES).then(|| &bytes[head.len()..])
            }
            Repr::Element { .. } => None,
        }
    }

    /// The children, lazily: the items of an array, the entries of a map (with keys), the
    /// tagged item of a tag, the elements of a typed array. Scalars, text and byte strings
    /// have none.
    ///
    /// Each step reads only the heads of the child it yields, so taking the first `k` children
    /// costs those children alone; on a typed array each step is O(1).
    pub fn children(&self) -> Children<'a> {
        let bytes = match self.repr {
            Repr::Encoded(bytes) => bytes,
            Repr::Element { .. } => return Children { inner: Inner::Done },
        };
        let head = Self::head(bytes);
        let inner = match head.major {
            ARRAY | MAP => Inner::Items {
                bytes,
                pos: head.len(),
                remaining: head.arg as usize,
                map: head.major == MAP,
            },
            TAG => match (
                typed_array(head.arg),
                wire::special_content(bytes, head.len(), head.arg),
            ) {
                (Some((elem, big_endian)), Ok((start, end))) => Inner::Typed {
                    data: &bytes[start..end],
                    elem,
                    big_endian,
                    next: 0,
                    len: (end - start) / elem.size(),
                },
                (None, _) if !wire::is_special_tag(head.arg) => Inner::Items {
                    bytes,
                    pos: head.len(),
                    remaining: 1,
                    map: false,
                },
                _ => Inner::Done,
            },
            _ => Inner::Done,
        };
        Children { inner }
    }

    /// The `n`th child (see [`Item::children`]), or `None` past the end. O(1) on a typed array;
    /// on an array or map it steps over the heads of the `n` children before.
    pub fn nth_child(&self, n: usize) -> Result<Option<Child<'a>>, CodecError> {
        self.children().nth(n).transpose()
    }

    /// Decodes this item (or typed-array element) as a `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, CodecError> {
        match self.repr {
            Repr::Encoded(bytes) => super::decode(bytes),
            Repr::Element {
                elem,
                big_endian,
                raw,
            } => T::deserialize(NumDeserializer(num::read_elem(elem, big_endian, raw))),
        }
    }
}

/// What a typed-array element is: [`Kind::Int`] or [`Kind::Float`] (widened exactly).
pub(crate) fn number_kind(n: Num) -> Kind<'static> {
    match n {
        Num::U8(v) => Kind::Int(v.into()),
        Num::U16(v) => Kind::Int(v.into()),
        Num::U32(v) => Kind::Int(v.into()),
        Num::U64(v) => Kind::Int(v.into()),
        Num::I8(v) => Kind::Int(v.into()),
        Num::I16(v) => Kind::Int(v.into()),
        Num::I32(v) => Kind::Int(v.into()),
        Num::I64(v) => Kind::Int(v.into()),
        Num::F32(v) => Kind::Float(wire::f32_to_f64(v)),
        Num::F64(v) => Kind::Float(v),
    }
}

/// The value of a bignum with this magnitude, if it fits in `i128`.
fn bignum_i128(magnitude: &[u8], negative: bool) -> Option<i128> {
    if magnitude.len() > 16 {
        return None;
    }
    let n = magnitude
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    let n = i128::try_from(n).ok()?;
    Some(if negative { -1 - n } else { n })
}

/// The lazy iterator of [`Item::children`].
#[derive(Debug, Clone)]
pub struct Children<'a> {
    inner: Inner<'a>,
}

#[derive(Debug, Clone)]
enum Inner<'a> {
    Done,
    Items {
        bytes: &'a [u8],
        pos: usize,
        remaining: usize,
        map: bool,
    },
    Typed {
        data: &'a [u8],
        elem: Elem,
        big_endian: bool,
        next: usize,
        len: usize,
    },
}

impl<'a> Children<'a> {
    /// Steps over one encoded item at `pos`, returning it.
    fn item(bytes: &'a [u8], pos: &mut usize) -> Result<Item<'a>, CodecError> {
        let end = wire::skip(bytes, *pos, MAX_DEPTH, false)?;
        let item = Item {
            repr: Repr::Encoded(&bytes[*pos..end]),
        };
        *pos = end;
        Ok(item)
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Child<'a>, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Done => None,
            Inner::Items {
                bytes,
                pos,
                remaining,
                map,
            } => {
                if *remaining == 0 {
                    return None;
                }
                *remaining -= 1;
                let bytes = *bytes;
                let result = (|| {
                    let key = if *map {
                        Some(Self::item(bytes, pos)?)
                    } else {
                        None
                    };
                    let value = Self::item(bytes, pos)?;
                    Ok(Child { key, value })
                })();
                if result.is_err() {
                    self.inner = Inner::Done;
                }
                Some(result)
            }
            Inner::Typed {
                data,
                elem,
                big_endian,
                next,
                len,
            } => {
                if *next >= *len {
                    return None;
                }
                let size = elem.size();
                let raw = &data[*next * size..(*next + 1) * size];
                *next += 1;
                let value = Item {
                    repr: Repr::Element {
                        elem: *elem,
                        big_endian: *big_endian,
                        raw,
                    },
                };
                Some(Ok(Child { key: None, value }))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.inner {
            Inner::Done => 0,
            Inner::Items { remaining, .. } => *remaining,
            Inner::Typed { next, len, .. } => len - next,
        };
        (n, Some(n))
    }

    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Typed { next, len, .. } => {
                *next = next.saturating_add(n).min(*len);
            }
            Inner::Items {
                bytes,
                pos,
                remaining,
                map,
            } => {
                let steps = n.min(*remaining);
                let per = if *map { 2 } else { 1 };
                for _ in 0..steps * per {
                    match wire::skip(bytes, *pos, MAX_DEPTH, false) {
                        Ok(end) => *pos = end,
                        Err(e) => {
                            self.inner = Inner::Done;
                            return Some(Err(e));
                        }
                    }
                }
                *remaining -= steps;
            }
            Inner::Done => return None,
        }
        self.next()
    }
}

/// Renders an encoded value as one short line for a table cell: at most `max_chars`
/// characters, never raw bytes, never a panic, and work bounded by `max_chars` (not by the
/// size of the input, which is not checked beyond what is shown).
///
/// Numbers as Rust prints them (`1.0`, `-3`, `NaN`), text quoted and escaped (`"abc…"` when
/// cut), arrays `[1.0, 2.0, 3.0]` or `[1.0, 2.0, … (1000000 items)]`, maps and structs
/// `{x: 1, y: 2}` (text keys unquoted when they are identifiers), byte strings as
/// `<1024 bytes>`, a marked `Some` as `Some(null)`, other tags in diagnostic notation `1(…)`. Malformed input shows as much as
/// was readable followed by `<invalid>`.
pub fn summary(bytes: &[u8], max_chars: usize) -> String {
    let mut s = Summary {
        input: bytes,
        out: String::new(),
        chars: 0,
        limit: max_chars,
        reserved: 0,
    };
    if s.item(0, 0).is_err() {
        s.push("<invalid>");
    }
    s.finish()
}

/// How deeply [`summary`] renders nested containers before writing `…`.
const SUMMARY_DEPTH: usize = 32;

/// Whether a rendered item was shown whole (and where it ends) or cut short.
enum Flow {
    Done(usize),
    Cut,
}

struct Summary<'a> {
    input: &'a [u8],
    out: String,
    /// Characters in `out`.
    chars: usize,
    limit: usize,
    /// Characters kept free for the closing parts of the containers being rendered.
    reserved: usize,
}

impl Summary<'_> {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
        self.chars += s.chars().count();
    }

    fn push_char(&mut self, c: char) {
        self.out.push(c);
        self.chars += 1;
    }

    /// Characters that may still be written.
    fn room(&self) -> usize {
        self.limit
            .saturating_sub(self.chars)
            .saturating_sub(self.reserved)
    }

    fn finish(self) -> String {
        if self.chars <= self.limit {
            return self.out;
        }
        if self.limit == 0 {
            return String::new();
        }
        let mut out: String = self.out.chars().take(self.limit - 1).collect();
        out.push('…');
        out
    }

    fn item(&mut self, pos: usize, depth: usize) -> Result<Flow, CodecError> {
        let head = wire::read_head(self.input, pos)?;
        let body = pos + head.len();
        match head.major {
            UINT => self.push(&head.arg.to_string()),
            NINT => self.push(&(-1 - i128::from(head.arg)).to_string()),
            BYTES => {
                let end = wire::payload_end(self.input, body, head.arg)?;
                self.push(&format!("<{} bytes>", end - body));
                return Ok(Flow::Done(end));
            }
            TEXT => {
                let end = wire::payload_end(self.input, body, head.arg)?;
                self.text(&self.input[body..end]);
                return Ok(Flow::Done(end));
            }
            ARRAY | MAP => {
                let map = head.major == MAP;
                if depth >= SUMMARY_DEPTH {
                    self.push(if map { "{…}" } else { "[…]" });
                    return Ok(Flow::Cut);
                }
                // Lengths are not checked against the input: elements are read until the
                // room runs out, and a missing one shows as `<invalid>`.
                let n = usize::try_from(head.arg).unwrap_or(usize::MAX);
                let mut pos = body;
                let complete = if map {
                    self.container(n, '{', '}', ["entry", "entries"], |s, _| {
                        let key = s.key(pos, depth)?;
                        let Flow::Done(end) = key else {
                            return Ok(Flow::Cut);
                        };
                        s.push(": ");
                        let value = s.item(end, depth + 1)?;
                        if let Flow::Done(end) = value {
                            pos = end;
                        }
                        Ok(value)
                    })?
                } else {
                    self.container(n, '[', ']', ["item", "items"], |s, _| {
                        let value = s.item(pos, depth + 1)?;
                        if let Flow::Done(end) = value {
                            pos = end;
                        }
                        Ok(value)
                    })?
                };
                return Ok(if complete { Flow::Done(pos) } else { Flow::Cut });
            }
            TAG => return self.tag(head, body, depth),
            _ => match head.info {
                FALSE => self.push("false"),
                TRUE => self.push("true"),
                NULL => self.push("null"),
                UNDEFINED => self.push("undefined"),
                F16 => self.push(&format!("{:?}", wire::f16_to_f64(head.arg as u16))),
                F32 => self.push(&format!(
                    "{:?}",
                    wire::f32_to_f64(f32::from_bits(head.arg as u32))
                )),
                F64 => self.push(&format!("{:?}", f64::from_bits(head.arg))),
                _ => self.push(&format!("simple({})", head.arg)),
            },
        }
        Ok(Flow::Done(body))
    }

    /// Renders `n` elements between `open` and `close` while they fit, then `… (n items)`
    /// (or just `…` when that does not fit either), taking back as many elements as that
    /// needs, but never the first. Returns whether every element was shown whole.
    fn container(
        &mut self,
        n: usize,
        open: char,
        close: char,
        nouns: [&str; 2],
        mut element: impl FnMut(&mut Self, usize) -> Result<Flow, CodecError>,
    ) -> Result<bool, CodecError> {
        let noun = if n == 1 { nouns[0] } else { nouns[1] };
        let suffix = format!(", … ({n} {noun}){close}");
        let suffix_len = suffix.chars().count();
        let short = format!(", …{close}");
        self.push_char(open);
        // Where each shown element (with its leading `, `) starts.
        let mut marks: Vec<(usize, usize)> = Vec::new();
        for i in 0..n {
            let mark = (self.out.len(), self.chars);
            if i > 0 {
                self.push(", ");
            }
            // The first element, which is never taken back, leaves room for the suffix (up to
            // half the room); later ones only for the closing character.
            let keep = if i == 0 && n > 1 {
                suffix_len.min(self.room() / 2)
            } else {
                1
            };
            let attempted = self.room() > keep + 2;
            let fits = attempted && {
                self.reserved += keep;
                let flow = element(self, i);
                self.reserved -= keep;
                matches!(flow?, Flow::Done(_)) && self.room() >= keep
            };
            if fits {
                marks.push(mark);
                continue;
            }
            if i == 0 {
                match (attempted, n) {
                    // Keep what was shown of the first element, even if cut.
                    (true, 1) => self.push_char(close),
                    (true, _) => self.push(if self.room() >= suffix_len {
                        &suffix
                    } else {
                        &short
                    }),
                    (false, 1) => {
                        self.push_char('…');
                        self.push_char(close);
                    }
                    (false, _) if self.room() + 2 >= suffix_len => self.push(&suffix[2..]),
                    (false, _) => self.push(&short[2..]),
                }
                return Ok(false);
            }
            self.out.truncate(mark.0);
            self.chars = mark.1;
            // Take back elements for the full suffix if that can fit at all, else for `…`.
            let fewest = marks.get(1).map_or(mark.1, |m| m.1);
            let full = self
                .limit
                .saturating_sub(fewest)
                .saturating_sub(self.reserved)
                >= suffix_len;
            let need = if full {
                suffix_len
            } else {
                short.chars().count()
            };
            while marks.len() > 1 && self.room() < need {
                if let Some((len, chars)) = marks.pop() {
                    self.out.truncate(len);
                    self.chars = chars;
                }
            }
            self.push(if self.room() >= suffix_len {
                &suffix
            } else {
                &short
            });
            return Ok(false);
        }
        self.push_char(close);
        Ok(true)
    }

    /// A map key: bare when it is text that reads as an identifier.
    fn key(&mut self, pos: usize, depth: usize) -> Result<Flow, CodecError> {
        let head = wire::read_head(self.input, pos)?;
        if head.major == TEXT && head.arg <= 64 {
            let body = pos + head.len();
            let end = wire::payload_end(self.input, body, head.arg)?;
            if let Ok(text) = std::str::from_utf8(&self.input[body..end])
                && is_identifier(text)
            {
                self.push(text);
                return Ok(Flow::Done(end));
            }
        }
        self.item(pos, depth + 1)
    }

    fn tag(&mut self, head: Head, body: usize, depth: usize) -> Result<Flow, CodecError> {
        if !wire::is_special_tag(head.arg) {
            if depth >= SUMMARY_DEPTH {
                self.push("…");
                return Ok(Flow::Cut);
            }
            if head.arg == TAG_SOME {
                self.push("Some(");
            } else {
                self.push(&format!("{}(", head.arg));
            }
            self.reserved += 1;
            let flow = self.item(body, depth + 1);
            self.reserved -= 1;
            self.push_char(')');
            return flow;
        }
        let (start, end) = wire::special_content(self.input, body, head.arg)?;
        let data = &self.input[start..end];
        let Some((elem, big_endian)) = typed_array(head.arg) else {
            let negative = head.arg == wire::TAG_NEG_BIGNUM;
            let zeros = data.iter().take_while(|&&b| b == 0).count();
            let magnitude = &data[zeros..];
            match magnitude_u128(magnitude) {
                Some(n) if !negative => self.push(&n.to_string()),
                Some(n) => match n.checked_add(1) {
                    Some(m) => self.push(&format!("-{m}")),
                    None => self.push("-340282366920938463463374607431768211456"),
                },
                None => {
                    let sign = if negative { "-" } else { "" };
                    self.push(&format!("{sign}<{}-byte bignum>", magnitude.len()));
                }
            }
            return Ok(Flow::Done(end));
        };
        let size = elem.size();
        self.container(data.len() / size, '[', ']', ["item", "items"], |s, i| {
            let text = match num::read_elem(elem, big_endian, &data[i * size..]) {
                Num::U8(v) => v.to_string(),
                Num::U16(v) => v.to_string(),
                Num::U32(v) => v.to_string(),
                Num::U64(v) => v.to_string(),
                Num::I8(v) => v.to_string(),
                Num::I16(v) => v.to_string(),
                Num::I32(v) => v.to_string(),
                Num::I64(v) => v.to_string(),
                Num::F32(v) => format!("{v:?}"),
                Num::F64(v) => format!("{v:?}"),
            };
            s.push(&text);
            Ok(Flow::Done(end))
        })?;
        // The typed array's end is known whether or not it was shown whole.
        Ok(Flow::Done(end))
    }

    /// Quoted, escaped text, cut with `…` to the room left.
    fn text(&mut self, bytes: &[u8]) {
        // Room for the characters besides the quotes and a final `…`.
        let room = self.room().saturating_sub(3);
        let prefix = &bytes[..bytes.len().min(room.saturating_mul(4).saturating_add(4))];
        let text = match std::str::from_utf8(prefix) {
            Ok(text) => text,
            Err(e) if e.error_len().is_none() => {
                std::str::from_utf8(&prefix[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => {
                self.push("<invalid text>");
                return;
            }
        };
        self.push_char('"');
        let mut shown = 0;
        let mut cut = text.len() < bytes.len();
        for c in text.chars() {
            let escaped: String = match c {
                '"' => "\\\"".to_owned(),
                '\\' => "\\\\".to_owned(),
                c if c.is_control() => c.escape_default().collect(),
                c => c.to_string(),
            };
            let width = escaped.chars().count();
            if shown + width > room {
                cut = true;
                break;
            }
            shown += width;
            self.push(&escaped);
        }
        if cut {
            self.push_char('…');
        }
        self.push_char('"');
    }
}

fn magnitude_u128(magnitude: &[u8]) -> Option<u128> {
    (magnitude.len() <= 16).then(|| {
        magnitude
            .iter()
            .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
    })
}

/// Whether a map key can be shown without quotes.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}
