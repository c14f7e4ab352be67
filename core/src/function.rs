//! A cached function's identity (name, module, version, code) and its call key: what the
//! macro writes in a `static` for each `#[fleche]` function, read by the runtime on every
//! call and by a function's own query.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::codec;
use crate::digest::{self, Digest, DigestError, recent};
use crate::meta::Attached;

/// The identity of a cached function, written by the macro as a `static`.
#[derive(Debug)]
pub struct Function {
    /// Function name.
    pub name: &'static str,
    /// `module_path!()` where it is defined.
    pub module: &'static str,
    /// `version = ...`, part of the key.
    pub version: Option<&'static str>,
    /// Hex digest of the function's tokens, when `hash_code` is on.
    pub code: Option<&'static str>,
    /// Whether `Err` results are stored too (`cache_errors = true`).
    pub cache_errors: bool,
    /// Whether a miss waits for another process that computes the same call
    /// (`#[fleche(wait = false)]` turns it off).
    pub wait: bool,
    /// How long its last body took in this process, in microseconds (`u64::MAX`: none ran
    /// yet); a body quicker than a claim is not worth claiming (see `lease.rs`).
    pub(crate) last_body_micros: AtomicU64,
    /// The call-key hasher after the function's own fields and the keys' first byte, computed
    /// once: a call then hashes only the argument digests (and a repeated call not even
    /// those, see `digest::recent`).
    key_start: OnceLock<(blake3::Hasher, u8)>,
    /// See [`Function::id`].
    id: OnceLock<u64>,
    /// `code` parsed, once: every miss puts it in its record.
    code_digest: OnceLock<Option<Digest>>,
    /// Makes the collectors of `#[fleche(meta = [...])]`, run on the first miss.
    meta: Option<fn() -> Vec<Attached>>,
    collectors: OnceLock<Vec<Attached>>,
}

impl Function {
    /// A cached function's identity; the macro writes this in a `static`.
    pub const fn new(
        name: &'static str,
        module: &'static str,
        version: Option<&'static str>,
        code: Option<&'static str>,
        cache_errors: bool,
    ) -> Function {
        Function {
            name,
            module,
            version,
            code,
            cache_errors,
            wait: true,
            last_body_micros: AtomicU64::new(u64::MAX),
            key_start: OnceLock::new(),
            id: OnceLock::new(),
            code_digest: OnceLock::new(),
            meta: None,
            collectors: OnceLock::new(),
        }
    }

    /// The function with its own metadata collectors (`#[fleche(meta = [...])]`), made by
    /// `collectors` on the first miss.
    pub const fn with_meta(mut self, collectors: fn() -> Vec<Attached>) -> Function {
        self.meta = Some(collectors);
        self
    }

    /// The function's own metadata collectors.
    pub(crate) fn collectors(&self) -> &[Attached] {
        match self.meta {
            Some(make) => self.collectors.get_or_init(make),
            None => &[],
        }
    }

    /// The same function, computing at once on a miss even while another process computes
    /// the same call (`#[fleche(wait = false)]`).
    #[must_use]
    pub const fn without_waiting(mut self) -> Function {
        self.wait = false;
        self
    }

