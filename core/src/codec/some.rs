//! `Some`s that need a mark of their own: `Some(x)` is written as `x`, except when `x` itself
//! is written as `null` or as such a mark (`Some(None)`, `Some(())`, `Some(Some(None))`), which
//! would otherwise read back as `None`.

use serde::Serialize;
use serde::ser::{self, Impossible};

/// The CBOR tag that marks a `Some` whose content is `null` or another marked `Some`; a number
/// of the first-come-first-served range that fleche uses for nothing else.
pub(crate) const TAG_SOME: u64 = 0xf1ec;

/// Whether `Some(value)` needs [`TAG_SOME`]: whether `value` is written as `null` (`None`,
/// unit, a unit struct) or as a marked `Some`, through any newtype structs. Asks `value` to
/// serialize itself, but stops at its first item that is anything else.
pub(crate) fn needs_tag<T: Serialize + ?Sized>(value: &T) -> bool {
    value.serialize(Probe).unwrap_or(false)
}

/// Serializes only as far as the first item that settles [`needs_tag`]; every other item is
/// an early `Err(Settled)` meaning "no tag".
struct Probe;

#[derive(Debug)]
struct Settled;

impl std::fmt::Display for Settled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not null")
    }
}

impl std::error::Error for Settled {}

impl ser::Error for Settled {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Settled
    }
}

type Probed = Result<bool, Settled>;

macro_rules! settled {
    ($($name:ident($($arg:ty),*);)*) => {
        $(fn $name(self, $(_: $arg),*) -> Probed { Err(Settled) })*
    };
}

impl ser::Serializer for Probe {
    type Ok = bool;
    type Error = Settled;
    type SerializeSeq = Impossible<bool, Settled>;
    type SerializeTuple = Impossible<bool, Settled>;
    type SerializeTupleStruct = Impossible<bool, Settled>;
    type SerializeTupleVariant = Impossible<bool, Settled>;
    type SerializeMap = Impossible<bool, Settled>;
    type SerializeStruct = Impossible<bool, Settled>;
    type SerializeStructVariant = Impossible<bool, Settled>;

    settled! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_none(self) -> Probed {
        Ok(true)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Probed {
        value.serialize(Probe)
    }

    fn serialize_unit(self) -> Probed {
        Ok(true)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Probed {
        Ok(true)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Probed {
        value.serialize(Probe)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Probed {
        Err(Settled)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Settled> {
        Err(Settled)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Settled> {
        Err(Settled)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Settled> {
        Err(Settled)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Settled> {
        Err(Settled)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Settled> {
        Err(Settled)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Settled> {
        Err(Settled)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Settled> {
        Err(Settled)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Wrap<T>(T);

    #[derive(Serialize)]
    struct Marker;

    #[test]
    fn only_null_like_contents_need_the_tag() {
        assert!(needs_tag(&None::<i32>));
        assert!(needs_tag(&()));
        assert!(needs_tag(&Marker));
        assert!(needs_tag(&Some(None::<i32>)));
        assert!(needs_tag(&Wrap(Some(()))));
        assert!(!needs_tag(&5));
        assert!(!needs_tag(&Some(5)));
        assert!(!needs_tag(&"x"));
        assert!(!needs_tag(&Vec::<()>::new()));
        assert!(!needs_tag(&vec![None::<i32>]));
        assert!(!needs_tag(&Wrap(1.5)));
    }
}
