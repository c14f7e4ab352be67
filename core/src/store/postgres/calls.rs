//! Reading calls and values from PostgreSQL: a hit in one round trip (with the whole call
//! when it is copied up into a local file), whole calls for copies, records for queries;
//! and removing calls. Writing is `write.rs`'s job.
//!
//! A value of one chunk is read from its own row; a larger one is streamed a chunk at a
//! time into one buffer (the caller's buffer plus one chunk in flight, not several copies).

use postgres::fallible_iterator::FallibleIterator;

use super::super::checksum;
use super::super::maintenance::StoredCall;
use super::super::paging::TimeKey;
use super::connect::{Conn, Prepared};
use crate::digest::Digest;
use crate::record::CallRecord;

type PgResult<T> = Result<T, postgres::Error>;

/// The result of the call under `key` (digest and bytes), checked against its checksums;
/// `Ok(None)` when absent, `Err(Damaged)` as the file store does.
pub(crate) fn result_of(conn: &mut Conn, key: &Digest) -> PgResult<Found<(Digest, Vec<u8>)>> {
    let row = conn.query_opt(
        "SELECT c.result, c.checksum, c.record, v.checksum, v.size, v.chunks, v.bytes
         FROM fleche_calls c LEFT JOIN fleche_values v ON v.digest = c.result
         WHERE c.key = $1",
        &[&key.as_bytes().as_slice()],
    )?;
    let Some(row) = row else {
        return Ok(Found::Absent);
    };
    let Some((_, digest, _)) = call_parts(*key, &row, 0) else {
        return Ok(Found::DamagedRecord);
    };
    if row.get::<_, Option<i64>>(3).is_none() {
        // The record arrived without its value (a push cut short): not a hit.
        return Ok(Found::Absent);
    }
    Ok(match checked_value(conn, &digest, &row, 3)? {
        Some(bytes) => Found::Present((digest, bytes)),
        None => Found::DamagedValue(digest),
    })
}

/// What a checked read found.
pub(crate) enum Found<T> {
    Absent,
    Present(T),
    DamagedRecord,
    DamagedValue(Digest),
}

