//! The canonical hashing serializer: a serde `Serializer` that writes a value's canonical
//! encoding (specified, and frozen, in the `digest` module documentation) straight into
//! BLAKE3, hashing map entries on their own so that their order does not matter.

mod element;

use element::Element;

use super::recent::{self, Start};

use std::fmt;

use blake3::hazmat::{ContextKey, HasherExt};
use serde::Serialize;

/// The BLAKE3 hash, keyed by `key` (a domain's context key), of `value`'s canonical encoding;
/// or the message its `Serialize` implementation failed with.
pub(super) fn hash<T: Serialize + ?Sized>(
    key: &'static ContextKey,
    value: &T,
) -> Result<[u8; 32], Box<str>> {
    let mut sink = Sink::new(key, Scratch::take(key));
    let result = value.serialize(&mut sink);
    let (out, scratch) = sink.finish();
    scratch.give_back();
    match result {
        Ok(()) => Ok(out),
        Err(e) => Err(e.0),
    }
}

// The encoding's tags (frozen: see the `digest` module documentation).
/// Unit and unit structs.
const TAG_UNIT: u8 = 0x00;
const TAG_FALSE: u8 = 0x01;
const TAG_TRUE: u8 = 0x02;
const TAG_NONE: u8 = 0x03;
/// `Some(x)`: this byte, then `x`.
const TAG_SOME: u8 = 0x04;
/// `0x10 + n`: a non-negative integer whose magnitude has `n` minimal little-endian bytes.
const TAG_UINT: u8 = 0x10;
/// `0x30 + n`: a negative integer `v`, with `-1 - v` in `n` minimal little-endian bytes.
const TAG_NINT: u8 = 0x30;
const TAG_FLOAT: u8 = 0x50;
const TAG_TEXT: u8 = 0x60;
const TAG_ARRAY_START: u8 = 0x70;
const TAG_ARRAY_END: u8 = 0x71;
/// In an array, a run of consecutive integer elements from 0 to 255: this byte, the count as
/// 8 little-endian bytes, the plain BLAKE3 hash of the bytes.
const TAG_BYTE_RUN: u8 = 0x72;
const TAG_MAP: u8 = 0x80;

/// How deeply arrays, maps and `Some`s may nest: the codec's limit, so that a value too deep
/// to digest would also be too deep to store.
const MAX_DEPTH: usize = crate::codec::MAX_DEPTH;

/// Bytes gathered before they are handed to BLAKE3 in one call, so large values hash at
/// BLAKE3's SIMD speed. Every full flush hands over exactly this many bytes.
const BUF: usize = 64 * 1024;
/// Room past `BUF` so a small write never needs a capacity check first; no small write is
/// longer than this.
const SLACK: usize = 32;
const _: () = assert!(BUF.is_power_of_two());
/// Bytes of a run gathered before they are handed to BLAKE3 in one call.
const RUN_BUF: usize = 64 * 1024;
const _: () = assert!(RUN_BUF.is_power_of_two());

/// The reusable memory of a digest computation, kept per thread so that digesting a scalar
/// allocates nothing once the thread has digested anything.
struct Scratch {
    buf: Box<[u8; BUF + SLACK]>,
    run: Box<[u8; RUN_BUF]>,
    tree: Box<Tree>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

impl Scratch {
    /// The thread's scratch memory, or fresh memory if it is in use (a `Serialize` impl that
    /// itself computes a digest) or the thread is shutting down.
    fn take(key: &'static ContextKey) -> Scratch {
        SCRATCH
            .try_with(std::cell::Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                let buf = vec![0u8; BUF + SLACK].into_boxed_slice();
                let run = vec![0u8; RUN_BUF].into_boxed_slice();
                Scratch {
                    buf: buf
                        .try_into()
                        .unwrap_or_else(|_| unreachable!("the buffer has BUF + SLACK bytes")),
                    run: run
                        .try_into()
                        .unwrap_or_else(|_| unreachable!("the buffer has RUN_BUF bytes")),
                    tree: Box::new(Tree {
                        key,
                        root: None,
                        levels: Vec::new(),
                        hashes: Vec::new(),
                        run_hasher: None,
                    }),
                }
            })
    }

    fn give_back(mut self) {
        /// Scratch lists that grew past this many entries are dropped rather than kept.
        const KEEP: usize = 1024;
        let tree = &mut *self.tree;
        tree.root = None;
        if let Some(hasher) = &mut tree.run_hasher {
            hasher.reset();
        }
        tree.levels.clear();
        tree.hashes.clear();
        if tree.levels.capacity() > KEEP {
            tree.levels = Vec::new();
        }
        if tree.hashes.capacity() > KEEP {
            tree.hashes = Vec::new();
        }
        let _ = SCRATCH.try_with(|cell| cell.set(Some(self)));
    }
}

/// A map entry being hashed: its encoding starts at `start` in the buffer (or at 0 after a
/// flush), and goes to `hasher` once it outgrows the buffer.
struct Level {
    start: usize,
    hasher: Option<Box<blake3::Hasher>>,
}

/// The hashers of a digest computation.
///
/// Map entries are hashed on their own (into `hashes`) while their parent is open. They share
/// the buffer: each open entry owns the bytes from its `start` to the next entry's `start`,
/// and the root owns the bytes before the first entry.
struct Tree {
    key: &'static ContextKey,
    /// The digest's hasher, made at the first flush (small values never need one).
    root: Option<Box<blake3::Hasher>>,
    /// The open map entries, innermost last.
    levels: Vec<Level>,
    /// Hashes of the finished entries of the open maps, innermost map's last.
    hashes: Vec<[u8; 32]>,
    /// The hasher of a byte run longer than its buffer (kept, reset, for the next).
    run_hasher: Option<Box<blake3::Hasher>>,
}

impl Tree {
    fn root(&mut self) -> &mut blake3::Hasher {
        let key = self.key;
        self.root
            .get_or_insert_with(|| Box::new(blake3::Hasher::new_from_context_key(key)))
    }

