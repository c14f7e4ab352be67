//! Array elements, and the byte runs they form: consecutive elements that are integers from 0
//! to 255 are hashed as one run of raw bytes, so a `Vec<u8>` (one serde call per element)
//! and a `serde_bytes` byte string (one call) digest alike, at BLAKE3's own speed.

use serde::Serialize;

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

    /// Frozen, as for the sink itself.
    fn is_human_readable(&self) -> bool {
        true
    }
}
