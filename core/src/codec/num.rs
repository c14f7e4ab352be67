//! One element of a typed array as a number of its own width: read from its raw bytes, and
//! handed to serde as that width (by the decoder, and by the inspector's `Item::decode`).

use serde::de::{self, Visitor};

use super::CodecError;
use super::elem::Elem;
use super::wire::{f16_to_f64, f64_to_f32};

/// One element of a typed array (or byte of a byte string), with its own width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}

/// Reads one typed-array element from `raw`, which holds at least `elem.size()` bytes.
pub(crate) fn read_elem(elem: Elem, big_endian: bool, raw: &[u8]) -> Num {
    fn arr<const N: usize>(raw: &[u8], big_endian: bool) -> [u8; N] {
        let mut a = [0; N];
        a.copy_from_slice(&raw[..N]);
        if big_endian {
            a.reverse();
        }
        a
    }
    let be = big_endian;
    match elem {
        Elem::U8 | Elem::U8Clamped => Num::U8(raw[0]),
        Elem::I8 => Num::I8(raw[0] as i8),
        Elem::U16 => Num::U16(u16::from_le_bytes(arr(raw, be))),
        Elem::I16 => Num::I16(i16::from_le_bytes(arr(raw, be))),
        Elem::U32 => Num::U32(u32::from_le_bytes(arr(raw, be))),
        Elem::I32 => Num::I32(i32::from_le_bytes(arr(raw, be))),
        Elem::U64 => Num::U64(u64::from_le_bytes(arr(raw, be))),
        Elem::I64 => Num::I64(i64::from_le_bytes(arr(raw, be))),
        Elem::F16 => Num::F32(f64_to_f32(f16_to_f64(u16::from_le_bytes(arr(raw, be))))),
        Elem::F32 => Num::F32(f32::from_le_bytes(arr(raw, be))),
        Elem::F64 => Num::F64(f64::from_le_bytes(arr(raw, be))),
    }
}

/// One typed-array element, visited with its own width.
pub(crate) struct NumDeserializer(pub(crate) Num);

impl<'de> de::Deserializer<'de> for NumDeserializer {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.0 {
            Num::U8(v) => visitor.visit_u8(v),
            Num::U16(v) => visitor.visit_u16(v),
            Num::U32(v) => visitor.visit_u32(v),
            Num::U64(v) => visitor.visit_u64(v),
            Num::I8(v) => visitor.visit_i8(v),
            Num::I16(v) => visitor.visit_i16(v),
            Num::I32(v) => visitor.visit_i32(v),
            Num::I64(v) => visitor.visit_i64(v),
            Num::F32(v) => visitor.visit_f32(v),
            Num::F64(v) => visitor.visit_f64(v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        visitor.visit_newtype_struct(self)
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}
