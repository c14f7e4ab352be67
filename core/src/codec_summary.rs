//! A one-line rendering of an encoded value for table cells.
//!
//! PLACEHOLDER until `codec::inspect::summary` lands with fleche's own codec: this one decodes
//! the whole value through ciborium, which the real one avoids.

use ciborium::Value;

/// The value in `bytes` as one line of at most about `max_chars` characters.
pub(crate) fn summary(bytes: &[u8], max_chars: usize) -> String {
    let value: Value = match ciborium::from_reader(bytes) {
        Ok(v) => v,
        Err(_) => return format!("<{} undecodable bytes>", bytes.len()),
    };
    let mut out = String::new();
    render(&value, true, max_chars, &mut out);
    if out.chars().count() > max_chars {
        out = out.chars().take(max_chars.saturating_sub(1)).collect();
        out.push('…');
    }
    out
}

fn render(v: &Value, top: bool, budget: usize, out: &mut String) {
    if out.len() > budget * 4 {
        return;
    }
    match v {
        Value::Integer(i) => out.push_str(&i128::from(*i).to_string()),
        Value::Float(f) => out.push_str(&f.to_string()),
        Value::Text(s) if top => out.push_str(s),
        Value::Text(s) => out.push_str(&format!("{s:?}")),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("None"),
        Value::Bytes(b) => out.push_str(&format!("<{} bytes>", b.len())),
        Value::Tag(_, inner) => render(inner, top, budget, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if out.len() > budget {
                    out.push_str(&format!("… {} items", items.len()));
                    break;
                }
                render(item, false, budget, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, val)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if out.len() > budget {
                    out.push('…');
                    break;
                }
                match k {
                    Value::Text(s) => out.push_str(s),
                    other => render(other, false, budget, out),
                }
                out.push_str(": ");
                render(val, false, budget, out);
            }
            out.push('}');
        }
        _ => out.push('?'),
    }
}
