//! The parts of a call record a row keeps outside its filter columns, in compact form: the
//! resources in 16 bytes, the details only the call view shows (boxed, for the calls that
//! recorded any), and the result type without module paths.

use std::collections::BTreeMap;

use fleche::record::{CallRecord, Environment, Git, Resources};
use fleche::{Digest, Value};

/// What only the call view shows, for the calls that recorded any of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Details {
    /// `version = ...` of the function.
    pub version: Option<Box<str>>,
    /// Digest of the function's code, when recorded.
    pub code: Option<Digest>,
    /// Host, user, directory, when recorded.
    pub environment: Option<Environment>,
    /// Git state, when recorded.
    pub git: Option<Git>,
    /// What the user's own collectors recorded, by namespace.
    pub namespaces: BTreeMap<String, Value>,
}

impl Details {
    /// The details of a record, or `None` when it recorded none.
    pub fn of(record: &CallRecord) -> Option<Box<Details>> {
        let md = &record.metadata;
        Details::from_parts(
            record.version.as_deref(),
            record.code,
            md.environment.as_ref(),
            md.git.as_ref(),
            &md.namespaces,
        )
    }

    /// The details of a record from its parts, or `None` when it recorded none.
    pub fn from_parts(
        version: Option<&str>,
        code: Option<Digest>,
        environment: Option<&Environment>,
        git: Option<&Git>,
        namespaces: &BTreeMap<String, Value>,
    ) -> Option<Box<Details>> {
        let none = version.is_none()
            && code.is_none()
            && environment.is_none()
            && git.is_none()
            && namespaces.is_empty();
        if none {
            return None;
        }
        let details = Details {
            version: version.map(Box::from),
            code,
            environment: environment.cloned(),
            git: git.cloned(),
            namespaces: namespaces.clone(),
        };
        (details != Details::default()).then(|| Box::new(details))
    }
}

/// [`Resources`] in 16 bytes: CPU seconds as `f32` (NaN when not recorded), peak memory
/// growth with `u64::MAX` for none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactResources {
    cpu_user: f32,
    cpu_system: f32,
    peak_memory_growth: u64,
}

impl CompactResources {
    /// Nothing recorded.
    pub const NONE: CompactResources = CompactResources {
        cpu_user: f32::NAN,
        cpu_system: f32::NAN,
        peak_memory_growth: u64::MAX,
    };

    /// The compact form of what a record holds.
    pub fn of(resources: Option<&Resources>) -> CompactResources {
        let Some(r) = resources else {
            return CompactResources::NONE;
        };
        CompactResources {
            cpu_user: r.cpu_user.map_or(f32::NAN, |x| x as f32),
            cpu_system: r.cpu_system.map_or(f32::NAN, |x| x as f32),
            peak_memory_growth: r.peak_memory_growth.unwrap_or(u64::MAX),
        }
    }

    /// CPU seconds in user mode.
    pub fn cpu_user(&self) -> Option<f64> {
        (!self.cpu_user.is_nan()).then_some(f64::from(self.cpu_user))
    }

    /// CPU seconds in the kernel.
    pub fn cpu_system(&self) -> Option<f64> {
        (!self.cpu_system.is_nan()).then_some(f64::from(self.cpu_system))
    }

    /// Growth of the process's peak resident memory during the call, in bytes.
    pub fn peak_memory_growth(&self) -> Option<u64> {
        (self.peak_memory_growth != u64::MAX).then_some(self.peak_memory_growth)
    }

    /// Whether anything was recorded.
    pub fn is_some(&self) -> bool {
        *self != CompactResources::NONE
            && (self.cpu_user().is_some()
                || self.cpu_system().is_some()
                || self.peak_memory_growth().is_some())
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
