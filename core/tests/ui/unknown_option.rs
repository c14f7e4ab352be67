#[fleche::fleche(verison = "2")]
fn f(x: i64) -> i64 {
    x
}
fn main() {}
