//! The serde deserializer: reads one CBOR item from a byte slice.

use serde::de::{self, Deserialize, DeserializeSeed, Expected, Unexpected, Visitor};

use super::elem::{Elem, typed_array};
use super::num::{self, NumDeserializer};
use super::some::TAG_SOME;
use super::wire::{
    self, ARRAY, BYTES, F16, F32, F64, FALSE, Head, MAP, NINT, NULL, SIMPLE, TAG, TEXT, TRUE, UINT,
    UNDEFINED, error_at,
};
use super::{CodecError, MAX_DEPTH};

type Result<T> = std::result::Result<T, CodecError>;

pub(crate) fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T> {
    let mut de = Decoder {
        input: bytes,
        pos: 0,
        last: 0,
        depth: 0,
        fields: &[],
        next_field: 0,
    };
    let value = T::deserialize(&mut de).map_err(|e| de.locate(e))?;
    if de.pos != bytes.len() {
        return Err(error_at(
            de.pos,
            format_args!("{} trailing bytes after the value", bytes.len() - de.pos),
        ));
    }
    Ok(value)
}

/// How "found X" reads in an error message, in CBOR's terms.
pub(crate) fn found(unexp: &Unexpected<'_>) -> String {
    match *unexp {
        Unexpected::Bool(b) => b.to_string(),
        Unexpected::Unsigned(n) => format!("integer {n}"),
        Unexpected::Signed(n) => format!("integer {n}"),
        Unexpected::Float(f) => format!("float {f:?}"),
        Unexpected::Char(c) => format!("text {c:?}"),
        Unexpected::Str(s) => {
            let mut short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                short.push('…');
            }
            format!("text {short:?}")
        }
        Unexpected::Bytes(b) => format!("bytes ({} bytes)", b.len()),
        Unexpected::Unit => "null".to_owned(),
        Unexpected::Option => "an optional value".to_owned(),
        Unexpected::NewtypeStruct => "a newtype struct".to_owned(),
        Unexpected::Seq => "array".to_owned(),
        Unexpected::Map => "map".to_owned(),
        Unexpected::Enum => "enum".to_owned(),
        Unexpected::UnitVariant => "unit variant".to_owned(),
        Unexpected::NewtypeVariant => "newtype variant".to_owned(),
        Unexpected::TupleVariant => "tuple variant".to_owned(),
        Unexpected::StructVariant => "struct variant".to_owned(),
        Unexpected::Other(s) => s.to_owned(),
    }
}

fn mismatch(head: &Head, exp: &dyn Expected) -> CodecError {
    de::Error::invalid_type(Unexpected::Other(&wire::describe(head)), exp)
}

/// How a byte string is shown to a visitor.
#[derive(Clone, Copy)]
enum BytesAs {
    /// As bytes (`deserialize_bytes` and scalar hints).
    Bytes,
    /// As a sequence of `u8` (`deserialize_seq` and `deserialize_any`).
    Seq,
}

/// The deserializer state over the whole input.
pub(crate) struct Decoder<'de> {
    input: &'de [u8],
    pos: usize,
    /// Where the most recently read head starts, to locate errors.
    last: usize,
    /// How many arrays, maps and tags enclose the current item.
    depth: usize,
    /// The field names of the struct being read, and where the next key likely is among
    /// them (fields are mostly stored in declaration order).
    fields: &'static [&'static str],
    next_field: usize,
}

impl<'de> Decoder<'de> {
    fn locate(&self, e: CodecError) -> CodecError {
        match e {
            CodecError::Decode(msg) if !msg.contains(" at byte ") => {
                CodecError::Decode(format!("{msg} at byte {}", self.last))
            }
            other => other,
        }
    }

    #[inline(always)]
    fn head(&mut self) -> Result<Head> {
        self.last = self.pos;
        wire::read_head(self.input, self.pos)
    }

