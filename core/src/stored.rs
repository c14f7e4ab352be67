//! How a cached function's values are checked, stored and read back: the compile-time checks
//! with their messages, and the codec the macro picks for a result or argument type (the whole
//! value, or only the `Ok` of a `Result`, so that an error type needs no serde).
//!
//! The codec is picked by autoref (see [`Stored`]): when a type has no serde, the pick falls
//! back to a codec that is never run, so the check above it is the only compile error.

use std::marker::PhantomData;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize, Serializer};

use crate::codec::{self, CodecError};
use crate::digest::{self, Digest};

/// Holds for types that can be arguments of a cached function; its only job is the error
/// message when a type cannot.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a cached function: it does not implement `serde::Serialize`",
    label = "the cache digests and stores every argument",
    note = "derive it: `#[derive(serde::Serialize)]`, or leave the argument out of the key with `#[fleche(ignore = [name])]`"
)]
pub trait StorableArgument {}
impl<T: Serialize + ?Sized> StorableArgument for T {}

/// Holds for result types that can be stored and read back.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of a cached function: it needs `serde::Serialize` and `serde::Deserialize`",
    label = "the cache stores this result and reads it back on the next call",
    note = "derive both: `#[derive(serde::Serialize, serde::Deserialize)]` (of a `Result`, only the `Ok` value is stored, unless `cache_errors = true`)"
)]
pub trait StorableResult {}
impl<T: Serialize + DeserializeOwned> StorableResult for T {}

/// Holds for error types stored by `cache_errors = true`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored with `cache_errors = true`: it needs `serde::Serialize` and `serde::Deserialize`",
    label = "`cache_errors = true` stores `Err` values too and reads them back",
    note = "derive both on the error type, or drop `cache_errors = true`: then an `Err` is returned and not stored, and any error type works (`std::io::Error`, `anyhow::Error`, ...)"
)]
pub trait StorableError {}
impl<E: Serialize + DeserializeOwned> StorableError for E {}

/// The parts of a return type named `Result`, which `#[fleche]` reads as std's.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "#[fleche] reads a return type named `Result` as `std::result::Result`, and `{Self}` is not",
    label = "an `Err` of a `Result` is returned and not stored",
    note = "rename the type, or wrap it in a struct that is not named `Result`"
)]
pub trait Outcome {
    /// The `Ok` type.
    type Ok;
    /// The `Err` type.
    type Err;
}
impl<T, E> Outcome for Result<T, E> {
    type Ok = T;
    type Err = E;
}

/// Compile-time check that `T` can be an argument; see [`StorableArgument`].
#[doc(hidden)]
pub const fn assert_argument<T: StorableArgument + ?Sized>() {}

/// The same check as [`assert_argument`] for a value whose type is inferred (`cell!`).
#[doc(hidden)]
pub const fn assert_argument_value<T: StorableArgument + ?Sized>(_: &T) {}

/// Compile-time check that `R` can be a stored result; see [`StorableResult`].
#[doc(hidden)]
pub const fn assert_result<R: StorableResult>() {}

/// Compile-time check that `E` can be stored as an error; see [`StorableError`].
#[doc(hidden)]
pub const fn assert_error<E: StorableError>() {}

/// A value's digest and encoding, or why it has none.
pub(crate) type Encode<T> = fn(&T) -> Result<(Digest, Vec<u8>), CodecError>;

/// How values of one type are written to and read from the cache.
#[doc(hidden)]
pub struct ValueCodec<T> {
    /// The value's digest and encoding.
    pub(crate) encode: Encode<T>,
    /// The value from its encoding.
    pub(crate) decode: fn(&[u8]) -> Result<T, CodecError>,
}

impl<T: Serialize + DeserializeOwned> ValueCodec<T> {
    /// The whole value, through serde.
    pub(crate) fn whole() -> Self {
        ValueCodec {
            encode: encode_whole::<T>,
            decode: codec::decode::<T>,
        }
    }
}

pub(crate) fn encode_whole<T: Serialize + ?Sized>(
    value: &T,
) -> Result<(Digest, Vec<u8>), CodecError> {
    let digest = digest::try_digest(value).map_err(|e| CodecError::Encode(e.to_string()))?;
    Ok((digest, codec::encode(value)?))
}

/// Serializes `value` exactly as `Result::<T, E>::Ok(value)` does, whatever `E` is, so the
/// stored bytes and digest are those of the whole `Result`.
struct AsOk<'a, T>(&'a T);

impl<T: Serialize> Serialize for AsOk<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_variant("Result", 0, "Ok", self.0)
    }
}

/// A stored `Result` read without its error type. An `Err` was stored by `cache_errors = true`.
#[derive(Deserialize)]
#[serde(rename = "Result")]
enum StoredResult<T> {
    Ok(T),
    Err(IgnoredAny),
}

