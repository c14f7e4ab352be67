//! The stored layout of a call record (format 6): a hand-written binary layout read field by
//! field, without serde and without field names, so a record of a small call takes a few
//! hundred bytes less than self-describing CBOR and a query reads it in place in nanoseconds.
//!
//! ```text
//! record   = 0x06 flags:varint name:str module:str [version:str] [code:32]
//!            count:varint (name:str digest:32)*            arguments
//!            [count:varint (name:str digest:32)*]          argument keys
//!            result:32 result_type:str result_size:varint
//!            timestart:zigzag timestop-timestart:zigzag walltime:secs
//!            count:varint (key:str tag)*                    tags, keys in order
//!            [environment] [git] [resources] [namespaces]
//! str      = length:varint UTF-8 bytes
//! varint   = LEB128, at most 10 bytes; zigzag maps i64 to u64 (0, -1, 1, -2, ...)
//! f64      = 8 bytes, little-endian IEEE 754
//! secs     = varint: 0 then f64 | n*4+1 (n microseconds) | n*4+2 (n nanoseconds)
//! tag      = 0 str | 1 zigzag (integer) | 2 f64 | 3 (false) | 4 (true)
//! environment = hostname:str user:str cwd:str program:str fleche_version:str rustc_version:str
//! git      = present:u8 (1 commit, 2 branch, 4 dirty, 8 dirty is true) [commit:str] [branch:str]
//! resources = present:u8 (1 cpu_user, 2 cpu_system, 4 peak) [secs] [secs] [varint]
//! namespaces = count:varint (name:str length:varint value in the value codec)*
//! ```
//!
//! `secs` holds a number of seconds: fleche measures wall time in nanoseconds and CPU time in
//! microseconds, so such a value is stored as that whole number (one to four bytes for a
//! short call) whenever it reads back bit for bit, and as an `f64` otherwise.
//!
//! `flags` says which optional parts follow (the `FLAG_*` constants); an unknown flag, a
//! field that runs past the end or bytes left over make the record unreadable, never
//! misread.

use std::collections::BTreeMap;

use chrono::DateTime;

use super::{
    CallRecord, EnvironmentRef, GitRef, MetadataView, Pairs, RecordView, Resources, TagList,
};
use crate::codec::{self, CodecError};
use crate::digest::Digest;
use crate::meta::value::{TagRef, TagValue, Value};

/// The first byte of every record in this layout. Layout 5 (cache format 5) stored the
/// `secs` fields as plain `f64`s.
const LAYOUT: u8 = 6;

/// The low two bits of a `secs` field's head.
const SECS_F64: u64 = 0;
const SECS_MICROS: u64 = 1;
const SECS_NANOS: u64 = 2;
/// Seconds below this are stored as whole microseconds or nanoseconds when they read back
/// exactly: 2^62 nanoseconds, so that the count shifted by two bits fits a `u64`.
const SECS_WHOLE_BELOW: f64 = 4.0e9;

const FLAG_VERSION: u64 = 1;
const FLAG_CODE: u64 = 1 << 1;
const FLAG_ARGUMENT_KEYS: u64 = 1 << 2;
const FLAG_ENVIRONMENT: u64 = 1 << 3;
const FLAG_GIT: u64 = 1 << 4;
const FLAG_RESOURCES: u64 = 1 << 5;
const FLAG_NAMESPACES: u64 = 1 << 6;
const KNOWN_FLAGS: u64 = (1 << 7) - 1;

const TAG_TEXT: u8 = 0;
const TAG_INT: u8 = 1;
const TAG_FLOAT: u8 = 2;
const TAG_FALSE: u8 = 3;
const TAG_TRUE: u8 = 4;

