//! Whole screens on ratatui's `TestBackend`, snapshot-tested: the keys are pressed through the
//! same mapping the binary uses, on the getting-started notebook's calls with fixed times.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use fleche_tui::app::{Action, Options, Screen, State};
use fleche_tui::loader::Loaded;
use fleche_tui::testing::{MemoryValues, notebook_with_fit, summaries};
use fleche_tui::{keys, ui};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

struct Ui {
    state: State,
    values: MemoryValues,
    terminal: Terminal<TestBackend>,
}

impl Ui {
    fn new(width: u16, height: u16, writable: bool, color: bool) -> Ui {
        let (calls, values) = notebook_with_fit();
        let mut state = State::new(Options {
            source: "/home/ada/project/.fleche/cache.redb".into(),
            writable,
            color,
            local_time: false,
            copy: false,
        });
        state.update(Action::Resize(width, height), &values);
        state.update(Action::Loaded(Loaded::Total(calls.len() as u64)), &values);
        state.update(Action::Loaded(Loaded::rows(calls.clone())), &values);
        state.update(Action::Loaded(summaries(&calls, &values)), &values);
        state.update(Action::Loaded(Loaded::Done), &values);
        let terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        Ui {
            state,
            values,
            terminal,
        }
    }

    fn key(&mut self, code: KeyCode) -> &mut Ui {
        self.key_with(code, KeyModifiers::NONE)
    }

    fn key_with(&mut self, code: KeyCode, modifiers: KeyModifiers) -> &mut Ui {
        let event = Event::Key(KeyEvent::new(code, modifiers));
        if let Some(action) = keys::action(&self.state, &event) {
            self.state.update(action, &self.values);
        }
        self
    }

    fn keys(&mut self, text: &str) -> &mut Ui {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
        self
    }

    fn screen(&mut self) -> String {
        let state = &self.state;
        self.terminal.draw(|f| ui::render(state, f)).unwrap();
        self.terminal.backend().to_string()
    }
}

fn main_view() -> Ui {
    Ui::new(120, 16, false, true)
}

#[test]
fn main_view_lists_calls_newest_first() {
    let mut ui = main_view();
    insta::assert_snapshot!("main_view", ui.screen());
}

#[test]
fn fuzzy_filter_while_typing() {
    let mut ui = main_view();
    ui.key(KeyCode::Char('/')).keys("lrc");
    insta::assert_snapshot!("filter_typing", ui.screen());
    assert_eq!(ui.state.table.view.len(), 2);
}

#[test]
fn field_filter_kept_after_enter() {
    let mut ui = main_view();
    ui.key(KeyCode::Char('/'))
        .keys("tag:project !fn:relax")
        .key(KeyCode::Enter);
    insta::assert_snapshot!("filter_fields", ui.screen());
    assert!(!ui.state.table.editing);
    assert_eq!(ui.state.table.view.len(), 1);
}

#[test]
fn tag_picker_searches_and_filters() {
    let mut ui = main_view();
    ui.key(KeyCode::Char('t'));
    insta::assert_snapshot!("tag_picker", ui.screen());
    ui.keys("proj");
    insta::assert_snapshot!("tag_picker_search", ui.screen());
    // The best match for "proj" among equals is the most used: project=alloys (1 call) ties
    // with project=my_project; choose the second one.
    ui.key(KeyCode::Down).key(KeyCode::Enter);
    assert!(
        ui.state.table.filter.starts_with("tag:project="),
        "{}",
        ui.state.table.filter
    );
    assert_eq!(ui.state.table.view.len(), 1);
}

#[test]
fn expanded_result_shows_field_names() {
    let mut ui = Ui::new(110, 30, false, true);
    // The fit is the newest call: open it, open its result, then its parameters.
    ui.key(KeyCode::Enter);
    assert_eq!(ui.state.screen, Screen::Call);
    insta::assert_snapshot!("call_opened", ui.screen());
    ui.key(KeyCode::Char('l'));
    insta::assert_snapshot!("result_expanded", ui.screen());
    ui.keys("jjjj").key(KeyCode::Char('l'));
    insta::assert_snapshot!("result_parameters", ui.screen());
    ui.key(KeyCode::Char('2'));
    insta::assert_snapshot!("collapsed_to_level_2", ui.screen());
}

#[test]
fn call_arguments_and_paths() {
    let mut ui = Ui::new(100, 24, false, true);
    ui.key(KeyCode::Char('/'))
        .keys("fn:compute")
        .key(KeyCode::Enter);
    ui.key(KeyCode::Enter);
    // Select the `self` argument and open it.
    let rows = ui.state.call.as_ref().unwrap().tree.rows().len();
    ui.key(KeyCode::Char('G')).key(KeyCode::Up).key(KeyCode::Up);
    ui.key(KeyCode::Char('l')).key(KeyCode::Char('j'));
    insta::assert_snapshot!("argument_self", ui.screen());
    assert!(ui.state.call.as_ref().unwrap().tree.rows().len() > rows);
}

