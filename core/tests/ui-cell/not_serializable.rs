struct Opaque(u8);
fn main() {
    let o = Opaque(1);
    let _x: u64 = fleche::cell!(&o => { o.0 as u64 });
}
