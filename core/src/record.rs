//! Call records: what is stored about one call, without its values. The stored layout and
//! its reading in place are in `layout.rs`, the only code that reads or writes record bytes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codec;

mod layout;
use crate::digest::Digest;
use crate::meta::value::{TagRef, TagValue, Value};

/// Everything stored about one call except the argument and result values, which live in
/// the value store under the digests named here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Function name.
    pub name: String,
    /// Module path of the function (`__main__` for a notebook).
    pub module: String,
    /// The `version = ...` given to `#[fleche]`, if any.
    #[serde(default)]
    pub version: Option<String>,
    /// Digest of the function's tokens, when `hash_code` is on.
    #[serde(default)]
    pub code: Option<Digest>,
    /// Argument digests by name, in parameter order (ignored arguments are absent): the
    /// digest each argument's value is stored under.
    pub arguments: Vec<(String, Digest)>,
    /// The arguments identified by a [`CacheKey`](crate::CacheKey) of their own (a `&self`
    /// receiver keyed by one field): name and key digest, which the call key and queries use.
    /// Their values are stored under their own digest (in `arguments`), never under the key,
    /// so they cannot take the place of an unrelated value whose digest equals the key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argument_keys: Vec<(String, Digest)>,
    /// Result digest.
    pub result: Digest,
    /// Rust type name of the result.
    #[serde(default)]
    pub result_type: String,
    /// Encoded size of the result in bytes.
    #[serde(default)]
    pub result_size: u64,
    /// Times, tags and what the metadata collectors recorded.
    pub metadata: Metadata,
}

impl CallRecord {
    /// The bytes fleche stores for this record (see `docs/format.md`, "Call records"). Fails
    /// only for a start or stop time outside the years 1677 to 2262.
    pub fn encode(&self) -> Result<Vec<u8>, codec::CodecError> {
        layout::encode(self)
    }

    /// Reads a record from the bytes fleche stores; damaged, cut short or foreign bytes give
    /// an error, never a wrong record.
    pub fn decode(bytes: &[u8]) -> Result<CallRecord, codec::CodecError> {
        layout::decode(bytes)
    }
}

/// A call record read in place: its text borrowed from the stored bytes and its argument and
/// tag lists read again where they are when gone through, so that reading it allocates
/// nothing (but the optional environment, git and namespace parts, when the call has them).
/// Every part is checked when the record is read, so going through a list never fails.
///
/// [`RecordView::to_record`] gives the same record as decoding a `CallRecord`. Queries check
/// every record this way and decode in full only the calls that are looked at.
#[derive(Debug)]
pub(crate) struct RecordView<'a> {
    /// The stored bytes of the name, module, version and code: equal for the calls of one
    /// definition of a function, so readers can group calls by them cheaply.
    pub(crate) function_bytes: &'a [u8],
    /// Which of the version and the code digest `function_bytes` holds: the same bytes can
    /// be either.
    pub(crate) function_parts: u8,
    pub(crate) name: &'a str,
    pub(crate) module: &'a str,
    pub(crate) version: Option<&'a str>,
    pub(crate) code: Option<Digest>,
    pub(crate) arguments: Pairs<'a>,
    pub(crate) argument_keys: Pairs<'a>,
    pub(crate) result: Digest,
    pub(crate) result_type: &'a str,
    pub(crate) result_size: u64,
    pub(crate) metadata: MetadataView<'a>,
}

/// [`Metadata`] read in place (see [`RecordView`]).
#[derive(Debug)]
pub(crate) struct MetadataView<'a> {
    /// Start and stop times in nanoseconds since the Unix epoch, as stored: turned into
    /// dates only when asked for, which costs more than reading the rest of a small record.
    pub(crate) start_nanos: i64,
    pub(crate) stop_nanos: i64,
    pub(crate) walltime: f64,
    pub(crate) tags: TagList<'a>,
    pub(crate) environment: Option<EnvironmentRef<'a>>,
    pub(crate) git: Option<GitRef<'a>>,
    pub(crate) resources: Option<Resources>,
    pub(crate) namespaces: BTreeMap<String, Value>,
}