#[test]
fn help_lists_every_key() {
    let mut ui = Ui::new(100, 40, false, true);
    ui.key(KeyCode::Char('?'));
    insta::assert_snapshot!("help", ui.screen());
    ui.key(KeyCode::Char('x'));
    assert!(matches!(ui.state.overlay, fleche_tui::app::Overlay::None));
}

#[test]
fn delete_asks_first_and_only_when_writable() {
    let mut ui = main_view();
    ui.key(KeyCode::Char('d'));
    assert!(ui.screen().contains("start fleche-tui with --write"));
    let mut ui = Ui::new(120, 16, true, true);
    ui.key(KeyCode::Char('d'));
    insta::assert_snapshot!("confirm_delete", ui.screen());
    let event = Event::Key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    let action = keys::action(&ui.state, &event).unwrap();
    let effect = ui.state.update(action, &ui.values);
    assert!(matches!(effect, Some(fleche_tui::app::Effect::Delete(k)) if k.len() == 1));
}

#[test]
fn sort_by_any_column_and_reverse() {
    let mut ui = main_view();
    ui.key(KeyCode::Char('2'));
    insta::assert_snapshot!("sorted_by_function", ui.screen());
    ui.key(KeyCode::Char('2'));
    let first = ui.state.table.view[0];
    assert_eq!(
        ui.state
            .calls
            .text(ui.state.calls.rows[first as usize].name),
        "relax"
    );
    ui.key(KeyCode::Char('5'));
    let first = ui.state.table.view[0];
    assert_eq!(
        ui.state
            .calls
            .text(ui.state.calls.rows[first as usize].name),
        "relax"
    );
}

#[test]
fn narrow_terminal_drops_columns() {
    let mut ui = Ui::new(72, 10, false, true);
    insta::assert_snapshot!("narrow", ui.screen());
}

#[test]
fn no_color_uses_no_colours() {
    let mut ui = Ui::new(120, 16, false, false);
    ui.key(KeyCode::Char('t'));
    ui.screen();
    let buffer = ui.terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, Color::Reset);
        assert_eq!(cell.bg, Color::Reset);
    }
    let mut colored = Ui::new(120, 16, false, true);
    colored.screen();
    let buffer = colored.terminal.backend().buffer();
    assert!(buffer.content().iter().any(|c| c.fg != Color::Reset));
}

