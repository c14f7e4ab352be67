//! `Call`: one stored call, read lazily.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use serde::de::DeserializeOwned;

use crate::batch::Batch;
use crate::cache::{Cache, CallKey};
use crate::codec;
use crate::digest::Digest;
use crate::display::{escape_html, evcxr_emit, value_summary};
use crate::error::{Error, Result};
use crate::record::{CallRecord, Metadata, RecordView};

/// A stored call. Its record (name, module, version, digests, metadata) is read when the
/// call is loaded; argument and result values are read from the cache only when asked for.
#[derive(Clone)]
pub struct Call {
    cache: Cache,
    key: Digest,
    record: Stored,
    /// The stack layer it was read from; `None` for a plain cache.
    layer: Option<Arc<str>>,
}

/// Where a call's record is. Both are shared, so that a call is small to move and cheap to
/// clone (queries sort and group many of them).
#[derive(Clone)]
enum Stored {
    /// Decoded when the call was loaded.
    Decoded(Arc<CallRecord>),
    /// Kept encoded in the batch a query read, decoded when first looked at.
    Batch(Arc<Batch>, u32),
}

/// Loading calls lives here rather than in `cache.rs`, so that the cache does not import the
/// calls that hold it.
impl Cache {
    /// The call stored under a key (a [`Digest`], a hex prefix, or a [`D`](crate::D)), read
    /// lazily: its record now, its argument and result values only when asked for.
    pub fn load(&self, key: impl CallKey) -> Result<Call> {
        let key = key.resolve_call(self)?;
        if let Some(layers) = &self.layers {
            // The first layer holding it, as a lookup finds it.
            for entry in layers.entries.iter() {
                let bytes = match &entry.store {
                    Some(store) => store.record(&key),
                    None => entry
                        .layer
                        .calls(std::slice::from_ref(&key))
                        .map(|mut c| c.pop().map(|c| c.record)),
                };
                match bytes {
                    Ok(Some(bytes)) => {
                        let record = CallRecord::decode(&bytes)?;
                        let cache = entry
                            .store
                            .clone()
                            .map_or_else(|| self.clone(), Cache::plain);
                        return Ok(Call::new(cache, key, record).in_layer(entry.name.clone()));
                    }
                    Ok(None) => {}
                    Err(e) => crate::error::warn_once(&entry.skipped(&e)),
                }
            }
            return Err(Error::UnknownDigest {
                prefix: key.to_string(),
            });
        }
        let bytes = self
            .store
            .record(&key)?
            .ok_or_else(|| Error::UnknownDigest {
                prefix: key.to_string(),
            })?;
        let record = CallRecord::decode(&bytes)?;
        Ok(Call::new(self.clone(), key, record))
    }

    /// Loads several calls in one read transaction (lazily: no values are read). Keys that
    /// are not stored are skipped; a record that does not decode, or is damaged, is an error.
    pub fn load_many(&self, keys: &[Digest]) -> Result<Vec<Call>> {
        self.store
            .records(keys)?
            .into_iter()
            .map(|(key, bytes)| {
                let bytes = bytes.ok_or_else(|| Error::DamagedRecord {
                    path: self.store.location.display_path(),
                    key,
                })?;
                Ok(Call::new(self.clone(), key, CallRecord::decode(&bytes)?))
            })
            .collect()
    }
}

impl Call {
    pub(crate) fn new(cache: Cache, key: Digest, record: CallRecord) -> Call {
        Call {
            cache,
            key,
            record: Stored::Decoded(Arc::new(record)),
            layer: None,
        }
    }

    /// The same call, saying it came from the stack layer `layer`.
    pub(crate) fn in_layer(mut self, layer: Arc<str>) -> Call {
        self.layer = Some(layer);
        self
    }

    /// The name of the stack layer this call was read from (`"local"`, `"team"`), or `None`
    /// when it comes from a plain cache.
    pub fn layer(&self) -> Option<&str> {
        self.layer.as_deref()
    }