impl MetadataView<'_> {
    /// When the call started (UTC).
    pub(crate) fn timestart(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.start_nanos)
    }

    /// When the call returned (UTC).
    pub(crate) fn timestop(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.stop_nanos)
    }
}

/// Names and digests (arguments, argument keys) of a [`RecordView`], in stored order, read
/// where they are stored: [`Pairs::iter`] goes through them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pairs<'a> {
    /// The stored list, without its count; checked when the record was read.
    bytes: &'a [u8],
    len: usize,
}

/// The tags of a [`MetadataView`] in stored order, read where they are stored
/// ([`TagList::iter`]). A map may repeat a key; as in a `BTreeMap`, the last value wins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TagList<'a> {
    /// The stored list, without its count; checked when the record was read.
    bytes: &'a [u8],
    len: usize,
    /// Whether the keys are sorted without repeats, as fleche writes them.
    canonical: bool,
}

impl<'a> TagList<'a> {
    /// The value of tag `key`, if the call has it.
    pub(crate) fn get(&self, key: &str) -> Option<TagRef<'a>> {
        self.iter()
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, v)| v)
    }

    /// Whether the keys are sorted without repeats, as fleche writes them.
    pub(crate) fn is_canonical(&self) -> bool {
        self.canonical
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The result digest of an encoded record, without reading the rest of it (a hit's read).
pub(crate) fn result_of(bytes: &[u8]) -> Result<Digest, codec::CodecError> {
    layout::result(bytes)
}

impl RecordView<'_> {
    pub(crate) fn decode(bytes: &[u8]) -> Result<RecordView<'_>, codec::CodecError> {
        layout::view(bytes)
    }

    /// The owned record.
    pub(crate) fn to_record(&self) -> CallRecord {
        let md = &self.metadata;
        CallRecord {
            name: self.name.to_owned(),
            module: self.module.to_owned(),
            version: self.version.map(str::to_owned),
            code: self.code,
            arguments: self
                .arguments
                .iter()
                .map(|(n, d)| (n.to_owned(), d))
                .collect(),
            argument_keys: self
                .argument_keys
                .iter()
                .map(|(n, d)| (n.to_owned(), d))
                .collect(),
            result: self.result,
            result_type: self.result_type.to_owned(),
            result_size: self.result_size,
            metadata: Metadata {
                timestart: md.timestart(),
                timestop: md.timestop(),
                walltime: md.walltime,
                tags: md
                    .tags
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned_value()))
                    .collect(),
                environment: md.environment.map(EnvironmentRef::owned),
                git: md.git.map(GitRef::owned),
                resources: md.resources.clone(),
                namespaces: md.namespaces.clone(),
            },
        }
    }
}

/// Metadata recorded with every call. It is never part of the call key.
///
/// Besides the times, each namespace is what one collector recorded (see [`meta`](mod@crate::meta)):
/// `tags`, the built-in `environment`, `git` and `resources`, and the collectors of your own
/// in `namespaces`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// When the call started (UTC).
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    pub timestart: DateTime<Utc>,
    /// When the call returned (UTC).
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    pub timestop: DateTime<Utc>,
    /// Wall time of the call in seconds.
    pub walltime: f64,
    /// Tags active when the call ran (see [`tags!`](crate::tags!)), with their types.
    #[serde(default)]
    pub tags: BTreeMap<String, TagValue>,
    /// Host, user, working directory, program and versions, when that collector is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Git commit, branch and dirty flag of the working directory, when that collector is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Git>,
    /// CPU time and peak memory growth of the call, when that collector is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// What your own collectors recorded, by namespace (the collector's name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub namespaces: BTreeMap<String, Value>,
}

impl Metadata {
    /// Start time in nanoseconds since the Unix epoch (the time index key).
    pub fn start_nanos(&self) -> i64 {
        self.timestart.timestamp_nanos_opt().unwrap_or(i64::MAX)
    }
}

