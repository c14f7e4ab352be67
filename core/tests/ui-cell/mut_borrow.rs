fn main() {
    let mut total = 0u64;
    let _v: u64 = fleche::cell!(&mut total => { 1 });
}
