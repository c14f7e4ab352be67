//! Digests of short inputs computed lately on this thread, so that a call repeated with the
//! same small arguments (every hit in a loop) finds its argument digests and its call key
//! here instead of running BLAKE3 again, which was most of a memory-cache hit.
//!
//! A digest is a pure function of its hasher's starting state and its input bytes, so a
//! remembered one is always right: an entry is found only when both match exactly, and the
//! table only bounds how many are remembered (a slot is overwritten by the next input that
//! lands on it).

use std::cell::RefCell;

/// Longest input remembered, in bytes: a few small arguments, or the argument part of a
/// call key with up to four arguments of short names.
pub(crate) const MAX_INPUT: usize = 160;

/// Slots per thread (a power of two): about 50 KB, made on the thread's first digest.
const SLOTS: usize = 256;

/// What an input is hashed from: `Start::Context(key)` for a hasher made from a domain's
/// context key, `Start::Function(id)` for a function's call-key hasher (its own fields
/// hashed, see `Function::key_of`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Context(&'static blake3::hazmat::ContextKey),
    Function(u64),
}

impl Start {
    fn tag(self) -> u64 {
        match self {
            // A static's address, below 2^63 on every platform Rust supports.
            Start::Context(key) => std::ptr::from_ref(key) as u64,
            Start::Function(id) => id | 1 << 63,
        }
    }
}

#[derive(Clone, Copy)]
struct Slot {
    /// `Start::tag`, 0 while the slot is empty.
    tag: u64,
    len: u16,
    input: [u8; MAX_INPUT],
    digest: [u8; 32],
}

const EMPTY: Slot = Slot {
    tag: 0,
    len: 0,
    input: [0; MAX_INPUT],
    digest: [0; 32],
};

thread_local! {
    static RECENT: RefCell<Option<Box<[Slot]>>> = const { RefCell::new(None) };
}

/// The digest of `input` hashed from `start`: remembered, or made by `compute` (and then
/// remembered). Inputs longer than [`MAX_INPUT`] are computed every time.
pub(crate) fn remembered(
    start: Start,
    input: &[u8],
    compute: impl FnOnce() -> [u8; 32],
) -> [u8; 32] {
    if input.len() > MAX_INPUT {
        return compute();
    }
    let tag = start.tag();
    let i = slot_of(tag, input);
    let found = RECENT.try_with(|recent| {
        let recent = recent.try_borrow().ok()?;
        let slot = &recent.as_ref()?[i];
        (slot.tag == tag
            && usize::from(slot.len) == input.len()
            && slot.input[..input.len()] == *input)
            .then_some(slot.digest)
    });
    if let Ok(Some(digest)) = found {
        return digest;
    }
    let digest = compute();
    // A thread being torn down, or a digest computed inside another's `compute` (never, as
    // `compute` only hashes), just goes unremembered.
    let _ = RECENT.try_with(|recent| {
        if let Ok(mut recent) = recent.try_borrow_mut() {
            // Made on the heap directly: a thread with a small stack never holds it there.
            let slots = recent.get_or_insert_with(|| vec![EMPTY; SLOTS].into_boxed_slice());
            let slot = &mut slots[i];
            slot.tag = tag;
            slot.len = input.len() as u16;
            slot.input[..input.len()].copy_from_slice(input);
            slot.digest = digest;
        }
    });
    digest
}

/// The slot an input lands on: a multiply-rotate hash of its 8-byte words (not a digest:
/// inputs landing on one slot only take turns being remembered).
fn slot_of(tag: u64, input: &[u8]) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (tag ^ input.len() as u64).wrapping_mul(K);
    let mut words = input.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_else(|_| unreachable!()));
        h = (h.rotate_left(23) ^ w).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    (h >> 56) as usize % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed(input: &[u8]) -> [u8; 32] {
        *blake3::hash(input).as_bytes()
    }

    #[test]
    fn remembers_exactly_the_input_it_was_given() {
        let calls = std::cell::Cell::new(0);
        let start = Start::Function(7);
        let compute = |input: &[u8]| {
            calls.set(calls.get() + 1);
            hashed(input)
        };
        assert_eq!(
            remembered(start, b"abc", || compute(b"abc")),
            hashed(b"abc")
        );
        assert_eq!(
            remembered(start, b"abc", || compute(b"abc")),
            hashed(b"abc")
        );
        assert_eq!(calls.get(), 1, "the second digest was remembered");
        // A prefix, a longer input, another start: each computed, never the remembered one.
        assert_eq!(remembered(start, b"ab", || compute(b"ab")), hashed(b"ab"));
        assert_eq!(
            remembered(start, b"abcd", || compute(b"abcd")),
            hashed(b"abcd")
        );
        let other = Start::Function(8);
        assert_eq!(remembered(other, b"abc", || [9; 32]), [9; 32]);
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn many_inputs_sharing_slots_each_get_their_own_digest() {
        // Far more inputs than slots, in two rounds: every answer is the input's own.
        let inputs: Vec<Vec<u8>> = (0u32..5000)
            .map(|i| i.to_le_bytes().repeat(1 + i as usize % 40))
            .collect();
        for _ in 0..2 {
            for input in &inputs {
                assert_eq!(
                    remembered(Start::Function(1), input, || hashed(input)),
                    hashed(input)
                );
            }
        }
    }

    #[test]
    fn long_inputs_are_computed_every_time() {
        let input = [1u8; MAX_INPUT + 1];
        assert_eq!(remembered(Start::Function(2), &input, || [1; 32]), [1; 32]);
        assert_eq!(remembered(Start::Function(2), &input, || [2; 32]), [2; 32]);
    }
}
