#[fleche::fleche]
fn first(items: &[i64]) -> &i64 {
    &items[0]
}
fn main() {}
