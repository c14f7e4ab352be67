//! Array elements, and the byte runs they form: consecutive elements that are integers from 0
//! to 255 are hashed as one run of raw bytes, so a `Vec<u8>` (one serde call per element)
//! and a `serde_bytes` byte string (one call) digest alike, at BLAKE3's own speed.

use serde::Serialize;
use serde::ser::Impossible;

use super::{
    Error, MapSer, RUN_BUF, Sink, StructVariantSer, TAG_ARRAY_END, TAG_ARRAY_START, TAG_BYTE_RUN,
    TupleVariantSer,
};

impl Sink {
    /// Adds one byte to the run under way (or starts one).
    #[inline(always)]
    pub(super) fn run_byte(&mut self, b: u8) {
        if self.run_len == RUN_BUF {
            self.spill_run();
        }
        // `run_len < RUN_BUF` here; the mask shows the compiler the index is in bounds.
        self.run[self.run_len & (RUN_BUF - 1)] = b;
        self.run_len += 1;
    }

    #[cold]
    #[inline(never)]
    fn spill_run(&mut self) {
        self.tree
            .run_hasher
            .get_or_insert_with(|| Box::new(blake3::Hasher::new()))
            .update(&self.run[..]);
        self.run_spilled += RUN_BUF as u64;
        self.run_len = 0;
    }

    /// Ends the run under way, if any: what comes next is not one of its bytes.
    #[inline(always)]
    pub(super) fn close_run(&mut self) {
        if self.run_len != 0 || self.run_spilled != 0 {
            self.end_run();
        }
    }

    #[inline(never)]
    fn end_run(&mut self) {
        let count = self.run_spilled + self.run_len as u64;
        let bytes = &self.run[..self.run_len];
        let hash = match self.tree.run_hasher.as_mut() {
            Some(hasher) => {
                let hash = hasher.update(bytes).finalize();
                hasher.reset();
                hash
            }
            None => blake3::hash(bytes),
        };
        self.run_len = 0;
        self.run_spilled = 0;
        self.run_head(count, &hash);
    }

    /// Writes a run's encoding: its tag, its length, the plain BLAKE3 hash of its bytes.
    fn run_head(&mut self, count: u64, hash: &blake3::Hash) {
        let mut head = [TAG_BYTE_RUN; 41];
        head[1..9].copy_from_slice(&count.to_le_bytes());
        head[9..].copy_from_slice(hash.as_bytes());
        self.write(&head);
    }

    /// Adds bytes to the run under way (or starts one).
    fn run_extend(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.run_len == RUN_BUF {
                self.spill_run();
            }
            let n = (RUN_BUF - self.run_len).min(bytes.len());
            self.run[self.run_len..self.run_len + n].copy_from_slice(&bytes[..n]);
            self.run_len += n;
            bytes = &bytes[n..];
        }
    }

    /// A byte string: an array whose elements are its bytes, so one run (none if empty).
    pub(super) fn bytes(&mut self, v: &[u8]) {
        self.put_byte(TAG_ARRAY_START);
        if !v.is_empty() {
            self.run_head(v.len() as u64, &blake3::hash(v));
        }
        self.put_byte(TAG_ARRAY_END);
    }

    /// Ends an array: its last run, then the end tag.
    #[inline]
    pub(super) fn end_array(&mut self) {
        self.close_run();
        self.put_byte(TAG_ARRAY_END);
    }
}

/// A sequence given whole (`Vec`, slices, `VecDeque`, ... through `collect_seq`). Each element
/// is first asked whether it is a byte by a serializer with no state; bytes gather in a local
/// buffer, which the compiler keeps apart from everything else, so a `Vec<u8>` digests at
/// about one cycle a byte instead of going through the sink once per byte.
pub(super) fn collect_seq<I>(sink: &mut Sink, iter: I) -> Result<(), Error>
where
    I: IntoIterator,
    I::Item: Serialize,
{
    const LOCAL: usize = 4096;
    let seq = serde::Serializer::serialize_seq(&mut *sink, None)?;
    let mut buf = [0u8; LOCAL];
    let mut n = 0;
    for item in iter {
        if let Ok(b) = item.serialize(ByteOf) {
            buf[n] = b;
            n += 1;
            if n == LOCAL {
                seq.run_extend(&buf);
                n = 0;
            }
        } else {
            seq.run_extend(&buf[..n]);
            n = 0;
            item.serialize(Element(&mut *seq))?;
        }
    }
    seq.run_extend(&buf[..n]);
    serde::ser::SerializeSeq::end(seq)
}

/// Whether a value is an integer from 0 to 255 (a newtype of one counts), and which: the
/// answer is `Ok(byte)`, or `Err` for anything else, before it has written anything.
struct ByteOf;

/// Not a byte; carries nothing, as the element is then serialized again, for real.
#[derive(Debug)]
struct NotAByte;

impl std::fmt::Display for NotAByte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a byte")
    }
}

impl std::error::Error for NotAByte {}

impl serde::ser::Error for NotAByte {
    fn custom<M: std::fmt::Display>(_msg: M) -> Self {
        NotAByte
    }
}

macro_rules! not_a_byte {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(
            #[inline(always)]
            fn $name(self, $(_: $ty),*) -> Result<$out, NotAByte> {
                Err(NotAByte)
            }
        )*
    };
}

