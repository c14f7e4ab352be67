//! Checksums of stored bytes: every value and every call entry is stored with the XXH3-64 of
//! its bytes, and every read checks it, so a bit flipped on disk is found before it is
//! returned as a result (redb checksums its pages only when asked to check the whole file).

#[cfg(feature = "postgres")]
use xxhash_rust::xxh3::Xxh3Default;
use xxhash_rust::xxh3::xxh3_64;

use crate::digest::Digest;

/// The checksum of a value's encoded bytes.
#[inline]
pub(crate) fn of_value(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// The checksum of a call entry in a cache file: its encoded record, which holds the result
/// digest, so a flip there (which would point at another value) is caught too.
#[inline]
pub(crate) fn of_record(record: &[u8]) -> u64 {
    xxh3_64(record)
}

/// The checksum of a call row in a shared database, which keeps the result digest in a
/// column of its own besides the record: the two together.
#[cfg(feature = "postgres")]
#[inline]
pub(crate) fn of_call(result: &[u8; 32], record: &[u8]) -> u64 {
    let mut h = Xxh3Default::new();
    h.update(result);
    h.update(record);
    h.digest()
}

/// Whether a stored value's bytes match their checksum.
#[inline]
pub(crate) fn value_intact(sum: u64, bytes: &[u8]) -> bool {
    of_value(bytes) == sum
}

/// Whether a call row of a shared database matches its checksum.
#[cfg(feature = "postgres")]
#[inline]
pub(crate) fn call_intact(sum: u64, result: &[u8; 32], record: &[u8]) -> bool {
    of_call(result, record) == sum
}

/// Whether a call entry of a cache file matches its checksum.
#[inline]
pub(crate) fn record_intact(sum: u64, record: &[u8]) -> bool {
    of_record(record) == sum
}

/// The result digest of a call entry of a cache file, if the entry is intact: what a hit
/// reads. A record whose checksum holds but which is no record of this format is damaged
/// too, as far as a hit can tell.
#[inline]
pub(crate) fn intact_result(sum: u64, record: &[u8]) -> Option<Digest> {
    if !record_intact(sum, record) {
        return None;
    }
    crate::record::result_of(record).ok()
}

/// Logs a damaged call record that a read leaves out (queries) or reports as unreadable
/// (pages).
pub(crate) fn warn_skipped(key: &Digest) {
    tracing::warn!(
        key = %key,
        "a damaged call record (its bytes no longer match their checksum) is not read; run the call again to store it anew, or evict it"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flipped_bit_is_caught() {
        let bytes = vec![7u8; 1000];
        let sum = of_value(&bytes);
        for i in [0, 500, 999] {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                assert!(!value_intact(sum, &bad));
            }
        }
        assert!(record_intact(of_record(b"record"), b"record"));
        assert!(!record_intact(of_record(b"record"), b"recorc"));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_flipped_result_digest_is_caught() {
        let r = [1u8; 32];
        let sum = of_call(&r, b"record");
        assert!(call_intact(sum, &r, b"record"));
        let mut flipped = r;
        flipped[31] ^= 1;
        assert!(!call_intact(sum, &flipped, b"record"));
    }
}
