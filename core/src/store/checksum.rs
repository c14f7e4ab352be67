//! Checksums of stored bytes: every value and every call entry is stored with the XXH3-64 of
//! its bytes, and every read checks it, so a bit flipped on disk is found before it is
//! returned as a result (redb checksums its pages only when asked to check the whole file).

use xxhash_rust::xxh3::{Xxh3Default, xxh3_64};

use crate::digest::Digest;

/// The checksum of a value's encoded bytes.
#[inline]
pub(crate) fn of_value(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// The checksum of a call entry: its result digest and its encoded record together, so a flip
/// in the result digest (which would point at another value) is caught too.
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

/// Whether a stored call entry matches its checksum.
#[inline]
pub(crate) fn call_intact(sum: u64, result: &[u8; 32], record: &[u8]) -> bool {
    of_call(result, record) == sum
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
        let r = [1u8; 32];
        let sum = of_call(&r, b"record");
        assert!(call_intact(sum, &r, b"record"));
        let mut flipped = r;
        flipped[31] ^= 1;
        assert!(!call_intact(sum, &flipped, b"record"));
    }
}
