//! Values read in part: the first bytes of a stored value, read as far as they go
//! ([`Prefix`]), so a browser shows the start of a large value without reading all of it.

use crate::codec::CodecError;
use crate::codec::inspect::{Elem, Item, Kind};

// -------------------------------------------------------------------------------------------
// Values read in part.
// -------------------------------------------------------------------------------------------

/// An item read from the first bytes of a value: whole, or cut short where reading stopped.
///
/// Whole items are inspected with [`Item`]; a [`Cut`] one says what its head declares and
/// reads the leading children or elements that the bytes hold, so the first rows of a 100 MB
/// array show from its first megabyte.
#[derive(Debug, Clone, Copy)]
pub enum Prefix<'a> {
    /// The bytes hold all of it.
    Whole(Item<'a>),
    /// It runs past the bytes read.
    Cut(Cut<'a>),
}

impl<'a> Prefix<'a> {
    /// Reads the item at the start of `bytes`. With `more` (the value goes on after `bytes`),
    /// an array, map, string or tag that runs past their end is [`Prefix::Cut`]; without, or
    /// when not even its head was read, that is an error, like any malformed item.
    ///
    /// In a cut value, damage after the first unreadable child looks like the cut: it shows
    /// as an error once the value is read whole.
    pub fn read(bytes: &'a [u8], more: bool) -> std::result::Result<Prefix<'a>, CodecError> {
        match Item::parse_prefix(bytes) {
            Ok((item, _)) => Ok(Prefix::Whole(item)),
            Err(e) if more => Cut::read(bytes).map(Prefix::Cut).ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// What it is. For a cut item, lengths are the stored ones (see [`Cut::kind`]).
    pub fn kind(&self) -> Kind<'a> {
        match self {
            Prefix::Whole(item) => item.kind(),
            Prefix::Cut(cut) => cut.kind(),
        }
    }

    /// Its bytes: the whole encoding, or from its start to where reading stopped.
    pub fn raw(&self) -> &'a [u8] {
        match self {
            Prefix::Whole(item) => item.raw(),
            Prefix::Cut(cut) => cut.raw(),
        }
    }
}

/// An array, map, string, typed array or tag whose encoding runs past the bytes read.
#[derive(Debug, Clone, Copy)]
pub struct Cut<'a> {
    /// From the item's first head to where reading stopped.
    bytes: &'a [u8],
    /// Where the content starts (after the inner byte-string head of a typed array).
    body: usize,
    shape: Shape,
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    Array(u64),
    Map(u64),
    Text(u64),
    Bytes(u64),
    /// A typed array: its tag (for reading elements) and stored payload length.
    Typed {
        tag: u64,
        elem: Elem,
        bytes: u64,
    },
    Tag(u64),
}

/// One child of a [`Cut`] array, map or tag.
#[derive(Debug, Clone, Copy)]
pub struct CutChild<'a> {
    /// The key, for a map entry (always whole).
    pub key: Option<Item<'a>>,
    /// The item, or the map entry's value; only the last child read can be cut.
    pub value: Prefix<'a>,
}

