//! Call records: what is stored about one call, without its values.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::digest::Digest;

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
    /// Times, tags and optional environment and git facts.
    pub metadata: Metadata,
}

impl CallRecord {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, codec::CodecError> {
        codec::encode(self)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<CallRecord, codec::CodecError> {
        codec::decode(bytes)
    }
}

/// A call record read in place: its text borrowed from the stored bytes, so that reading it
/// allocates nothing but the argument and tag lists.
///
/// It accepts exactly what [`CallRecord`] accepts (same fields, defaults and types), and
/// [`RecordView::to_record`] gives the same record as decoding a `CallRecord`. Queries check
/// every record this way and decode in full only the calls that are looked at.
#[derive(Debug, Deserialize)]
pub(crate) struct RecordView<'a> {
    #[serde(borrow)]
    pub(crate) name: &'a str,
    #[serde(borrow)]
    pub(crate) module: &'a str,
    #[serde(default, borrow)]
    pub(crate) version: Option<&'a str>,
    #[serde(default)]
    pub(crate) code: Option<Digest>,
    #[serde(borrow)]
    pub(crate) arguments: Vec<(&'a str, Digest)>,
    #[serde(default, borrow)]
    pub(crate) argument_keys: Vec<(&'a str, Digest)>,
    pub(crate) result: Digest,
    #[serde(default, borrow)]
    pub(crate) result_type: &'a str,
    #[serde(default)]
    pub(crate) result_size: u64,
    #[serde(borrow)]
    pub(crate) metadata: MetadataView<'a>,
}

/// [`Metadata`] read in place (see [`RecordView`]).
#[derive(Debug, Deserialize)]
pub(crate) struct MetadataView<'a> {
    #[serde(deserialize_with = "chrono::serde::ts_nanoseconds::deserialize")]
    pub(crate) timestart: DateTime<Utc>,
    #[serde(deserialize_with = "chrono::serde::ts_nanoseconds::deserialize")]
    pub(crate) timestop: DateTime<Utc>,
    pub(crate) walltime: f64,
    #[serde(default, borrow)]
    pub(crate) tags: TagList<'a>,
    #[serde(default)]
    pub(crate) environment: Option<Environment>,
    #[serde(default)]
    pub(crate) git: Option<Git>,
}

/// The tags of a [`MetadataView`] in stored order. A map may repeat a key; as in a
/// `BTreeMap`, the last value wins.
#[derive(Debug, Default)]
pub(crate) struct TagList<'a>(pub(crate) Vec<(&'a str, &'a str)>);

impl<'a> TagList<'a> {
    /// The value of tag `key`, if the call has it.
    pub(crate) fn get(&self, key: &str) -> Option<&'a str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    /// Whether the keys are sorted without repeats, as fleche writes them.
    pub(crate) fn is_canonical(&self) -> bool {
        self.0.windows(2).all(|w| w[0].0 < w[1].0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for TagList<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> serde::de::Visitor<'de> for Pairs {
            type Value = TagList<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of text tags")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(TagList(pairs))
            }
        }
        deserializer.deserialize_map(Pairs)
    }
}

impl RecordView<'_> {
    pub(crate) fn decode(bytes: &[u8]) -> Result<RecordView<'_>, codec::CodecError> {
        codec::decode_borrowed(bytes)
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
                .map(|(n, d)| ((*n).to_owned(), *d))
                .collect(),
            argument_keys: self
                .argument_keys
                .iter()
                .map(|(n, d)| ((*n).to_owned(), *d))
                .collect(),
            result: self.result,
            result_type: self.result_type.to_owned(),
            result_size: self.result_size,
            metadata: Metadata {
                timestart: md.timestart,
                timestop: md.timestop,
                walltime: md.walltime,
                tags: md
                    .tags
                    .0
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                environment: md.environment.clone(),
                git: md.git.clone(),
            },
        }
    }
}

/// Metadata recorded with every call. It is never part of the call key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// When the call started (UTC).
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    pub timestart: DateTime<Utc>,
    /// When the call returned (UTC).
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    pub timestop: DateTime<Utc>,
    /// Wall time of the call in seconds.
    pub walltime: f64,
    /// Tags active when the call ran (see [`tags!`](crate::tags!)).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Host, user, working directory and fleche version, when that collector is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Git commit, branch and dirty flag of the working directory, when that collector is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Git>,
}

impl Metadata {
    /// Start time in nanoseconds since the Unix epoch (the time index key).
    pub fn start_nanos(&self) -> i64 {
        self.timestart.timestamp_nanos_opt().unwrap_or(i64::MAX)
    }
}

/// Where a call ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// Host name.
    pub hostname: String,
    /// User name.
    pub user: String,
    /// Working directory.
    pub cwd: String,
    /// fleche version.
    pub fleche_version: String,
}

/// The git state of the working directory when a call ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Git {
    /// Commit hash of HEAD.
    pub commit: Option<String>,
    /// Branch name, or `HEAD` when detached.
    pub branch: Option<String>,
    /// Whether tracked or untracked files differ from HEAD.
    pub dirty: Option<bool>,
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

impl MetadataRef<'_, '_> {
    pub(crate) fn tag(&self, key: &str) -> Option<&str> {
        match self {
            MetadataRef::Decoded(md) => md.tags.get(key).map(String::as_str),
            MetadataRef::View(md) => md.tags.get(key),
        }
    }

