#[fleche::fleche(ignore = [verbose])]
fn f(x: i64, quiet: bool) -> i64 {
    let _ = quiet;
    x
}
fn main() {}
