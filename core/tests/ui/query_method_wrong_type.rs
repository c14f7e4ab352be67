use fleche::fleche;

#[derive(serde::Serialize)]
struct Model {
    val: i64,
}

impl Model {
    #[fleche]
    fn shift(&self, by: i64) -> i64 {
        self.val + by
    }
}

fn main() {
    let m = Model { val: 1 };
    let _ = Model::shift_query_with(&m, "two");
}
