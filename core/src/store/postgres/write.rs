//! Storing a batch of calls on the server, in one transaction. New calls and values go in by
//! binary COPY, PostgreSQL's fastest way in (about twice the rows per second of an
//! `INSERT ... ON CONFLICT` here); calls that replace earlier records go by array
//! statements that update what is there, and so does a whole batch that met a row another
//! client wrote meanwhile.
//!
//! A value of one chunk (1 MiB) is stored inline in its row; a larger one a chunk at a time,
//! so a 100 MB value never needs a second whole copy in memory. A value whose digest the
//! server already holds is not sent again.

use std::collections::HashSet;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::Type;

use super::super::checksum;
use super::super::maintenance::StoredCall;
use super::connect::{Conn, Prepared, Txn};
use crate::digest::Digest;
use crate::record::CallRecord;

/// Values are stored in chunks of this size: small enough that a large value never needs a
/// second whole copy in memory, large enough that a 100 MB value is a hundred rows.
pub(crate) const CHUNK: usize = 1 << 20;

type PgResult<T> = Result<T, postgres::Error>;

/// One call's rows, as they are sent.
struct Rows<'a> {
    key: &'a [u8],
    result: &'a [u8],
    checksum: i64,
    record: &'a [u8],
    name: String,
    module: String,
    start: i64,
    tags: Vec<(String, String)>,
    arguments: Vec<(String, &'a [u8])>,
}

/// Stores `calls` (values the server lacks, then records with their index rows, replacing
/// earlier records under the same keys) and ends the leases `holder` holds on `claimed`
/// among them. Returns how many value bytes were sent.
pub(crate) fn store(
    conn: &mut Conn,
    calls: &[StoredCall],
    holder: &str,
    claimed: &[Digest],
) -> PgResult<u64> {
    let mut decoded = Vec::with_capacity(calls.len());
    for call in calls {
        // A record that does not decode cannot be indexed; the file store skips it too.
        match CallRecord::decode(&call.record) {
            Ok(record) => decoded.push((call, record)),
            Err(_) => tracing::warn!(key = %call.key, "a call record does not decode; not pushed"),
        }
    }
    let rows: Vec<Rows<'_>> = decoded
        .iter()
        .map(|(call, record)| rows(call, record))
        .collect();
    let claimed: Vec<&[u8]> = claimed.iter().map(|k| k.as_bytes().as_slice()).collect();
    match store_once(conn, calls, &rows, holder, &claimed, Way::Copy) {
        // Another client stored one of these rows after we looked: update what is there.
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            store_once(conn, calls, &rows, holder, &claimed, Way::Upsert)
        }
        done => done,
    }
}

/// How rows go in: by COPY where nothing is there yet, or by statements that update or skip
/// what is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Copy,
    Upsert,
}

fn rows<'a>(call: &'a StoredCall, record: &'a CallRecord) -> Rows<'a> {
    Rows {
        key: call.key.as_bytes().as_slice(),
        result: call.result.as_bytes().as_slice(),
        checksum: checksum::of_call(call.result.as_bytes(), &call.record) as i64,
        record: &call.record,
        name: record.name.clone(),
        module: record.module.clone(),
        start: record.metadata.start_nanos(),
        tags: record
            .metadata
            .tags
            .iter()
            .map(|(tag, value)| (tag.clone(), value.to_string()))
            .collect(),
        arguments: record
            .arguments
            .iter()
            .chain(&record.argument_keys)
            .map(|(name, digest)| (name.clone(), digest.as_bytes().as_slice()))
            .collect(),
    }
}

fn store_once(
    conn: &mut Conn,
    calls: &[StoredCall],
    rows: &[Rows<'_>],
    holder: &str,
    claimed: &[&[u8]],
    way: Way,
) -> PgResult<u64> {
    let mut txn = conn.transaction()?;
    let sent = store_values(&mut txn, calls, way)?;
    let (fresh, replacing): (Vec<&Rows<'_>>, Vec<&Rows<'_>>) = match way {
        Way::Copy => {
            let keys: Vec<&[u8]> = rows.iter().map(|r| r.key).collect();
            let present: HashSet<Vec<u8>> = txn
                .query("SELECT key FROM fleche_calls WHERE key = ANY($1)", &[&keys])?
                .iter()
                .map(|r| r.get(0))
                .collect();
            rows.iter().partition(|r| !present.contains(r.key))
        }
        Way::Upsert => (Vec::new(), rows.iter().collect()),
    };
    copy_calls(&mut txn, &fresh)?;
    upsert_calls(&mut txn, &replacing)?;
    if !claimed.is_empty() {
        txn.execute(
            "DELETE FROM fleche_claims WHERE key = ANY($1) AND holder = $2",
            &[&claimed, &holder],
        )?;
    }
    txn.commit()?;
    Ok(sent)
}

/// A binary COPY into a table, its statement prepared once per connection.
fn copy_into<'t>(
    txn: &'t mut Txn<'_>,
    sql: &'static str,
    types: &[Type],
) -> PgResult<BinaryCopyInWriter<'t>> {
    let statement = txn.statement(sql)?;
    let writer = txn.txn.copy_in(&statement)?;
    Ok(BinaryCopyInWriter::new(writer, types))
}