    #[inline(always)]
    fn consume(&mut self, head: &Head) {
        self.pos += head.len();
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(error_at(
                self.pos,
                format_args!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn payload(&mut self, len: u64) -> Result<&'de [u8]> {
        let end = wire::payload_end(self.input, self.pos, len)?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// If the next item is a `Some` marked with [`TAG_SOME`], consumes the tag (its content
    /// follows) and opens a nesting level, which the caller closes.
    #[inline]
    fn open_marked_some(&mut self) -> Result<bool> {
        let head = self.head()?;
        if head.major != TAG || head.arg != TAG_SOME {
            return Ok(false);
        }
        self.enter()?;
        self.consume(&head);
        Ok(true)
    }

    /// Consumes the tags (other than bignum and typed-array tags) in front of the next item,
    /// runs `f` on the item's head (read, not consumed), and closes the tags.
    #[inline]
    fn untagged<R>(&mut self, f: impl FnOnce(&mut Self, Head) -> Result<R>) -> Result<R> {
        let head = self.head()?;
        // Almost every item is untagged: keep that path free of the loop below.
        if head.major != TAG || wire::is_special_tag(head.arg) {
            return f(self, head);
        }
        let mut tags = 0;
        let mut head = head;
        loop {
            self.enter()?;
            self.consume(&head);
            tags += 1;
            head = self.head()?;
            if head.major != TAG || wire::is_special_tag(head.arg) {
                break;
            }
        }
        let value = f(self, head)?;
        self.depth -= tags;
        Ok(value)
    }

    /// Visits the item whose head was just read.
    fn any<V: Visitor<'de>>(
        &mut self,
        head: Head,
        visitor: V,
        bytes_as: BytesAs,
    ) -> Result<V::Value> {
        match head.major {
            UINT => {
                self.consume(&head);
                visitor.visit_u64(head.arg)
            }
            NINT => {
                self.consume(&head);
                match i64::try_from(head.arg) {
                    Ok(n) => visitor.visit_i64(-1 - n),
                    Err(_) => visitor.visit_i128(-1 - i128::from(head.arg)),
                }
            }
            BYTES => {
                self.consume(&head);
                let bytes = self.payload(head.arg)?;
                visit_bytes(bytes, Elem::U8, bytes_as, visitor)
            }
            TEXT => visitor.visit_borrowed_str(self.text(&head)?),
            ARRAY => self.array(&head, visitor),
            MAP => self.map(&head, visitor),
            TAG => self.special_tag(head, visitor, bytes_as),
            _ => {
                self.consume(&head);
                match head.info {
                    FALSE => visitor.visit_bool(false),
                    TRUE => visitor.visit_bool(true),
                    NULL | UNDEFINED => visitor.visit_unit(),
                    F16 => visitor.visit_f32(wire::f64_to_f32(wire::f16_to_f64(head.arg as u16))),
                    F32 => visitor.visit_f32(f32::from_bits(head.arg as u32)),
                    F64 => visitor.visit_f64(f64::from_bits(head.arg)),
                    _ => Err(mismatch(&head, &visitor)),
                }
            }
        }
    }

    /// The text of a text item whose head was just read.
    #[inline]
    fn text(&mut self, head: &Head) -> Result<&'de str> {
        self.consume(head);
        let at = self.pos;
        let bytes = self.payload(head.arg)?;
        std::str::from_utf8(bytes).map_err(|_| error_at(at, "text is not valid UTF-8"))
    }

    /// The field name, among those of the struct being read, that the text item whose head
    /// was just read spells; consumes the item if there is one. A key equal to a name known
    /// to be text needs no UTF-8 check, the largest cost of reading a key.
    #[inline]
    fn known_field(&mut self, head: &Head) -> Option<&'static str> {
        let start = self.pos + head.len();
        let len = usize::try_from(head.arg).ok()?;
        let bytes = self.input.get(start..start.checked_add(len)?)?;
        let fields = self.fields;
        let guess = fields
            .get(self.next_field)
            .filter(|f| f.as_bytes() == bytes);
        let (i, name) = match guess {
            Some(name) => (self.next_field, *name),
            None => fields
                .iter()
                .enumerate()
                .find(|(_, f)| f.as_bytes() == bytes)
                .map(|(i, f)| (i, *f))?,
        };
        self.next_field = i + 1;
        self.pos = start + len;
        Some(name)
    }

    /// Visits an array whose head was just read.
    fn array<V: Visitor<'de>>(&mut self, head: &Head, visitor: V) -> Result<V::Value> {
        let left = (self.input.len() - self.pos - head.len()) as u64;
        if head.arg > left {
            return Err(error_at(
                self.pos,
                format_args!("{} runs past the end of the input", wire::describe(head)),
            ));
        }
        self.enter()?;
        self.consume(head);
        let len = head.arg as usize;
        let mut access = ArrayAccess {
            de: self,
            remaining: len,
        };
        let value = visitor.visit_seq(&mut access)?;
        if access.remaining > 0 {
            return Err(CodecError::Decode(format!(
                "expected fewer elements, found an array of {len}"
            )));
        }
        self.depth -= 1;
        Ok(value)
    }

    /// Visits a map whose head was just read.
    fn map<V: Visitor<'de>>(&mut self, head: &Head, visitor: V) -> Result<V::Value> {
        let left = (self.input.len() - self.pos - head.len()) as u64;
        if head.arg > left / 2 {
            return Err(error_at(
                self.pos,
                format_args!("{} runs past the end of the input", wire::describe(head)),
            ));
        }
        self.enter()?;
        self.consume(head);
        let len = head.arg as usize;
        let mut access = MapAccess {
            de: self,
            remaining: len,
        };
        let value = visitor.visit_map(&mut access)?;
        if access.remaining > 0 {
            return Err(CodecError::Decode(format!(
                "expected fewer entries, found a map of {len}"
            )));
        }
        self.depth -= 1;
        Ok(value)
    }

    /// A bignum or typed-array tag (other tags were consumed by [`Decoder::untagged`]).
    fn special_tag<V: Visitor<'de>>(
        &mut self,
        head: Head,
        visitor: V,
        bytes_as: BytesAs,
    ) -> Result<V::Value> {
        self.enter()?;
        self.consume(&head);
        let at = self.pos;
        let (start, end) = wire::special_content(self.input, self.pos, head.arg)?;
        self.pos = end;
        let data = &self.input[start..end];
        let value = match typed_array(head.arg) {
            None => visit_bignum(data, head.arg == wire::TAG_NEG_BIGNUM, at, visitor)?,
            Some((elem, big_endian)) => match elem {
                Elem::U8 | Elem::U8Clamped => visit_bytes(data, elem, bytes_as, visitor)?,
                _ => visit_typed(data, elem, big_endian, visitor)?,
            },
        };
        self.depth -= 1;
        Ok(value)
    }
}

