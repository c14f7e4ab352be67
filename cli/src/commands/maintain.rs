//! `fleche gc`, `fleche compact` and `fleche verify`: sweeping values no call refers to,
//! giving the file's free pages back, and reading everything back to check it.

use std::time::Instant;

use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::out::{self, Options};
use crate::progress;
use crate::target::Target;

/// Runs `fleche gc`.
pub fn gc(target: &Target, options: Options) -> Outcome {
    let cache = target.open_write()?;
    let spinner = progress::spinner("sweeping");
    let collected = cache.gc();
    spinner.finish_and_clear();
    let collected = collected?;
    if options.json {
        return out::json(&collected);
    }
    println!(
        "removed {} values ({}) that no call refers to; {} kept",
        out::group(collected.values_removed),
        out::human_size(collected.bytes_removed),
        out::group(collected.values_kept)
    );
    if collected.values_removed > 0 {
        println!("the file keeps its size until `fleche compact`; new results reuse the space");
    }
    Ok(())
}

/// Runs `fleche compact`.
pub fn compact(target: &Target, options: Options) -> Outcome {
    let mut cache = target.open_write()?;
    let spinner = progress::spinner("compacting");
    let compacted = cache.compact();
    spinner.finish_and_clear();
    let compacted = compacted?;
    if options.json {
        return out::json(&compacted);
    }
    println!(
        "{} -> {} ({} given back)",
        out::human_size(compacted.bytes_before),
        out::human_size(compacted.bytes_after),
        out::human_size(compacted.bytes_before.saturating_sub(compacted.bytes_after))
    );
    Ok(())
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    #[serde(flatten)]
    verified: &'a fleche::cache::Verified,
    seconds: f64,
    sound: bool,
}

/// Runs `fleche verify`: exit code 1 when anything is wrong.
pub fn verify(target: &Target, options: Options) -> Outcome {
    let cache = target.open_read()?;
    let bar = progress::bar("verifying", 0);
    let start = Instant::now();
    let verified = cache.verify_with_progress(&mut progress::follow(&bar));
    bar.finish_and_clear();
    let verified = verified?;
    let seconds = start.elapsed().as_secs_f64();
    if options.json {
        out::json(&VerifyReport {
            verified: &verified,
            seconds,
            sound: verified.is_sound(),
        })?;
    } else {
        let rate = verified.value_bytes as f64 / 1e6 / seconds.max(1e-9);
        println!(
            "read {} values ({}) and {} call records in {seconds:.2} s ({rate:.0} MB/s)",
            out::group(verified.values),
            out::human_size(verified.value_bytes),
            out::group(verified.calls)
        );
        println!(
            "checked: every value parses whole; every record decodes and agrees with its \
             result digest; every value a record names is stored; the time index matches"
        );
        let width = out::width();
        for problem in verified.problems.iter().take(50) {
            println!(
                "{}",
                out::cut(&format!("{}  {}", problem.digest, problem.detail), width)
            );
        }
        if verified.problems.len() > 50 {
            println!("... and {} more", verified.problems.len() - 50);
        }
    }
    if verified.is_sound() {
        if !options.json {
            println!("no problem found");
        }
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "{} problems found; the cache was not changed",
            verified.problems.len()
        )))
    }
}
