//! fleche: persistent memoization with queryable call records.

pub mod codec;
pub mod config;
pub mod digest;

pub use digest::{D, Digest, DigestError, ParseDigestError, digest, try_digest};
