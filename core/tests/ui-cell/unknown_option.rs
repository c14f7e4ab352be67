fn main() {
    let _x: u64 = fleche::cell!(tag = "a" => { 1 });
}