/// Encodes a record. Fails only for a start or stop time outside what nanoseconds since the
/// epoch hold in an `i64` (years 1677 to 2262).
pub(super) fn encode(r: &CallRecord) -> Result<Vec<u8>, CodecError> {
    let md = &r.metadata;
    let nanos = |t: &DateTime<chrono::Utc>| {
        t.timestamp_nanos_opt().ok_or_else(|| {
            CodecError::Encode(format!(
                "time {t} is out of range for nanoseconds since 1970"
            ))
        })
    };
    let (start, stop) = (nanos(&md.timestart)?, nanos(&md.timestop)?);
    let mut flags = 0;
    for (on, flag) in [
        (r.version.is_some(), FLAG_VERSION),
        (r.code.is_some(), FLAG_CODE),
        (!r.argument_keys.is_empty(), FLAG_ARGUMENT_KEYS),
        (md.environment.is_some(), FLAG_ENVIRONMENT),
        (md.git.is_some(), FLAG_GIT),
        (md.resources.is_some(), FLAG_RESOURCES),
        (!md.namespaces.is_empty(), FLAG_NAMESPACES),
    ] {
        if on {
            flags |= flag;
        }
    }
    let mut w = Writer(Vec::with_capacity(128 + 40 * r.arguments.len()));
    w.0.push(LAYOUT);
    w.varint(flags);
    w.str(&r.name);
    w.str(&r.module);
    if let Some(v) = &r.version {
        w.str(v);
    }
    if let Some(c) = &r.code {
        w.0.extend_from_slice(c.as_bytes());
    }
    w.pairs(&r.arguments);
    if !r.argument_keys.is_empty() {
        w.pairs(&r.argument_keys);
    }
    w.0.extend_from_slice(r.result.as_bytes());
    w.str(&r.result_type);
    w.varint(r.result_size);
    w.varint(zigzag(start));
    w.varint(zigzag(stop.wrapping_sub(start)));
    w.seconds(md.walltime);
    w.varint(md.tags.len() as u64);
    for (key, value) in &md.tags {
        w.str(key);
        match value {
            TagValue::Text(t) => {
                w.0.push(TAG_TEXT);
                w.str(t);
            }
            TagValue::Int(i) => {
                w.0.push(TAG_INT);
                w.varint(zigzag(*i));
            }
            TagValue::Float(f) => {
                w.0.push(TAG_FLOAT);
                w.f64(*f);
            }
            TagValue::Bool(b) => w.0.push(if *b { TAG_TRUE } else { TAG_FALSE }),
        }
    }
    if let Some(e) = &md.environment {
        for s in [
            &e.hostname,
            &e.user,
            &e.cwd,
            &e.program,
            &e.fleche_version,
            &e.rustc_version,
        ] {
            w.str(s);
        }
    }
    if let Some(g) = &md.git {
        let mut present = 0u8;
        for (on, bit) in [
            (g.commit.is_some(), 1),
            (g.branch.is_some(), 2),
            (g.dirty.is_some(), 4),
            (g.dirty == Some(true), 8),
        ] {
            if on {
                present |= bit;
            }
        }
        w.0.push(present);
        for s in [&g.commit, &g.branch].into_iter().flatten() {
            w.str(s);
        }
    }
    if let Some(res) = &md.resources {
        let mut present = 0u8;
        for (on, bit) in [
            (res.cpu_user.is_some(), 1),
            (res.cpu_system.is_some(), 2),
            (res.peak_memory_growth.is_some(), 4),
        ] {
            if on {
                present |= bit;
            }
        }
        w.0.push(present);
        for f in [res.cpu_user, res.cpu_system].into_iter().flatten() {
            w.seconds(f);
        }
        if let Some(p) = res.peak_memory_growth {
            w.varint(p);
        }
    }
    if !md.namespaces.is_empty() {
        w.varint(md.namespaces.len() as u64);
        for (name, value) in &md.namespaces {
            w.str(name);
            let bytes = codec::encode(value)?;
            w.varint(bytes.len() as u64);
            w.0.extend_from_slice(&bytes);
        }
    }
    Ok(w.0)
}