/// Calls the server has no record of, with their tags and arguments, by COPY.
fn copy_calls(txn: &mut Txn<'_>, rows: &[&Rows<'_>]) -> PgResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut calls = copy_into(
        txn,
        "COPY fleche_calls (key, result, checksum, record, name, module, start_ns)
         FROM STDIN (FORMAT binary)",
        &[
            Type::BYTEA,
            Type::BYTEA,
            Type::INT8,
            Type::BYTEA,
            Type::TEXT,
            Type::TEXT,
            Type::INT8,
        ],
    )?;
    for r in rows {
        calls.write(&[
            &r.key,
            &r.result,
            &r.checksum,
            &r.record,
            &r.name,
            &r.module,
            &r.start,
        ])?;
    }
    calls.finish()?;
    if rows.iter().any(|r| !r.tags.is_empty()) {
        let mut tags = copy_into(
            txn,
            "COPY fleche_call_tags (key, tag, value) FROM STDIN (FORMAT binary)",
            &[Type::BYTEA, Type::TEXT, Type::TEXT],
        )?;
        for r in rows {
            for (tag, value) in &r.tags {
                tags.write(&[&r.key, tag, value])?;
            }
        }
        tags.finish()?;
    }
    if rows.iter().any(|r| !r.arguments.is_empty()) {
        let mut arguments = copy_into(
            txn,
            "COPY fleche_call_arguments (key, name, digest) FROM STDIN (FORMAT binary)",
            &[Type::BYTEA, Type::TEXT, Type::BYTEA],
        )?;
        for r in rows {
            for (name, digest) in &r.arguments {
                arguments.write(&[&r.key, name, digest])?;
            }
        }
        arguments.finish()?;
    }
    Ok(())
}

/// Calls stored under keys the server may hold already: their records replaced, their tag
/// and argument rows written anew.
fn upsert_calls(txn: &mut Txn<'_>, rows: &[&Rows<'_>]) -> PgResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let keys: Vec<&[u8]> = rows.iter().map(|r| r.key).collect();
    let results: Vec<&[u8]> = rows.iter().map(|r| r.result).collect();
    let sums: Vec<i64> = rows.iter().map(|r| r.checksum).collect();
    let records: Vec<&[u8]> = rows.iter().map(|r| r.record).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let modules: Vec<&str> = rows.iter().map(|r| r.module.as_str()).collect();
    let starts: Vec<i64> = rows.iter().map(|r| r.start).collect();
    txn.execute(
        "INSERT INTO fleche_calls (key, result, checksum, record, name, module, start_ns)
         SELECT * FROM UNNEST($1::bytea[], $2::bytea[], $3::int8[], $4::bytea[], $5::text[], $6::text[], $7::int8[])
         ON CONFLICT (key) DO UPDATE SET result = EXCLUDED.result, checksum = EXCLUDED.checksum,
             record = EXCLUDED.record, name = EXCLUDED.name, module = EXCLUDED.module,
             start_ns = EXCLUDED.start_ns",
        &[&keys, &results, &sums, &records, &names, &modules, &starts],
    )?;
    txn.execute("DELETE FROM fleche_call_tags WHERE key = ANY($1)", &[&keys])?;
    txn.execute(
        "DELETE FROM fleche_call_arguments WHERE key = ANY($1)",
        &[&keys],
    )?;
    let tagged = rows
        .iter()
        .flat_map(|r| r.tags.iter().map(move |t| (r.key, t)));
    let (mut tag_keys, mut tags, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (key, (tag, value)) in tagged {
        tag_keys.push(key);
        tags.push(tag.as_str());
        values.push(value.as_str());
    }
    txn.execute(
        "INSERT INTO fleche_call_tags (key, tag, value)
         SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
        &[&tag_keys, &tags, &values],
    )?;
    let named = rows
        .iter()
        .flat_map(|r| r.arguments.iter().map(move |a| (r.key, a)));
    let (mut arg_keys, mut arg_names, mut digests) = (Vec::new(), Vec::new(), Vec::new());
    for (key, (name, digest)) in named {
        arg_keys.push(key);
        arg_names.push(name.as_str());
        digests.push(*digest);
    }
    txn.execute(
        "INSERT INTO fleche_call_arguments (key, name, digest)
         SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::bytea[]) ON CONFLICT DO NOTHING",
        &[&arg_keys, &arg_names, &digests],
    )?;
    Ok(())
}

