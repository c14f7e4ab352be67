//! Metadata you choose: a collector of your own that records the size and modification time
//! of the input file with each call, typed tags, and the CPU time and memory recorded beside
//! wall time. Run with `cargo run -p fleche --example collectors`.

use std::time::UNIX_EPOCH;

use fleche::meta::{CollectResult, Collector, EnvironmentCollector};
use fleche::{Cache, fleche, tags};

/// Records the input file's size and modification time (seconds since 1970) before the call,
/// so a result can be traced back to the exact version of its input.
struct InputFile;

#[derive(serde::Serialize)]
struct InputFacts {
    size: u64,
    modified: u64,
}

impl Collector for InputFile {
    type Before = InputFacts;
    type After = ();

    fn name(&self) -> &str {
        "input"
    }

    fn before(&self) -> CollectResult<InputFacts> {
        let meta = std::fs::metadata(INPUT)?;
        Ok(InputFacts {
            size: meta.len(),
            modified: meta.modified()?.duration_since(UNIX_EPOCH)?.as_secs(),
        })
    }

    fn after(&self, _: &InputFacts) -> CollectResult<()> {
        Ok(())
    }
}

const INPUT: &str = "Cargo.toml";

/// Counts the lines of the input that mention `word`.
#[fleche(meta = [InputFile])]
fn count_lines(word: String, repeat: u32) -> usize {
    let text = std::fs::read_to_string(INPUT).unwrap_or_default();
    let mut n = 0;
    for _ in 0..repeat {
        n = text.lines().filter(|l| l.contains(word.as_str())).count();
    }
    n
}

fn main() -> fleche::Result<()> {
    let cache = Cache::memory();
    let _active = cache.activate();
    {
        // Tags keep their types: `runs = 3` is the integer 3.
        let _t = tags!(project = "demo", runs = 3);
        // The environment collector for this scope only (`fleche.toml` can turn it on for all).
        let _m = fleche::meta!(EnvironmentCollector);
        count_lines("fleche".to_owned(), 2_000);
        count_lines("serde".to_owned(), 2_000);
    }
    count_lines("fleche".to_owned(), 2_000); // a hit: no collector runs

    // Queries compare by value: 3 finds the integer tag, "3" would not.
    let tagged = cache.query().tag("runs", 3).count()?;
    println!("calls tagged runs = 3: {tagged}");
    // Your namespace is queried like tags.
    let size = cache
        .query()
        .metadata("input")
        .first()?
        .and_then(|c| c.metadata().get("input", "size"));
    println!(
        "input size recorded: {}",
        size.map(|s| s.to_string()).unwrap_or_default()
    );
    // The table shows CPU time and memory beside wall time, and a column per key of the
    // namespaces asked for.
    println!(
        "{}",
        count_lines::query()
            .table()
            .arguments(["word"])
            .metadata(["input"])
    );
    let call = count_lines::query().arg_word("serde".to_owned()).only()?;
    println!("{call}");
    Ok(())
}
