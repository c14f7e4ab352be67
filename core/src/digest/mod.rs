//! Content digests: the 32-byte BLAKE3 names of values and calls.
//!
//! A digest is computed from a value's *structure* (through serde), never from its encoded
//! bytes, so it is canonical: the same across runs, platforms and releases.
//!
//! # The canonical scheme (a frozen format)
//!
//! Changing anything below changes every digest, and so orphans every stored cache entry.
//!
//! A value is seen as a tree of this data model, whatever its Rust type:
//!
//! | serde call | model | encoding |
//! | --- | --- | --- |
//! | unit, unit struct | unit | `00` |
//! | `None` | none | `03` |
//! | `Some(x)` | some | `04`, then that of `x` |
//! | newtype struct | `x` | that of `x` |
//! | bool | bool | `01` (false), `02` (true) |
//! | every integer width, `i8` to `u128` | integer, by value | `v >= 0`: `10+n` then `v` in `n` minimal little-endian bytes (`0` is `10`); `v < 0`: `30+n` then `-1-v` likewise |
//! | `f32`, `f64` (widened) | float | `50` then the 8 little-endian bytes of the `f64`'s exact bits: `-0.0` and `0.0` differ, and so does every NaN payload; an `f32` is widened exactly, a NaN keeping its sign and payload (shifted up 29 bits) |
//! | char, str | text | `60`, the UTF-8 length as 8 little-endian bytes, the UTF-8 bytes |
//! | bytes | array of integers | as the array of the byte values |
//! | seq, tuple, tuple struct | array | `70`, each element, `71`; but each maximal run of consecutive elements that are integers from 0 to 255 (any width) is `72`, the run's length as 8 little-endian bytes, then the plain (unkeyed) BLAKE3 hash of its bytes |
//! | map, struct (fields keyed by name as text) | map | `80`, the entry count as 8 little-endian bytes, then the entries' 32-byte hashes sorted bytewise; an entry's hash is the plain (unkeyed) BLAKE3 hash of its key's encoding followed by its value's |
//! | unit variant | text | the variant name |
//! | newtype, tuple, struct variant | map | `{variant: value}`, `{variant: [..]}`, `{variant: {..}}` |
//!
//! Every encoding is self-delimiting, so a concatenation of encodings parses one way only.
//! Byte runs let a `Vec<u8>` (one serde call per byte) and a byte string (one call) digest
//! alike at BLAKE3's speed; formats 2 and 3 wrote each byte as an integer, at a sixth of it.
//! Values that the codec stores differently never share a digest, and what it stores the same
//! (integer widths, entry order, a sequence and a tuple) does. Skipped struct fields are absent.
//! Arrays, maps and `Some`s may nest at most [`MAX_DEPTH`](crate::codec::MAX_DEPTH) deep (a
//! tuple or struct variant counts twice); a deeper value is a [`DigestError`]. The serializer reports `is_human_readable() == true`.
//! The digest is the BLAKE3 key-derivation hash (`derive_key` mode) of the value's encoding,
//! with a context string per domain: `"fleche 2026-12-01 value digest v3"` for values and
//! `"fleche 2026-11-27 call key v2"` for call keys.

mod hasher;
mod prefix;
pub(crate) mod recent;

use std::fmt;
use std::str::FromStr;

use blake3::hazmat::HasherExt;
use serde::{Deserialize, Serialize};

pub(crate) use prefix::{common_hex_prefix, shortest_prefixes};

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

/// A value's serialization failed, or it nests too deeply, so it has no digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot digest this value: {message}")]
pub struct DigestError {
    message: String,
}

/// Which kind of thing a digest names. The same bytes hashed for two domains never agree, so
/// a call key can never be mistaken for a value digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    Value,
    CallKey,
    /// The first byte of call keys (see [`call_cluster`]).
    CallCluster,
}

/// A BLAKE3 hasher in the call-key domain. Call keys feed it their own frozen layout of
/// name, module, version, code and argument digests (see `runtime::Function::key_of`).
pub(crate) fn call_key_hasher() -> blake3::Hasher {
    blake3::Hasher::new_from_context_key(context_key(Domain::CallKey))
}

/// The first byte of every call key of the functions named `name` (whatever their module,
/// version or code): calls tables are sorted by key, so one function's calls lie next to one
/// another and a query by name reads one stretch of the table instead of looking up each
/// call (see `store/probe.rs`). The first byte of BLAKE3 in key-derivation mode with context
/// `fleche 2026-12-02 call cluster v1` over the name's UTF-8 bytes. Frozen (format 7).
pub(crate) fn call_cluster(name: &str) -> u8 {
    let mut h = blake3::Hasher::new_from_context_key(context_key(Domain::CallCluster));
    h.update(name.as_bytes());
    h.finalize().as_bytes()[0]
}

/// `key` with its first byte replaced by the cluster of functions named `name`: the format-7
/// key of a call stored under its format-6 key, or a key for a record made by hand.
pub fn clustered_key(name: &str, key: Digest) -> Digest {
    Digest(with_cluster(key.0, call_cluster(name)))
}

