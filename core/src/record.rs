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
    /// Argument digests by name, in parameter order (ignored arguments are absent).
    pub arguments: Vec<(String, Digest)>,
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