    /// A call whose record stays encoded in `batch` until it is looked at.
    pub(crate) fn in_batch(cache: Cache, key: Digest, (batch, index): (Arc<Batch>, u32)) -> Call {
        Call {
            cache,
            key,
            record: Stored::Batch(batch, index),
            layer: None,
        }
    }

    /// When the call started, without decoding its record.
    pub(crate) fn timestart(&self) -> DateTime<Utc> {
        match &self.record {
            Stored::Decoded(r) => r.metadata.timestart,
            Stored::Batch(b, i) => b.timestart(*i),
        }
    }

    /// Says which definition of its function made the call and which list of tag keys it
    /// has, for going through many calls cheaply: calls read together share them, so equal
    /// numbers mean the same definition, or keys (different ones may still be the same).
    /// `None` for a decoded call.
    pub(crate) fn shared_ids(&self) -> Option<(usize, u32, u32)> {
        match &self.record {
            Stored::Decoded(_) => None,
            Stored::Batch(b, i) => Some(b.ids(*i)),
        }
    }

    /// The call's tag keys, sorted, without decoding its record.
    pub(crate) fn tag_keys(&self) -> impl Iterator<Item = &str> + '_ {
        let (map, list) = match &self.record {
            Stored::Decoded(r) => (Some(r.metadata.tags.keys()), None),
            Stored::Batch(b, i) => (None, b.tag_keys(*i)),
        };
        map.into_iter()
            .flatten()
            .chain(list.into_iter().flatten())
            .map(String::as_str)
    }

    /// Whether the call has environment, git and resources metadata, without decoding its
    /// record.
    pub(crate) fn built_in_namespaces(&self) -> (bool, bool, bool) {
        match &self.record {
            Stored::Decoded(r) => {
                let md = &r.metadata;
                (
                    md.environment.is_some(),
                    md.git.is_some(),
                    md.resources.is_some(),
                )
            }
            Stored::Batch(b, i) => {
                let shape = b.shape(*i);
                (shape.environment, shape.git, shape.resources)
            }
        }
    }

    /// The call key.
    pub fn key(&self) -> Digest {
        self.key
    }

    /// Function name.
    pub fn name(&self) -> &str {
        match &self.record {
            Stored::Decoded(r) => &r.name,
            Stored::Batch(b, i) => &b.function(*i).name,
        }
    }

    /// Module of the function.
    pub fn module(&self) -> &str {
        match &self.record {
            Stored::Decoded(r) => &r.module,
            Stored::Batch(b, i) => &b.function(*i).module,
        }
    }

    /// The function's `version`, if it has one.
    pub fn version(&self) -> Option<&str> {
        match &self.record {
            Stored::Decoded(r) => r.version.as_deref(),
            Stored::Batch(b, i) => b.function(*i).version.as_deref(),
        }
    }

    /// Digest of the function's code, when it is part of the key.
    pub fn code(&self) -> Option<Digest> {
        match &self.record {
            Stored::Decoded(r) => r.code,
            Stored::Batch(b, i) => b.function(*i).code,
        }
    }

    /// Times, tags and the optional environment and git facts.
    pub fn metadata(&self) -> &Metadata {
        &self.record().metadata
    }

    /// The whole stored record.
    pub fn record(&self) -> &CallRecord {
        match &self.record {
            Stored::Decoded(r) => r,
            Stored::Batch(b, i) => b.record(*i),
        }
    }

    /// `encoded` of the record read in place while it is still encoded, else `decoded` of
    /// the decoded record: for readers of a field or two of many calls, such as a table's
    /// value columns, which would otherwise decode every record in full.
    pub(crate) fn read_record<R>(
        &self,
        encoded: impl FnOnce(&RecordView<'_>) -> R,
        decoded: impl FnOnce(&CallRecord) -> R,
    ) -> R {
        match &self.record {
            Stored::Decoded(r) => decoded(r),
            Stored::Batch(b, i) => encoded(&b.view(*i)),
        }
    }

    /// The cache this call was loaded from.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Argument names and value digests, in parameter order.
    pub fn argument_digests(&self) -> &[(String, Digest)] {
        &self.record().arguments
    }

    /// The digest of the argument `name`.
    pub fn argument_digest(&self, name: &str) -> Result<Digest> {
        self.record()
            .arguments
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| *d)
            .ok_or_else(|| Error::NoSuchArgument {
                call: self.label(),
                name: name.to_owned(),
                known: self
                    .record()
                    .arguments
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The result digest.
    pub fn result_digest(&self) -> Digest {
        self.record().result
    }

    /// Reads and decodes the argument `name` as `T`.
    pub fn argument<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let digest = self.argument_digest(name)?;
        self.decode(digest, &format!("argument `{name}`"), "")
    }

    /// Reads and decodes the result as `T`.
    pub fn result<T: DeserializeOwned>(&self) -> Result<T> {
        self.decode(self.record().result, "result", &self.record().result_type)
    }

    /// Reads the encoded bytes of the argument `name`.
    pub fn argument_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let digest = self.argument_digest(name)?;
        self.bytes(digest, &format!("argument `{name}`"))
    }

    /// Reads the encoded bytes of the result.
    pub fn result_bytes(&self) -> Result<Vec<u8>> {
        self.bytes(self.record().result, "result")
    }

    /// Reads every argument and the result now.
    pub fn fetch(&self) -> Result<FetchedCall> {
        let arguments = self
            .record()
            .arguments
            .iter()
            .map(|(name, d)| Ok((name.clone(), self.bytes(*d, &format!("argument `{name}`"))?)))
            .collect::<Result<Vec<_>>>()?;
        let result = self.result_bytes()?;
        Ok(FetchedCall {
            call: self.clone(),
            arguments,
            result,
        })
    }

    fn bytes(&self, digest: Digest, field: &str) -> Result<Vec<u8>> {
        self.cache
            .value_bytes(&digest)?
            .ok_or_else(|| self.missing(digest, field))
    }

    /// The error for a value of this call (`field`) that its cache does not hold.
    pub(crate) fn missing(&self, digest: Digest, field: &str) -> Error {
        Error::MissingValue {
            call: self.label(),
            field: field.to_owned(),
            digest,
        }
    }

    fn decode<T: DeserializeOwned>(&self, digest: Digest, field: &str, stored: &str) -> Result<T> {
        let bytes = self.bytes(digest, field)?;
        codec::decode(&bytes).map_err(|e| self.wrong_type::<T>(field, stored, &bytes, e))
    }

    /// The error for a stored value that does not decode as `T`. When the stored type was not
    /// recorded (arguments), the value itself is described instead.
    fn wrong_type<T>(
        &self,
        field: &str,
        stored: &str,
        bytes: &[u8],
        e: codec::CodecError,
    ) -> Error {
        Error::WrongType {
            call: self.label(),
            field: field.to_owned(),
            requested: std::any::type_name::<T>(),
            stored: if stored.is_empty() {
                format!(
                    "a type not recorded; the value is `{}`",
                    value_summary(bytes)
                )
            } else {
                stored.to_owned()
            },
            detail: e.to_string(),
        }
    }

    fn label(&self) -> String {
        format!("{}({})", self.record().name, &self.key.to_string()[..8])
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("key", &self.key)
            .field("name", &self.record().name)
            .field("module", &self.record().module)
            .field("arguments", &self.record().arguments)
            .field("result", &self.record().result)
            .finish()
    }
}