/// The bytes of a value: those of its row (`inline`) when it fits in one chunk, else its
/// chunks streamed into one buffer of the final size.
fn assemble(
    conn: &mut Conn,
    digest: &Digest,
    size: i64,
    chunks: i32,
    inline: Option<&[u8]>,
) -> PgResult<Vec<u8>> {
    if chunks <= 1 {
        return Ok(inline.unwrap_or_default().to_vec());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let all =
        conn.statement("SELECT bytes FROM fleche_value_chunks WHERE digest = $1 ORDER BY seq")?;
    let d = digest.as_bytes().as_slice();
    let mut rows = conn.client.query_raw(
        &all,
        std::iter::once(&d as &(dyn postgres::types::ToSql + Sync)),
    )?;
    while let Some(row) = rows.next()? {
        bytes.extend_from_slice(row.get::<_, &[u8]>(0));
    }
    Ok(bytes)
}

/// The whole call under `key` with every value it names that the server holds intact, in
/// one round trip (plus one per value of several chunks): a hit that the stack copies up
/// into a local file. Absent when the server lacks the call or its result value.
pub(crate) fn hit(conn: &mut Conn, key: &Digest) -> PgResult<Found<StoredCall>> {
    // One row per digest the call names (its result, then its arguments' digests, some of
    // which are keys without a stored value), with that value's row.
    let rows = conn.query(
        "SELECT c.result, c.checksum, c.record, v.digest, v.checksum, v.size, v.chunks, v.bytes
         FROM fleche_calls c
         CROSS JOIN LATERAL (SELECT c.result AS digest
             UNION SELECT a.digest FROM fleche_call_arguments a WHERE a.key = c.key) named
         LEFT JOIN fleche_values v ON v.digest = named.digest
         WHERE c.key = $1",
        &[&key.as_bytes().as_slice()],
    )?;
    let Some(first) = rows.first() else {
        return Ok(Found::Absent);
    };
    let Some((_, result, record)) = call_parts(*key, first, 0) else {
        return Ok(Found::DamagedRecord);
    };
    let mut names = vec![result];
    if let Ok(view) = CallRecord::decode(&record) {
        names.extend(view.arguments.iter().map(|(_, d)| *d));
    }
    names.dedup();
    let mut call = StoredCall::new(*key, result, record, Vec::with_capacity(names.len()));
    for row in &rows {
        let Some(digest) = row.get::<_, Option<&[u8]>>(3) else {
            continue;
        };
        let Ok(digest) = <[u8; 32]>::try_from(digest).map(Digest::from_bytes) else {
            continue;
        };
        if !names.contains(&digest) || call.values.iter().any(|(d, _)| *d == digest) {
            continue;
        }
        match checked_value(conn, &digest, row, 4)? {
            Some(bytes) => call.values.push((digest, bytes)),
            None if digest == result => return Ok(Found::DamagedValue(result)),
            None => warn_damaged(&digest),
        }
    }
    if call.result_bytes().is_none() {
        // The record arrived without its value (a push cut short): not a hit.
        return Ok(Found::Absent);
    }
    call.missing = (names.len() - call.values.len()) as u64;
    // The result first, as the stack's write-behind wants it.
    if let Some(i) = call.values.iter().position(|(d, _)| *d == result) {
        call.values.swap(0, i);
    }
    Ok(Found::Present(call))
}

/// The bytes of the value whose `(checksum, size, chunks, inline bytes)` start at column
/// `at` of `row`, when they match the checksum.
fn checked_value(
    conn: &mut Conn,
    digest: &Digest,
    row: &postgres::Row,
    at: usize,
) -> PgResult<Option<Vec<u8>>> {
    let sum: i64 = row.get(at);
    let bytes = assemble(
        conn,
        digest,
        row.get(at + 1),
        row.get(at + 2),
        row.get(at + 3),
    )?;
    Ok(checksum::value_intact(sum as u64, &bytes).then_some(bytes))
}

fn warn_damaged(digest: &Digest) {
    tracing::warn!(digest = %digest, "a value on the server does not match its checksum; left out");
}

/// The value stored under `digest`, checked.
pub(crate) fn value(conn: &mut Conn, digest: &Digest) -> PgResult<Found<Vec<u8>>> {
    let row = conn.query_opt(
        "SELECT checksum, size, chunks, bytes FROM fleche_values WHERE digest = $1",
        &[&digest.as_bytes().as_slice()],
    )?;
    let Some(row) = row else {
        return Ok(Found::Absent);
    };
    Ok(match checked_value(conn, digest, &row, 0)? {
        Some(bytes) => Found::Present(bytes),
        None => Found::DamagedValue(*digest),
    })
}

/// The calls stored under `keys`, each with the values it names that the server holds
/// intact; a damaged record is left out with a warning. Two round trips whatever the number
/// of calls: the records, then every value they name (a value over one chunk adds its own).
pub(crate) fn calls(conn: &mut Conn, keys: &[Digest]) -> PgResult<Vec<StoredCall>> {
    let wanted: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes().as_slice()).collect();
    let rows = conn.query(
        "SELECT key, result, checksum, record FROM fleche_calls WHERE key = ANY($1)",
        &[&wanted],
    )?;
    let mut calls = Vec::with_capacity(rows.len());
    let mut named: Vec<Vec<Digest>> = Vec::with_capacity(rows.len());
    for row in rows {
        let Some((key, result, record)) = intact_call(&row) else {
            continue;
        };
        let mut names = vec![result];
        if let Ok(view) = CallRecord::decode(&record) {
            names.extend(view.arguments.iter().map(|(_, d)| *d));
        }
        names.dedup();
        named.push(names);
        calls.push(StoredCall::new(key, result, record, Vec::new()));
    }
    let mut all: Vec<Digest> = named.iter().flatten().copied().collect();
    all.sort();
    all.dedup();
    let found = values(conn, &all)?;
    for (call, names) in calls.iter_mut().zip(named) {
        for digest in names {
            match found.get(&digest) {
                Some(bytes) => call.values.push((digest, bytes.clone())),
                None => call.missing += 1,
            }
        }
    }
    Ok(calls)
}