/// Reads a record in place; see [`RecordView`].
pub(super) fn view(bytes: &[u8]) -> Result<RecordView<'_>, CodecError> {
    let mut r = Reader { bytes, at: 0 };
    let flags = r.header()?;
    let on = |flag| flags & flag != 0;
    let function_from = r.at;
    let name = r.str()?;
    let module = r.str()?;
    let version = if on(FLAG_VERSION) {
        Some(r.str()?)
    } else {
        None
    };
    let code = if on(FLAG_CODE) {
        Some(r.digest()?)
    } else {
        None
    };
    let function_bytes = &bytes[function_from..r.at];
    let arguments = r.pairs()?;
    let argument_keys = if on(FLAG_ARGUMENT_KEYS) {
        r.pairs()?
    } else {
        Pairs::default()
    };
    let result = r.digest()?;
    let result_type = r.str()?;
    let result_size = r.varint()?;
    let start = unzigzag(r.varint()?);
    let stop = start.wrapping_add(unzigzag(r.varint()?));
    let walltime = r.seconds()?;
    let tags = r.tags()?;
    let environment = if on(FLAG_ENVIRONMENT) {
        Some(EnvironmentRef {
            hostname: r.str()?,
            user: r.str()?,
            cwd: r.str()?,
            program: r.str()?,
            fleche_version: r.str()?,
            rustc_version: r.str()?,
        })
    } else {
        None
    };
    let git = if on(FLAG_GIT) {
        let present = r.bits(15)?;
        Some(GitRef {
            commit: if present & 1 != 0 {
                Some(r.str()?)
            } else {
                None
            },
            branch: if present & 2 != 0 {
                Some(r.str()?)
            } else {
                None
            },
            dirty: (present & 4 != 0).then_some(present & 8 != 0),
        })
    } else {
        None
    };
    let resources = if on(FLAG_RESOURCES) {
        let present = r.bits(7)?;
        Some(Resources {
            cpu_user: if present & 1 != 0 {
                Some(r.seconds()?)
            } else {
                None
            },
            cpu_system: if present & 2 != 0 {
                Some(r.seconds()?)
            } else {
                None
            },
            peak_memory_growth: if present & 4 != 0 {
                Some(r.varint()?)
            } else {
                None
            },
        })
    } else {
        None
    };
    let mut namespaces = BTreeMap::new();
    if on(FLAG_NAMESPACES) {
        for _ in 0..r.count()? {
            let name = r.str()?.to_owned();
            let len = r.count()?;
            let value: Value = codec::decode(r.take(len)?)?;
            namespaces.insert(name, value);
        }
    }
    if r.at != bytes.len() {
        return Err(bad(format!(
            "{} bytes left after the call record",
            bytes.len() - r.at
        )));
    }
    Ok(RecordView {
        function_bytes,
        function_parts: (flags & (FLAG_VERSION | FLAG_CODE)) as u8,
        name,
        module,
        version,
        code,
        arguments,
        argument_keys,
        result,
        result_type,
        result_size,
        metadata: MetadataView {
            start_nanos: start,
            stop_nanos: stop,
            walltime,
            tags,
            environment,
            git,
            resources,
            namespaces,
        },
    })
}

/// The result digest of a record, read by skipping the fields before it: what a hit needs,
/// without reading the rest. Fails as [`view`] would for bytes that are not a record up to
/// that point (a hit checks the record's checksum first).
pub(super) fn result(bytes: &[u8]) -> Result<Digest, CodecError> {
    let mut r = Reader { bytes, at: 0 };
    let flags = r.header()?;
    r.str()?;
    r.str()?;
    if flags & FLAG_VERSION != 0 {
        r.str()?;
    }
    if flags & FLAG_CODE != 0 {
        r.take(32)?;
    }
    let pair_lists = if flags & FLAG_ARGUMENT_KEYS != 0 {
        2
    } else {
        1
    };
    for _ in 0..pair_lists {
        for _ in 0..r.count()? {
            r.str()?;
            r.take(32)?;
        }
    }
    Ok(r.digest()?)
}

/// Decodes a record whole.
pub(super) fn decode(bytes: &[u8]) -> Result<CallRecord, CodecError> {
    view(bytes).map(|v| v.to_record())
}

fn bad(what: String) -> CodecError {
    CodecError::Decode(what)
}

/// Why [`Reader`] could not read a field. Kept to eight bytes so that a field read returns in
/// registers: a [`CodecError`] holds a `String`, and returned through every field read it made
/// reading a record in place a fifth slower. It becomes a [`CodecError`] only when a read
/// fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// The record ends in the middle of a field.
    Ends,
    /// A layout byte other than [`LAYOUT`].
    Layout(u8),
    /// Flags beyond [`KNOWN_FLAGS`], all within the low 32 bits.
    Flags(u32),
    /// Flags beyond [`KNOWN_FLAGS`], some above the low 32 bits.
    HighFlags,
    /// Presence bits beyond those known.
    Bits(u8),
    /// A varint longer than 64 bits.
    LongInteger,
    /// A count larger than the bytes left of a record of this many bytes.
    Count(u32),
    /// Text that is not UTF-8, valid up to this byte.
    NotUtf8(u32),
    /// A `secs` field of an unknown form (its head's low two bits).
    Seconds(u8),
    /// A tag of an unknown type.
    TagType(u8),
}