/// A call with all of its values read; values stay encoded until decoded as a type.
#[derive(Clone)]
pub struct FetchedCall {
    call: Call,
    arguments: Vec<(String, Vec<u8>)>,
    result: Vec<u8>,
}

impl FetchedCall {
    /// The lazy call this was fetched from.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// Decodes the argument `name` as `T`; a value that does not decode is an error naming
    /// the call, the argument and the type asked for.
    pub fn argument<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let (_, bytes) = self
            .arguments
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| {
                self.call
                    .argument_digest(name)
                    .err()
                    .unwrap_or(Error::UnknownDigest {
                        prefix: name.to_owned(),
                    })
            })?;
        codec::decode(bytes).map_err(|e| {
            self.call
                .wrong_type::<T>(&format!("argument `{name}`"), "", bytes, e)
        })
    }

    /// Decodes the result as `T`; a value that does not decode is an error naming the call,
    /// the stored type and the type asked for.
    pub fn result<T: DeserializeOwned>(&self) -> Result<T> {
        codec::decode(&self.result).map_err(|e| {
            self.call
                .wrong_type::<T>("result", &self.call.record().result_type, &self.result, e)
        })
    }
}

impl fmt::Debug for FetchedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchedCall")
            .field("name", &self.call.name())
            .field(
                "arguments",
                &self
                    .arguments
                    .iter()
                    .map(|(n, b)| (n, b.len()))
                    .collect::<Vec<_>>(),
            )
            .field("result_bytes", &self.result.len())
            .finish()
    }
}

