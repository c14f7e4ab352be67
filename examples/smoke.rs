//! A quick tour of the macro (kept small; see getting_started.rs for the notebook walk).
use fleche::{D, fleche};

#[fleche]
fn square(x: i64) -> i64 {
    println!("computing {x}");
    x * x
}

#[fleche]
fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[derive(serde::Serialize)]
struct MyClass {
    val: i64,
}

impl MyClass {
    #[fleche]
    fn compute(&self, x: i64) -> i64 {
        println!("Computing {} + {x}...", self.val);
        self.val + x
    }
}

fn main() {
    println!("{}", square(3));
    println!("{}", square(3));
    println!("{}", fib(20));
    let v = square(10);
    let d = fleche::digest(&v).to_string();
    println!("{}", square(D(&d[..8])));
    println!("{:?}", square::load(3));
    let o = MyClass { val: 10 };
    println!("{}", o.compute(5));
    println!("{}", o.compute(5));
    println!("{}", o.compute_digest(5));
    println!("{}", fleche::cache().len().unwrap());
}
