//! `fleche export FILTER OUT.redb` and `fleche import FILE`: copying calls, with their values,
//! keys, metadata and tags, between cache files. Calls the target has already are left alone,
//! so running either twice changes nothing.

use std::path::PathBuf;

use fleche::Cache;
use fleche::cache::Copied;

use crate::failure::{Failure, Outcome};
use crate::out::{self, Options};
use crate::progress;
use crate::select;
use crate::target::{Target, open_failure};

/// `fleche export`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Filter, as in fleche-tui; `''` exports every call
    filter: String,
    /// The cache file to write (created if missing; calls it has are kept)
    out: PathBuf,
}

/// `fleche import`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The cache file to copy from (opened read-only)
    file: PathBuf,
}

/// Runs `fleche export`.
pub fn export(target: &Target, args: &ExportArgs, options: Options) -> Outcome {
    let source = target.open_read()?;
    if let (Some(from), Ok(to)) = (source.path(), args.out.canonicalize())
        && from == to
    {
        return Err(Failure::usage("the output file is the cache itself"));
    }
    let selection = select::select(&source, &args.filter, false)?;
    let keys = selection.keys();
    let out_cache = Cache::open(&args.out).map_err(|e| open_failure(&args.out, &e))?;
    let bar = progress::bar("exporting", keys.len() as u64);
    let copied = source
        .query()
        .among(keys.iter().copied())
        .copy_to_with_progress(&out_cache, &mut progress::follow(&bar));
    bar.finish_and_clear();
    report(&copied?, &args.out.display().to_string(), options)
}

/// Runs `fleche import`.
pub fn import(target: &Target, args: &ImportArgs, options: Options) -> Outcome {
    let from = Cache::open_read_only(&args.file).map_err(|e| open_failure(&args.file, &e))?;
    let into = target.open_or_create()?;
    if into.path() == from.path() {
        return Err(Failure::usage("the file to import is the cache itself"));
    }
    let bar = progress::bar("importing", 0);
    let copied = into.transfer_with_progress(&from, None, &mut progress::follow(&bar));
    bar.finish_and_clear();
    let into_path = into
        .path()
        .map_or("the cache".into(), |p| p.display().to_string());
    report(&copied?, &into_path, options)
}

fn report(copied: &Copied, to: &str, options: Options) -> Outcome {
    if options.json {
        return out::json(copied);
    }
    println!(
        "copied {} calls and {} values ({}) into {to}; {} calls were there already",
        out::group(copied.calls_copied),
        out::group(copied.values_copied),
        out::human_size(copied.bytes_copied),
        out::group(copied.calls_present)
    );
    if copied.values_missing > 0 {
        eprintln!(
            "fleche: {} values the source's records name were missing from the source",
            copied.values_missing
        );
    }
    Ok(())
}
