#[derive(serde::Serialize)]
struct Report {
    lines: Vec<String>,
}
#[fleche::fleche]
fn report(n: usize) -> Report {
    Report { lines: vec![String::new(); n] }
}
fn main() {}
