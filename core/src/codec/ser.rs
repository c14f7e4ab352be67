//! The serde serializer: writes one CBOR item into a `Vec<u8>`.

use serde::Serialize;
use serde::ser;

use super::elem::{Elem, typed_array_tag};
use super::some;
use super::wire::{self, ARRAY, BYTES, MAP, NINT, TAG, TEXT, UINT};
use super::{CodecError, MAX_DEPTH};

type Result<T> = std::result::Result<T, CodecError>;

pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut enc = Encoder {
        out: Vec::new(),
        depth: 0,
    };
    value.serialize(&mut enc)?;
    Ok(enc.out)
}

/// Appends a head with the shortest argument encoding.
pub(crate) fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= 0xff {
        out.extend_from_slice(&[m | 24, arg as u8]);
    } else if arg <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// Appends a float in the shortest of binary16/32/64 that holds it exactly.
fn write_float(out: &mut Vec<u8>, v: f64) {
    if let Some(h) = wire::f64_to_f16_exact(v) {
        out.push(0xf9);
        out.extend_from_slice(&h.to_be_bytes());
    } else if let Some(f) = wire::f64_to_f32_exact(v) {
        out.push(0xfa);
        out.extend_from_slice(&f.to_bits().to_be_bytes());
    } else {
        out.push(0xfb);
        out.extend_from_slice(&v.to_bits().to_be_bytes());
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_head(out, UINT, v as u64);
    } else {
        // -1 - v, which is !v in two's complement.
        write_head(out, NINT, !v as u64);
    }
}

fn write_text(out: &mut Vec<u8>, s: &str) {
    write_head(out, TEXT, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The serializer state: the output and how many containers are open.
pub(crate) struct Encoder {
    out: Vec<u8>,
    depth: usize,
}

impl Encoder {
    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(CodecError::Encode(format!(
                "value nests arrays, maps and tags deeper than {MAX_DEPTH} levels"
            )));
        }
        self.depth += 1;
        Ok(())
    }

    fn bignum(&mut self, tag: u64, magnitude: u128) -> Result<()> {
        self.enter()?;
        let bytes = magnitude.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        write_head(&mut self.out, TAG, tag);
        write_head(&mut self.out, BYTES, (bytes.len() - skip) as u64);
        self.out.extend_from_slice(&bytes[skip..]);
        self.depth -= 1;
        Ok(())
    }

    /// Opens the one-entry map `{variant: ...}` of a non-unit enum variant.
    fn variant(&mut self, variant: &str) -> Result<()> {
        self.enter()?;
        write_head(&mut self.out, MAP, 1);
        write_text(&mut self.out, variant);
        Ok(())
    }
}

impl<'a> ser::Serializer for &'a mut Encoder {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = SeqEncoder<'a>;
    type SerializeTuple = SeqEncoder<'a>;
    type SerializeTupleStruct = SeqEncoder<'a>;
    type SerializeTupleVariant = SeqEncoder<'a>;
    type SerializeMap = MapEncoder<'a>;
    type SerializeStruct = MapEncoder<'a>;
    type SerializeStructVariant = MapEncoder<'a>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push(if v { 0xf5 } else { 0xf4 });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result<()> {
        write_int(&mut self.out, v);
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result<()> {
        if let Ok(small) = i64::try_from(v) {
            return self.serialize_i64(small);
        }
        if v >= 0 {
            return self.serialize_u128(v as u128);
        }
        let n = !v as u128;
        match u64::try_from(n) {
            Ok(n) => {
                write_head(&mut self.out, NINT, n);
                Ok(())
            }
            Err(_) => self.bignum(wire::TAG_NEG_BIGNUM, n),
        }
    }

