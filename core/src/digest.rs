//! Content digests: the 32-byte BLAKE3 names of values and calls.
//!
//! A digest is computed from a value's *structure* (through serde), never from its encoded
//! bytes, so it is canonical: the same across runs, platforms and releases.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The 32-byte BLAKE3 digest of a value or of a call, shown as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Number of bytes in a digest.
    pub const LEN: usize = 32;
    /// Number of hex characters in a digest's full text form.
    pub const HEX_LEN: usize = 64;

    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64-character lowercase hex form.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 0xf) as usize];
        }
        // Only ASCII hex digits were written.
        f.pad(std::str::from_utf8(&out).unwrap_or_default())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// A text that is not a full 64-character hex digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a digest: expected 64 hex characters (0-9, a-f)")]
pub struct ParseDigestError {
    text: String,
}

impl FromStr for Digest {
    type Err = ParseDigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseDigestError { text: s.to_owned() };
        if s.len() != Self::HEX_LEN {
            return Err(err());
        }
        let mut bytes = [0u8; 32];
        for (i, pair) in s.as_bytes().chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0]).ok_or_else(err)?;
            let lo = hex_value(pair[1]).ok_or_else(err)?;
            bytes[i] = (hi << 4) | lo;
        }
        Ok(Digest(bytes))
    }
}

pub(crate) fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = serde_bytes_array(deserializer)?;
        Ok(Digest(bytes))
    }
}

fn serde_bytes_array<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = [u8; 32];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("32 digest bytes")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = [0u8; 32];
            for (i, b) in out.iter_mut().enumerate() {
                *b = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
            }
            Ok(out)
        }
    }
    d.deserialize_bytes(V)
}

/// A value's serialization failed, so it has no digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot digest this value: its Serialize implementation failed: {message}")]
pub struct DigestError {
    message: String,
}

/// Which kind of thing a digest names. The same bytes hashed for two domains never agree, so
/// a call key can never be mistaken for a value digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    Value,
    CallKey,
}

/// The digest of a value, computed from its serde structure.
///
/// # Panics
///
/// If the value's `Serialize` implementation returns an error; see [`try_digest`].
pub fn digest<T: Serialize + ?Sized>(value: &T) -> Digest {
    match try_digest(value) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

/// The digest of a value, or the error its `Serialize` implementation returned.
pub fn try_digest<T: Serialize + ?Sized>(value: &T) -> Result<Digest, DigestError> {
    digest_in(Domain::Value, value)
}

pub(crate) fn digest_in<T: Serialize + ?Sized>(
    domain: Domain,
    value: &T,
) -> Result<Digest, DigestError> {
    // PLACEHOLDER: replaced by the structural hashing serializer.
    let mut bytes = Vec::new();
    ciborium::into_writer(value, &mut bytes).map_err(|e| DigestError {
        message: e.to_string(),
    })?;
    let context = match domain {
        Domain::Value => "fleche 2026-11-27 value digest v1",
        Domain::CallKey => "fleche 2026-11-27 call key v1",
    };
    let mut h = blake3::Hasher::new_derive_key(context);
    h.update(&bytes);
    Ok(Digest(*h.finalize().as_bytes()))
}

/// A digest or digest prefix written as text, passed in place of a value: `D("60079f79")`.
///
/// Passed to a cached function in place of an argument, it stands for the stored value with
/// that digest; see [`Arg`](crate::Arg).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct D<S: AsRef<str>>(pub S);
