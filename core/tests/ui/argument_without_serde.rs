// An argument type without serde: one error, at the parameter, saying what to derive. The call
// site and the generated helpers (`run::digest`, `run::query`, ...) add none.
struct Opaque(u8);
#[fleche::fleche]
fn run(o: Opaque) -> u32 {
    o.0 as u32
}
fn main() {
    let _ = run(Opaque(1));
    let _ = run::contains(Opaque(2));
}
