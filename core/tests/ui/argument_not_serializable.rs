#[derive(serde::Deserialize)]
struct Settings {
    depth: u32,
}
#[fleche::fleche(accept_digests = false)]
fn run(settings: Settings) -> u32 {
    settings.depth
}
fn main() {}
