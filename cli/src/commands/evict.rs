//! `fleche evict FILTER`: removes the calls that pass a filter, after asking (or with
//! `--yes`). Their values stay until `fleche gc`, as other calls may share them.

use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;

use crate::failure::{Failure, Outcome};
use crate::out::{self, Options};
use crate::select;
use crate::target::Target;

/// `fleche evict`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Filter, as in fleche-tui; `''` matches every call
    filter: String,
    /// Do not ask
    #[arg(long, short = 'y')]
    yes: bool,
}

#[derive(Serialize)]
struct Evicted {
    matched: usize,
    evicted: usize,
}

/// Runs `fleche evict`.
pub fn run(target: &Target, args: &Args, options: Options) -> Outcome {
    let cache = target.open_write()?;
    let selection = select::select(&cache, &args.filter, false)?;
    let keys = selection.keys();
    if keys.is_empty() {
        if options.json {
            return out::json(&Evicted {
                matched: 0,
                evicted: 0,
            });
        }
        println!("no call matches `{}`", args.filter);
        return Ok(());
    }
    if !args.yes {
        let calls = &selection.calls;
        let mut names: Vec<&str> = selection.iter().map(|r| calls.text(r.name)).collect();
        names.sort_unstable();
        names.dedup();
        eprint!(
            "evict {} of {} calls ({})? [y/N] ",
            out::group(keys.len() as u64),
            out::group(calls.len() as u64),
            out::cut(&names.join(", "), 60)
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let stdin = std::io::stdin();
        let read = stdin.lock().read_line(&mut answer);
        if read.is_err() || !matches!(answer.trim(), "y" | "Y" | "yes") {
            let hint = if stdin.is_terminal() {
                ""
            } else {
                " (give --yes to evict without asking)"
            };
            return Err(Failure::failed(format!("nothing evicted{hint}")));
        }
    }
    let evicted = cache.query().among(keys.iter().copied()).evict()?;
    if options.json {
        return out::json(&Evicted {
            matched: keys.len(),
            evicted,
        });
    }
    println!(
        "evicted {} calls; their values stay until `fleche gc`",
        out::group(evicted as u64)
    );
    Ok(())
}
