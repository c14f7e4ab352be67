//! `fleche-tui [PATH]`: the terminal browser. A thin loop: read an event, turn it into an
//! action, update the state, draw; the background reader feeds the same loop.

use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Arg, ArgAction, Command};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;

use fleche_tui::app::{Action, Effect, Options, State};
use fleche_tui::loader::{self, Request};
use fleche_tui::{clipboard, keys, open, ui};

fn cli() -> Command {
    Command::new("fleche-tui")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Browse a fleche cache: filter calls, search tags, open arguments and results.")
        .long_about(
            "Browse a fleche cache: filter calls, search tags, open arguments and results.\n\n\
             Opens the cache read-only in multi-process mode, so it works while a notebook or \
             program keeps writing to it; new calls appear within about a second. Press ? \
             inside for every key.",
        )
        .arg(Arg::new("path").value_name("PATH").help(
            "Cache file (or a cache name from fleche.toml); default: the cache the \
                     library would use (FLECHE_CACHE, fleche.toml)",
        ))
        .arg(
            Arg::new("write")
                .long("write")
                .action(ArgAction::SetTrue)
                .help("Open for writing, which allows deleting calls (d, D)"),
        )
        .after_help(
            "Filter syntax: fuzzy terms, 'exact ^prefix suffix$ !not, and fn:NAME mod:NAME \
             tag:KEY tag:KEY=VALUE arg:NAME=VALUE, all combined.\nNO_COLOR=1 turns colours off.",
        )
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let arg = matches.get_one::<String>("path").map(String::as_str);
    let writable = matches.get_flag("write");
    let chosen = match open::choose(arg) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    if let Some(why) = &chosen.why {
        eprintln!("fleche-tui: opening {} ({why})", chosen.describe());
    }
    let opened = match chosen.layers.as_slice() {
        [] => open::open(&chosen.path, writable),
        layers => open::open_stack(layers, writable),
    };
    let opened = match opened {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    if let Some(note) = &opened.note {
        eprintln!("fleche-tui: {note}");
    }
    for warning in &opened.warnings {
        eprintln!("fleche-tui: {warning}");
    }
    // A repaired copy is named after the file it stands for.
    let shown = match opened.copy || !chosen.layers.is_empty() {
        true => None,
        false => opened.cache.path(),
    };
    let source = match shown {
        Some(path) => path.display().to_string(),
        None => chosen.describe(),
    };
    let options = Options {
        source,
        writable,
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        local_time: true,
        copy: opened.copy,
    };
    let outcome = run(&opened, options);
    if opened.copy
        && let Some(note) = &opened.note
    {
        // Said again: the browser's screen is gone.
        eprintln!("fleche-tui: {note}");
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleche-tui: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Time per frame for applying what the background reader sent; the rest waits a frame.
const MESSAGE_BUDGET: Duration = Duration::from_millis(8);

/// Restores the terminal when dropped, on every way out (return, error, panic unwinding).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

fn run(opened: &open::Opened, options: Options) -> anyhow::Result<()> {
    let cache = &opened.cache;
    let (tx, rx) = loader::channel();
    let (req_tx, req_rx) = mpsc::channel();
    let reader_cache = cache.clone();
    let reader = std::thread::Builder::new()
        .name("fleche-tui reader".into())
        .spawn(move || loader::run(reader_cache, tx, req_rx))
        .context("cannot start the background reader")?;
    let mut state = State::new(options);
    state.calls.layers = cache.layer_names().into_iter().map(str::to_owned).collect();
    for warning in &opened.warnings {
        state.loading.warn(warning.clone());
    }
    let outcome = browse(cache, state, opened.note.clone(), &rx, &req_tx);
    // The reader holds the cache open: it must end (it does once the channels close) before
    // the process does, or a file opened for writing is left needing repair.
    drop((rx, req_tx));
    let _ = reader.join();
    outcome
}

/// The terminal loop, until the user quits.
fn browse(
    cache: &fleche::Cache,
    mut state: State,
    note: Option<String>,
    rx: &mpsc::Receiver<loader::Loaded>,
    req_tx: &mpsc::Sender<Request>,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!("fleche-tui needs a terminal (stdin and stdout must not be redirected)");
    }
    // The terminal is restored on a panic too: this hook turns the mouse off, and the one
    // ratatui installs around it leaves raw mode and the alternate screen first.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        default_hook(info);
    }));
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let _guard = TerminalGuard;
    execute!(std::io::stdout(), EnableMouseCapture).context("cannot enable the mouse")?;
    let size = terminal.size().context("cannot read the terminal size")?;
    state.update(Action::Resize(size.width, size.height), cache);
    if let Some(note) = note {
        state.update(Action::Say(note), cache);
    }

    let tick = Duration::from_millis(250);
    let mut last_tick = Instant::now();
    let mut backlog = false;
    while !state.quit {
        terminal
            .draw(|frame| ui::render(&state, frame))
            .context("cannot draw")?;
        // While the reader's messages wait, come back for them as soon as input allows.
        let timeout = state.input_wait(backlog, tick.saturating_sub(last_tick.elapsed()));
        if event::poll(timeout).context("cannot read input")? {
            // Handle every queued event before drawing again, so fast typing stays smooth.
            loop {
                let ev = event::read().context("cannot read input")?;
                if let Some(action) = keys::action(&state, &ev) {
                    let effect = state.update(action, cache);
                    perform(effect, &mut state, cache, req_tx)?;
                }
                if state.quit || !event::poll(Duration::ZERO).context("cannot read input")? {
                    break;
                }
            }
        }
        backlog = state.receive(rx, MESSAGE_BUDGET);
        if last_tick.elapsed() >= tick {
            state.update(Action::Tick, cache);
            last_tick = Instant::now();
        }
    }
    Ok(())
}

fn perform(
    effect: Option<Effect>,
    state: &mut State,
    cache: &fleche::Cache,
    rescan: &mpsc::Sender<Request>,
) -> anyhow::Result<()> {
    match effect {
        None => {}
        Some(Effect::Yank(text, what)) => {
            let mut out = std::io::stdout();
            out.write_all(clipboard::osc52(&text).as_bytes())?;
            out.flush()?;
            let shown: String = text.chars().take(40).collect();
            let more = if text.chars().count() > 40 { "…" } else { "" };
            state.update(Action::Say(format!("copied {what}: {shown}{more}")), cache);
        }
        Some(Effect::Delete(keys)) => {
            let msg = open::delete(cache, &keys);
            let _ = rescan.send(Request::Deleted(keys.clone()));
            state.update(Action::Loaded(loader::Loaded::Removed(keys)), cache);
            state.update(Action::Say(msg), cache);
        }
        Some(Effect::Rescan) => {
            let _ = rescan.send(Request::Rescan);
        }
    }
    Ok(())
}
