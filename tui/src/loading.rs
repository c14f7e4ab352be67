//! Progress of the background reader, as the table's status line and empty table tell it.

/// Progress of the background reader.
#[derive(Debug, Clone, Default)]
pub struct Loading {
    /// Calls in the cache, when known.
    pub total: Option<u64>,
    /// Whether the first full load is done.
    pub done: bool,
    /// The last reading error.
    pub error: Option<String>,
    /// Stack layers left out (missing, damaged, unreachable), and why; each once.
    pub warnings: Vec<String>,
}

impl Loading {
    /// ` · loading 42%` while the first load runs, given how many calls arrived; empty after.
    pub fn progress(&self, loaded: u64) -> String {
        if self.done {
            return String::new();
        }
        match self.total {
            Some(t) if t > 0 => format!(" · loading {}%", (loaded * 100 / t).min(100)),
            _ => " · loading".to_owned(),
        }
    }

    /// What an empty table says: still reading, nothing readable, nothing stored yet, or
    /// nothing matching.
    pub fn empty_table(&self, no_calls: bool) -> String {
        match &self.error {
            _ if no_calls && !self.done => "reading the cache…".to_owned(),
            Some(e) if no_calls => format!("no call could be read: {e}"),
            None if no_calls => {
                "this cache holds no calls yet (new calls appear here as they are stored)"
                    .to_owned()
            }
            _ => "no call matches the filter".to_owned(),
        }
    }

    /// Notes that a layer was left out (once per message).
    pub fn warn(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// The reading error and the layers left out, for the status line, if any.
    pub fn failure(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.error {
            out.push_str(&format!(" · reading failed: {e}"));
        }
        for w in &self.warnings {
            out.push_str(&format!(" · {w}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_shows_until_done() {
        let mut l = Loading::default();
        assert_eq!(l.progress(5), " · loading");
        l.total = Some(200);
        assert_eq!(l.progress(50), " · loading 25%");
        l.done = true;
        assert_eq!(l.progress(50), "");
    }

    #[test]
    fn an_empty_table_after_a_failure_says_why() {
        let mut l = Loading {
            done: true,
            ..Loading::default()
        };
        assert!(
            l.empty_table(true)
                .starts_with("this cache holds no calls yet")
        );
        l.error = Some("the time index is damaged".into());
        assert_eq!(
            l.empty_table(true),
            "no call could be read: the time index is damaged"
        );
        assert_eq!(l.empty_table(false), "no call matches the filter");
    }
}