    /// The hasher that the bytes being written now belong to.
    fn top_hasher(&mut self) -> &mut blake3::Hasher {
        if self.levels.is_empty() {
            return self.root();
        }
        let level = self.levels.last_mut().unwrap_or_else(|| unreachable!());
        level
            .hasher
            .get_or_insert_with(|| Box::new(blake3::Hasher::new()))
    }

    /// Hands the first `BUF` bytes of the buffer (holding `len >= BUF`) to their hashers,
    /// moves the rest to the front, and returns its length.
    #[cold]
    #[inline(never)]
    fn flush(&mut self, buf: &mut [u8; BUF + SLACK], len: usize) -> usize {
        debug_assert!(len >= BUF);
        let root_end = self.levels.first().map_or(BUF, |l| l.start);
        self.root().update(&buf[..root_end]);
        let n = self.levels.len();
        for i in 0..n {
            let start = self.levels[i].start;
            let end = self.levels.get(i + 1).map_or(BUF, |l| l.start);
            if end > start {
                let hasher = self.levels[i]
                    .hasher
                    .get_or_insert_with(|| Box::new(blake3::Hasher::new()));
                hasher.update(&buf[start..end]);
            }
            self.levels[i].start = 0;
        }
        buf.copy_within(BUF..len, 0);
        len - BUF
    }
}

/// The serializer: writes the canonical encoding into a buffer that is flushed to BLAKE3.
///
/// Only `len` lives in the serializer itself; everything a flush touches is behind pointers,
/// so a flush (a call) does not force `len` out of a register in a tight loop.
struct Sink {
    /// Bytes in `buf`; below `BUF` between writes.
    len: usize,
    /// Open arrays, maps and `Some`s.
    depth: usize,
    buf: Box<[u8; BUF + SLACK]>,
    /// The byte run under way (see `element`): `run_len` bytes in `run`, after
    /// `run_spilled` bytes already handed to the tree's run hasher.
    run_len: usize,
    run_spilled: u64,
    run: Box<[u8; RUN_BUF]>,
    tree: Box<Tree>,
}

impl Sink {
    fn new(key: &'static ContextKey, mut scratch: Scratch) -> Sink {
        scratch.tree.key = key;
        Sink {
            len: 0,
            depth: 0,
            buf: scratch.buf,
            run_len: 0,
            run_spilled: 0,
            run: scratch.run,
            tree: scratch.tree,
        }
    }

    fn finish(mut self) -> ([u8; 32], Scratch) {
        // After an error entries may still be open; the hash is then thrown away.
        let rest = &self.buf[..self.len];
        let key = self.tree.key;
        let out = match &mut self.tree.root {
            Some(root) => *root.update(rest).finalize().as_bytes(),
            // Nothing was flushed: the digest is the keyed hash of these bytes alone.
            None => recent::remembered(Start::Context(key), rest, || {
                *blake3::Hasher::new_from_context_key(key)
                    .update(rest)
                    .finalize()
                    .as_bytes()
            }),
        };
        (
            out,
            Scratch {
                buf: self.buf,
                run: self.run,
                tree: self.tree,
            },
        )
    }

    #[inline(always)]
    fn flush(&mut self) {
        self.len = self.tree.flush(&mut self.buf, self.len);
    }

    /// Writes the first `n` bytes of `bytes` (`N <= SLACK`).
    #[inline(always)]
    fn put<const N: usize>(&mut self, bytes: [u8; N], n: usize) {
        // `len < BUF` between writes, so the mask changes nothing; it shows the compiler that
        // the slice is in bounds (`N <= SLACK`).
        let len = self.len & (BUF - 1);
        self.buf[len..len + N].copy_from_slice(&bytes);
        self.len = len + n;
        if self.len >= BUF {
            self.flush();
        }
    }

    #[inline(always)]
    fn put_byte(&mut self, b: u8) {
        self.put([b], 1);
    }

    #[inline(always)]
    fn put_head(&mut self, tag: u8, n: u64) {
        let mut a = [tag; 9];
        a[1..].copy_from_slice(&n.to_le_bytes());
        self.put(a, 9);
    }

    /// Writes any number of bytes.
    #[inline]
    fn write(&mut self, data: &[u8]) {
        let len = self.len;
        if data.len() < BUF - len {
            self.buf[len..len + data.len()].copy_from_slice(data);
            self.len = len + data.len();
        } else {
            self.write_long(data);
        }
    }

    #[cold]
    fn write_long(&mut self, mut data: &[u8]) {
        loop {
            let room = BUF - self.len;
            if data.len() < room {
                self.buf[self.len..self.len + data.len()].copy_from_slice(data);
                self.len += data.len();
                return;
            }
            self.buf[self.len..BUF].copy_from_slice(&data[..room]);
            self.len = BUF;
            data = &data[room..];
            self.flush();
            // The buffer is now empty: whole buffers' worth go straight to the hasher.
            let whole = data.len() / BUF * BUF;
            if whole > 0 {
                self.tree.top_hasher().update(&data[..whole]);
                data = &data[whole..];
            }
        }
    }

    #[inline(always)]
    fn uint(&mut self, tag: u8, m: u64) {
        let n = (64 - m.leading_zeros() as usize).div_ceil(8);
        let mut a = [tag + n as u8; 9];
        a[1..].copy_from_slice(&m.to_le_bytes());
        self.put(a, 1 + n);
    }

    #[inline(always)]
    fn uint128(&mut self, tag: u8, m: u128) {
        if let Ok(m) = u64::try_from(m) {
            self.uint(tag, m);
        } else {
            let n = (128 - m.leading_zeros() as usize).div_ceil(8);
            let mut a = [tag + n as u8; 17];
            a[1..].copy_from_slice(&m.to_le_bytes());
            self.put(a, 1 + n);
        }
    }

    #[inline(always)]
    fn int(&mut self, v: i64) {
        if v >= 0 {
            self.uint(TAG_UINT, v as u64);
        } else {
            self.uint(TAG_NINT, !v as u64);
        }
    }

