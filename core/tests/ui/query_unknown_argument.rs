use fleche::fleche;

#[fleche]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

fn main() {
    let _ = add::query().arg_c(1);
}