// -------------------------------------------------------------------------------------------
// Display: one call as a small two-column table, in text and in notebooks.
// -------------------------------------------------------------------------------------------

impl Call {
    /// The fields shown for this call: key, name, module, version, code, argument and result
    /// digests, times and tags (no value is read).
    fn summary_lines(&self) -> Vec<(String, String)> {
        let r = self.record();
        let md = &r.metadata;
        let mut out = vec![
            ("key".to_owned(), self.key.to_string()),
            ("name".to_owned(), r.name.clone()),
            ("module".to_owned(), r.module.clone()),
        ];
        if let Some(v) = &r.version {
            out.push(("version".into(), v.clone()));
        }
        if let Some(c) = &r.code {
            out.push(("code".into(), c.to_string()));
        }
        for (name, d) in &r.arguments {
            out.push((format!("argument {name}"), d.to_string()));
        }
        out.push(("result".into(), format!("{} ({})", r.result, r.result_type)));
        out.push(("timestart".into(), md.timestart.to_rfc3339()));
        out.push(("timestop".into(), md.timestop.to_rfc3339()));
        out.push(("walltime".into(), format!("{:.6}", md.walltime)));
        for k in crate::record::RESOURCE_KEYS {
            if let Some(v) = md.get("resources", k) {
                out.push((k.to_owned(), v.to_string()));
            }
        }
        for (k, v) in &md.tags {
            out.push((format!("tag {k}"), v.to_string()));
        }
        for (ns, value) in &md.namespaces {
            out.push((ns.clone(), value.to_string()));
        }
        out
    }

    /// Shows the call in a Jupyter notebook (evcxr calls this for a cell's value): its
    /// record as a two-column table; values are not read.
    pub fn evcxr_display(&self) {
        let lines = self.summary_lines();
        let mut html = String::from("<table class=\"fleche-call\">\n");
        for (k, v) in &lines {
            html.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>\n",
                escape_html(k),
                escape_html(v)
            ));
        }
        html.push_str("</table>");
        evcxr_emit(&html, &self.to_string());
    }
}

/// The record as aligned `field  value` lines; values are not read.
impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.summary_lines();
        let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in lines {
            writeln!(f, "{k:<width$}  {v}")?;
        }
        Ok(())
    }
}

impl Digest {
    /// Shows the digest in a Jupyter notebook as its 64 hex characters.
    pub fn evcxr_display(&self) {
        let hex = self.to_string();
        evcxr_emit(&format!("<code>{hex}</code>"), &hex);
    }
}
