#[fleche::fleche]
fn largest<T: PartialOrd + Copy>(items: Vec<T>) -> T {
    items[0]
}
fn main() {}