impl<'a> Cut<'a> {
    /// Reads the head of an item known to run past the end of `bytes` (a [`Prefix::Cut`]
    /// seen before, read again without walking what follows its head); `None` for anything
    /// but an array, map, string or tag, or a head that is not all there.
    pub fn read(bytes: &'a [u8]) -> Option<Cut<'a>> {
        let (major, arg, len) = read_head(bytes)?;
        let shape = match major {
            2 => Shape::Bytes(arg),
            3 => Shape::Text(arg),
            4 => Shape::Array(arg),
            5 => Shape::Map(arg),
            6 => {
                // Which tags are typed arrays or bignums is for the inspector to say: ask it
                // about the same tag on an empty byte string.
                let mut probe = encode_head(6, arg);
                probe.push(0x40);
                match Item::parse(&probe).ok()?.kind() {
                    Kind::TypedArray { elem, .. } => {
                        let (inner, payload, inner_len) = read_head(&bytes[len..])?;
                        if inner != 2 {
                            return None;
                        }
                        return Some(Cut {
                            bytes,
                            body: len + inner_len,
                            shape: Shape::Typed {
                                tag: arg,
                                elem,
                                bytes: payload,
                            },
                        });
                    }
                    Kind::Tag(_) => Shape::Tag(arg),
                    // A bignum is read whole or not at all.
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(Cut {
            bytes,
            body: len,
            shape,
        })
    }

    /// What its head declares: the stored number of items, entries, elements or bytes. For
    /// text, the characters read (whole UTF-8 sequences only).
    pub fn kind(&self) -> Kind<'a> {
        let len = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        match self.shape {
            Shape::Array(n) => Kind::Array { len: len(n) },
            Shape::Map(n) => Kind::Map { len: len(n) },
            Shape::Bytes(n) => Kind::Bytes { len: len(n) },
            Shape::Text(_) => {
                let read = &self.bytes[self.body..];
                let text = match std::str::from_utf8(read) {
                    Ok(text) => text,
                    Err(e) => std::str::from_utf8(&read[..e.valid_up_to()]).unwrap_or_default(),
                };
                Kind::Text(text)
            }
            Shape::Typed { elem, bytes, .. } => Kind::TypedArray {
                elem,
                len: len(bytes / elem.size() as u64),
            },
            Shape::Tag(n) => Kind::Tag(n),
        }
    }

    /// Its bytes from its start to where reading stopped.
    pub fn raw(&self) -> &'a [u8] {
        self.bytes
    }

    /// The bytes of a byte string that were read.
    pub fn bytes_read(&self) -> Option<&'a [u8]> {
        matches!(self.shape, Shape::Bytes(_)).then(|| &self.bytes[self.body..])
    }

    /// Its encoded size as stored, when its heads say (strings and typed arrays).
    pub fn stored_len(&self) -> Option<u64> {
        match self.shape {
            Shape::Text(n) | Shape::Bytes(n) | Shape::Typed { bytes: n, .. } => {
                (self.body as u64).checked_add(n)
            }
            _ => None,
        }
    }

    /// The children read of an array, map or tag: every whole one, then the cut one if its
    /// head was read. Strings and typed arrays have none here (see [`Cut::element`]).
    pub fn children(&self) -> CutChildren<'a> {
        let remaining = match self.shape {
            Shape::Array(n) | Shape::Map(n) => n,
            Shape::Tag(_) => 1,
            _ => 0,
        };
        CutChildren {
            bytes: self.bytes,
            pos: self.body,
            remaining,
            map: matches!(self.shape, Shape::Map(_)),
        }
    }

    /// How many elements of a typed array were read (0 for anything else).
    pub fn elements_read(&self) -> usize {
        match self.shape {
            Shape::Typed { elem, .. } => (self.bytes.len() - self.body) / elem.size(),
            _ => 0,
        }
    }

    /// Element `i` of a typed array, if it was read: [`Kind::Int`] or [`Kind::Float`], as the
    /// inspector reads it. O(1).
    pub fn element(&self, i: usize) -> Option<Kind<'static>> {
        let Shape::Typed { tag, elem, .. } = self.shape else {
            return None;
        };
        let size = elem.size();
        let start = self.body.checked_add(i.checked_mul(size)?)?;
        let raw = self.bytes.get(start..start.checked_add(size)?)?;
        // The element alone, as a one-element typed array of the same tag.
        let mut one = encode_head(6, tag);
        one.extend(encode_head(2, size as u64));
        one.extend_from_slice(raw);
        let item = Item::parse(&one).ok()?;
        match item.nth_child(0).ok()??.value.kind() {
            Kind::Int(v) => Some(Kind::Int(v)),
            Kind::Float(v) => Some(Kind::Float(v)),
            _ => None,
        }
    }
}

/// The iterator of [`Cut::children`].
#[derive(Debug, Clone)]
pub struct CutChildren<'a> {
    bytes: &'a [u8],
    pos: usize,
    remaining: u64,
    map: bool,
}

impl<'a> Iterator for CutChildren<'a> {
    type Item = CutChild<'a>;

    fn next(&mut self) -> Option<CutChild<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let key = if self.map {
            let Ok((key, rest)) = Item::parse_prefix(&self.bytes[self.pos..]) else {
                self.remaining = 0;
                return None;
            };
            self.pos = self.bytes.len() - rest.len();
            Some(key)
        } else {
            None
        };
        let value = match Item::parse_prefix(&self.bytes[self.pos..]) {
            Ok((item, rest)) => {
                self.pos = self.bytes.len() - rest.len();
                Prefix::Whole(item)
            }
            Err(_) => {
                // The cut child is the last one read.
                self.remaining = 0;
                Prefix::Cut(Cut::read(&self.bytes[self.pos..])?)
            }
        };
        Some(CutChild { key, value })
    }
}

/// A CBOR head: major type, argument and length in bytes; `None` when it is not all in
/// `bytes` or is one fleche never writes (indefinite lengths, reserved values).
fn read_head(bytes: &[u8]) -> Option<(u8, u64, usize)> {
    let first = *bytes.first()?;
    let extra = match first & 0x1f {
        info @ 0..=23 => return Some((first >> 5, u64::from(info), 1)),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => return None,
    };
    let arg = bytes
        .get(1..1 + extra)?
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Some((first >> 5, arg, 1 + extra))
}

