//! Timing helpers shared by the peer benchmark (`benches/peer.rs`): medians of repeated runs,
//! printed as `tool workload seconds` lines for `benches/peer/table.py`.

use std::time::{Duration, Instant};

/// The median time of one operation: `samples` runs of `batch` operations each, timed as a
/// whole and divided, so timer overhead does not swamp sub-microsecond operations.
pub fn median(samples: usize, batch: usize, mut run_batch: impl FnMut()) -> f64 {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            run_batch();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2].as_secs_f64() / batch as f64
}

/// The median time of `samples` runs, each after its own untimed `setup`; what a run returns
/// is dropped after its timing (a cache closing, say).
pub fn median_with<S, R>(
    samples: usize,
    mut setup: impl FnMut() -> S,
    mut run: impl FnMut(S) -> R,
) -> f64 {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let input = setup();
            let start = Instant::now();
            let out = run(input);
            let took = start.elapsed();
            drop(out);
            took
        })
        .collect();
    times.sort();
    times[times.len() / 2].as_secs_f64()
}

/// Prints one measurement (a value in seconds, or in bytes for `bytes_per_call`).
pub fn report(tool: &str, workload: &str, value: f64) {
    println!("{tool}\t{workload}\t{value:.9}");
}