impl From<Fault> for CodecError {
    fn from(fault: Fault) -> CodecError {
        bad(match fault {
            Fault::Ends => "the call record ends in the middle of a field".to_owned(),
            Fault::Layout(layout) => format!("a call record of layout {layout}, not {LAYOUT}"),
            Fault::Flags(flags) => format!("unknown record flags {flags:#x}"),
            Fault::HighFlags => "unknown record flags above the 32nd bit".to_owned(),
            Fault::Bits(bits) => format!("unknown presence bits {bits:#x}"),
            Fault::LongInteger => "an integer longer than 64 bits".to_owned(),
            Fault::Count(len) => {
                format!("a count larger than the bytes left of a record of {len} bytes")
            }
            Fault::NotUtf8(valid) => format!("text that is not UTF-8 (valid up to byte {valid})"),
            Fault::Seconds(form) => format!("an unknown form of seconds ({form})"),
            Fault::TagType(t) => format!("unknown tag type {t}"),
        })
    }
}

const _: () = assert!(std::mem::size_of::<Fault>() <= 8);

/// A length as a [`Fault`]'s payload: a record's sizes fit 32 bits, or are told as the most.
fn saturated(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Seconds from whole microseconds, as fleche's resource collector computes them.
fn from_micros(n: u64) -> f64 {
    n as f64 / 1e6
}

/// Seconds from whole nanoseconds, as `Duration::as_secs_f64` computes them for wall time.
fn from_nanos(n: u64) -> f64 {
    (n / 1_000_000_000) as f64 + (n % 1_000_000_000) as f64 / 1e9
}

struct Writer(Vec<u8>);

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn f64(&mut self, f: f64) {
        self.0.extend_from_slice(&f.to_le_bytes());
    }

    /// A `secs` field: the shortest of its forms that reads back bit for bit.
    fn seconds(&mut self, s: f64) {
        if (0.0..SECS_WHOLE_BELOW).contains(&s) {
            let micros = (s * 1e6).round() as u64;
            if from_micros(micros).to_bits() == s.to_bits() {
                return self.varint(micros << 2 | SECS_MICROS);
            }
            let nanos = (s * 1e9).round() as u64;
            if from_nanos(nanos).to_bits() == s.to_bits() {
                return self.varint(nanos << 2 | SECS_NANOS);
            }
        }
        self.varint(SECS_F64);
        self.f64(s);
    }

    fn pairs(&mut self, pairs: &[(String, Digest)]) {
        self.varint(pairs.len() as u64);
        for (name, digest) in pairs {
            self.str(name);
            self.0.extend_from_slice(digest.as_bytes());
        }
    }
}