/// Sends the values of `calls` that the server does not hold yet; returns the bytes sent.
fn store_values(txn: &mut Txn<'_>, calls: &[StoredCall], way: Way) -> PgResult<u64> {
    let mut seen = HashSet::new();
    let values: Vec<(&Digest, &[u8])> = calls
        .iter()
        .flat_map(|c| c.values.iter())
        .filter(|(d, _)| seen.insert(*d))
        .map(|(d, b)| (d, b.as_slice()))
        .collect();
    if values.is_empty() {
        return Ok(0);
    }
    let digests: Vec<&[u8]> = values
        .iter()
        .map(|(d, _)| d.as_bytes().as_slice())
        .collect();
    let held: HashSet<Vec<u8>> = txn
        .query(
            "SELECT digest FROM fleche_values WHERE digest = ANY($1)",
            &[&digests],
        )?
        .iter()
        .map(|r| r.get::<_, Vec<u8>>(0))
        .collect();
    let missing: Vec<Value<'_>> = values
        .into_iter()
        .filter(|(d, _)| !held.contains(d.as_bytes().as_slice()))
        .map(|(digest, bytes)| Value {
            digest: digest.as_bytes().as_slice(),
            checksum: checksum::of_value(bytes) as i64,
            size: bytes.len() as i64,
            chunks: i32::try_from(bytes.len().div_ceil(CHUNK).max(1)).unwrap_or(i32::MAX),
            inline: (bytes.len() <= CHUNK).then_some(bytes),
            bytes,
        })
        .collect();
    for value in missing.iter().filter(|v| v.inline.is_none()) {
        // One statement per chunk: only one chunk is encoded for sending at a time.
        for (seq, chunk) in value.bytes.chunks(CHUNK).enumerate() {
            let seq = i32::try_from(seq).unwrap_or(i32::MAX);
            txn.execute(
                "INSERT INTO fleche_value_chunks (digest, seq, bytes) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&value.digest, &seq, &chunk],
            )?;
        }
    }
    // The value rows after the chunks: a reader that finds one finds every chunk.
    match way {
        Way::Copy if !missing.is_empty() => {
            let mut rows = copy_into(
                txn,
                "COPY fleche_values (digest, checksum, size, chunks, bytes) FROM STDIN (FORMAT binary)",
                &[Type::BYTEA, Type::INT8, Type::INT8, Type::INT4, Type::BYTEA],
            )?;
            for v in &missing {
                rows.write(&[&v.digest, &v.checksum, &v.size, &v.chunks, &v.inline])?;
            }
            rows.finish()?;
        }
        Way::Copy => {}
        Way::Upsert => {
            let digests: Vec<&[u8]> = missing.iter().map(|v| v.digest).collect();
            let sums: Vec<i64> = missing.iter().map(|v| v.checksum).collect();
            let sizes: Vec<i64> = missing.iter().map(|v| v.size).collect();
            let chunks: Vec<i32> = missing.iter().map(|v| v.chunks).collect();
            let inline: Vec<Option<&[u8]>> = missing.iter().map(|v| v.inline).collect();
            txn.execute(
                "INSERT INTO fleche_values (digest, checksum, size, chunks, bytes)
                 SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::int8[], $4::int4[], $5::bytea[])
                 ON CONFLICT DO NOTHING",
                &[&digests, &sums, &sizes, &chunks, &inline],
            )?;
        }
    }
    Ok(missing.iter().map(|v| v.size as u64).sum())
}

/// A value to send.
struct Value<'a> {
    digest: &'a [u8],
    checksum: i64,
    size: i64,
    chunks: i32,
    /// The bytes, when they fit in one chunk and go in the value's own row.
    inline: Option<&'a [u8]>,
    bytes: &'a [u8],
}
