//! `Arg<T>`: an argument given either as a value or as a stored value's digest.

use serde::de::DeserializeOwned;

use crate::digest::D;
use crate::error::Result;

/// An argument of a cached function: the value itself, or [`D`]`("prefix")` naming a value
/// stored in the active cache. Cached functions take `impl Into<Arg<T>>` for owned
/// parameters, so both `double(100)` and `double(D("60079f79"))` work.
///
/// The price is type inference at the call site: `f(x.into())` or `f(iter.collect())` cannot
/// infer the target type through `impl Into<Arg<T>>`. Write the type (`String::from(..)`,
/// `collect::<Vec<f64>>()`), or opt out with `#[fleche(accept_digests = false)]`, which keeps
/// the parameters' plain types.
#[derive(Debug, Clone)]
pub enum Arg<T> {
    /// The value.
    Value(T),
    /// A digest or digest prefix of a stored value.
    Digest(String),
}

impl<T: DeserializeOwned> From<T> for Arg<T> {
    fn from(value: T) -> Self {
        Arg::Value(value)
    }
}

/// A `&str` literal for a `String` parameter: `greet("world")`.
impl From<&str> for Arg<String> {
    fn from(value: &str) -> Self {
        Arg::Value(value.to_owned())
    }
}

impl<T: DeserializeOwned, S: AsRef<str>> From<D<S>> for Arg<T> {
    fn from(d: D<S>) -> Self {
        Arg::Digest(d.0.as_ref().to_owned())
    }
}

impl<T: DeserializeOwned> Arg<T> {
    /// The value, reading it from the active cache if a digest was given.
    pub fn resolve(self) -> Result<T> {
        match self {
            Arg::Value(v) => Ok(v),
            Arg::Digest(prefix) => crate::active::try_cache()?.value(prefix.as_str()),
        }
    }
}