    /// A float by its exact bits, so `-0.0` and every NaN payload keep their own digest.
    #[inline(always)]
    fn float(&mut self, bits: u64) {
        let mut a = [TAG_FLOAT; 9];
        a[1..].copy_from_slice(&bits.to_le_bytes());
        self.put(a, 9);
    }

    /// Opens one nesting level (an array, a map, a `Some`), refusing to go deeper than the
    /// codec could store, so a hostile or runaway value is an error and not a stack overflow.
    #[inline(always)]
    fn enter(&mut self) -> Result<(), Error> {
        if self.depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        self.depth += 1;
        Ok(())
    }

    #[inline(always)]
    fn leave(&mut self) {
        self.depth -= 1;
    }

    #[inline]
    fn text(&mut self, s: &str) {
        self.put_head(TAG_TEXT, s.len() as u64);
        self.write(s.as_bytes());
    }

    /// Opens a map; returns the mark to pass to [`Sink::end_map`].
    #[inline]
    fn begin_map(&mut self) -> usize {
        self.tree.hashes.len()
    }

    #[inline]
    fn begin_entry(&mut self) {
        self.tree.levels.push(Level {
            start: self.len,
            hasher: None,
        });
    }

    fn end_entry(&mut self) {
        let Some(level) = self.tree.levels.pop() else {
            unreachable!("an entry is open")
        };
        let bytes = &self.buf[level.start..self.len];
        let hash = match level.hasher {
            None => blake3::hash(bytes),
            Some(mut hasher) => {
                hasher.update(bytes);
                hasher.finalize()
            }
        };
        self.len = level.start;
        self.tree.hashes.push(*hash.as_bytes());
    }

    fn end_map(&mut self, mark: usize) {
        let count = self.tree.hashes.len() - mark;
        self.tree.hashes[mark..].sort_unstable();
        self.put_head(TAG_MAP, count as u64);
        for i in mark..self.tree.hashes.len() {
            let h = self.tree.hashes[i];
            self.write(&h);
        }
        self.tree.hashes.truncate(mark);
    }
}

/// The error a `Serialize` implementation reported.
#[derive(Debug)]
struct Error(Box<str>);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

#[cold]
fn too_deep() -> Error {
    Error(format!("the value nests arrays, maps and options deeper than {MAX_DEPTH} levels").into())
}

/// The `f64` bits of an `f32`, widened exactly: a NaN keeps its sign and payload (a hardware
/// conversion may set the quiet bit), so the digest does not depend on the platform.
fn widened(v: f32) -> u64 {
    let bits = u64::from(v.to_bits());
    if v.is_nan() {
        ((bits & 0x8000_0000) << 32) | (0x7ff << 52) | ((bits & 0x7f_ffff) << 29)
    } else {
        f64::from(v).to_bits()
    }
}

impl serde::ser::Error for Error {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Error(format!("its Serialize implementation failed: {msg}").into_boxed_str())
    }
}

/// An open map or struct: the mark of its first entry hash.
struct MapSer<'a> {
    sink: &'a mut Sink,
    mark: usize,
    /// A key was serialized and its value not yet.
    key_open: bool,
}

/// An open tuple variant: `{variant: [..]}`.
struct TupleVariantSer<'a> {
    sink: &'a mut Sink,
    mark: usize,
}

/// An open struct variant: `{variant: {..}}`.
struct StructVariantSer<'a> {
    sink: &'a mut Sink,
    outer: usize,
    inner: usize,
}

impl<'a> serde::Serializer for &'a mut Sink {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = TupleVariantSer<'a>;
    type SerializeMap = MapSer<'a>;
    type SerializeStruct = MapSer<'a>;
    type SerializeStructVariant = StructVariantSer<'a>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.put_byte(if v { TAG_TRUE } else { TAG_FALSE });
        Ok(())
    }

    #[inline]
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.int(v.into());
        Ok(())
    }

    #[inline]
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.int(v.into());
        Ok(())
    }

    #[inline]
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.int(v.into());
        Ok(())
    }

    #[inline]
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }

    #[inline]
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        if v >= 0 {
            self.uint128(TAG_UINT, v as u128);
        } else {
            self.uint128(TAG_NINT, !v as u128);
        }
        Ok(())
    }

    #[inline]
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.uint(TAG_UINT, v.into());
        Ok(())
    }

    #[inline]
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.uint(TAG_UINT, v.into());
        Ok(())
    }

    #[inline]
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.uint(TAG_UINT, v.into());
        Ok(())
    }

    #[inline]
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.uint(TAG_UINT, v);
        Ok(())
    }

    #[inline]
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.uint128(TAG_UINT, v);
        Ok(())
    }

    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(widened(v));
        Ok(())
    }

    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v.to_bits());
        Ok(())
    }

    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.text(v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.text(v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.bytes(v);
        Ok(())
    }

    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        self.put_byte(TAG_NONE);
        Ok(())
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.enter()?;
        self.put_byte(TAG_SOME);
        value.serialize(&mut *self)?;
        self.leave();
        Ok(())
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), Error> {
        self.put_byte(TAG_UNIT);
        Ok(())
    }

    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.put_byte(TAG_UNIT);
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.text(variant);
        Ok(())
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.enter()?;
        let mark = self.begin_map();
        self.begin_entry();
        self.text(variant);
        value.serialize(&mut *self)?;
        self.end_entry();
        self.end_map(mark);
        self.leave();
        Ok(())
    }

    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self, Error> {
        self.enter()?;
        self.put_byte(TAG_ARRAY_START);
        Ok(self)
    }

    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Self, Error> {
        self.enter()?;
        self.put_byte(TAG_ARRAY_START);
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self, Error> {
        self.enter()?;
        self.put_byte(TAG_ARRAY_START);
        Ok(self)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<TupleVariantSer<'a>, Error> {
        self.enter()?;
        self.enter()?;
        let mark = self.begin_map();
        self.begin_entry();
        self.text(variant);
        self.put_byte(TAG_ARRAY_START);
        Ok(TupleVariantSer { sink: self, mark })
    }

    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer<'a>, Error> {
        self.enter()?;
        let mark = self.begin_map();
        Ok(MapSer {
            sink: self,
            mark,
            key_open: false,
        })
    }

    #[inline]
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapSer<'a>, Error> {
        self.enter()?;
        let mark = self.begin_map();
        Ok(MapSer {
            sink: self,
            mark,
            key_open: false,
        })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<StructVariantSer<'a>, Error> {
        self.enter()?;
        self.enter()?;
        let outer = self.begin_map();
        self.begin_entry();
        self.text(variant);
        let inner = self.begin_map();
        Ok(StructVariantSer {
            sink: self,
            outer,
            inner,
        })
    }

    fn collect_seq<I>(self, iter: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        element::collect_seq(self, iter)
    }

    /// Frozen: types with two forms are digested in their human-readable one.
    fn is_human_readable(&self) -> bool {
        true
    }
}

