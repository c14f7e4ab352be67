//! Renders the screenshots in `screenshots/` from the real drawing code: the getting-started
//! notebook's calls (fixed times) on a `TestBackend`, written as SVG with colours.
//! Run through `scripts/screenshots.sh`.

use fleche_tui::app::{Action, Options, State};
use fleche_tui::loader::Loaded;
use fleche_tui::testing::{MemoryValues, notebook_with_fit, summaries};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const W: u16 = 112;
const H: u16 = 26;

fn state() -> (State, MemoryValues) {
    let (calls, values) = notebook_with_fit();
    let mut state = State::new(Options {
        source: "~/alloys/.fleche/cache.redb".into(),
        writable: false,
        color: true,
        local_time: false,
        copy: false,
    });
    for action in [
        Action::Resize(W, H),
        Action::Loaded(Loaded::Total(calls.len() as u64)),
        Action::Loaded(Loaded::rows(calls.clone())),
        Action::Loaded(summaries(&calls, &values)),
        Action::Loaded(Loaded::Done),
    ] {
        state.update(action, &values);
    }
    (state, values)
}

fn shoot(dir: &std::path::Path, name: &str, state: &State) {
    let mut terminal = Terminal::new(TestBackend::new(W, H)).expect("test backend");
    terminal
        .draw(|f| fleche_tui::ui::render(state, f))
        .expect("draw");
    let svg = fleche_tui::svg::to_svg(terminal.backend().buffer());
    let path = dir.join(format!("{name}.svg"));
    std::fs::write(&path, svg).expect("write the screenshot");
    println!("wrote {}", path.display());
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or("screenshots".into()));
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");

    let (mut s, v) = state();
    s.update(Action::Move(1), &v);
    shoot(&dir, "main-view", &s);

    let (mut s, v) = state();
    s.update(Action::EditFilter, &v);
    for c in "calc".chars() {
        s.update(Action::Type(c), &v);
    }
    shoot(&dir, "fuzzy-filter", &s);

    let (mut s, v) = state();
    s.update(Action::Tags, &v);
    for c in "pro".chars() {
        s.update(Action::Type(c), &v);
    }
    shoot(&dir, "tag-picker", &s);

    let (mut s, v) = state();
    s.update(Action::Open, &v);
    s.update(Action::Right, &v);
    for _ in 0..4 {
        s.update(Action::Move(1), &v);
    }
    s.update(Action::Right, &v);
    s.update(Action::Move(3), &v);
    shoot(&dir, "expanded-result", &s);
}
