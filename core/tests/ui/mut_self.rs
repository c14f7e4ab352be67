#[derive(serde::Serialize)]
struct Counter(i64);
impl Counter {
    #[fleche::fleche]
    fn bump(&mut self, by: i64) -> i64 {
        self.0 += by;
        self.0
    }
}
fn main() {}
