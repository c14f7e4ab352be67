//! `Arg<T>`: an argument given either as a value or as a stored value's digest.

use serde::de::DeserializeOwned;

use crate::codec::{self, CodecError};
use crate::digest::{D, Digest};
use crate::error::{Error, Result};

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

// Not bounded by serde, so that a parameter type without it gets only the macro's own
// compile error, not another one at every call site.
impl<T> From<T> for Arg<T> {
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
        self.resolve_with(codec::decode::<T>)
    }
}

impl<T> Arg<T> {
    /// [`Arg::resolve`], decoding a stored value with `decode`.
    pub(crate) fn resolve_with(self, decode: fn(&[u8]) -> Result<T, CodecError>) -> Result<T> {
        let prefix = match self {
            Arg::Value(v) => return Ok(v),
            Arg::Digest(prefix) => prefix,
        };
        let cache = crate::active::try_cache()?;
        let digest = cache.expand(&prefix)?;
        let bytes = cache
            .value_bytes(&digest)?
            .ok_or_else(|| Error::UnknownDigest {
                prefix: digest.to_string(),
            })?;
        decode(&bytes).map_err(|e| Error::WrongType {
            call: format!("value {digest}"),
            field: "value".into(),
            requested: std::any::type_name::<T>(),
            stored: stored_type(&cache, digest),
            detail: e.to_string(),
        })
    }
}

/// The type a value was stored from, as far as the cache knows: the recorded result type of
/// a call that returned it. An argument's type is not recorded.
fn stored_type(cache: &crate::Cache, digest: Digest) -> String {
    match cache.query().result_digest(digest).first() {
        Ok(Some(call)) => call.record().result_type.clone(),
        _ => "unknown: no stored call returned it".to_owned(),
    }
}