impl serde::ser::SerializeSeq for &mut Sink {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Element(self))
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.end_array();
        self.leave();
        Ok(())
    }
}

impl serde::ser::SerializeTuple for &mut Sink {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Element(self))
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.end_array();
        self.leave();
        Ok(())
    }
}

impl serde::ser::SerializeTupleStruct for &mut Sink {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Element(self))
    }

    #[inline]
    fn end(self) -> Result<(), Error> {
        self.end_array();
        self.leave();
        Ok(())
    }
}

impl serde::ser::SerializeTupleVariant for TupleVariantSer<'_> {
    type Ok = ();
    type Error = Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Element(&mut *self.sink))
    }

    fn end(self) -> Result<(), Error> {
        self.sink.end_array();
        self.sink.end_entry();
        self.sink.end_map(self.mark);
        self.sink.leave();
        self.sink.leave();
        Ok(())
    }
}

impl serde::ser::SerializeMap for MapSer<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        if self.key_open {
            return Err(Error(
                "serialize_key called twice without serialize_value".into(),
            ));
        }
        self.key_open = true;
        self.sink.begin_entry();
        key.serialize(&mut *self.sink)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.key_open {
            return Err(Error("serialize_value called before serialize_key".into()));
        }
        value.serialize(&mut *self.sink)?;
        self.sink.end_entry();
        self.key_open = false;
        Ok(())
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        self.sink.begin_entry();
        key.serialize(&mut *self.sink)?;
        value.serialize(&mut *self.sink)?;
        self.sink.end_entry();
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        if self.key_open {
            return Err(Error("a map ended after a key without its value".into()));
        }
        self.sink.end_map(self.mark);
        self.sink.leave();
        Ok(())
    }
}

impl serde::ser::SerializeStruct for MapSer<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.sink.begin_entry();
        self.sink.text(key);
        value.serialize(&mut *self.sink)?;
        self.sink.end_entry();
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        self.sink.end_map(self.mark);
        self.sink.leave();
        Ok(())
    }
}

