#[fleche::fleche(meta = [42])]
fn f(x: i64) -> i64 {
    x
}

fn main() {}