/// Where a call ran.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Environment {
    /// Host name.
    pub hostname: String,
    /// User name.
    pub user: String,
    /// Working directory when the call ran.
    pub cwd: String,
    /// The program (path of the running executable; in a notebook, the kernel's).
    #[serde(default)]
    pub program: String,
    /// fleche version.
    pub fleche_version: String,
    /// Version of the rustc that compiled fleche (`rustc 1.x.y (...)`).
    #[serde(default)]
    pub rustc_version: String,
}

/// What a call cost besides wall time, where the platform tells it (Linux and other Unix
/// systems); `None` where it does not.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Resources {
    /// CPU seconds spent in user mode by the thread that ran the call.
    #[serde(default)]
    pub cpu_user: Option<f64>,
    /// CPU seconds spent in the kernel on behalf of that thread.
    #[serde(default)]
    pub cpu_system: Option<f64>,
    /// How many bytes the process's peak resident memory rose during the call: 0 when the
    /// call stayed below an earlier peak. Process-wide, so other threads count too.
    #[serde(default)]
    pub peak_memory_growth: Option<u64>,
}

/// The git state of the working directory when a call ran.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Git {
    /// Commit hash of HEAD.
    pub commit: Option<String>,
    /// Branch name, or `HEAD` when detached.
    pub branch: Option<String>,
    /// Whether tracked or untracked files differ from HEAD.
    pub dirty: Option<bool>,
}

/// [`Environment`] borrowed, from a decoded record or read in place: a table of calls reads
/// it without copying its six strings per call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnvironmentRef<'a> {
    pub(crate) hostname: &'a str,
    pub(crate) user: &'a str,
    pub(crate) cwd: &'a str,
    pub(crate) program: &'a str,
    pub(crate) fleche_version: &'a str,
    pub(crate) rustc_version: &'a str,
}

impl EnvironmentRef<'_> {
    pub(crate) fn owned(self) -> Environment {
        Environment {
            hostname: self.hostname.to_owned(),
            user: self.user.to_owned(),
            cwd: self.cwd.to_owned(),
            program: self.program.to_owned(),
            fleche_version: self.fleche_version.to_owned(),
            rustc_version: self.rustc_version.to_owned(),
        }
    }
}

impl<'a> From<&'a Environment> for EnvironmentRef<'a> {
    fn from(e: &'a Environment) -> EnvironmentRef<'a> {
        EnvironmentRef {
            hostname: &e.hostname,
            user: &e.user,
            cwd: &e.cwd,
            program: &e.program,
            fleche_version: &e.fleche_version,
            rustc_version: &e.rustc_version,
        }
    }
}

/// [`Git`] borrowed; see [`EnvironmentRef`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct GitRef<'a> {
    pub(crate) commit: Option<&'a str>,
    pub(crate) branch: Option<&'a str>,
    pub(crate) dirty: Option<bool>,
}

impl GitRef<'_> {
    pub(crate) fn owned(self) -> Git {
        Git {
            commit: self.commit.map(str::to_owned),
            branch: self.branch.map(str::to_owned),
            dirty: self.dirty,
        }
    }
}

impl<'a> From<&'a Git> for GitRef<'a> {
    fn from(g: &'a Git) -> GitRef<'a> {
        GitRef {
            commit: g.commit.as_deref(),
            branch: g.branch.as_deref(),
            dirty: g.dirty,
        }
    }
}

// -------------------------------------------------------------------------------------------
// Metadata entries by namespace and key, as queries filter them and tables flatten them.
// -------------------------------------------------------------------------------------------