/// The intact values among `digests`, in one query (plus one per value of several chunks).
fn values(
    conn: &mut Conn,
    digests: &[Digest],
) -> PgResult<std::collections::HashMap<Digest, Vec<u8>>> {
    let wanted: Vec<&[u8]> = digests.iter().map(|d| d.as_bytes().as_slice()).collect();
    let rows = conn.query(
        "SELECT digest, checksum, size, chunks, bytes FROM fleche_values WHERE digest = ANY($1)",
        &[&wanted],
    )?;
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let Ok(digest) = <[u8; 32]>::try_from(row.get::<_, &[u8]>(0)) else {
            continue;
        };
        let digest = Digest::from_bytes(digest);
        match checked_value(conn, &digest, &row, 1)? {
            Some(bytes) => drop(out.insert(digest, bytes)),
            None => warn_damaged(&digest),
        }
    }
    Ok(out)
}

/// Key, result digest and record of a `(key, result, checksum, record)` row whose checksum
/// holds.
fn intact_call(row: &postgres::Row) -> Option<(Digest, Digest, Vec<u8>)> {
    let key = Digest::from_bytes(<[u8; 32]>::try_from(row.get::<_, &[u8]>(0)).ok()?);
    let found = call_parts(key, row, 1);
    if found.is_none() {
        checksum::warn_skipped(&key);
    }
    found
}

/// The call under `key` from the `(result, checksum, record)` columns of `row` starting at
/// `at`, when its checksum holds.
fn call_parts(key: Digest, row: &postgres::Row, at: usize) -> Option<(Digest, Digest, Vec<u8>)> {
    let result = <[u8; 32]>::try_from(row.get::<_, &[u8]>(at)).ok()?;
    let record: &[u8] = row.get(at + 2);
    if !checksum::call_intact(row.get::<_, i64>(at + 1) as u64, &result, record) {
        return None;
    }
    Some((key, Digest::from_bytes(result), record.to_vec()))
}

/// Up to `limit` records with keys after `after`, in key order.
pub(crate) fn records_after(
    conn: &mut Conn,
    after: Option<Digest>,
    limit: usize,
) -> PgResult<Vec<(Digest, Vec<u8>)>> {
    let after: &[u8] = after.as_ref().map_or(&[], |a| a.as_bytes().as_slice());
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = conn.query(
        "SELECT key, result, checksum, record FROM fleche_calls WHERE key > $1 ORDER BY key LIMIT $2",
        &[&after, &limit],
    )?;
    Ok(intact_records(&rows))
}

/// The records of the calls under `keys` that the server holds (those intact), any order.
pub(crate) fn records(conn: &mut Conn, keys: &[Digest]) -> PgResult<Vec<(Digest, Vec<u8>)>> {
    let wanted: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes().as_slice()).collect();
    let rows = conn.query(
        "SELECT key, result, checksum, record FROM fleche_calls WHERE key = ANY($1)",
        &[&wanted],
    )?;
    Ok(intact_records(&rows))
}

/// Up to `limit` calls by start time, newest first, strictly before `before` (from the
/// newest when `None`); the same order as a cache file's time index (start, then key).
pub(crate) fn calls_before(
    conn: &mut Conn,
    before: Option<TimeKey>,
    limit: usize,
) -> PgResult<Vec<TimeKey>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match before {
        None => conn.query(
            "SELECT start_ns, key FROM fleche_calls ORDER BY start_ns DESC, key DESC LIMIT $1",
            &[&limit],
        )?,
        // `start_ns <= $1` alone lets the time index bound the scan.
        Some(before) => conn.query(
            "SELECT start_ns, key FROM fleche_calls
             WHERE start_ns <= $1 AND (start_ns < $1 OR key < $2)
             ORDER BY start_ns DESC, key DESC LIMIT $3",
            &[
                &before.start_nanos,
                &before.key.as_bytes().as_slice(),
                &limit,
            ],
        )?,
    };
    Ok(rows.iter().filter_map(time_key).collect())
}