    fn serialize_u8(self, v: u8) -> Result<()> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result<()> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<()> {
        self.serialize_u64(u64::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<()> {
        write_head(&mut self.out, UINT, v);
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result<()> {
        match u64::try_from(v) {
            Ok(small) => self.serialize_u64(small),
            Err(_) => self.bignum(wire::TAG_POS_BIGNUM, v),
        }
    }

    fn serialize_f32(self, v: f32) -> Result<()> {
        write_float(&mut self.out, wire::f32_to_f64(v));
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result<()> {
        write_float(&mut self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<()> {
        write_text(&mut self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<()> {
        write_text(&mut self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        write_head(&mut self.out, BYTES, v.len() as u64);
        self.out.extend_from_slice(v);
        Ok(())
    }

    fn serialize_none(self) -> Result<()> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        if !some::needs_tag(value) {
            return value.serialize(self);
        }
        self.enter()?;
        write_head(&mut self.out, TAG, some::TAG_SOME);
        value.serialize(&mut *self)?;
        self.depth -= 1;
        Ok(())
    }

    fn serialize_unit(self) -> Result<()> {
        self.out.push(0xf6);
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.variant(variant)?;
        value.serialize(&mut *self)?;
        self.depth -= 1;
        Ok(())
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqEncoder<'a>> {
        SeqEncoder::new(self, len, 0)
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqEncoder<'a>> {
        SeqEncoder::new(self, Some(len), 0)
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqEncoder<'a>> {
        SeqEncoder::new(self, Some(len), 0)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqEncoder<'a>> {
        self.variant(variant)?;
        SeqEncoder::new(self, Some(len), 1)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<MapEncoder<'a>> {
        MapEncoder::new(self, len, 0)
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapEncoder<'a>> {
        MapEncoder::new(self, Some(len), 0)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapEncoder<'a>> {
        self.variant(variant)?;
        MapEncoder::new(self, Some(len), 1)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Replaces the container head written at `start` (`written` bytes, possibly none) by `head`.
fn fix_head(out: &mut Vec<u8>, start: usize, written: usize, head: &[u8]) {
    if written == head.len() {
        out[start..start + written].copy_from_slice(head);
    } else {
        out.splice(start..start + written, head.iter().copied());
    }
}

/// The fixed-width number types a sequence can be packed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pack {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl Pack {
    fn elem(self) -> Elem {
        match self {
            Pack::U8 => Elem::U8,
            Pack::I8 => Elem::I8,
            Pack::U16 => Elem::U16,
            Pack::I16 => Elem::I16,
            Pack::U32 => Elem::U32,
            Pack::I32 => Elem::I32,
            Pack::U64 => Elem::U64,
            Pack::I64 => Elem::I64,
            Pack::F32 => Elem::F32,
            Pack::F64 => Elem::F64,
        }
    }

    /// The head of a packed sequence of `count` elements: a byte string, under a typed-array
    /// tag unless the elements are `u8`.
    fn head(self, count: usize) -> Vec<u8> {
        let mut h = Vec::with_capacity(11);
        if self != Pack::U8 {
            write_head(&mut h, TAG, typed_array_tag(self.elem()));
        }
        write_head(&mut h, BYTES, (count * self.elem().size()) as u64);
        h
    }

    /// Writes one raw little-endian element as an ordinary CBOR number.
    fn write_item(self, out: &mut Vec<u8>, raw: &[u8]) {
        fn arr<const N: usize>(raw: &[u8]) -> [u8; N] {
            let mut a = [0; N];
            a.copy_from_slice(raw);
            a
        }
        match self {
            Pack::U8 => write_head(out, UINT, u64::from(raw[0])),
            Pack::I8 => write_int(out, i64::from(raw[0] as i8)),
            Pack::U16 => write_head(out, UINT, u64::from(u16::from_le_bytes(arr(raw)))),
            Pack::I16 => write_int(out, i64::from(i16::from_le_bytes(arr(raw)))),
            Pack::U32 => write_head(out, UINT, u64::from(u32::from_le_bytes(arr(raw)))),
            Pack::I32 => write_int(out, i64::from(i32::from_le_bytes(arr(raw)))),
            Pack::U64 => write_head(out, UINT, u64::from_le_bytes(arr(raw))),
            Pack::I64 => write_int(out, i64::from_le_bytes(arr(raw))),
            Pack::F32 => write_float(out, wire::f32_to_f64(f32::from_le_bytes(arr(raw)))),
            Pack::F64 => write_float(out, f64::from_le_bytes(arr(raw))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No element yet.
    Undecided,
    /// Every element so far had this type; their raw bytes follow the head.
    Packed(Pack),
    /// An ordinary array; encoded items follow the head.
    General,
}

/// Writes a sequence, tuple or tuple struct (and the array of a tuple variant), packing it into
/// a byte string or typed array while its elements agree.
pub(crate) struct SeqEncoder<'a> {
    enc: &'a mut Encoder,
    /// Where this sequence's head starts in the output.
    start: usize,
    /// How many head bytes were written at `start` (0 while the length is unknown).
    head_len: usize,
    hint: Option<usize>,
    count: usize,
    mode: Mode,
    /// Containers opened around this one (the map of a tuple variant), closed with it.
    extra_levels: usize,
}

impl<'a> SeqEncoder<'a> {
    fn new(enc: &'a mut Encoder, hint: Option<usize>, extra_levels: usize) -> Result<Self> {
        enc.enter()?;
        let start = enc.out.len();
        Ok(SeqEncoder {
            enc,
            start,
            head_len: 0,
            hint,
            count: 0,
            mode: Mode::Undecided,
            extra_levels,
        })
    }

    /// Adds one fixed-width number: raw while the sequence stays packed as `pack`.
    fn number(
        &mut self,
        pack: Pack,
        raw: &[u8],
        general: impl FnOnce(&mut Encoder) -> Result<()>,
    ) -> Result<()> {
        match self.mode {
            Mode::Packed(p) if p == pack => {
                self.enc.out.extend_from_slice(raw);
                Ok(())
            }
            Mode::Undecided => {
                if let Some(n) = self.hint.filter(|&n| n > 0) {
                    let head = pack.head(n);
                    self.enc.out.extend_from_slice(&head);
                    self.head_len = head.len();
                }
                self.mode = Mode::Packed(pack);
                self.enc.out.extend_from_slice(raw);
                Ok(())
            }
            _ => {
                self.make_general();
                general(self.enc)
            }
        }
    }

    /// Turns the sequence into an ordinary array, rewriting any packed elements as items.
    fn make_general(&mut self) {
        match self.mode {
            Mode::General => {}
            Mode::Undecided => {
                self.write_array_head();
                self.mode = Mode::General;
            }
            Mode::Packed(pack) => {
                let raw = self.enc.out.split_off(self.start + self.head_len);
                self.enc.out.truncate(self.start);
                self.write_array_head();
                for chunk in raw.chunks_exact(pack.elem().size()) {
                    pack.write_item(&mut self.enc.out, chunk);
                }
                self.mode = Mode::General;
            }
        }
    }

    fn write_array_head(&mut self) {
        self.head_len = 0;
        if let Some(n) = self.hint {
            write_head(&mut self.enc.out, ARRAY, n as u64);
            self.head_len = self.enc.out.len() - self.start;
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(ElemSerializer { seq: self })?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<()> {
        let head = match self.mode {
            Mode::Packed(pack) => pack.head(self.count),
            Mode::Undecided | Mode::General => {
                let mut h = Vec::with_capacity(9);
                write_head(&mut h, ARRAY, self.count as u64);
                h
            }
        };
        if self.head_len == 0 || self.hint != Some(self.count) {
            fix_head(&mut self.enc.out, self.start, self.head_len, &head);
        }
        self.enc.depth -= 1 + self.extra_levels;
        Ok(())
    }
}

impl ser::SerializeSeq for SeqEncoder<'_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqEncoder<'_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqEncoder<'_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for SeqEncoder<'_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// Serializes one element of a sequence: fixed-width numbers may stay packed, anything else
/// makes the sequence an ordinary array and is written as an item.
struct ElemSerializer<'s, 'a> {
    seq: &'s mut SeqEncoder<'a>,
}

impl<'s> ElemSerializer<'s, '_> {
    fn general(self) -> &'s mut Encoder {
        self.seq.make_general();
        &mut *self.seq.enc
    }
}

impl<'s> ser::Serializer for ElemSerializer<'s, '_> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = SeqEncoder<'s>;
    type SerializeTuple = SeqEncoder<'s>;
    type SerializeTupleStruct = SeqEncoder<'s>;
    type SerializeTupleVariant = SeqEncoder<'s>;
    type SerializeMap = MapEncoder<'s>;
    type SerializeStruct = MapEncoder<'s>;
    type SerializeStructVariant = MapEncoder<'s>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.general().serialize_bool(v)
    }

    fn serialize_i8(self, v: i8) -> Result<()> {
        self.seq
            .number(Pack::I8, &v.to_le_bytes(), |e| e.serialize_i8(v))
    }

    fn serialize_i16(self, v: i16) -> Result<()> {
        self.seq
            .number(Pack::I16, &v.to_le_bytes(), |e| e.serialize_i16(v))
    }

    fn serialize_i32(self, v: i32) -> Result<()> {
        self.seq
            .number(Pack::I32, &v.to_le_bytes(), |e| e.serialize_i32(v))
    }

    fn serialize_i64(self, v: i64) -> Result<()> {
        self.seq
            .number(Pack::I64, &v.to_le_bytes(), |e| e.serialize_i64(v))
    }

    fn serialize_i128(self, v: i128) -> Result<()> {
        self.general().serialize_i128(v)
    }

    fn serialize_u8(self, v: u8) -> Result<()> {
        self.seq.number(Pack::U8, &[v], |e| e.serialize_u8(v))
    }

    fn serialize_u16(self, v: u16) -> Result<()> {
        self.seq
            .number(Pack::U16, &v.to_le_bytes(), |e| e.serialize_u16(v))
    }

    fn serialize_u32(self, v: u32) -> Result<()> {
        self.seq
            .number(Pack::U32, &v.to_le_bytes(), |e| e.serialize_u32(v))
    }

    fn serialize_u64(self, v: u64) -> Result<()> {
        self.seq
            .number(Pack::U64, &v.to_le_bytes(), |e| e.serialize_u64(v))
    }

    fn serialize_u128(self, v: u128) -> Result<()> {
        self.general().serialize_u128(v)
    }

    fn serialize_f32(self, v: f32) -> Result<()> {
        self.seq
            .number(Pack::F32, &v.to_le_bytes(), |e| e.serialize_f32(v))
    }

    fn serialize_f64(self, v: f64) -> Result<()> {
        self.seq
            .number(Pack::F64, &v.to_le_bytes(), |e| e.serialize_f64(v))
    }

    fn serialize_char(self, v: char) -> Result<()> {
        self.general().serialize_char(v)
    }

    fn serialize_str(self, v: &str) -> Result<()> {
        self.general().serialize_str(v)
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.general().serialize_bytes(v)
    }

    fn serialize_none(self) -> Result<()> {
        self.general().serialize_none()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        // `Some(x)` is written as `x`, so `Vec<Option<f64>>` without `None` still packs.
        if some::needs_tag(value) {
            return self.general().serialize_some(value);
        }
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<()> {
        self.general().serialize_unit()
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<()> {
        self.general().serialize_unit_struct(name)
    }

    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.general().serialize_unit_variant(name, index, variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        // Transparent, so a `Vec` of newtypes around numbers still packs.
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.general()
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqEncoder<'s>> {
        self.general().serialize_seq(len)
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqEncoder<'s>> {
        self.general().serialize_tuple(len)
    }

    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<SeqEncoder<'s>> {
        self.general().serialize_tuple_struct(name, len)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqEncoder<'s>> {
        self.general()
            .serialize_tuple_variant(name, index, variant, len)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<MapEncoder<'s>> {
        self.general().serialize_map(len)
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<MapEncoder<'s>> {
        self.general().serialize_struct(name, len)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapEncoder<'s>> {
        self.general()
            .serialize_struct_variant(name, index, variant, len)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Writes a map or struct (and the inner map of a struct variant).
pub(crate) struct MapEncoder<'a> {
    enc: &'a mut Encoder,
    start: usize,
    head_len: usize,
    hint: Option<usize>,
    count: usize,
    extra_levels: usize,
}

impl<'a> MapEncoder<'a> {
    fn new(enc: &'a mut Encoder, hint: Option<usize>, extra_levels: usize) -> Result<Self> {
        enc.enter()?;
        let start = enc.out.len();
        if let Some(n) = hint {
            write_head(&mut enc.out, MAP, n as u64);
        }
        let head_len = enc.out.len() - start;
        Ok(MapEncoder {
            enc,
            start,
            head_len,
            hint,
            count: 0,
            extra_levels,
        })
    }

    fn finish(self) -> Result<()> {
        if self.hint != Some(self.count) {
            let mut head = Vec::with_capacity(9);
            write_head(&mut head, MAP, self.count as u64);
            fix_head(&mut self.enc.out, self.start, self.head_len, &head);
        }
        self.enc.depth -= 1 + self.extra_levels;
        Ok(())
    }
}

impl ser::SerializeMap for MapEncoder<'_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        key.serialize(&mut *self.enc)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut *self.enc)?;
        self.count += 1;
        Ok(())
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for MapEncoder<'_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        write_text(&mut self.enc.out, key);
        value.serialize(&mut *self.enc)?;
        self.count += 1;
        Ok(())
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MapEncoder<'_> {
    type Ok = ();
    type Error = CodecError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}
