//! Misuses of `cell!` fail to compile with a message that says what to do.

#[test]
fn cell_misuse_is_rejected() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui-cell/*.rs");
}