/// A call's metadata, decoded or read in place.
#[derive(Clone, Copy)]
pub(crate) enum MetadataRef<'m, 'a> {
    Decoded(&'m Metadata),
    View(&'m MetadataView<'a>),
}

/// The built-in namespaces, in table order.
pub(crate) const BUILT_IN_NAMESPACES: [&str; 5] =
    ["runtime", "tags", "resources", "environment", "git"];

/// The keys of the resources namespace, in table order.
pub(crate) const RESOURCE_KEYS: [&str; 3] = ["cpu_user", "cpu_system", "peak_memory_growth"];
/// The keys of the environment namespace, in table order.
pub(crate) const ENVIRONMENT_KEYS: [&str; 6] = [
    "hostname",
    "user",
    "cwd",
    "program",
    "fleche_version",
    "rustc_version",
];
/// The keys of the git namespace, in table order.
pub(crate) const GIT_KEYS: [&str; 3] = ["commit", "branch", "dirty"];

impl MetadataRef<'_, '_> {
    /// Whether the call has tag `key` equal to `value` (numbers by value).
    pub(crate) fn tag_is(&self, key: &str, value: &TagValue) -> bool {
        match self {
            MetadataRef::Decoded(md) => md.tags.get(key) == Some(value),
            MetadataRef::View(md) => md.tags.get(key).is_some_and(|t| t.matches(value)),
        }
    }

    fn parts(&self) -> Parts<'_> {
        match self {
            MetadataRef::Decoded(md) => Parts {
                timestart: md.timestart,
                timestop: md.timestop,
                walltime: md.walltime,
                has_tags: !md.tags.is_empty(),
                environment: md.environment.as_ref().map(EnvironmentRef::from),
                git: md.git.as_ref().map(GitRef::from),
                resources: md.resources.as_ref(),
                namespaces: &md.namespaces,
            },
            MetadataRef::View(md) => Parts {
                timestart: md.timestart(),
                timestop: md.timestop(),
                walltime: md.walltime,
                has_tags: !md.tags.is_empty(),
                environment: md.environment,
                git: md.git,
                resources: md.resources.as_ref(),
                namespaces: &md.namespaces,
            },
        }
    }

    pub(crate) fn has_namespace(&self, namespace: &str) -> bool {
        let p = self.parts();
        match namespace {
            "runtime" => true,
            "tags" => p.has_tags,
            "environment" => p.environment.is_some(),
            "git" => p.git.is_some(),
            "resources" => p.resources.is_some(),
            other => p.namespaces.contains_key(other),
        }
    }

    /// Entry `key` of `namespace`, typed, if the call has it.
    pub(crate) fn entry(&self, namespace: &str, key: &str) -> Option<Value> {
        let p = self.parts();
        let text = |s: &str| Some(Value::Text(s.to_owned()));
        match namespace {
            "runtime" => match key {
                "timestart" => text(&p.timestart.to_rfc3339()),
                "timestop" => text(&p.timestop.to_rfc3339()),
                "walltime" => Some(Value::Float(p.walltime)),
                _ => None,
            },
            "tags" => match self {
                MetadataRef::Decoded(md) => md.tags.get(key).map(TagValue::to_value),
                MetadataRef::View(md) => md.tags.get(key).map(|t| t.to_owned_value().to_value()),
            },
            "environment" => p.environment.and_then(|e| match key {
                "hostname" => text(e.hostname),
                "user" => text(e.user),
                "cwd" => text(e.cwd),
                "program" => text(e.program),
                "fleche_version" => text(e.fleche_version),
                "rustc_version" => text(e.rustc_version),
                _ => None,
            }),
            "git" => p.git.and_then(|g| match key {
                "commit" => g.commit.and_then(text),
                "branch" => g.branch.and_then(text),
                "dirty" => g.dirty.map(Value::Bool),
                _ => None,
            }),
            "resources" => p.resources.and_then(|r| match key {
                "cpu_user" => r.cpu_user.map(Value::Float),
                "cpu_system" => r.cpu_system.map(Value::Float),
                "peak_memory_growth" => r.peak_memory_growth.map(Value::from),
                _ => None,
            }),
            other => p.namespaces.get(other)?.get(key).cloned(),
        }
    }
}

/// What every namespace lookup needs, from a decoded record or one read in place.
struct Parts<'m> {
    timestart: DateTime<Utc>,
    timestop: DateTime<Utc>,
    walltime: f64,
    has_tags: bool,
    environment: Option<EnvironmentRef<'m>>,
    git: Option<GitRef<'m>>,
    resources: Option<&'m Resources>,
    namespaces: &'m BTreeMap<String, Value>,
}