#[derive(Clone)]
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Fault> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(Fault::Ends)?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, Fault> {
        Ok(self.take(1)?[0])
    }

    /// The layout byte, which must be this layout's, then the flags, none unknown.
    fn header(&mut self) -> Result<u64, Fault> {
        let layout = self.u8()?;
        if layout != LAYOUT {
            return Err(Fault::Layout(layout));
        }
        let flags = self.varint()?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(u32::try_from(flags).map_or(Fault::HighFlags, Fault::Flags));
        }
        Ok(flags)
    }

    /// A byte of presence bits, none beyond `known`.
    fn bits(&mut self, known: u8) -> Result<u8, Fault> {
        let b = self.u8()?;
        if b & !known != 0 {
            return Err(Fault::Bits(b));
        }
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, Fault> {
        // Most are lengths and counts below 128: one byte.
        if let Some(&b) = self.bytes.get(self.at)
            && b < 0x80
        {
            self.at += 1;
            return Ok(u64::from(b));
        }
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                break;
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Fault::LongInteger)
    }

    /// A count of items or bytes, which can be no larger than the bytes left.
    fn count(&mut self) -> Result<usize, Fault> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len() - self.at)
            .ok_or_else(|| Fault::Count(saturated(self.bytes.len())))
    }

    fn str(&mut self) -> Result<&'a str, Fault> {
        let len = self.count()?;
        std::str::from_utf8(self.take(len)?).map_err(|e| Fault::NotUtf8(saturated(e.valid_up_to())))
    }

    fn digest(&mut self) -> Result<Digest, Fault> {
        let bytes: [u8; 32] = self.take(32)?.try_into().expect("took 32 bytes");
        Ok(Digest::from_bytes(bytes))
    }

    fn f64(&mut self) -> Result<f64, Fault> {
        let bytes: [u8; 8] = self.take(8)?.try_into().expect("took 8 bytes");
        Ok(f64::from_le_bytes(bytes))
    }

    fn seconds(&mut self) -> Result<f64, Fault> {
        let head = self.varint()?;
        match (head & 3, head >> 2) {
            (SECS_F64, 0) => self.f64(),
            (SECS_MICROS, n) => Ok(from_micros(n)),
            (SECS_NANOS, n) => Ok(from_nanos(n)),
            _ => Err(Fault::Seconds((head & 3) as u8)),
        }
    }

    /// A list of names and digests, checked and left where it is.
    fn pairs(&mut self) -> Result<Pairs<'a>, Fault> {
        let len = self.count()?;
        let from = self.at;
        for _ in 0..len {
            self.pair()?;
        }
        Ok(Pairs {
            bytes: &self.bytes[from..self.at],
            len,
        })
    }

    fn pair(&mut self) -> Result<(&'a str, Digest), Fault> {
        Ok((self.str()?, self.digest()?))
    }

    /// The tags, checked and left where they are.
    fn tags(&mut self) -> Result<TagList<'a>, Fault> {
        let len = self.count()?;
        let from = self.at;
        let mut canonical = true;
        let mut last: Option<&str> = None;
        for _ in 0..len {
            let (key, _) = self.tag()?;
            canonical &= last.is_none_or(|last| last < key);
            last = Some(key);
        }
        Ok(TagList {
            bytes: &self.bytes[from..self.at],
            len,
            canonical,
        })
    }

    fn tag(&mut self) -> Result<(&'a str, TagRef<'a>), Fault> {
        let key = self.str()?;
        let value = match self.u8()? {
            TAG_TEXT => TagRef::Text(self.str()?.into()),
            TAG_INT => TagRef::Int(unzigzag(self.varint()?)),
            TAG_FLOAT => TagRef::Float(self.f64()?),
            TAG_FALSE => TagRef::Bool(false),
            TAG_TRUE => TagRef::Bool(true),
            other => return Err(Fault::TagType(other)),
        };
        Ok((key, value))
    }
}

/// Goes through a list that [`view`] checked: every item reads as it did then. Should the
/// bytes not read (they cannot), the list ends early rather than panicking.
fn items<'a, T: 'a>(
    bytes: &'a [u8],
    len: usize,
    item: fn(&mut Reader<'a>) -> Result<T, Fault>,
) -> impl Iterator<Item = T> + Clone + 'a {
    let mut r = Reader { bytes, at: 0 };
    (0..len).map_while(move |_| item(&mut r).ok())
}

impl<'a> Pairs<'a> {
    /// The names and digests, in stored order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'a str, Digest)> + Clone + 'a {
        items(self.bytes, self.len, Reader::pair)
    }
}