impl serde::ser::SerializeStructVariant for StructVariantSer<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.sink.begin_entry();
        self.sink.text(key);
        value.serialize(&mut *self.sink)?;
        self.sink.end_entry();
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        self.sink.end_map(self.inner);
        self.sink.end_entry();
        self.sink.end_map(self.outer);
        self.sink.leave();
        self.sink.leave();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, VecDeque};

    use serde::Serialize;

    use super::*;
    use crate::digest::{Digest, DigestError, digest, try_digest};

    // -- A hand-written reference encoder, to check the serializer byte for byte. --

    fn uint(tag: u8, m: u128) -> Vec<u8> {
        let bytes = m.to_le_bytes();
        let n = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let mut out = vec![tag + n as u8];
        out.extend_from_slice(&bytes[..n]);
        out
    }

    fn e_int(v: i128) -> Vec<u8> {
        if v >= 0 {
            uint(0x10, v as u128)
        } else {
            uint(0x30, (-1 - v) as u128)
        }
    }

    fn e_float(v: f64) -> Vec<u8> {
        let mut out = vec![0x50];
        out.extend_from_slice(&v.to_le_bytes());
        out
    }

    fn e_text(s: &str) -> Vec<u8> {
        let mut out = vec![0x60];
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out
    }

    /// An array of encoded elements: elements that are integers from 0 to 255 (encoded
    /// `10` or `11 b`) gather into runs.
    fn e_array(items: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0x70];
        let mut run = Vec::new();
        for i in items {
            match i.as_slice() {
                [0x10] => run.push(0),
                [0x11, b] => run.push(*b),
                _ => {
                    out.extend(e_run(&std::mem::take(&mut run)));
                    out.extend_from_slice(i);
                }
            }
        }
        out.extend(e_run(&run));
        out.push(0x71);
        out
    }

    /// A run of bytes in an array (nothing when empty).
    fn e_run(bytes: &[u8]) -> Vec<u8> {
        if bytes.is_empty() {
            return Vec::new();
        }
        let mut out = vec![0x72];
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(blake3::hash(bytes).as_bytes());
        out
    }

    fn e_map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let mut hashes: Vec<[u8; 32]> = entries
            .iter()
            .map(|(k, v)| *blake3::hash(&[k.as_slice(), v.as_slice()].concat()).as_bytes())
            .collect();
        hashes.sort();
        let mut out = vec![0x80];
        out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        for h in hashes {
            out.extend_from_slice(&h);
        }
        out
    }

    fn of_encoding(enc: &[u8]) -> Digest {
        let mut h = blake3::Hasher::new_derive_key("fleche 2026-12-01 value digest v3");
        h.update(enc);
        Digest::from_bytes(*h.finalize().as_bytes())
    }

    fn d<T: Serialize + ?Sized>(v: &T) -> Digest {
        digest(v)
    }

    #[test]
    fn scalars_match_the_reference_encoding() {
        assert_eq!(d(&()), of_encoding(&[0x00]));
        assert_eq!(d(&false), of_encoding(&[0x01]));
        assert_eq!(d(&true), of_encoding(&[0x02]));
        for v in [
            0i128,
            1,
            255,
            256,
            65535,
            65536,
            -1,
            -2,
            -256,
            -257,
            i64::MIN.into(),
            u64::MAX.into(),
            i128::MIN,
            i128::MAX,
        ] {
            assert_eq!(d(&v), of_encoding(&e_int(v)), "{v}");
        }
        assert_eq!(d(&u128::MAX), of_encoding(&uint(0x10, u128::MAX)));
        assert_eq!(d(&0u8), of_encoding(&[0x10]));
        assert_eq!(d(&-1i8), of_encoding(&[0x30]));
        assert_eq!(d(&1.5f64), of_encoding(&e_float(1.5)));
        assert_eq!(d("héllo"), of_encoding(&e_text("héllo")));
        assert_eq!(d(&[1u8, 0]), of_encoding(&e_array(&[e_int(1), e_int(0)])));
        let mut run = vec![0x70, 0x72, 2, 0, 0, 0, 0, 0, 0, 0];
        run.extend_from_slice(blake3::hash(&[1, 0]).as_bytes());
        run.push(0x71);
        assert_eq!(d(&[1u8, 0]), of_encoding(&run));
    }

    #[test]
    fn integers_agree_across_widths() {
        assert_eq!(d(&100i32), d(&100u8));
        assert_eq!(d(&100i32), d(&100i64));
        assert_eq!(d(&100i32), d(&100u128));
        assert_eq!(d(&100i32), d(&100i16));
        assert_eq!(d(&0u8), d(&0i128));
        assert_eq!(d(&-5i8), d(&-5i64));
        assert_eq!(d(&-5i8), d(&-5i128));
        assert_eq!(d(&u64::MAX), d(&u128::from(u64::MAX)));
        assert_eq!(d(&i64::MIN), d(&i128::from(i64::MIN)));
        assert_eq!(d(&u32::MAX), d(&i64::from(u32::MAX)));
        for v in [-1i64, -128, -129, -32768, -32769, i64::from(i32::MIN)] {
            assert_eq!(d(&v), d(&i128::from(v)), "{v}");
            if let Ok(w) = i32::try_from(v) {
                assert_eq!(d(&v), d(&w), "{v}");
            }
            if let Ok(w) = i16::try_from(v) {
                assert_eq!(d(&v), d(&w), "{v}");
            }
            if let Ok(w) = i8::try_from(v) {
                assert_eq!(d(&v), d(&w), "{v}");
            }
        }
    }

    #[test]
    fn distinct_integers_differ() {
        let values: Vec<i128> = vec![
            0,
            1,
            -1,
            2,
            -2,
            255,
            256,
            -256,
            -257,
            1 << 64,
            -(1 << 64),
            i128::MIN,
            i128::MAX,
        ];
        let digests: std::collections::HashSet<Digest> = values.iter().map(d).collect();
        assert_eq!(digests.len(), values.len());
        assert_ne!(d(&u128::MAX), d(&i128::MAX));
        assert_ne!(d(&u128::MAX), d(&i128::MIN));
        // Python's hash(-1) == hash(-2); here they differ.
        assert_ne!(d(&-1), d(&-2));
        assert_ne!(d(&-1.0), d(&-2.0));
    }

    #[test]
    fn floats_are_widened_exactly_and_kept_bit_for_bit() {
        assert_eq!(d(&1.5f32), d(&1.5f64));
        assert_eq!(d(&f32::INFINITY), d(&f64::INFINITY));
        assert_ne!(d(&0.1f32), d(&0.1f64)); // 0.1f32 is a different number
        assert_ne!(d(&-0.0f64), d(&0.0f64));
        assert_eq!(d(&-0.0f32), d(&-0.0f64));
        assert_eq!(d(&-0.0f64), of_encoding(&e_float(-0.0)));
        let nans = [
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
            f64::from_bits(0xfff8_dead_beef_0000),
        ];
        let digests: std::collections::HashSet<Digest> = nans.iter().map(d).collect();
        assert_eq!(digests.len(), nans.len());
        for n in nans {
            assert_eq!(d(&n), of_encoding(&e_float(n)));
        }
        // An f32 NaN widens with its sign and payload, the quiet bit untouched.
        let signalling = f32::from_bits(0xff80_0001);
        assert_eq!(d(&signalling), d(&f64::from_bits(0xfff0_0000_2000_0000)));
        assert_eq!(d(&f32::NAN), d(&f64::NAN));
        assert_ne!(d(&f64::NAN), d(&f64::INFINITY));
        assert_ne!(d(&f64::INFINITY), d(&f64::NEG_INFINITY));
        assert_ne!(d(&0.0), d(&f64::MIN_POSITIVE));
    }

    #[test]
    fn floats_never_equal_integers() {
        assert_ne!(d(&1.0), d(&1));
        assert_ne!(d(&0.0), d(&0));
        assert_ne!(d(&-1.0f32), d(&-1i8));
    }

    #[test]
    fn text_forms_agree() {
        assert_eq!(d(&'a'), d("a"));
        assert_eq!(d(&'é'), d(&String::from("é")));
        assert_eq!(d("x"), d(&std::borrow::Cow::<str>::Borrowed("x")));
        assert_ne!(d(""), d(&()));
        assert_ne!(d(""), d(&Vec::<u8>::new()));
        assert_ne!(d("a"), d(b"a"));
    }

    #[test]
    fn bytes_equal_byte_sequences() {
        let want = d(&vec![1u8, 2]);
        assert_eq!(d(serde_bytes::Bytes::new(&[1, 2])), want);
        assert_eq!(d(&serde_bytes::ByteBuf::from(vec![1, 2])), want);
        assert_eq!(d(&[1u8, 2]), want);
        assert_eq!(d(&vec![1i64, 2]), want);
        assert_eq!(d(&(1u16, 2i32)), want);
        assert_eq!(d(serde_bytes::Bytes::new(&[])), d(&Vec::<u8>::new()));
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(d(serde_bytes::Bytes::new(&all)), d(&all));
        assert_ne!(
            d(serde_bytes::Bytes::new(&[0])),
            d(serde_bytes::Bytes::new(&[]))
        );
    }

    #[test]
    fn long_bytes_equal_byte_sequences() {
        // Longer than the buffer, with zero bytes (1 encoded byte) among others (2 bytes).
        for n in [
            BUF / 2 - 1,
            BUF / 2 + 1,
            BUF,
            3 * BUF + 7,
            RUN_BUF - 1,
            RUN_BUF,
            RUN_BUF + 1,
            2 * RUN_BUF,
        ] {
            let v: Vec<u8> = (0..n).map(|i| (i * 7 % 5) as u8).collect();
            let want = d(&v);
            assert_eq!(d(serde_bytes::Bytes::new(&v)), want, "{n}");
            let enc = e_array(&v.iter().map(|&b| e_int(b.into())).collect::<Vec<_>>());
            assert_eq!(want, of_encoding(&enc), "{n}");
            // Behind a prefix, so the buffer boundaries fall elsewhere.
            assert_eq!(
                d(&("abc", serde_bytes::Bytes::new(&v))),
                d(&("abc", &v)),
                "{n}"
            );
        }
    }

    #[test]
    fn byte_runs_hold_integers_from_0_to_255_of_any_width() {
        let bytes = |v: &[u8]| v.iter().map(|&b| e_int(b.into())).collect::<Vec<_>>();
        // Integers by value: any width, signed or not, in an array or a tuple.
        let want = d(&vec![1u8, 2, 255, 0]);
        assert_eq!(d(&[1u16, 2, 255, 0]), want);
        assert_eq!(d(&(1i8, 2u64, 255i32, 0u128)), want);
        assert_eq!(d(&vec![1i128, 2, 255, 0]), want);
        assert_eq!(want, of_encoding(&e_array(&bytes(&[1, 2, 255, 0]))));
        // Other elements end a run; what follows starts another.
        let mixed = (1u8, 2u8, 256u16, -1i8, 3u8, "x", 4u8);
        let enc = e_array(&[
            e_int(1),
            e_int(2),
            e_int(256),
            e_int(-1),
            e_int(3),
            e_text("x"),
            e_int(4),
        ]);
        assert_eq!(d(&mixed), of_encoding(&enc));
        assert_ne!(d(&mixed), d(&(1u8, 2u8, 3u8, 4u8)));
        // A newtype is its content; a `Some`, an array or a byte string is not a run byte.
        assert_eq!(d(&[Newtype(7), Newtype(8)]), d(&[7u8, 8]));
        assert_ne!(d(&[Some(7u8), Some(8)]), d(&[7u8, 8]));
        assert_ne!(d(&[[7u8], [8]]), d(&[7u8, 8]));
        assert_ne!(
            d(&[serde_bytes::Bytes::new(&[7]), serde_bytes::Bytes::new(&[8])]),
            d(&[7u8, 8])
        );
        // Runs are maximal: where one array splits its bytes, another does not.
        assert_ne!(d(&(vec![1u8, 2], vec![3u8])), d(&(vec![1u8], vec![2u8, 3])));
        assert_ne!(d(&vec![1u8, 2, 3]), d(&vec![vec![1u8, 2, 3]]));
        // Runs inside map entries and enum variants.
        let mut m = BTreeMap::new();
        m.insert("k", serde_bytes::ByteBuf::from(vec![5u8; 70_000]));
        let mut n = HashMap::new();
        n.insert("k", vec![5u16; 70_000]);
        assert_eq!(d(&m), d(&n));
        assert_eq!(
            d(&E::C(1, "z")),
            of_encoding(&e_map(&[(e_text("C"), e_array(&[e_int(1), e_text("z")]))]))
        );
    }

    #[derive(Serialize)]
    struct TupleStruct(i32, &'static str);

    #[derive(Serialize)]
    struct Newtype(u64);

    #[derive(Serialize)]
    struct Unit;

    #[test]
    fn sequences_agree() {
        let v = vec![1, 2, 3];
        let want = d(&v);
        assert_eq!(d(&v[..]), want);
        assert_eq!(d(&[1u8, 2, 3]), want);
        assert_eq!(d(&(1i64, 2u32, 3u128)), want);
        assert_eq!(d(&VecDeque::from(vec![1, 2, 3])), want);
        assert_eq!(d(&TupleStruct(7, "x")), d(&(7, "x")));
        assert_ne!(d(&vec![1, 2]), d(&vec![2, 1]));
        assert_ne!(d(&Vec::<i32>::new()), d(&()));
        assert_ne!(d(&vec![()]), d(&Vec::<()>::new()));
    }

    #[test]
    fn newtypes_options_and_units() {
        assert_eq!(d(&Newtype(5)), d(&5));
        assert_eq!(d(&Unit), d(&()));
        assert_eq!(d(&()), of_encoding(&[0x00]));
        assert_eq!(d(&None::<i32>), of_encoding(&[0x03]));
        assert_eq!(d(&Some(5)), of_encoding(&[0x04, 0x11, 5]));
        // Every option level and unit keep their own digest.
        let all = [
            d(&()),
            d(&None::<()>),
            d(&Some(())),
            d(&Some(None::<()>)),
            d(&Some(Some(()))),
            d(&Some(Some(None::<()>))),
        ];
        let distinct: std::collections::HashSet<Digest> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len());
        assert_ne!(d(&Some(5)), d(&5));
        assert_ne!(d(&Some("a")), d("a"));
        assert_eq!(d(&Some(5i8)), d(&Some(5u64)));
    }

    /// A value `n` levels deep that owns no nested memory, so building and dropping it is
    /// cheap on any stack.
    struct Deep {
        levels: usize,
        option: bool,
    }

    impl Serialize for Deep {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if self.levels == 0 {
                return s.serialize_u8(0);
            }
            let inner = Deep {
                levels: self.levels - 1,
                option: self.option,
            };
            if self.option {
                s.serialize_some(&inner)
            } else {
                use serde::ser::SerializeSeq;
                let mut seq = s.serialize_seq(Some(1))?;
                seq.serialize_element(&inner)?;
                seq.end()
            }
        }
    }

    #[test]
    fn depth_is_limited_like_the_codec() {
        for option in [false, true] {
            let ok = Deep {
                levels: MAX_DEPTH,
                option,
            };
            assert!(try_digest(&ok).is_ok());
            assert!(crate::codec::encode(&ok).is_ok() || option);
            let deep = Deep {
                levels: MAX_DEPTH + 1,
                option,
            };
            let err = try_digest(&deep).unwrap_err();
            assert!(err.to_string().contains("deeper than 256"), "{err}");
            // The thread's scratch state is usable afterwards.
            assert_eq!(d(&vec![1]), of_encoding(&e_array(&[e_int(1)])));
        }
    }

    #[test]
    fn a_very_deep_value_is_an_error_on_a_small_stack() {
        let result = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let seq = try_digest(&Deep {
                    levels: 100_000,
                    option: false,
                });
                let opt = try_digest(&Deep {
                    levels: 100_000,
                    option: true,
                });
                (seq.is_err(), opt.is_err())
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(result, (true, true));
    }

    #[test]
    fn maps_ignore_order() {
        let mut a = HashMap::new();
        let mut b = HashMap::new();
        for i in 0..50 {
            a.insert(i, i * 3);
        }
        for i in (0..50).rev() {
            b.insert(i, i * 3);
        }
        let c: BTreeMap<i64, i64> = (0..50).map(|i| (i, i * 3)).collect();
        assert_eq!(d(&a), d(&b));
        assert_eq!(d(&a), d(&c));
        let mut e = c.clone();
        e.insert(0, 1);
        assert_ne!(d(&c), d(&e));
        let enc = e_map(&[(e_text("a"), e_int(1)), (e_text("b"), e_int(2))]);
        let m: BTreeMap<&str, i32> = [("b", 2), ("a", 1)].into();
        assert_eq!(d(&m), of_encoding(&enc));
    }

    #[test]
    fn maps_bind_keys_to_values() {
        let x: BTreeMap<&str, i32> = [("a", 1), ("b", 2)].into();
        let y: BTreeMap<&str, i32> = [("a", 2), ("b", 1)].into();
        assert_ne!(d(&x), d(&y));
        let p: BTreeMap<i32, i32> = [(1, 2)].into();
        let q: BTreeMap<i32, i32> = [(2, 1)].into();
        assert_ne!(d(&p), d(&q));
        assert_ne!(d(&p), d(&[1, 2]));
        assert_ne!(d(&p), d(&[(1, 2)]));
        assert_ne!(d(&BTreeMap::<i32, i32>::new()), d(&Vec::<i32>::new()));
        assert_ne!(d(&BTreeMap::<i32, i32>::new()), d(&()));
    }

    #[derive(Serialize)]
    struct Point {
        x: i32,
        y: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        #[serde(skip)]
        _cache: u8,
    }

    #[derive(Serialize)]
    struct Wrapper {
        name: &'static str,
        point: Point,
    }

    #[test]
    fn structs_are_maps() {
        let p = Point {
            x: 1,
            y: 2.5,
            label: None,
            _cache: 9,
        };
        #[derive(Serialize)]
        #[serde(untagged)]
        enum V {
            I(i32),
            F(f64),
        }
        let m: HashMap<&str, V> = [("y", V::F(2.5)), ("x", V::I(1))].into();
        assert_eq!(d(&p), d(&m));
        let labelled = Point {
            x: 1,
            y: 2.5,
            label: Some("p".into()),
            _cache: 0,
        };
        assert_ne!(d(&p), d(&labelled));
        let w = Wrapper {
            name: "w",
            point: p,
        };
        let enc_point = e_map(&[(e_text("x"), e_int(1)), (e_text("y"), e_float(2.5))]);
        let enc = e_map(&[(e_text("name"), e_text("w")), (e_text("point"), enc_point)]);
        assert_eq!(d(&w), of_encoding(&enc));
    }

    #[derive(Serialize)]
    enum E {
        A,
        B(i32),
        C(i32, &'static str),
        D { x: i32, y: bool },
    }

    #[test]
    fn enums_are_externally_tagged() {
        assert_eq!(d(&E::A), d("A"));
        assert_eq!(d(&E::B(5)), d(&BTreeMap::from([("B", 5)])));
        assert_eq!(d(&E::C(1, "z")), d(&BTreeMap::from([("C", (1, "z"))])));
        #[derive(Serialize)]
        struct DFields {
            y: bool,
            x: i32,
        }
        assert_eq!(
            d(&E::D { x: 1, y: true }),
            d(&BTreeMap::from([("D", DFields { x: 1, y: true })]))
        );
        let enc = e_map(&[(e_text("C"), e_array(&[e_int(1), e_text("z")]))]);
        assert_eq!(d(&E::C(1, "z")), of_encoding(&enc));
        assert_ne!(d(&E::B(5)), d(&5));
        assert_ne!(d(&E::D { x: 1, y: true }), d(&E::D { x: 1, y: false }));
    }

    #[test]
    fn encodings_are_prefix_free() {
        assert_ne!(d(&["ab", "c"]), d(&["a", "bc"]));
        assert_ne!(d(&("a", "")), d(&("", "a")));
        // Would collide if text were not length-prefixed ('`' is the text tag byte 0x60).
        assert_ne!(d(&["a", ""]), d(&["a`"]));
        assert_ne!(d(&(vec![1], 2)), d(&(1, vec![2])));
        assert_ne!(d(&vec![vec![1, 2]]), d(&vec![1, 2]));
        assert_ne!(d(&vec![Vec::<i32>::new()]), d(&Vec::<i32>::new()));
        assert_ne!(d(&(1, Vec::<i32>::new())), d(&vec![vec![1]]));
        assert_ne!(d(&(256u16, 0u8)), d(&(0u8, 1u8, 1u8)));
        assert_ne!(
            d(&BTreeMap::from([("a", "bc")])),
            d(&BTreeMap::from([("ab", "c")]))
        );
        assert_ne!(
            d(&BTreeMap::from([("a", ("b", "c"))])),
            d(&BTreeMap::from([(("a", "b"), "c")]))
        );
    }

    struct Fails;

    impl Serialize for Fails {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("boom at 42"))
        }
    }

    #[test]
    fn errors_propagate_with_their_message() {
        let err = try_digest(&Fails).unwrap_err();
        assert!(err.to_string().contains("boom at 42"), "{err}");
        assert_eq!(
            err,
            DigestError {
                message: "its Serialize implementation failed: boom at 42".into()
            }
        );
        // Inside maps and sequences too, and the thread's scratch state is reset afterwards.
        let before = d(&BTreeMap::from([("k", vec![1, 2])]));
        let big = vec![0.5f64; BUF];
        assert!(try_digest(&(vec![1, 2], Fails)).is_err());
        assert!(try_digest(&BTreeMap::from([("k", (&big, Fails))])).is_err());
        assert!(try_digest(&E::B(1)).is_ok());
        assert_eq!(d(&BTreeMap::from([("k", vec![1, 2])])), before);
    }

    /// A map whose `Serialize` implementation breaks the key-then-value protocol.
    struct BadMap(u8);

    impl Serialize for BadMap {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(None)?;
            match self.0 {
                0 => m.serialize_value(&1)?,
                1 => {
                    m.serialize_key(&1)?;
                    m.serialize_key(&2)?;
                }
                _ => m.serialize_key(&1)?,
            }
            m.end()
        }
    }

    #[test]
    fn map_protocol_misuse_is_an_error() {
        for (kind, text) in [
            (0, "before serialize_key"),
            (1, "called twice"),
            (2, "without its value"),
        ] {
            let err = try_digest(&BadMap(kind)).unwrap_err();
            assert!(err.to_string().contains(text), "{err}");
        }
        assert_eq!(
            d(&BTreeMap::from([(1, 2)])),
            of_encoding(&e_map(&[(e_int(1), e_int(2))]))
        );
    }

    /// A value whose serialization computes a digest itself.
    struct Reentrant(Vec<u32>);

    impl Serialize for Reentrant {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            digest(&self.0).to_hex().serialize(s)
        }
    }

    #[test]
    fn reentrant_digests() {
        let inner = d(&vec![1u32, 2]).to_hex();
        assert_eq!(
            d(&BTreeMap::from([("r", Reentrant(vec![1, 2]))])),
            d(&BTreeMap::from([("r", inner)]))
        );
    }

    #[test]
    fn large_values_cross_buffer_boundaries() {
        // Lengths and prefixes that put buffer flushes at every offset inside a float.
        for n in [
            0usize,
            1,
            BUF / 9 - 1,
            BUF / 9,
            BUF / 9 + 1,
            3 * BUF / 9 + 5,
        ] {
            let v: Vec<f64> = (0..n).map(|i| i as f64 * 0.25 - 3.0).collect();
            let enc_v = e_array(&v.iter().map(|&x| e_float(x)).collect::<Vec<_>>());
            assert_eq!(d(&v), of_encoding(&enc_v), "{n}");
            for pad in 0..9 {
                let p = "p".repeat(pad);
                let enc = e_array(&[e_text(&p), enc_v.clone()]);
                assert_eq!(d(&(&p, &v)), of_encoding(&enc), "{n} {pad}");
            }
        }
    }

    #[derive(Serialize)]
    enum E2<'a> {
        V(u8, &'a [f64]),
    }

    #[test]
    fn large_values_inside_nested_maps() {
        #[derive(Serialize)]
        struct Inner<'a> {
            pad: String,
            xs: &'a [f64],
            tail: i32,
        }
        #[derive(Serialize)]
        struct Outer<'a> {
            head: &'a str,
            inner: Inner<'a>,
            text: &'a str,
        }
        let xs: Vec<f64> = (0..20_000).map(|i| f64::from(i).sqrt()).collect();
        let long = "ü".repeat(BUF); // 2 * BUF bytes
        for pad in [0, 3, 5000] {
            let value = Outer {
                head: "h",
                inner: Inner {
                    pad: "q".repeat(pad),
                    xs: &xs,
                    tail: -3,
                },
                text: &long,
            };
            let enc_inner = e_map(&[
                (e_text("pad"), e_text(&"q".repeat(pad))),
                (
                    e_text("xs"),
                    e_array(&xs.iter().map(|&x| e_float(x)).collect::<Vec<_>>()),
                ),
                (e_text("tail"), e_int(-3)),
            ]);
            let enc = e_map(&[
                (e_text("head"), e_text("h")),
                (e_text("inner"), enc_inner),
                (e_text("text"), e_text(&long)),
            ]);
            assert_eq!(d(&value), of_encoding(&enc), "{pad}");
        }
        // Entries whose own bytes before a nested entry are a single byte (an integer key).
        let big: Vec<f64> = (0..BUF / 4).map(|i| i as f64).collect();
        let enc_big = e_array(&big.iter().map(|&x| e_float(x)).collect::<Vec<_>>());
        let nested =
            BTreeMap::from([(0u8, BTreeMap::from([(1u8, BTreeMap::from([(0u8, &big)]))]))]);
        let enc_nested = e_map(&[(
            e_int(0),
            e_map(&[(e_int(1), e_map(&[(e_int(0), enc_big.clone())]))]),
        )]);
        assert_eq!(d(&nested), of_encoding(&enc_nested));
        assert_eq!(
            d(&("r", &nested)),
            of_encoding(&e_array(&[e_text("r"), enc_nested.clone()]))
        );
        assert_eq!(
            d(&E2::V(7, &big)),
            of_encoding(&e_map(&[(e_text("V"), e_array(&[e_int(7), enc_big]))]))
        );
        // Long text at the top level and in a sequence.
        assert_eq!(d(long.as_str()), of_encoding(&e_text(&long)));
        let huge = "z".repeat(3 * BUF + 11);
        assert_eq!(
            d(&(1, &huge, 2)),
            of_encoding(&e_array(&[e_int(1), e_text(&huge), e_int(2)]))
        );
    }
}
