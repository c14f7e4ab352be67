use fleche::fleche;

#[fleche(ignore = [verbose])]
fn add(a: i64, verbose: bool) -> i64 {
    let _ = verbose;
    a
}

fn main() {
    let _ = add::query().arg_verbose(true);
}
