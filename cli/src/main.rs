//! `fleche`: look after a fleche cache from the shell: list and show calls, count what is
//! stored, sweep, compact, verify, and move calls between cache files. Each subcommand is a
//! module of `commands`; this file parses the command line and turns outcomes into exit codes.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod failure;
mod out;
mod progress;
mod select;
mod target;

const EXAMPLES: &str = "\
Examples:
  fleche ls                          every call of the default cache, newest first
  fleche ls 'fn:fib arg:n=20'        calls of fib with n = 20
  fleche --cache team ls tag:project=alloys
  fleche show 3fa9                   one call: metadata, arguments, result
  fleche stats --json                counts for a script
  fleche evict 'fn:old_model' --yes  remove calls without asking
  fleche gc && fleche compact        sweep unreferenced values, then shrink the file
  fleche verify                      read everything back and check it
  fleche export tag:paper=1 paper.redb
  fleche import paper.redb           copy a colleague's calls into this cache

Filters (ls, evict, export) use fleche-tui's syntax: fuzzy words, 'exact ^prefix suffix$
!not, and fn:NAME mod:NAME tag:KEY tag:KEY=VALUE arg:NAME arg:NAME=VALUE, all combined.

Exit codes:
  0  done
  1  failed, or damage found (verify), or the question was declined (evict)
  2  usage error, unknown or ambiguous key, or the cache cannot be opened";

/// Look after a fleche cache: list, show, count, clean, compact, verify and move calls.
#[derive(Debug, Parser)]
#[command(name = "fleche", version, after_help = EXAMPLES, max_term_width = 100)]
struct Cli {
    /// Cache file, or a cache name from fleche.toml [default: the cache programs use:
    /// FLECHE_CACHE, then fleche.toml; see `fleche config`]
    #[arg(long, global = true, value_name = "PATH|NAME")]
    cache: Option<String>,
    /// Print JSON on stdout, for scripts
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List calls, newest first
    Ls(commands::ls::Args),
    /// Show one call: metadata, arguments and result
    Show(commands::show::Args),
    /// Count calls, values and bytes, per function, and what gc would free
    Stats,
    /// Remove values no call refers to (the file shrinks only after `compact`)
    Gc,
    /// Remove calls that match a filter (asks first)
    Evict(commands::evict::Args),
    /// Give free pages back to the file system
    Compact,
    /// Read every value and record back and check them; repairs nothing
    Verify,
    /// Copy the calls that match a filter into another cache file
    Export(commands::moving::ExportArgs),
    /// Copy every call of another cache file into this cache
    Import(commands::moving::ImportArgs),
    /// Which fleche.toml files apply and which cache is the default, and why
    Config,
    /// Open the cache in fleche-tui (if it is on PATH)
    Tui,
}

fn main() -> ExitCode {
    quiet_panics();
    let cli = Cli::parse();
    let options = out::Options { json: cli.json };
    let target = target::Target::new(cli.cache);
    let result = match cli.command {
        Command::Ls(args) => commands::ls::run(&target, &args, options),
        Command::Show(args) => commands::show::run(&target, &args, options),
        Command::Stats => commands::stats::run(&target, options),
        Command::Gc => commands::maintain::gc(&target, options),
        Command::Evict(args) => commands::evict::run(&target, &args, options),
        Command::Compact => commands::maintain::compact(&target, options),
        Command::Verify => commands::maintain::verify(&target, options),
        Command::Export(args) => commands::moving::export(&target, &args, options),
        Command::Import(args) => commands::moving::import(&target, &args, options),
        Command::Config => commands::config::run(&target, options),
        Command::Tui => commands::tui::run(&target),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("fleche: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// A damaged file can make the storage engine panic; fleche catches that and reports the
/// file as damaged, so the panic's own message (with a source path inside redb) would only
/// confuse. Output cut short by the reader (`fleche ls | head`) makes `println!` panic, since
/// Rust ignores SIGPIPE: that ends the command quietly, as it would end a C tool. Any other
/// panic is a bug and is printed as usual.
fn quiet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_storage = info.location().is_some_and(|l| l.file().contains("/redb-"));
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map_or("", String::as_str);
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        if !in_storage {
            default(info);
        }
    }));
}