impl<'a> TagList<'a> {
    /// The tags, in stored order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'a str, TagRef<'a>)> + Clone + 'a {
        items(self.bytes, self.len, Reader::tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each way a record can fail to read is told in words, with what was found.
    #[test]
    fn a_record_that_does_not_read_says_why() {
        let record = CallRecord {
            name: "f".into(),
            module: "m".into(),
            version: None,
            code: Some(crate::digest::digest(&1)),
            arguments: Vec::new(),
            argument_keys: Vec::new(),
            result: crate::digest::digest(&2),
            result_type: "i64".into(),
            result_size: 9,
            metadata: Default::default(),
        };
        let good = encode(&record).unwrap();
        // Layout, flags, then the name's length and byte, the module's, the code digest.
        assert_eq!(&good[..6], &[LAYOUT, FLAG_CODE as u8, 1, b'f', 1, b'm']);
        let error = |bytes: &[u8]| view(bytes).unwrap_err().to_string();
        let changed = |at: usize, to: &[u8]| {
            let mut bytes = good.clone();
            bytes.splice(at..at + 1, to.iter().copied());
            error(&bytes)
        };
        assert!(view(&good).is_ok());
        assert!(error(&good[..20]).contains("ends in the middle of a field"));
        assert!(changed(0, &[5]).contains("layout 5, not 6"));
        assert!(changed(1, &[0x82, 0x01]).contains("unknown record flags 0x82"));
        assert!(changed(3, &[0xff]).contains("not UTF-8 (valid up to byte 0)"));
        assert!(changed(2, &[0x7f]).contains(&format!(
            "a count larger than the bytes left of a record of {} bytes",
            good.len()
        )));
        assert!(changed(1, &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).contains("above the 32nd bit"));
        assert!(error(&[LAYOUT, 0, 0x80]).contains("ends in the middle"));
        assert!(
            error(&[
                LAYOUT, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f
            ])
            .contains("longer than 64 bits")
        );
        // A text tag whose type byte is unknown; and seconds of an unknown form.
        let tagged = CallRecord {
            metadata: crate::record::Metadata {
                tags: [("k".to_owned(), "v".into())].into(),
                ..Default::default()
            },
            ..record
        };
        let bytes = encode(&tagged).unwrap();
        // The tags come last: their count, then the key "k", the type, the value "v".
        let tag_type = bytes.len() - 3;
        assert_eq!(&bytes[tag_type - 3..], &[1, 1, b'k', TAG_TEXT, 1, b'v']);
        let mut bad_tag = bytes.clone();
        bad_tag[tag_type] = 9;
        assert!(error(&bad_tag).contains("unknown tag type 9"));
        // The wall time's one-byte head is just before the tags.
        let walltime = tag_type - 4;
        assert_eq!(bytes[walltime], SECS_MICROS as u8);
        let mut bad_seconds = bytes;
        bad_seconds[walltime] = 3;
        assert!(error(&bad_seconds).contains("an unknown form of seconds (3)"));
    }

    #[test]
    fn zigzag_round_trips_the_extremes() {
        for i in [0, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(i)), i);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn seconds_read_back_bit_for_bit_in_their_shortest_form() {
        let stored = |s: f64| {
            let mut w = Writer(Vec::new());
            w.seconds(s);
            let mut r = Reader { bytes: &w.0, at: 0 };
            let back = r.seconds().unwrap();
            assert_eq!(back.to_bits(), s.to_bits(), "{s}");
            assert_eq!(r.at, w.0.len());
            w.0.len()
        };
        // What the collectors measure: whole microseconds of CPU, nanoseconds of wall time.
        assert_eq!(stored(0.0), 1);
        assert_eq!(stored(from_micros(5)), 1);
        assert_eq!(stored(from_micros(37)), 2);
        assert_eq!(stored(from_micros(1_500_000)), 4);
        let wall = std::time::Duration::from_nanos(3_217).as_secs_f64();
        assert_eq!(stored(wall), 2);
        let long = std::time::Duration::from_nanos(86_400_123_456_789).as_secs_f64();
        assert!(stored(long) <= 9);
        // Anything else as an f64, after its head.
        for s in [-0.0, -1.0, 0.1 + 0.2, 1e300, f64::NAN, f64::INFINITY, 5e9] {
            assert_eq!(stored(s), 9, "{s}");
        }
        // Forms this layout does not know are refused.
        for head in [3u8, 4, 7] {
            let bytes = [head, 0, 0, 0, 0, 0, 0, 0, 0];
            assert!(
                Reader {
                    bytes: &bytes,
                    at: 0
                }
                .seconds()
                .is_err(),
                "{head}"
            );
        }
    }

    #[test]
    fn varints_round_trip_and_overlong_ones_are_refused() {
        for v in [0, 127, 128, 300, u64::MAX] {
            let mut w = Writer(Vec::new());
            w.varint(v);
            let mut r = Reader { bytes: &w.0, at: 0 };
            assert_eq!(r.varint().unwrap(), v);
            assert_eq!(r.at, w.0.len());
        }
        let eleven = [0xff; 11];
        assert!(
            Reader {
                bytes: &eleven,
                at: 0
            }
            .varint()
            .is_err()
        );
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(
            Reader {
                bytes: &too_big,
                at: 0
            }
            .varint()
            .is_err()
        );
    }
}