/// Whether a head is `null` or `undefined` (both read as `None` and `()`).
fn is_null(head: &Head) -> bool {
    head.major == SIMPLE && (head.info == NULL || head.info == UNDEFINED)
}

fn visit_bytes<'de, V: Visitor<'de>>(
    bytes: &'de [u8],
    elem: Elem,
    bytes_as: BytesAs,
    visitor: V,
) -> Result<V::Value> {
    match bytes_as {
        BytesAs::Bytes => visitor.visit_borrowed_bytes(bytes),
        BytesAs::Seq => visit_typed(bytes, elem, false, visitor),
    }
}

fn visit_typed<'de, V: Visitor<'de>>(
    data: &'de [u8],
    elem: Elem,
    big_endian: bool,
    visitor: V,
) -> Result<V::Value> {
    let len = data.len() / elem.size();
    let mut access = TypedAccess {
        data,
        elem,
        big_endian,
        next: 0,
        len,
    };
    let value = visitor.visit_seq(&mut access)?;
    if access.next < len {
        return Err(CodecError::Decode(format!(
            "expected fewer elements, found a {elem} array of {len}"
        )));
    }
    Ok(value)
}

fn visit_bignum<'de, V: Visitor<'de>>(
    data: &[u8],
    negative: bool,
    at: usize,
    visitor: V,
) -> Result<V::Value> {
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    let digits = &data[zeros..];
    if digits.len() > 16 {
        return Err(error_at(
            at,
            format_args!("bignum of {} bytes does not fit in 128 bits", digits.len()),
        ));
    }
    let n = digits
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
    if !negative {
        return match u64::try_from(n) {
            Ok(small) => visitor.visit_u64(small),
            Err(_) => visitor.visit_u128(n),
        };
    }
    if let Ok(small) = i64::try_from(n) {
        visitor.visit_i64(-1 - small)
    } else if let Ok(big) = i128::try_from(n) {
        visitor.visit_i128(-1 - big)
    } else {
        Err(error_at(at, "negative bignum is below i128::MIN"))
    }
}

