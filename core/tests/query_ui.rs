//! Typed queries reject arguments of the wrong type, and unknown or ignored arguments, at
//! compile time.

#[test]
fn typed_query_misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/query_*.rs");
}