    pub(crate) fn has_namespace(&self, namespace: &str) -> bool {
        let (tags, environment, git) = match self {
            MetadataRef::Decoded(md) => (
                !md.tags.is_empty(),
                md.environment.is_some(),
                md.git.is_some(),
            ),
            MetadataRef::View(md) => (
                !md.tags.0.is_empty(),
                md.environment.is_some(),
                md.git.is_some(),
            ),
        };
        match namespace {
            "runtime" => true,
            "tags" => tags,
            "environment" => environment,
            "git" => git,
            _ => false,
        }
    }

    pub(crate) fn entry(&self, namespace: &str, key: &str) -> Option<String> {
        let (timestart, timestop, walltime, environment, git) = match self {
            MetadataRef::Decoded(md) => (
                md.timestart,
                md.timestop,
                md.walltime,
                md.environment.as_ref(),
                md.git.as_ref(),
            ),
            MetadataRef::View(md) => (
                md.timestart,
                md.timestop,
                md.walltime,
                md.environment.as_ref(),
                md.git.as_ref(),
            ),
        };
        match namespace {
            "runtime" => match key {
                "timestart" => Some(timestart.to_rfc3339()),
                "timestop" => Some(timestop.to_rfc3339()),
                "walltime" => Some(walltime.to_string()),
                _ => None,
            },
            "tags" => self.tag(key).map(str::to_owned),
            "environment" => environment.and_then(|e| match key {
                "hostname" => Some(e.hostname.clone()),
                "user" => Some(e.user.clone()),
                "cwd" => Some(e.cwd.clone()),
                "fleche_version" => Some(e.fleche_version.clone()),
                _ => None,
            }),
            "git" => git.and_then(|g| match key {
                "commit" => g.commit.clone(),
                "branch" => g.branch.clone(),
                "dirty" => g.dirty.map(|d| d.to_string()),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// The keys of the fixed metadata namespaces, in table order.
pub(crate) const ENVIRONMENT_KEYS: [&str; 4] = ["hostname", "user", "cwd", "fleche_version"];
/// The keys of the git namespace, in table order.
pub(crate) const GIT_KEYS: [&str; 3] = ["commit", "branch", "dirty"];

/// One metadata entry as text, if the call has it.
pub(crate) fn metadata_entry(md: &Metadata, namespace: &str, key: &str) -> Option<String> {
    MetadataRef::Decoded(md).entry(namespace, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::ser::{SerializeMap, SerializeStruct};

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
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                environment: extras.then(|| Environment {
                    hostname: "h".into(),
                    user: "u".into(),
                    cwd: "/".into(),
                    fleche_version: "0.1.0".into(),
                }),
                git: extras.then_some(Git {
                    commit: Some("abc".into()),
                    branch: None,
                    dirty: Some(true),
                }),
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

    /// A record as an older or foreign writer may have stored it: optional fields missing, an
    /// unknown field, and a tag map with a repeated key (the last value wins, as in a map).
    struct Sparse;

    struct RepeatedTags;

    impl Serialize for RepeatedTags {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(3))?;
            m.serialize_entry("stage", "1")?;
            m.serialize_entry("project", "a")?;
            m.serialize_entry("stage", "2")?;
            m.end()
        }
    }

    #[derive(Serialize)]
    struct SparseMetadata {
        timestart: i64,
        timestop: i64,
        walltime: f64,
        tags: RepeatedTags,
    }

    impl Serialize for Sparse {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut st = s.serialize_struct("CallRecord", 6)?;
            st.serialize_field("name", "f")?;
            st.serialize_field("module", "m")?;
            st.serialize_field("arguments", &Vec::<(String, Digest)>::new())?;
            st.serialize_field("result", &Digest::from_bytes([1; 32]))?;
            st.serialize_field("added_later", &[1, 2, 3])?;
            st.serialize_field(
                "metadata",
                &SparseMetadata {
                    timestart: 10,
                    timestop: 20,
                    walltime: 1e-8,
                    tags: RepeatedTags,
                },
            )?;
            st.end()
        }
    }

    #[test]
    fn a_view_fills_defaults_and_keeps_the_last_repeated_tag() {
        let bytes = codec::encode(&Sparse).unwrap();
        let decoded = CallRecord::decode(&bytes).unwrap();
        assert_eq!(through_view(&bytes).unwrap(), decoded);
        assert_eq!(decoded.metadata.tags["stage"], "2");
        let view = RecordView::decode(&bytes).unwrap();
        assert_eq!(view.metadata.tags.get("stage"), Some("2"));
        assert!(!view.metadata.tags.is_canonical());
    }

    #[test]
    fn a_view_rejects_what_a_record_rejects() {
        #[derive(Serialize)]
        struct WrongName {
            name: u64,
        }
        let mut bad = vec![
            codec::encode(&WrongName { name: 1 }).unwrap(),
            codec::encode("not a record").unwrap(),
        ];
        let mut with_tags = record(&[("project", "a")], false).encode().unwrap();
        // Replace the tag value "a" (text of length 1) by the integer 1.
        let at = with_tags.len() - 2;
        assert_eq!(&with_tags[at..], &[0x61, b'a']);
        with_tags.truncate(at);
        with_tags.push(0x01);
        bad.push(with_tags);
        for bytes in bad {
            assert!(CallRecord::decode(&bytes).is_err());
            assert!(RecordView::decode(&bytes).is_err());
        }
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
            r.metadata.tags = tags;
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
