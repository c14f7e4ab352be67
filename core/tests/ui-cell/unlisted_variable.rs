fn main() {
    let n = 3u64;
    let offset = 1u64;
    let _v: u64 = fleche::cell!(n => { n + offset });
}