impl Metadata {
    /// Entry `key` of metadata namespace `namespace`, typed: `("git", "dirty")` is a
    /// boolean, `("tags", "temperature")` the tag's value, `("gpu", "model")` what your
    /// collector named `gpu` recorded under `model`.
    pub fn get(&self, namespace: &str, key: &str) -> Option<Value> {
        MetadataRef::Decoded(self).entry(namespace, key)
    }

    /// Whether the call carries namespace `namespace` (`"runtime"` always).
    pub fn has_namespace(&self, namespace: &str) -> bool {
        MetadataRef::Decoded(self).has_namespace(namespace)
    }
}

/// One metadata entry as text, if the call has it.
pub(crate) fn metadata_entry(md: &Metadata, namespace: &str, key: &str) -> Option<String> {
    md.get(namespace, key).map(|v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(tags: &[(&str, &str)], extras: bool) -> CallRecord {
        CallRecord {
            name: "relax".into(),
            module: "alloys::heat".into(),
            version: extras.then(|| "2".into()),
            code: extras.then(|| Digest::from_bytes([0xab; 32])),
            arguments: vec![
                ("temperature".into(), Digest::from_bytes([7; 32])),
                ("steps".into(), Digest::from_bytes([8; 32])),
            ],
            argument_keys: Vec::new(),
            result: Digest::from_bytes([9; 32]),
            result_type: "f64".into(),
            result_size: 9,
            metadata: Metadata {
                timestart: DateTime::from_timestamp(1_800_000_000, 5).unwrap(),
                timestop: DateTime::from_timestamp(1_800_000_002, 0).unwrap(),
                walltime: 2.0,
                tags: tags
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), TagValue::from(*v)))
                    .collect(),
                environment: extras.then(|| Environment {
                    hostname: "h".into(),
                    user: "u".into(),
                    cwd: "/".into(),
                    program: "/bin/p".into(),
                    fleche_version: "0.1.0".into(),
                    rustc_version: "rustc 1.95.0".into(),
                }),
                git: extras.then_some(Git {
                    commit: Some("abc".into()),
                    branch: None,
                    dirty: Some(true),
                }),
                resources: extras.then_some(Resources {
                    cpu_user: Some(0.25),
                    cpu_system: None,
                    peak_memory_growth: Some(4096),
                }),
                namespaces: if extras {
                    BTreeMap::from([(
                        "gpu".to_owned(),
                        Value::Map(BTreeMap::from([
                            ("model".to_owned(), Value::from("A100")),
                            ("count".to_owned(), Value::from(2)),
                        ])),
                    )])
                } else {
                    BTreeMap::new()
                },
            },
        }
    }

    fn through_view(bytes: &[u8]) -> Result<CallRecord, codec::CodecError> {
        RecordView::decode(bytes).map(|v| v.to_record())
    }

    #[test]
    fn a_view_gives_the_decoded_record() {
        for r in [
            record(&[], false),
            record(&[("project", "alloys"), ("stage", "1")], true),
        ] {
            let bytes = r.encode().unwrap();
            assert_eq!(through_view(&bytes).unwrap(), r);
            assert_eq!(CallRecord::decode(&bytes).unwrap(), r);
        }
    }

    /// A tag key written twice (no fleche writes it, but a damaged or foreign record may
    /// hold it): the last value wins, as in a map.
    #[test]
    fn a_repeated_tag_keeps_the_last_value() {
        let r = record(&[("stagd", "1"), ("stage", "2")], false);
        let mut bytes = r.encode().unwrap();
        let at = bytes
            .windows(5)
            .position(|w| w == b"stagd")
            .expect("the first key is stored as it is");
        bytes[at + 4] = b'e';
        let view = RecordView::decode(&bytes).unwrap();
        assert_eq!(
            view.metadata.tags.get("stage"),
            Some(TagRef::Text("2".into()))
        );
        assert!(!view.metadata.tags.is_canonical());
        assert_eq!(
            CallRecord::decode(&bytes).unwrap().metadata.tags["stage"],
            "2"
        );
    }

    #[test]
    fn damaged_or_foreign_bytes_are_refused_not_misread() {
        let r = record(&[("project", "a")], true);
        let bytes = r.encode().unwrap();
        // Every cut short record, and one with a byte too many.
        for len in 0..bytes.len() {
            assert!(CallRecord::decode(&bytes[..len]).is_err(), "cut at {len}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(RecordView::decode(&longer).is_err());
        // Another layout (the CBOR records of format 4 begin with a map header).
        assert!(CallRecord::decode(&codec::encode(&r).unwrap()).is_err());
        // A flag this release does not know.
        let mut flagged = bytes.clone();
        flagged.splice(1..2, [bytes[1] | 0x80, 0x01]);
        assert!(RecordView::decode(&flagged).is_err());
        // Text that is not UTF-8: the name's first byte.
        let mut text = bytes.clone();
        text[3] = 0xff;
        let err = CallRecord::decode(&text).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn a_small_call_takes_few_bytes() {
        let r = record(&[], false);
        let bytes = r.encode().unwrap();
        let cbor = codec::encode(&r).unwrap();
        // Name, module, two arguments and the result digest alone are 5 + 12 + 16 + 96 bytes.
        assert!(bytes.len() < 180, "{} bytes", bytes.len());
        assert!(
            bytes.len() * 3 < cbor.len() * 2,
            "{} vs {}",
            bytes.len(),
            cbor.len()
        );
    }

    #[test]
    fn typed_tags_and_namespaces_read_in_place_as_decoded() {
        let mut r = record(&[("project", "alloys")], true);
        r.metadata
            .tags
            .insert("temperature".into(), TagValue::Int(300));
        r.metadata.tags.insert("ratio".into(), TagValue::Float(0.5));
        r.metadata
            .tags
            .insert("relaxed".into(), TagValue::Bool(true));
        let bytes = r.encode().unwrap();
        assert_eq!(through_view(&bytes).unwrap(), r);
        let view = RecordView::decode(&bytes).unwrap();
        let md = MetadataRef::View(&view.metadata);
        assert!(md.tag_is("temperature", &TagValue::Int(300)));
        assert!(md.tag_is("temperature", &TagValue::Float(300.0)));
        assert!(!md.tag_is("temperature", &TagValue::from("300")));
        assert_eq!(md.entry("gpu", "model"), Some(Value::from("A100")));
        assert_eq!(
            md.entry("resources", "peak_memory_growth"),
            Some(Value::from(4096))
        );
        assert_eq!(md.entry("git", "dirty"), Some(Value::Bool(true)));
        assert!(md.has_namespace("gpu"));
        assert!(!md.has_namespace("cpu"));
        assert_eq!(r.metadata.get("tags", "relaxed"), Some(Value::Bool(true)));
    }

    proptest! {
        #[test]
        fn a_view_always_gives_the_decoded_record(
            name in ".{0,12}",
            version in proptest::option::of(".{0,4}"),
            arguments in proptest::collection::vec((".{0,6}", any::<[u8; 32]>()), 0..4),
            tags in proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..4),
            nanos in any::<i64>(),
            walltime in any::<f64>(),
            size in any::<u64>(),
        ) {
            let mut r = record(&[], nanos % 2 == 0);
            r.name = name;
            r.version = version;
            r.arguments = arguments.into_iter().map(|(n, d)| (n, Digest::from_bytes(d))).collect();
            r.metadata.tags = tags.into_iter().map(|(k, v)| (k, TagValue::Text(v))).collect();
            r.metadata.timestart = DateTime::from_timestamp_nanos(nanos);
            r.metadata.walltime = walltime;
            r.result_size = size;
            let bytes = r.encode().unwrap();
            let decoded = CallRecord::decode(&bytes).unwrap();
            let viewed = through_view(&bytes).unwrap();
            // NaN walltimes compare unequal: compare the encodings.
            prop_assert_eq!(viewed.encode().unwrap(), decoded.encode().unwrap());
        }
    }
}
