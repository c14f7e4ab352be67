// Without `cache_errors`, any error type works (see tests/memoize.rs); with it, the error
// is stored, so it needs serde, and the message says so.
#[fleche::fleche(cache_errors = true)]
fn read(n: u32) -> Result<u32, std::io::Error> {
    Ok(n)
}
fn main() {}
