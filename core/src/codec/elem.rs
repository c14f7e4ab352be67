//! The element types of RFC 8746 typed arrays and the tags that name them: the bottom of the
//! codec, shared by the encoder (which writes typed arrays), the decoder and the inspector.

use std::fmt;

/// The element type of an RFC 8746 typed array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Elem {
    /// `u8` (tag 64).
    U8,
    /// `u8`, clamped arithmetic (tag 68).
    U8Clamped,
    /// `u16` (tags 65, 69).
    U16,
    /// `u32` (tags 66, 70).
    U32,
    /// `u64` (tags 67, 71).
    U64,
    /// `i8` (tag 72).
    I8,
    /// `i16` (tags 73, 77).
    I16,
    /// `i32` (tags 74, 78).
    I32,
    /// `i64` (tags 75, 79).
    I64,
    /// IEEE 754 binary16 (tags 80, 84).
    F16,
    /// `f32` (tags 81, 85).
    F32,
    /// `f64` (tags 82, 86).
    F64,
}

impl Elem {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            Elem::U8 | Elem::U8Clamped | Elem::I8 => 1,
            Elem::U16 | Elem::I16 | Elem::F16 => 2,
            Elem::U32 | Elem::I32 | Elem::F32 => 4,
            Elem::U64 | Elem::I64 | Elem::F64 => 8,
        }
    }

    /// The Rust-style name of the element type: `"f64"`, `"u8"`, … (`"f16"` for binary16).
    pub const fn name(self) -> &'static str {
        match self {
            Elem::U8 => "u8",
            Elem::U8Clamped => "u8 (clamped)",
            Elem::U16 => "u16",
            Elem::U32 => "u32",
            Elem::U64 => "u64",
            Elem::I8 => "i8",
            Elem::I16 => "i16",
            Elem::I32 => "i32",
            Elem::I64 => "i64",
            Elem::F16 => "f16",
            Elem::F32 => "f32",
            Elem::F64 => "f64",
        }
    }
}

impl fmt::Display for Elem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The element type and byte order (`true` for big-endian) of an RFC 8746 typed-array tag.
/// Binary128 (tags 83 and 87) is not supported and is treated as an ordinary tag.
pub(crate) fn typed_array(tag: u64) -> Option<(Elem, bool)> {
    Some(match tag {
        64 => (Elem::U8, false),
        65 => (Elem::U16, true),
        66 => (Elem::U32, true),
        67 => (Elem::U64, true),
        68 => (Elem::U8Clamped, false),
        69 => (Elem::U16, false),
        70 => (Elem::U32, false),
        71 => (Elem::U64, false),
        72 => (Elem::I8, false),
        73 => (Elem::I16, true),
        74 => (Elem::I32, true),
        75 => (Elem::I64, true),
        77 => (Elem::I16, false),
        78 => (Elem::I32, false),
        79 => (Elem::I64, false),
        80 => (Elem::F16, true),
        81 => (Elem::F32, true),
        82 => (Elem::F64, true),
        84 => (Elem::F16, false),
        85 => (Elem::F32, false),
        86 => (Elem::F64, false),
        _ => return None,
    })
}

/// The RFC 8746 little-endian typed-array tag fleche writes for an element type.
pub(crate) fn typed_array_tag(elem: Elem) -> u64 {
    match elem {
        Elem::U8 => 64,
        Elem::U8Clamped => 68,
        Elem::U16 => 69,
        Elem::U32 => 70,
        Elem::U64 => 71,
        Elem::I8 => 72,
        Elem::I16 => 77,
        Elem::I32 => 78,
        Elem::I64 => 79,
        Elem::F16 => 84,
        Elem::F32 => 85,
        Elem::F64 => 86,
    }
}