#[test]
fn yank_copies_value_path_and_digest() {
    let mut ui = main_view();
    ui.key(KeyCode::Enter)
        .key(KeyCode::Char('l'))
        .key(KeyCode::Char('j'));
    let mut yank = |second: char| {
        ui.key(KeyCode::Char('y'));
        let event = Event::Key(KeyEvent::new(KeyCode::Char(second), KeyModifiers::NONE));
        let action = keys::action(&ui.state, &event).unwrap();
        match ui.state.update(action, &ui.values) {
            Some(fleche_tui::app::Effect::Yank(text, _)) => text,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(yank('y'), "relax Cu fcc");
    assert_eq!(yank('p'), "result.name");
    assert_eq!(yank('d').len(), 64);
    assert_eq!(yank('k').len(), 64);
}

#[test]
fn mouse_click_selects_then_opens_and_header_sorts() {
    let mut ui = main_view();
    ui.state.update(Action::Click(5, 4), &ui.values);
    assert_eq!(ui.state.table.selected, 2);
    ui.state.update(Action::Click(5, 4), &ui.values);
    assert_eq!(ui.state.screen, Screen::Call);
    let mut ui = main_view();
    ui.state.update(Action::Click(12, 1), &ui.values);
    assert_eq!(ui.state.table.sort, fleche_tui::calls::Column::Function);
    // The selected call (the newest, relax) stays selected: it sorts last by name.
    assert_eq!(ui.state.table.selected, 5);
    ui.state.update(Action::Move(-3), &ui.values);
    assert_eq!(ui.state.table.selected, 2);
}

#[test]
fn live_rows_keep_selection_and_filter() {
    let mut ui = main_view();
    ui.key(KeyCode::Char('/')).keys("calc").key(KeyCode::Enter);
    ui.key(KeyCode::Down);
    let before = ui.state.selected_key();
    let (mut more, mut values) = (Vec::new(), MemoryValues::default());
    more.push(fleche_tui::testing::record(
        &mut values,
        "another_calculation",
        "__main__",
        &[("a", &7i64), ("b", &8i64)],
        &15i64,
        "i64",
        60_000,
        1.0,
        &[],
    ));
    ui.state
        .update(Action::Loaded(Loaded::rows(more)), &ui.values);
    assert_eq!(ui.state.selected_key(), before);
    assert_eq!(ui.state.table.filter, "calc");
    assert_eq!(ui.state.table.view.len(), 4);
    assert_eq!(ui.state.table.selected, 2);
}

#[test]
fn esc_clears_a_kept_filter_before_it_quits() {
    let mut ui = main_view();
    ui.key(KeyCode::Char('/'))
        .keys("fn:fib")
        .key(KeyCode::Enter);
    assert_eq!(ui.state.table.view.len(), 1);
    ui.key(KeyCode::Esc);
    assert!(!ui.state.quit, "Esc with a kept filter must not quit");
    assert_eq!(ui.state.table.filter, "");
    assert_eq!(ui.state.table.view.len(), 6);
    // The tag picker's choice is a filter term: Esc clears it the same way.
    ui.key(KeyCode::Char('t')).key(KeyCode::Enter);
    assert!(ui.state.table.filter.starts_with("tag:"));
    assert_eq!(ui.state.table.view.len(), 1);
    ui.key(KeyCode::Esc);
    assert!(!ui.state.quit);
    assert_eq!(ui.state.table.view.len(), 6);
    // Back from a call to the filtered table, Esc clears, and only then quits.
    ui.key(KeyCode::Char('/')).keys("calc").key(KeyCode::Enter);
    ui.key(KeyCode::Enter).key(KeyCode::Esc);
    assert_eq!(ui.state.screen, Screen::Table);
    assert_eq!(ui.state.table.filter, "calc");
    ui.key(KeyCode::Esc);
    assert!(!ui.state.quit);
    assert_eq!(ui.state.table.filter, "");
    ui.key(KeyCode::Esc);
    assert!(ui.state.quit, "Esc with nothing to clear quits");
}

#[test]
fn q_quits_even_with_a_kept_filter() {
    let mut ui = main_view();
    ui.key(KeyCode::Char('/'))
        .keys("fn:fib")
        .key(KeyCode::Enter);
    ui.key(KeyCode::Char('q'));
    assert!(ui.state.quit);
}

#[test]
fn unreadable_records_are_rows_of_their_own() {
    let mut ui = Ui::new(120, 16, false, false);
    let damaged = [
        (
            fleche::Digest::from_bytes([0xd4; 32]),
            "unexpected end of input".to_owned(),
        ),
        (
            fleche::Digest::from_bytes([0xe7; 32]),
            "invalid CBOR item at byte 3".to_owned(),
        ),
    ];
    let readable = ui.state.calls.len();
    ui.state.update(
        Action::Loaded(Loaded::Unreadable(damaged.to_vec())),
        &ui.values,
    );
    ui.state.update(Action::Tick, &ui.values);
    assert_eq!(ui.state.calls.len(), readable + 2);
    assert_eq!(ui.state.calls.unreadable(), 2);
    assert!(
        ui.state.count_text().ends_with(" · 2 unreadable"),
        "{}",
        ui.state.count_text()
    );
    insta::assert_snapshot!("unreadable_rows", ui.screen());
    // The filter finds them; opening one says why instead of opening it.
    ui.key(KeyCode::Char('/'))
        .keys("unreadable")
        .key(KeyCode::Enter)
        .key(KeyCode::Enter);
    assert_eq!(ui.state.table.view.len(), 2);
    assert_eq!(ui.state.screen, Screen::Table);
    let message = ui.state.message.clone().unwrap_or_default();
    assert!(message.contains("unreadable record: "), "{message}");
}

#[test]
fn typing_a_filter_key_by_key_shows_what_the_whole_filter_shows() {
    // Each key filters what the previous one showed when the filter only grows; the view
    // must be the one the whole text gives, whatever was typed, erased or cycled before.
    for text in [
        "calc",
        "calc !lo",
        "fn:calc tag:pro",
        "x=1",
        "arg:x=10",
        "'calc ^an",
        "fit$",
        "lrc\x08\x08ong",
        "xy\x08\x08\x08fib",
        "calc\tx\t",
    ] {
        let mut typed = main_view();
        typed.key(KeyCode::Char('/'));
        for c in text.chars() {
            match c {
                '\x08' => typed.key(KeyCode::Backspace),
                '\t' => typed.key(KeyCode::Tab),
                c => typed.key(KeyCode::Char(c)),
            };
            let mut whole = main_view();
            whole.state.table.scope = typed.state.table.scope;
            whole.state.set_filter(&typed.state.table.filter);
            assert_eq!(
                typed.state.table.view, whole.state.table.view,
                "{:?} typed as {text:?}",
                typed.state.table.filter
            );
        }
        assert!(text.contains(['\x08', '\t']) || typed.state.table.filter == text);
    }
}