/// Every call strictly after `after` by start time, oldest first.
pub(crate) fn calls_after(conn: &mut Conn, after: TimeKey) -> PgResult<Vec<TimeKey>> {
    let rows = conn.query(
        "SELECT start_ns, key FROM fleche_calls
         WHERE start_ns >= $1 AND (start_ns > $1 OR key > $2)
         ORDER BY start_ns, key",
        &[&after.start_nanos, &after.key.as_bytes().as_slice()],
    )?;
    Ok(rows.iter().filter_map(time_key).collect())
}

/// `(key, record)` of the intact calls among `(key, result, checksum, record)` rows.
fn intact_records(rows: &[postgres::Row]) -> Vec<(Digest, Vec<u8>)> {
    rows.iter()
        .filter_map(intact_call)
        .map(|(key, _, record)| (key, record))
        .collect()
}

/// A `(start_ns, key)` row as a time key; a key of the wrong length (not fleche's) is
/// left out.
fn time_key(row: &postgres::Row) -> Option<TimeKey> {
    Some(TimeKey {
        start_nanos: row.get(0),
        key: Digest::from_bytes(<[u8; 32]>::try_from(row.get::<_, &[u8]>(1)).ok()?),
    })
}

/// How many calls the server holds.
pub(crate) fn count(conn: &mut Conn) -> PgResult<u64> {
    let n: Option<i64> = conn
        .query_opt("SELECT count(*) FROM fleche_calls", &[])?
        .map(|row| row.get(0));
    Ok(n.unwrap_or(0).max(0) as u64)
}

/// Call keys (with their records) that an indexed filter selects, newest first.
pub(crate) fn records_where(
    conn: &mut Conn,
    filter: &Filter<'_>,
) -> PgResult<Vec<(Digest, Vec<u8>)>> {
    let (sql, params): (&str, Vec<&(dyn postgres::types::ToSql + Sync)>) = match filter {
        Filter::Name(name) => (
            "SELECT key, result, checksum, record FROM fleche_calls WHERE name = $1 ORDER BY start_ns DESC",
            vec![name],
        ),
        Filter::Module(module) => (
            "SELECT key, result, checksum, record FROM fleche_calls WHERE module = $1 ORDER BY start_ns DESC",
            vec![module],
        ),
        Filter::Tag(tag, value) => (
            "SELECT c.key, c.result, c.checksum, c.record FROM fleche_call_tags t
             JOIN fleche_calls c ON c.key = t.key WHERE t.tag = $1 AND t.value = $2
             ORDER BY c.start_ns DESC",
            vec![tag, value],
        ),
        Filter::Argument(name, digest) => (
            "SELECT c.key, c.result, c.checksum, c.record FROM fleche_call_arguments a
             JOIN fleche_calls c ON c.key = a.key WHERE a.name = $1 AND a.digest = $2
             ORDER BY c.start_ns DESC",
            vec![name, digest],
        ),
    };
    let rows = conn.query(sql, &params)?;
    Ok(intact_records(&rows))
}

/// A filter the server answers from an index.
pub(crate) enum Filter<'a> {
    Name(&'a str),
    Module(&'a str),
    Tag(&'a str, &'a str),
    /// Argument name and the digest of its value, as bytes.
    Argument(&'a str, &'a [u8]),
}

/// Removes the calls under `keys` and their index rows; values stay. Returns how many were
/// there.
pub(crate) fn remove(conn: &mut Conn, keys: &[Digest]) -> PgResult<usize> {
    let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes().as_slice()).collect();
    let mut txn = conn.transaction()?;
    txn.execute("DELETE FROM fleche_call_tags WHERE key = ANY($1)", &[&keys])?;
    txn.execute(
        "DELETE FROM fleche_call_arguments WHERE key = ANY($1)",
        &[&keys],
    )?;
    let removed = txn.execute("DELETE FROM fleche_calls WHERE key = ANY($1)", &[&keys])?;
    txn.commit()?;
    Ok(usize::try_from(removed).unwrap_or(usize::MAX))
}
