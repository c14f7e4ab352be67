//! Each misuse of `#[fleche]` fails to compile with a message that says what to do.
//! Expected messages are in `tests/ui/*.stderr`; regenerate with `TRYBUILD=overwrite`.

#[test]
fn misuse_fails_to_compile_with_a_readable_message() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    // `cell!`
    t.compile_fail("tests/ui-cell/*.rs");
}
