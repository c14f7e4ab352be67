//! Progress bars on stderr for anything that can take more than a second; indicatif hides
//! them when stderr is not a terminal, so scripts and tests see none.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `total` items, labelled.
pub fn bar(label: &str, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}

/// A spinner for work whose length is unknown (compaction, a sweep).
pub fn spinner(label: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(label.to_owned());
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// A callback that moves `bar` to (done, total).
pub fn follow(bar: &ProgressBar) -> impl FnMut(u64, u64) + '_ {
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}