/// A call key: `hash` with its first byte replaced by `cluster`, 31 bytes of hash left.
pub(crate) fn with_cluster(mut hash: [u8; 32], cluster: u8) -> [u8; 32] {
    hash[0] = cluster;
    hash
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

/// The BLAKE3 key-derivation context of each domain (frozen).
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "the keys below are these contexts, pre-hashed")
)]
const fn context(domain: Domain) -> &'static str {
    match domain {
        Domain::Value => "fleche 2026-12-01 value digest v3",
        Domain::CallKey => "fleche 2026-11-27 call key v2",
        Domain::CallCluster => "fleche 2026-12-02 call cluster v1",
    }
}

/// `blake3::hazmat::hash_derive_key_context(context(domain))`, hard-coded so that a digest
/// does not hash its context string first (a test checks them). A hasher made from one is
/// the same as `blake3::Hasher::new_derive_key(context(domain))`.
const fn context_key(domain: Domain) -> &'static blake3::hazmat::ContextKey {
    match domain {
        Domain::Value => &[
            93, 79, 254, 75, 188, 68, 230, 108, 52, 254, 132, 46, 136, 45, 246, 126, 150, 60, 66,
            153, 228, 246, 226, 158, 3, 150, 252, 186, 142, 210, 149, 161,
        ],
        Domain::CallKey => &[
            102, 168, 34, 26, 199, 255, 155, 232, 90, 218, 243, 113, 55, 249, 92, 91, 135, 24, 182,
            108, 19, 250, 233, 54, 255, 223, 204, 148, 91, 39, 215, 159,
        ],
        Domain::CallCluster => &[
            2, 5, 22, 207, 24, 212, 242, 52, 210, 181, 84, 11, 196, 57, 182, 114, 89, 115, 172, 96,
            77, 198, 87, 184, 61, 37, 76, 163, 77, 119, 59, 112,
        ],
    }
}

pub(crate) fn digest_in<T: Serialize + ?Sized>(
    domain: Domain,
    value: &T,
) -> Result<Digest, DigestError> {
    hasher::hash(context_key(domain), value)
        .map(Digest)
        .map_err(|message| DigestError {
            message: message.into(),
        })
}

/// A digest or digest prefix written as text, passed in place of a value: `D("60079f79")`.
///
/// Passed to a cached function in place of an argument, it stands for the stored value with
/// that digest; see [`Arg`](crate::Arg).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct D<S: AsRef<str>>(pub S);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keys_are_the_hashed_contexts() {
        for domain in [Domain::Value, Domain::CallKey, Domain::CallCluster] {
            assert_eq!(
                context_key(domain),
                &blake3::hazmat::hash_derive_key_context(context(domain))
            );
            let mut h = blake3::Hasher::new_derive_key(context(domain));
            h.update(&[0x10]);
            assert_eq!(
                digest_in(domain, &0).unwrap(),
                Digest(*h.finalize().as_bytes())
            );
        }
    }

    #[test]
    fn remembered_digests_are_each_values_own() {
        // Small values are remembered per thread (see `recent`); more values than it keeps,
        // digested twice, each match the keyed hash of their own encoding.
        let own = |v: i64| {
            let mut h = blake3::Hasher::new_from_context_key(context_key(Domain::Value));
            let m = if v < 0 { !v as u64 } else { v as u64 };
            let n = (64 - m.leading_zeros() as usize).div_ceil(8);
            h.update(&[if v < 0 { 0x30 } else { 0x10 } + n as u8]);
            h.update(&m.to_le_bytes()[..n]);
            Digest(*h.finalize().as_bytes())
        };
        for _ in 0..2 {
            for v in (-3000..3000).map(|i: i64| i * 7919) {
                assert_eq!(digest(&v), own(v), "{v}");
            }
        }
        // Values that differ only past a memory-sized input are not confused either.
        let long: Vec<String> = (0..600).map(|i| format!("{i:0>150}")).collect();
        let first: Vec<Digest> = long.iter().map(digest).collect();
        assert_eq!(long.iter().map(digest).collect::<Vec<_>>(), first);
        assert_eq!(
            first.iter().collect::<std::collections::HashSet<_>>().len(),
            600
        );
    }

    #[test]
    fn domains_differ() {
        assert_eq!(digest_in(Domain::Value, &1).unwrap(), digest(&1));
        assert_ne!(digest_in(Domain::CallKey, &1).unwrap(), digest(&1));
    }

    #[test]
    fn text_form_round_trips_and_rejects_non_digests() {
        let d = digest("x");
        let hex = d.to_hex();
        assert_eq!(hex.len(), Digest::HEX_LEN);
        assert!(
            hex.bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        );
        assert_eq!(hex.parse::<Digest>(), Ok(d));
        assert_eq!(hex.to_uppercase().parse::<Digest>(), Ok(d));
        assert_eq!(format!("{d:?}"), format!("Digest({hex})"));
        for bad in [&hex[..63], &format!("{hex}0"), &format!("g{}", &hex[1..])] {
            let err = bad.parse::<Digest>().unwrap_err();
            assert!(
                err.to_string().contains("expected 64 hex characters"),
                "{err}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "boom at 42")]
    fn digest_panics_on_error() {
        struct Fails;
        impl Serialize for Fails {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("boom at 42"))
            }
        }
        digest(&Fails);
    }
}
