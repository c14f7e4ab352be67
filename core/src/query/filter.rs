//! The filters of a query: how each is checked on a record and which index answers it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::digest::Digest;
use crate::meta::{TagValue, Value};
use crate::record::{MetadataRef, RecordView};
use crate::store::Probe;

#[derive(Clone, Debug)]
pub(super) enum ValueMatch {
    Digest(Digest),
    /// A digest prefix of a stored value, resolved when the query runs.
    Prefix(String),
}

#[derive(Clone, Debug)]
pub(super) enum Filter {
    Name(String),
    NameLike(String),
    Module(String),
    ModuleLike(String),
    Version(Option<String>),
    Code(Option<Digest>),
    Argument(String, ValueMatch),
    HasArgument(String),
    Tag(String, Option<TagValue>),
    Namespace(String),
    MetaKey(String, String),
    MetaEq(String, String, Value),
    Result(ValueMatch),
    StartedAfter(DateTime<Utc>),
    StartedBefore(DateTime<Utc>),
    Keys(Arc<Vec<Digest>>),
}

/// The index probes for these (resolved) filters; `None` when they cannot match anything.
pub(super) fn probes(filters: &[Filter]) -> Option<Vec<Probe>> {
    let mut out = Vec::new();
    let (mut from, mut to): (Option<i64>, Option<i64>) = (None, None);
    for f in filters {
        match f {
            Filter::Name(n) => out.push(Probe::Name(n.clone())),
            Filter::Module(m) => out.push(Probe::Module(m.clone())),
            Filter::NameLike(p) => {
                let lit = literal_start(p);
                if !lit.is_empty() {
                    out.push(Probe::NamePrefix(lit.to_owned()));
                }
            }
            Filter::ModuleLike(p) => {
                let lit = literal_start(p);
                if !lit.is_empty() {
                    out.push(Probe::ModulePrefix(lit.to_owned()));
                }
            }
            Filter::Tag(k, None) => out.push(Probe::TagKey(k.clone())),
            // The index holds a tag's text: it finds 300 and "300" alike, and the check on
            // each record keeps the right one.
            Filter::Tag(k, Some(v)) => out.push(Probe::Tag(k.clone(), v.to_string())),
            Filter::Argument(n, ValueMatch::Digest(d)) => out.push(Probe::Argument(n.clone(), *d)),
            Filter::HasArgument(n) => out.push(Probe::ArgumentName(n.clone())),
            Filter::Result(ValueMatch::Digest(d)) => out.push(Probe::Result(*d)),
            Filter::StartedAfter(t) => {
                let ns = nanos(t);
                from = Some(from.map_or(ns, |f| f.max(ns)));
            }
            Filter::StartedBefore(t) => {
                let ns = nanos(t);
                to = Some(to.map_or(ns, |f| f.min(ns)));
            }
            Filter::Keys(keys) => out.push(Probe::Keys(keys.clone())),
            _ => {}
        }
    }
    if from.is_some() || to.is_some() {
        let (from, to) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        if from >= to {
            return None;
        }
        out.push(Probe::Time { from, to });
    }
    Some(out)
}

fn nanos(t: &DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The text before the first wildcard of a `*`/`?` pattern.
fn literal_start(pattern: &str) -> &str {
    let end = pattern.find(['*', '?']).unwrap_or(pattern.len());
    &pattern[..end]
}

/// Whether `text` matches a pattern where `*` is any text and `?` one character.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a record, read in place, passes a filter.
pub(super) fn matches(filter: &Filter, key: &Digest, r: &RecordView<'_>) -> bool {
    let md = &r.metadata;
    match filter {
        Filter::Name(n) => r.name == n,
        Filter::NameLike(p) => glob_match(p, r.name),
        Filter::Module(m) => r.module == m,
        Filter::ModuleLike(p) => glob_match(p, r.module),
        Filter::Version(v) => r.version == v.as_deref(),
        Filter::Code(c) => r.code == *c,
        Filter::Argument(n, ValueMatch::Digest(d)) => r
            .arguments
            .iter()
            .chain(r.argument_keys.iter())
            .any(|(an, ad)| an == n && ad == *d),
        Filter::Argument(_, ValueMatch::Prefix(_)) | Filter::Result(ValueMatch::Prefix(_)) => false,
        Filter::HasArgument(n) => r.arguments.iter().any(|(an, _)| an == n),
        Filter::Tag(k, None) => md.tags.get(k).is_some(),
        Filter::Tag(k, Some(v)) => MetadataRef::View(md).tag_is(k, v),
        Filter::Namespace(ns) => MetadataRef::View(md).has_namespace(ns),
        Filter::MetaKey(ns, k) => MetadataRef::View(md).entry(ns, k).is_some(),
        Filter::MetaEq(ns, k, v) => MetadataRef::View(md).entry(ns, k).as_ref() == Some(v),
        Filter::Result(ValueMatch::Digest(d)) => r.result == *d,
        Filter::StartedAfter(t) => md.timestart() >= *t,
        Filter::StartedBefore(t) => md.timestart() < *t,
        Filter::Keys(keys) => keys.binary_search(key).is_ok(),
    }
}

/// A value as a query description shows it: text quoted, so `"300"` and `300` differ.
fn shown(v: &Value) -> String {
    match v {
        Value::Text(t) => format!("{t:?}"),
        other => other.to_string(),
    }
}

pub(super) fn describe(f: &Filter) -> String {
    let short = |d: &Digest| d.to_string()[..8].to_owned();
    let value = |m: &ValueMatch| match m {
        ValueMatch::Digest(d) => format!("value {}", short(d)),
        ValueMatch::Prefix(p) => format!("value {p}.."),
    };
    match f {
        Filter::Name(n) => format!("name = {n}"),
        Filter::NameLike(p) => format!("name like {p}"),
        Filter::Module(m) => format!("module = {m}"),
        Filter::ModuleLike(p) => format!("module like {p}"),
        Filter::Version(Some(v)) => format!("version = {v}"),
        Filter::Version(None) => "no version".into(),
        Filter::Code(Some(c)) => format!("code = {}", short(c)),
        Filter::Code(None) => "no code digest".into(),
        Filter::Argument(n, m) => format!("argument {n} = {}", value(m)),
        Filter::HasArgument(n) => format!("has argument {n}"),
        Filter::Tag(k, Some(v)) => format!("tag {k} = {}", shown(&v.to_value())),
        Filter::Tag(k, None) => format!("has tag {k}"),
        Filter::Namespace(ns) => format!("has metadata {ns}"),
        Filter::MetaKey(ns, k) => format!("has metadata {ns}.{k}"),
        Filter::MetaEq(ns, k, v) => format!("metadata {ns}.{k} = {}", shown(v)),
        Filter::Result(m) => format!("result = {}", value(m)),
        Filter::StartedAfter(t) => format!("started at or after {}", t.to_rfc3339()),
        Filter::StartedBefore(t) => format!("started before {}", t.to_rfc3339()),
        Filter::Keys(k) => format!("among {} keys", k.len()),
    }
}