/// The integer hints up to 64 bits, alike: an unsigned integer (the common case) goes to the
/// visitor as `u64` at once; anything else goes through [`Decoder::any`], where serde's own
/// range checks and messages apply.
macro_rules! deserialize_integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.untagged(|de, head| {
                if head.major == UINT {
                    de.consume(&head);
                    visitor.visit_u64(head.arg)
                } else {
                    de.any(head, visitor, BytesAs::Bytes)
                }
            })
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.open_marked_some()? {
            let value = visitor.visit_some(&mut *self)?;
            self.depth -= 1;
            return Ok(value);
        }
        self.untagged(|de, head| de.any(head, visitor, BytesAs::Seq))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| de.any(head, visitor, BytesAs::Bytes))
    }

    deserialize_integers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| de.any(head, visitor, BytesAs::Bytes))
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| de.any(head, visitor, BytesAs::Bytes))
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| de.any(head, visitor, BytesAs::Bytes))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            // A shorter float widens exactly here: serde's own `f32` to `f64` conversion may
            // set a NaN's quiet bit, and the value must read back bit for bit.
            if head.major == SIMPLE && (head.info == F16 || head.info == F32) {
                de.consume(&head);
                let wide = match head.info {
                    F16 => wire::f16_to_f64(head.arg as u16),
                    _ => wire::f32_to_f64(f32::from_bits(head.arg as u32)),
                };
                return visitor.visit_f64(wide);
            }
            de.any(head, visitor, BytesAs::Bytes)
        })
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| de.any(head, visitor, BytesAs::Bytes))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            if head.major == TEXT {
                visitor.visit_borrowed_str(de.text(&head)?)
            } else {
                de.any(head, visitor, BytesAs::Bytes)
            }
        })
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            if head.major == TEXT {
                visitor.visit_borrowed_str(de.text(&head)?)
            } else {
                de.any(head, visitor, BytesAs::Bytes)
            }
        })
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            if head.major == BYTES {
                de.consume(&head);
                visitor.visit_borrowed_bytes(de.payload(head.arg)?)
            } else {
                de.any(head, visitor, BytesAs::Bytes)
            }
        })
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            if head.major == BYTES {
                de.consume(&head);
                visitor.visit_borrowed_bytes(de.payload(head.arg)?)
            } else {
                de.any(head, visitor, BytesAs::Bytes)
            }
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.open_marked_some()? {
            let value = visitor.visit_some(&mut *self)?;
            self.depth -= 1;
            return Ok(value);
        }
        self.untagged(|de, head| {
            if is_null(&head) {
                de.consume(&head);
                visitor.visit_none()
            } else {
                visitor.visit_some(&mut *de)
            }
        })
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            if is_null(&head) {
                de.consume(&head);
                visitor.visit_unit()
            } else {
                Err(mismatch(&head, &visitor))
            }
        })
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            if head.major == ARRAY {
                de.array(&head, visitor)
            } else {
                de.any(head, visitor, BytesAs::Seq)
            }
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            if head.major == MAP {
                de.map(&head, visitor)
            } else {
                de.any(head, visitor, BytesAs::Bytes)
            }
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let outer = (
            std::mem::replace(&mut self.fields, fields),
            std::mem::replace(&mut self.next_field, 0),
        );
        let value = self.untagged(|de, head| {
            if head.major == MAP {
                de.map(&head, visitor)
            } else {
                de.any(head, visitor, BytesAs::Bytes)
            }
        });
        (self.fields, self.next_field) = outer;
        value
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.untagged(|de, head| match head.major {
            TEXT => visitor.visit_enum(EnumAccess { de, in_map: false }),
            MAP if head.arg == 1 => {
                de.enter()?;
                de.consume(&head);
                let value = visitor.visit_enum(EnumAccess {
                    de: &mut *de,
                    in_map: true,
                })?;
                de.depth -= 1;
                Ok(value)
            }
            _ => Err(mismatch(&head, &visitor)),
        })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.untagged(|de, head| {
            if head.major == TEXT {
                // The same text either way; only a name that is no field is borrowed.
                match de.known_field(&head) {
                    Some(name) => visitor.visit_str(name),
                    None => visitor.visit_borrowed_str(de.text(&head)?),
                }
            } else {
                de.any(head, visitor, BytesAs::Bytes)
            }
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.last = self.pos;
        self.pos = wire::skip(
            self.input,
            self.pos,
            MAX_DEPTH.saturating_sub(self.depth),
            true,
        )?;
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

struct ArrayAccess<'a, 'de> {
    de: &'a mut Decoder<'de>,
    remaining: usize,
}

impl<'de> de::SeqAccess<'de> for ArrayAccess<'_, 'de> {
    type Error = CodecError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

struct MapAccess<'a, 'de> {
    de: &'a mut Decoder<'de>,
    remaining: usize,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = CodecError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining)
    }
}

/// The elements of a typed array (or the bytes of a byte string) as a sequence.
struct TypedAccess<'de> {
    data: &'de [u8],
    elem: Elem,
    big_endian: bool,
    next: usize,
    len: usize,
}

impl<'de> de::SeqAccess<'de> for TypedAccess<'de> {
    type Error = CodecError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.next >= self.len {
            return Ok(None);
        }
        let size = self.elem.size();
        let raw = &self.data[self.next * size..(self.next + 1) * size];
        self.next += 1;
        seed.deserialize(NumDeserializer(num::read_elem(
            self.elem,
            self.big_endian,
            raw,
        )))
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len - self.next)
    }
}

/// An enum as text (a unit variant) or as the one-entry map `{variant: value}`.
struct EnumAccess<'a, 'de> {
    de: &'a mut Decoder<'de>,
    in_map: bool,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'_, 'de> {
    type Error = CodecError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let variant = seed.deserialize(&mut *self.de)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for EnumAccess<'_, 'de> {
    type Error = CodecError;

    fn unit_variant(self) -> Result<()> {
        if self.in_map {
            de::Deserialize::deserialize(&mut *self.de)
        } else {
            Ok(())
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        if self.in_map {
            seed.deserialize(&mut *self.de)
        } else {
            Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            ))
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        if self.in_map {
            de::Deserializer::deserialize_tuple(&mut *self.de, len, visitor)
        } else {
            Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            ))
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        if self.in_map {
            de::Deserializer::deserialize_struct(&mut *self.de, "", fields, visitor)
        } else {
            Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            ))
        }
    }
}
