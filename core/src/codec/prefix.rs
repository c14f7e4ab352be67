//! Values read in part: an item in the first bytes of a larger encoding, whole or cut short
//! where the bytes end, so that a browser shows the first rows of a 100 MB array from its first
//! megabyte. Built on the inspector for whole items and on the codec's own head reader.

use super::CodecError;
use super::elem::{Elem, typed_array};
use super::inspect::{Item, Kind, number_kind};
use super::num;
use super::some::TAG_SOME;
use super::wire::{self, ARRAY, BYTES, MAP, TAG, TEXT};

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
    pub fn read(bytes: &'a [u8], more: bool) -> Result<Prefix<'a>, CodecError> {
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
    /// A typed array: its element type and byte order, and its stored payload length.
    Typed {
        elem: Elem,
        big_endian: bool,
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
        let head = wire::read_head(bytes, 0).ok()?;
        let shape = match head.major {
            BYTES => Shape::Bytes(head.arg),
            TEXT => Shape::Text(head.arg),
            ARRAY => Shape::Array(head.arg),
            MAP => Shape::Map(head.arg),
            TAG => match typed_array(head.arg) {
                Some((elem, big_endian)) => {
                    let inner = wire::read_head(bytes, head.len()).ok()?;
                    if inner.major != BYTES {
                        return None;
                    }
                    return Some(Cut {
                        bytes,
                        body: head.len() + inner.len(),
                        shape: Shape::Typed {
                            elem,
                            big_endian,
                            bytes: inner.arg,
                        },
                    });
                }
                // A bignum is read whole or not at all.
                None if wire::is_special_tag(head.arg) => return None,
                None => Shape::Tag(head.arg),
            },
            _ => return None,
        };
        Some(Cut {
            bytes,
            body: head.len(),
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
            Shape::Tag(TAG_SOME) => Kind::Some,
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
        let Shape::Typed {
            elem, big_endian, ..
        } = self.shape
        else {
            return None;
        };
        let size = elem.size();
        let start = self.body.checked_add(i.checked_mul(size)?)?;
        let raw = self.bytes.get(start..start.checked_add(size)?)?;
        Some(number_kind(num::read_elem(elem, big_endian, raw)))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bytes of an encoded value and its whole size, as a browser reads them.
    struct ValueHead {
        size: u64,
        bytes: Vec<u8>,
    }

    impl ValueHead {
        fn is_whole(&self) -> bool {
            self.bytes.len() as u64 >= self.size
        }

        fn item_at(&self, at: usize) -> Result<Prefix<'_>, CodecError> {
            Prefix::read(self.bytes.get(at..).unwrap_or_default(), !self.is_whole())
        }
    }

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
