//! Notebook display: the evcxr rich-output protocol, HTML escaping, and the short rendering
//! of a stored value that calls and tables show. Shared by [`Call`](crate::Call),
//! [`Table`](crate::Table) and `fleche-tui`'s SVG writer.

use std::io::Write as _;

/// Longest rendering of one argument or result value in a cell.
const MAX_VALUE_CHARS: usize = 60;

/// Escapes text for HTML element content and attribute values.
///
/// ```
/// assert_eq!(fleche::display::escape_html("<a href='x'>"), "&lt;a href=&#39;x&#39;&gt;");
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes an evcxr rich display (HTML and plain text) in one locked write, so output from
/// other threads cannot land between the markers.
pub(crate) fn evcxr_emit(html: &str, text: &str) {
    let out = evcxr_content(html, text);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// The evcxr rich-display protocol: each MIME type between begin and end markers.
fn evcxr_content(html: &str, text: &str) -> String {
    format!(
        "EVCXR_BEGIN_CONTENT text/html\n{html}\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/plain\n{text}\nEVCXR_END_CONTENT\n"
    )
}

/// A stored value rendered for a cell: numbers, short vectors, struct summaries, and text
/// as it is (unquoted, as a table shows text), never raw bytes.
pub(crate) fn value_summary(bytes: &[u8]) -> String {
    let item = crate::codec::inspect::Item::parse(bytes);
    match item.as_ref().ok().and_then(|i| i.as_str()) {
        Some(text) if text.chars().count() <= MAX_VALUE_CHARS => text.to_owned(),
        Some(text) => {
            let mut cut: String = text.chars().take(MAX_VALUE_CHARS - 1).collect();
            cut.push('…');
            cut
        }
        None => crate::codec::inspect::summary(bytes, MAX_VALUE_CHARS),
    }
}

/// Whether a recorded Rust type name (a call's result type) is an `Option`. fleche stores
/// `Some(x)` as `x` itself, so only the type tells `Some("sine")` from `"sine"`.
pub fn is_option_type(type_name: &str) -> bool {
    type_name
        .trim_start_matches("core::option::")
        .trim_start_matches("std::option::")
        .starts_with("Option<")
}

/// A stored result rendered for a cell (see [`value_summary`]), as `Some(..)` or `None` when
/// its recorded type is an `Option`.
pub(crate) fn result_summary(bytes: &[u8], type_name: &str) -> String {
    if !is_option_type(type_name) {
        return value_summary(bytes);
    }
    match crate::codec::inspect::Item::parse(bytes).map(|i| i.kind()) {
        Ok(crate::codec::inspect::Kind::Null) => "None".to_owned(),
        _ => format!("Some({})", value_summary(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_results_say_some_and_none() {
        let some = crate::codec::encode(&Some("sine")).unwrap();
        let none = crate::codec::encode(&None::<String>).unwrap();
        let option = std::any::type_name::<Option<&str>>();
        assert_eq!(result_summary(&some, option), "Some(sine)");
        assert_eq!(result_summary(&none, option), "None");
        assert_eq!(result_summary(&some, "&str"), "sine");
        assert!(is_option_type("Option<u8>") && is_option_type("std::option::Option<u8>"));
        assert!(!is_option_type("OptionSet"));
    }

    #[test]
    fn evcxr_output_has_html_then_text_between_markers() {
        let out = evcxr_content("<table></table>", "key  name");
        assert_eq!(
            out,
            "EVCXR_BEGIN_CONTENT text/html\n<table></table>\nEVCXR_END_CONTENT\n\
             EVCXR_BEGIN_CONTENT text/plain\nkey  name\nEVCXR_END_CONTENT\n"
        );
    }

    #[test]
    fn html_escapes_everything_that_could_open_markup() {
        assert_eq!(
            escape_html("<b>\"a\" & 'b'</b>"),
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;"
        );
    }
}
