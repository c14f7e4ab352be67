//! Fields of a call record to sort and group queries by.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::call::Call;
use crate::meta::Value;

/// A field of a call's record to sort or group by.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// Function name.
    Name,
    /// Module path.
    Module,
    /// The function's `version`.
    Version,
    /// Start time.
    TimeStart,
    /// Stop time.
    TimeStop,
    /// Wall time in seconds.
    Walltime,
    /// The value of a tag.
    Tag(String),
    /// A metadata entry by namespace and key (`Field::Metadata("git".into(), "branch".into())`).
    Metadata(String, String),
}

/// A field's value, typed for ordering.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub(super) enum FieldValue {
    Text(String),
    Time(DateTime<Utc>),
    Number(f64),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Text(s) => f.write_str(s),
            FieldValue::Time(t) => write!(f, "{}", t.to_rfc3339()),
            FieldValue::Number(n) => write!(f, "{n}"),
        }
    }
}

pub(super) fn field_value(call: &Call, field: &Field) -> Option<FieldValue> {
    let md = call.metadata();
    Some(match field {
        Field::Name => FieldValue::Text(call.name().to_owned()),
        Field::Module => FieldValue::Text(call.module().to_owned()),
        Field::Version => FieldValue::Text(call.version()?.to_owned()),
        Field::TimeStart => FieldValue::Time(md.timestart),
        Field::TimeStop => FieldValue::Time(md.timestop),
        Field::Walltime => FieldValue::Number(md.walltime),
        Field::Tag(k) => typed(md.tags.get(k)?.to_value()),
        Field::Metadata(ns, k) => typed(md.get(ns, k)?),
    })
}

/// Numbers sort as numbers (so a tag 10 comes after 9), everything else by its text.
fn typed(v: Value) -> FieldValue {
    match v {
        Value::Int(i) => FieldValue::Number(i as f64),
        Value::Float(f) => FieldValue::Number(f),
        other => FieldValue::Text(other.to_string()),
    }
}

pub(super) fn compare_options(a: Option<FieldValue>, b: Option<FieldValue>) -> Ordering {
    match (a, b) {
        (Some(FieldValue::Number(x)), Some(FieldValue::Number(y))) => x.total_cmp(&y),
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

pub(super) fn by_stop(a: &Call, b: &Call) -> Ordering {
    let (x, y) = (a.metadata(), b.metadata());
    x.timestop
        .cmp(&y.timestop)
        .then(x.timestart.cmp(&y.timestart))
        .then(a.key().cmp(&b.key()))
}