fn encode_ok<T: Serialize>(value: &T) -> Result<(Digest, Vec<u8>), CodecError> {
    encode_whole(&AsOk(value))
}

fn decode_ok<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    match codec::decode::<StoredResult<T>>(bytes)? {
        StoredResult::Ok(value) => Ok(value),
        StoredResult::Err(_) => Err(CodecError::Decode(
            "the stored result is an `Err` (stored with `cache_errors = true`)".into(),
        )),
    }
}

/// Never run: picked only for a type whose check fails to compile.
fn unchecked_encode<T>(_: &T) -> Result<(Digest, Vec<u8>), CodecError> {
    unreachable!("fleche checks at compile time that stored types implement serde")
}

fn unchecked_decode<T>(_: &[u8]) -> Result<T, CodecError> {
    unreachable!("fleche checks at compile time that stored types implement serde")
}

/// Picks the codec of `T` by autoref: `(&Stored::<T>::NEW).codec()` is the serde codec when
/// `T` has serde, else a fallback that keeps the compiler from reporting the missing trait
/// again after the check that already did.
#[doc(hidden)]
pub struct Stored<T>(PhantomData<fn() -> T>);

impl<T> Stored<T> {
    /// The marker; only its type matters.
    pub const NEW: Self = Stored(PhantomData);
}

#[doc(hidden)]
pub trait PickCodec<T> {
    fn codec(&self) -> ValueCodec<T>;
}
impl<T: Serialize + DeserializeOwned> PickCodec<T> for Stored<T> {
    fn codec(&self) -> ValueCodec<T> {
        ValueCodec::whole()
    }
}
#[doc(hidden)]
pub trait PickUncheckedCodec<T> {
    fn codec(&self) -> ValueCodec<T>;
}
impl<T> PickUncheckedCodec<T> for &Stored<T> {
    fn codec(&self) -> ValueCodec<T> {
        ValueCodec {
            encode: unchecked_encode::<T>,
            decode: unchecked_decode::<T>,
        }
    }
}

/// `(&Stored::<T>::NEW).decoder()`: how an owned argument passed as `D("digest")` is read
/// back. Only the `Deserialize` of `T` is needed, and only where `D(..)` is passed (`Arg`'s
/// `From<D>` asks for it), so the fallback is never reached.
#[doc(hidden)]
pub trait PickDecoder<T> {
    fn decoder(&self) -> fn(&[u8]) -> Result<T, CodecError>;
}
impl<T: DeserializeOwned> PickDecoder<T> for Stored<T> {
    fn decoder(&self) -> fn(&[u8]) -> Result<T, CodecError> {
        codec::decode::<T>
    }
}
#[doc(hidden)]
pub trait PickUncheckedDecoder<T> {
    fn decoder(&self) -> fn(&[u8]) -> Result<T, CodecError>;
}
impl<T> PickUncheckedDecoder<T> for &Stored<T> {
    fn decoder(&self) -> fn(&[u8]) -> Result<T, CodecError> {
        unchecked_decode::<T>
    }
}

/// `(&Stored::<Result<T, E>>::NEW).ok_codec()`: the codec of the `Ok` value `T`, stored as
/// the `Result` it came in.
#[doc(hidden)]
pub trait PickOkCodec<T> {
    fn ok_codec(&self) -> ValueCodec<T>;
}
impl<T: Serialize + DeserializeOwned, E> PickOkCodec<T> for Stored<Result<T, E>> {
    fn ok_codec(&self) -> ValueCodec<T> {
        ValueCodec {
            encode: encode_ok::<T>,
            decode: decode_ok::<T>,
        }
    }
}
#[doc(hidden)]
pub trait PickUncheckedOkCodec<T> {
    fn ok_codec(&self) -> ValueCodec<T>;
}
impl<T, E> PickUncheckedOkCodec<T> for &Stored<Result<T, E>> {
    fn ok_codec(&self) -> ValueCodec<T> {
        ValueCodec {
            encode: unchecked_encode::<T>,
            decode: unchecked_decode::<T>,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `Ok` value alone is stored with the bytes and digest of the whole `Result`, so
    /// files written before keep their hits and `Call::result::<Result<T, E>>` still reads it.
    #[test]
    fn ok_is_stored_as_the_whole_result() {
        let whole = encode_whole(&Ok::<u32, String>(7)).unwrap();
        assert_eq!(encode_ok(&7u32).unwrap(), whole);
        assert_eq!(decode_ok::<u32>(&whole.1).unwrap(), 7);
        let err = encode_whole(&Err::<u32, String>("no".into())).unwrap();
        assert!(decode_ok::<u32>(&err.1).is_err());
    }
}