/// The shortest CBOR head of a major type and argument.
fn encode_head(major: u8, arg: u64) -> Vec<u8> {
    let major = major << 5;
    match arg {
        0..=23 => vec![major | arg as u8],
        24..=0xff => vec![major | 24, arg as u8],
        0x100..=0xffff => [vec![major | 25], (arg as u16).to_be_bytes().to_vec()].concat(),
        0x1_0000..=0xffff_ffff => [vec![major | 26], (arg as u32).to_be_bytes().to_vec()].concat(),
        _ => [vec![major | 27], arg.to_be_bytes().to_vec()].concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ValueHead;

    fn head_of<T: serde::Serialize>(value: &T, max_bytes: usize) -> ValueHead {
        let all = crate::codec::encode(value).unwrap();
        ValueHead {
            size: all.len() as u64,
            bytes: all[..all.len().min(max_bytes)].to_vec(),
        }
    }

    #[test]
    fn whole_values_are_items() {
        let head = head_of(&vec![1u32, 2, 3], 1 << 20);
        assert!(head.is_whole());
        let Ok(Prefix::Whole(item)) = head.item_at(0) else {
            panic!("not whole")
        };
        assert!(matches!(item.kind(), Kind::TypedArray { len: 3, .. }));
        // Malformed whole values are errors, not cuts.
        let bad = ValueHead {
            size: 3,
            bytes: vec![0x83, 0x01, 0x02],
        };
        assert!(bad.item_at(0).is_err());
    }

    #[test]
    fn a_cut_typed_array_reads_its_first_elements() {
        let values: Vec<f64> = (0..100_000).map(f64::from).collect();
        let head = head_of(&values, 4096);
        assert!(!head.is_whole());
        let Ok(Prefix::Cut(cut)) = head.item_at(0) else {
            panic!("not cut")
        };
        assert!(matches!(
            cut.kind(),
            Kind::TypedArray {
                elem: Elem::F64,
                len: 100_000
            }
        ));
        assert_eq!(cut.stored_len(), Some(head.size));
        assert_eq!(cut.elements_read(), (4096 - 6) / 8);
        assert!(matches!(cut.element(3), Some(Kind::Float(v)) if v == 3.0));
        assert!(cut.element(cut.elements_read()).is_none());
        let i32s = head_of(&vec![-5i32; 10_000], 100);
        let Ok(Prefix::Cut(cut)) = i32s.item_at(0) else {
            panic!("not cut")
        };
        assert!(matches!(cut.element(0), Some(Kind::Int(-5))));
    }

    #[test]
    fn a_cut_map_reads_its_whole_entries_then_the_cut_one() {
        #[derive(serde::Serialize)]
        struct Fit {
            name: String,
            data: Vec<f64>,
            after: bool,
        }
        let fit = Fit {
            name: "relax".into(),
            data: vec![0.5; 1_000_000],
            after: true,
        };
        let head = head_of(&fit, 1000);
        let Ok(Prefix::Cut(root)) = head.item_at(0) else {
            panic!("not cut")
        };
        assert!(matches!(root.kind(), Kind::Map { len: 3 }));
        let children: Vec<_> = root.children().collect();
        assert_eq!(children.len(), 2);
        assert_eq!(children[0].key.unwrap().as_str(), Some("name"));
        assert!(matches!(children[0].value, Prefix::Whole(_)));
        let Prefix::Cut(data) = children[1].value else {
            panic!("data is cut")
        };
        assert!(matches!(
            data.kind(),
            Kind::TypedArray { len: 1_000_000, .. }
        ));
        assert!(data.elements_read() > 100);
        // The child's offset in the value, for reading it again from a longer head.
        let at = data.raw().as_ptr() as usize - head.bytes.as_ptr() as usize;
        assert!(matches!(head.item_at(at), Ok(Prefix::Cut(_))));
    }

    #[test]
    fn cut_text_shows_whole_characters_and_unreadable_heads_are_errors() {
        let head = head_of(&"é".repeat(1000), 10);
        let Ok(Prefix::Cut(cut)) = head.item_at(0) else {
            panic!("not cut")
        };
        assert_eq!(cut.kind(), Kind::Text("ééé"));
        assert_eq!(cut.stored_len(), Some(head.size));
        // A cut float or a cut head cannot be read at all.
        let float = head_of(&1.1f64, 4);
        assert!(float.item_at(0).is_err());
        let long = head_of(&vec![0u8; 100_000], 2);
        assert!(long.item_at(0).is_err());
        assert!(long.item_at(99).is_err());
    }
}
