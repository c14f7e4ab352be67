//! The codec of stored values: self-describing CBOR (RFC 8949) with field names, through serde.
//!
//! Every stored value is one CBOR item, so a reader that does not know the Rust types (the
//! terminal browser, [`inspect`]) can still show it as a tree with field names, and a reader
//! of only its first bytes ([`prefix`]) can show as much as those bytes hold.
//!
//! # Mapping
//!
//! | Rust / serde | CBOR |
//! | --- | --- |
//! | `bool` | `true` / `false` |
//! | integers | major types 0 and 1; `i128`/`u128` beyond 64 bits as bignums (tags 2 and 3) |
//! | `f32`, `f64` | the shortest of binary16/32/64 that holds the value exactly (NaN payloads too) |
//! | `char`, `String`, `&str` | text |
//! | `serialize_bytes` (`serde_bytes`) | byte string |
//! | `None`, `()`, unit structs | `null` |
//! | `Some(x)`, newtype structs | `x` itself, except as below |
//! | `Some(x)` where `x` is written as `null` or as this tag | tag 61932 (`0xf1ec`) over `x` |
//! | sequences, tuples, tuple structs | arrays, but see *compact sequences* below |
//! | maps (any key type), structs | maps; struct field names are text keys |
//! | unit variant | its name as text |
//! | newtype, tuple and struct variants | a one-entry map `{name: value}` |
//!
//! So `Some(5)` is `5`, while `Some(None)` is `61932(null)` and `Some(Some(()))` is
//! `61932(61932(null))`: every nesting of options reads back as it was stored, and the tag is
//! written only where `null` alone would be ambiguous.
//!
//! Floats read back bit for bit: `-0.0`, infinities and NaN payloads (signalling ones too)
//! survive the shortening to binary16 or binary32 and the widening back.
//!
//! # Compact sequences
//!
//! A sequence, tuple or tuple struct whose elements are all `u8` is written as a byte string,
//! so `Vec<u8>` and `[u8; 32]` take one byte per element plus a head of 1 to 9 bytes. One whose
//! elements all have the same other fixed-width number type is written as an RFC 8746 typed
//! array: a little-endian byte string under tag 72 (`i8`), 69/77 (`u16`/`i16`), 70/78
//! (`u32`/`i32`), 71/79 (`u64`/`i64`), 85 (`f32`) or 86 (`f64`). A `Vec<f64>` of `n` elements
//! takes `8 n` bytes plus 3 to 11. The encoder finds out as it goes (serde does not tell element
//! types up front): it keeps raw bytes while the elements agree and rewrites them as an ordinary
//! array at the first one that does not.
//!
//! The decoder presents these back as sequences of their element type, so `Vec<u8>`,
//! `Vec<f64>`, tuples and arrays round-trip; a typed array of one number type decodes into a
//! sequence of another as far as serde's own conversions allow (`u32` elements into `Vec<u64>`,
//! range-checked integers; `f64` elements into `Vec<f32>` round to nearest, as serde's `f32`
//! does with any `f64`). `deserialize_bytes` and `deserialize_byte_buf` visit a byte string as
//! bytes. `deserialize_any` visits it as a sequence of `u8`: serde buffers the contents of
//! internally tagged and untagged enums and of `#[serde(flatten)]` structs through
//! `deserialize_any`, and its buffer can give a `Vec<u8>` back only from a sequence, so this is
//! what keeps a `Vec<u8>` field inside those round-tripping (`serde_bytes` types accept both).
//!
//! # Decoding untrusted bytes
//!
//! Decoding only builds data: it never runs code named by the input. Corrupt or hostile input
//! gives a [`CodecError`], never a panic: lengths are checked against the remaining input before
//! anything is reserved, and arrays, maps and tags may not nest deeper than [`MAX_DEPTH`]. The
//! decoder accepts the definite-length subset of CBOR that RFC 8949 §4.2 deterministic encoding
//! uses (fleche writes nothing else): indefinite-length items are rejected with an error.
//! Unknown tags are skipped over (the tagged item is decoded as if untagged).
//!
//! The codec reports `is_human_readable() == false`, so types with a compact binary serde form
//! (IP addresses, UUIDs) use it.

mod de;
mod elem;
pub mod inspect;
mod num;
pub mod prefix;
mod ser;
mod some;
mod wire;

use std::fmt;

pub use prefix::{Cut, Prefix};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How deeply arrays, maps and tags may nest in an encoded value. Encoding a deeper value and
/// decoding or inspecting deeper input are errors.
pub const MAX_DEPTH: usize = 256;

/// A value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The value's `Serialize` implementation failed.
    #[error("cannot encode value: {0}")]
    Encode(String),
    /// The bytes are not a valid encoded value, or do not fit the requested type.
    #[error("cannot decode value: {0}")]
    Decode(String),
}

impl serde::ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError::Encode(msg.to_string())
    }
}

impl serde::de::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError::Decode(msg.to_string())
    }

    fn invalid_type(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        CodecError::Decode(format!("expected {exp}, found {}", de::found(&unexp)))
    }

    fn invalid_value(unexp: serde::de::Unexpected<'_>, exp: &dyn serde::de::Expected) -> Self {
        CodecError::Decode(format!(
            "invalid value: expected {exp}, found {}",
            de::found(&unexp)
        ))
    }

    fn invalid_length(len: usize, exp: &dyn serde::de::Expected) -> Self {
        CodecError::Decode(format!("expected {exp}, found {len} elements"))
    }
}

/// Encodes a value as one CBOR item.
///
/// Fails if the value's `Serialize` implementation fails, or if it nests arrays, maps and tags
/// deeper than [`MAX_DEPTH`].
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    ser::encode(value)
}

/// Decodes a value from exactly one CBOR item; bytes after it are an error.
///
/// Error messages say what was expected, what was found and at which byte offset, e.g.
/// `cannot decode value: expected u64, found text "abc" at byte 7`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    de::decode(bytes)
}
