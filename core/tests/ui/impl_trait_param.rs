#[fleche::fleche]
fn total(items: impl IntoIterator<Item = i64>) -> i64 {
    items.into_iter().sum()
}
fn main() {}
