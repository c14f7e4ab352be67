struct Model;
impl Model {
    fn run(&self) -> u64 {
        fleche::cell!(self => { 1 })
    }
}
fn main() {
    let _ = Model.run();
}
