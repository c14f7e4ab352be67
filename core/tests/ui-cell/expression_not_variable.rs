fn main() {
    let v = vec![1u64];
    let _x: u64 = fleche::cell!(v.len() => { 1 });
}