    /// The module shown in records: evcxr compiles every cell into a crate named `ctx`, which
    /// we present as `__main__`, as Python does for notebooks.
    pub fn module(&self) -> &'static str {
        static IN_EVCXR: OnceLock<bool> = OnceLock::new();
        let in_evcxr = *IN_EVCXR.get_or_init(|| std::env::var_os("EVCXR_IS_RUNTIME").is_some());
        if in_evcxr && (self.module == "ctx" || self.module.starts_with("ctx::")) {
            "__main__"
        } else {
            self.module
        }
    }

    pub(crate) fn code_digest(&self) -> Option<Digest> {
        *self
            .code_digest
            .get_or_init(|| self.code.and_then(|c| c.parse().ok()))
    }

    /// The call key for these arguments.
    pub fn key(
        &self,
        args: &[(&'static str, &dyn Argument)],
    ) -> Result<(Digest, Vec<Digest>), DigestError> {
        let (key, digests) = self.call_key(args)?;
        Ok((key, digests.to_vec()))
    }

    /// [`Function::key`], with the argument digests kept inline: a hit allocates nothing.
    pub(crate) fn call_key(
        &self,
        args: &[(&'static str, &dyn Argument)],
    ) -> Result<(Digest, ArgDigests), DigestError> {
        let mut digests = ArgDigests::default();
        for (_, a) in args {
            digests.push(a.digest()?);
        }
        Ok((
            self.key_of(args.iter().map(|(n, _)| *n).zip(digests.iter().copied())),
            digests,
        ))
    }

    /// The call key: BLAKE3 in key-derivation mode (context `fleche 2026-11-27 call key v2`) over the name,
    /// module, version and code digest, then each argument's name and value digest in
    /// parameter order. Strings are written as a little-endian `u64` length and their bytes,
    /// options as a byte 0 (none) or 1 (some) before the string; then the hash's first byte
    /// is replaced by the function's cluster (`digest::call_cluster`, format 7), so that one
    /// function's calls are stored together. Frozen: changing it invalidates every stored
    /// call.
    pub(crate) fn key_of(
        &self,
        args: impl Iterator<Item = (&'static str, Digest)> + Clone,
    ) -> Digest {
        // What is hashed after the function's own fields, gathered first so that a call
        // repeated with the same arguments finds its key among the recent digests.
        let mut input = [0u8; recent::MAX_INPUT];
        let mut len = 0usize;
        for (name, digest) in args.clone() {
            let Some(end) = len
                .checked_add(8 + name.len() + 32)
                .filter(|&end| end <= recent::MAX_INPUT)
            else {
                return Digest::from_bytes(self.hash_key(args));
            };
            input[len..len + 8].copy_from_slice(&(name.len() as u64).to_le_bytes());
            input[len + 8..end - 32].copy_from_slice(name.as_bytes());
            input[end - 32..end].copy_from_slice(digest.as_bytes());
            len = end;
        }
        let start = recent::Start::Function(self.id());
        Digest::from_bytes(recent::remembered(start, &input[..len], || {
            let (mut h, cluster) = self.key_start();
            h.update(&input[..len]);
            digest::with_cluster(*h.finalize().as_bytes(), cluster)
        }))
    }

    fn hash_key(&self, args: impl Iterator<Item = (&'static str, Digest)>) -> [u8; 32] {
        let (mut h, cluster) = self.key_start();
        for (name, digest) in args {
            put_str(&mut h, name);
            h.update(digest.as_bytes());
        }
        digest::with_cluster(*h.finalize().as_bytes(), cluster)
    }

    /// The call-key hasher after the function's own fields, and the first byte of its keys.
    fn key_start(&self) -> (blake3::Hasher, u8) {
        self.key_start
            .get_or_init(|| {
                let mut h = digest::call_key_hasher();
                put_str(&mut h, self.name);
                put_str(&mut h, self.module());
                put_option(&mut h, self.version);
                put_option(&mut h, self.code);
                (h, digest::call_cluster(self.name))
            })
            .clone()
    }

    /// A number of this process's own for the function, naming its call-key hasher among
    /// the recent digests (its address could be reused by another function). One counter
    /// serves the process, whichever copy of fleche numbers the function (an evcxr kernel
    /// links one into every cell).
    fn id(&self) -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        *self.id.get_or_init(|| {
            let next = crate::process::shared_static!("function::NEXT", AtomicU64, &NEXT);
            next.fetch_add(1, Ordering::Relaxed)
        })
    }
}

/// The argument digests of one call: up to [`INLINE_DIGESTS`] of them inline, the rest in a
/// `Vec` (functions with more arguments are rare, and their hits cost more anyway).
pub(crate) struct ArgDigests {
    inline: [Digest; INLINE_DIGESTS],
    len: usize,
    more: Vec<Digest>,
}

const INLINE_DIGESTS: usize = 4;

impl Default for ArgDigests {
    fn default() -> ArgDigests {
        ArgDigests {
            inline: [Digest::from_bytes([0; 32]); INLINE_DIGESTS],
            len: 0,
            more: Vec::new(),
        }
    }
}

impl ArgDigests {
    fn push(&mut self, digest: Digest) {
        if self.len < INLINE_DIGESTS {
            self.inline[self.len] = digest;
            self.len += 1;
            return;
        }
        if self.more.is_empty() {
            self.more.extend_from_slice(&self.inline);
        }
        self.more.push(digest);
    }
}

impl std::ops::Deref for ArgDigests {
    type Target = [Digest];
    fn deref(&self) -> &[Digest] {
        if self.more.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.more
        }
    }
}

fn put_str(h: &mut blake3::Hasher, s: &str) {
    h.update(&(s.len() as u64).to_le_bytes());
    h.update(s.as_bytes());
}

fn put_option(h: &mut blake3::Hasher, s: Option<&str>) {
    match s {
        Some(s) => {
            h.update(&[1]);
            put_str(h, s);
        }
        None => {
            h.update(&[0]);
        }
    }
}

/// An argument as the runtime sees it: something with a digest that can be stored.
pub trait Argument {
    /// The digest that goes into the call key.
    fn digest(&self) -> Result<Digest, DigestError>;
    /// The encoded value to store.
    fn encode(&self) -> Result<Vec<u8>, codec::CodecError>;
    /// The digest the encoded value is stored under, given its key digest: the value's own
    /// digest, so that a value stored under `d` always digests to `d`. Only a value with its
    /// own [`CacheKey`](crate::CacheKey) has a key digest that differs.
    fn value_digest(&self, key: Digest) -> Result<Digest, DigestError> {
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_call_keys_are_each_calls_own() {
        // Call keys are remembered per thread (see `digest::recent`); more calls than it
        // keeps, with one and two arguments, in two rounds, each get the key hashed afresh.
        let f = Function::new("relax", "alloys::md", None, None, false);
        let g = Function::new("relax", "alloys::md", Some("2"), None, false);
        let afresh = |f: &Function, args: &[(&'static str, Digest)]| {
            Digest::from_bytes(f.hash_key(args.iter().copied()))
        };
        for _ in 0..2 {
            for i in 0u16..2000 {
                let d = Digest::from_bytes([(i % 256) as u8; 32]);
                let e = Digest::from_bytes([(i / 256) as u8; 32]);
                for (function, args) in [
                    (&f, vec![("t", d)]),
                    (&g, vec![("t", d)]),
                    (&f, vec![("t", d), ("p", e)]),
                    (&f, vec![("p", d), ("t", e)]),
                ] {
                    assert_eq!(
                        function.key_of(args.iter().copied()),
                        afresh(function, &args)
                    );
                }
            }
        }
        assert_ne!(
            f.key_of([("t", Digest::from_bytes([1; 32]))].into_iter()),
            g.key_of([("t", Digest::from_bytes([1; 32]))].into_iter())
        );
        // Arguments too long to remember are hashed every time, to the same key.
        let long = [("a_rather_long_parameter_name", Digest::from_bytes([3; 32])); 5];
        assert_eq!(f.key_of(long.iter().copied()), afresh(&f, &long));
    }

    /// The call-key format is frozen: a change here invalidates every stored call.
    #[test]
    fn call_key_format_is_frozen() {
        let f = Function::new("relax", "alloys::md", Some("2"), Some("ab12"), false);
        let key = f.key_of([("temperature", Digest::from_bytes([7; 32]))].into_iter());
        assert_eq!(key.to_string(), GOLDEN);
        // Each part matters.
        let other = Function::new("relax", "alloys::md", Some("3"), Some("ab12"), false);
        assert_ne!(
            other.key_of([("temperature", Digest::from_bytes([7; 32]))].into_iter()),
            key
        );
        let renamed = f.key_of([("temp", Digest::from_bytes([7; 32]))].into_iter());
        assert_ne!(renamed, key);
        let no_version = Function::new("relax", "alloys::md", None, Some("ab12"), false);
        let no_version =
            no_version.key_of([("temperature", Digest::from_bytes([7; 32]))].into_iter());
        assert_ne!(no_version, key);
        // The first byte is the name's cluster, whatever the module, version or arguments;
        // another name has another cluster.
        assert_eq!(digest::call_cluster("relax"), 0x57);
        assert_eq!(no_version.as_bytes()[0], 0x57);
        assert_eq!(renamed.as_bytes()[0], 0x57);
        let elsewhere = Function::new("relax", "other", None, None, false);
        assert_eq!(elsewhere.key_of(std::iter::empty()).as_bytes()[0], 0x57);
        assert_eq!(digest::call_cluster("anneal"), 153);
    }

    #[test]
    fn argument_digests_keep_their_order_inline_and_beyond() {
        for n in [0u8, 1, 4, 5, 9] {
            let mut digests = ArgDigests::default();
            let all: Vec<Digest> = (0..n).map(|i| Digest::from_bytes([i; 32])).collect();
            for d in &all {
                digests.push(*d);
            }
            assert_eq!(&*digests, all.as_slice(), "{n} arguments");
        }
    }

    const GOLDEN: &str = "5783e3b34d108526c075673fef751289cb0d9d3abd4af9a60b371b254a773545";
}
