//! Fuzz target: arbitrary bytes taken as a stored result, opened, expanded, paged and drawn
//! by fleche-tui's value tree (`fleche::codec::inspect` for what was read whole,
//! `fleche::codec::Prefix` for values read a few bytes at a time), and summarised from every
//! offset and every cut. Run: `cargo fuzz run tree` (nightly). On stable,
//! `tui/tests/tree_props.rs` runs the same driver under proptest.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fleche_tui::testing::exercise_value(data);
});
