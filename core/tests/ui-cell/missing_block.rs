fn main() {
    let n = 1u64;
    let _x: u64 = fleche::cell!(n => n + 1);
}