impl serde::Serializer for ByteOf {
    type Ok = u8;
    type Error = NotAByte;
    type SerializeSeq = Impossible<u8, NotAByte>;
    type SerializeTuple = Impossible<u8, NotAByte>;
    type SerializeTupleStruct = Impossible<u8, NotAByte>;
    type SerializeTupleVariant = Impossible<u8, NotAByte>;
    type SerializeMap = Impossible<u8, NotAByte>;
    type SerializeStruct = Impossible<u8, NotAByte>;
    type SerializeStructVariant = Impossible<u8, NotAByte>;

    #[inline(always)]
    fn serialize_u8(self, v: u8) -> Result<u8, NotAByte> {
        Ok(v)
    }

    #[inline(always)]
    fn serialize_u16(self, v: u16) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_u32(self, v: u32) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_u64(self, v: u64) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_u128(self, v: u128) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_i8(self, v: i8) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_i16(self, v: i16) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_i32(self, v: i32) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_i64(self, v: i64) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_i128(self, v: i128) -> Result<u8, NotAByte> {
        u8::try_from(v).map_err(|_| NotAByte)
    }

    #[inline(always)]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<u8, NotAByte> {
        value.serialize(self)
    }

    not_a_byte! {
        serialize_bool(v: bool) -> u8;
        serialize_f32(v: f32) -> u8;
        serialize_f64(v: f64) -> u8;
        serialize_char(v: char) -> u8;
        serialize_str(v: &str) -> u8;
        serialize_bytes(v: &[u8]) -> u8;
        serialize_none() -> u8;
        serialize_unit() -> u8;
        serialize_unit_struct(name: &'static str) -> u8;
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> u8;
        serialize_seq(len: Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(len: usize) -> Self::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> Self::SerializeMap;
        serialize_struct(name: &'static str, len: usize) -> Self::SerializeStruct;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeStructVariant;
    }

    #[inline(always)]
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<u8, NotAByte> {
        Err(NotAByte)
    }

    #[inline(always)]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<u8, NotAByte> {
        Err(NotAByte)
    }

    fn collect_str<T: std::fmt::Display + ?Sized>(self, _value: &T) -> Result<u8, NotAByte> {
        Err(NotAByte)
    }

    /// As the sink's: it only matters to types with two forms, which are never bytes in
    /// either, but a type may choose its form before it calls the serializer.
    fn is_human_readable(&self) -> bool {
        true
    }
}

/// The serializer of one array element: an integer from 0 to 255 joins the run under way;
/// anything else ends it and is written as usual. A newtype struct is its content, so it may
/// join the run too; a `Some`, a nested array or a byte string never does.
pub(super) struct Element<'a>(pub(super) &'a mut Sink);

impl<'a> Element<'a> {
    /// The integer `v` as an element: a run byte when it fits in one.
    #[inline(always)]
    fn int(self, v: i128) -> Result<(), Error> {
        match u8::try_from(v) {
            Ok(b) => self.0.run_byte(b),
            Err(_) => {
                self.0.close_run();
                if let Ok(v) = i64::try_from(v) {
                    self.0.int(v);
                } else {
                    serde::Serializer::serialize_i128(&mut *self.0, v)?;
                }
            }
        }
        Ok(())
    }

    /// The sink, after ending the run under way.
    #[inline(always)]
    fn other(self) -> &'a mut Sink {
        self.0.close_run();
        self.0
    }
}

macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(
            #[inline]
            fn $name(self, $($arg: $ty),*) -> Result<$out, Error> {
                self.other().$name($($arg),*)
            }
        )*
    };
}

impl<'a> serde::Serializer for Element<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = &'a mut Sink;
    type SerializeTuple = &'a mut Sink;
    type SerializeTupleStruct = &'a mut Sink;
    type SerializeTupleVariant = TupleVariantSer<'a>;
    type SerializeMap = MapSer<'a>;
    type SerializeStruct = MapSer<'a>;
    type SerializeStructVariant = StructVariantSer<'a>;

    #[inline(always)]
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.0.run_byte(v);
        Ok(())
    }

    #[inline(always)]
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.int(v.into())
    }

    #[inline(always)]
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.int(v.into())
    }

    #[inline(always)]
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.int(v.into())
    }

    #[inline(always)]
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match i128::try_from(v) {
            Ok(v) => self.int(v),
            Err(_) => self.other().serialize_u128(v),
        }
    }

    #[inline(always)]
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.int(v.into())
    }

    #[inline(always)]
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.int(v.into())
    }

    #[inline(always)]
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.int(v.into())
    }

    #[inline(always)]
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.int(v.into())
    }

    #[inline(always)]
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.int(v)
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    forward! {
        serialize_bool(v: bool) -> ();
        serialize_f32(v: f32) -> ();
        serialize_f64(v: f64) -> ();
        serialize_char(v: char) -> ();
        serialize_str(v: &str) -> ();
        serialize_bytes(v: &[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(name: &'static str) -> ();
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> ();
        serialize_seq(len: Option<usize>) -> &'a mut Sink;
        serialize_tuple(len: usize) -> &'a mut Sink;
        serialize_tuple_struct(name: &'static str, len: usize) -> &'a mut Sink;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> TupleVariantSer<'a>;
        serialize_map(len: Option<usize>) -> MapSer<'a>;
        serialize_struct(name: &'static str, len: usize) -> MapSer<'a>;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> StructVariantSer<'a>;
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.other().serialize_some(value)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.other()
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn collect_seq<I>(self, iter: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        self.0.close_run();
        collect_seq(self.0, iter)
    }

    /// Frozen, as for the sink itself.
    fn is_human_readable(&self) -> bool {
        true
    }
}
