//! The parts of a call record a row keeps in compact form: the CPU time as one `f32` (the
//! table's column; the call view reads the rest of the resources from the record), and the
//! result type without module paths.

use fleche::record::Resources;

/// CPU seconds (user and system) of what a record holds, NaN when neither was recorded.
pub fn cpu_seconds(resources: Option<&Resources>) -> f32 {
    match resources.map(|r| (r.cpu_user, r.cpu_system)) {
        None | Some((None, None)) => f32::NAN,
        Some((user, system)) => (user.unwrap_or(0.0) + system.unwrap_or(0.0)) as f32,
    }
}

/// A Rust type name without module paths: `alloc::vec::Vec<f64>` -> `Vec<f64>`.
pub fn short_type(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(&word));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(&word));
    out
}
