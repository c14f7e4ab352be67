//! Calls and values in PostgreSQL: a hit in one round trip (with the whole call when it is
//! copied up into a local file), whole calls for copies, and batches of new calls pushed in
//! one transaction of a few array statements.
//!
//! Values are content-addressed and cut into chunks of 1 MiB, so a 100 MB array is sent and
//! read a chunk at a time (the caller's buffer plus one chunk in flight, not several copies),
//! and a value whose digest the server already holds is not sent again.

use std::collections::HashSet;

use postgres::fallible_iterator::FallibleIterator;

use super::super::checksum;
use super::super::maintenance::StoredCall;
use super::connect::{Conn, Txn};
use crate::digest::Digest;
use crate::record::CallRecord;

/// Values are stored in chunks of this size: small enough that a large value never needs a
/// second whole copy in memory, large enough that a 100 MB value is a hundred rows.
pub(crate) const CHUNK: usize = 1 << 20;

type PgResult<T> = Result<T, postgres::Error>;

/// The result of the call under `key` (digest and bytes), checked against its checksums;
/// `Ok(None)` when absent, `Err(Damaged)` as the file store does.
pub(crate) fn result_of(conn: &mut Conn, key: &Digest) -> PgResult<Found<(Digest, Vec<u8>)>> {
    let row = conn.query_opt(
        "SELECT c.result, c.checksum, c.record, v.checksum, v.size, v.chunks, ch.bytes
         FROM fleche_calls c
         LEFT JOIN fleche_values v ON v.digest = c.result
         LEFT JOIN fleche_value_chunks ch ON ch.digest = c.result AND ch.seq = 0
         WHERE c.key = $1",
        &[&key.as_bytes().as_slice()],
    )?;
    let Some(row) = row else {
        return Ok(Found::Absent);
    };
    let Some((_, digest, _)) = call_parts(*key, &row, 0) else {
        return Ok(Found::DamagedRecord);
    };
    if row.get::<_, Option<&[u8]>>(6).is_none() {
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

/// The bytes of a value whose first chunk is in hand: the other chunks are streamed into one
/// buffer of the final size.
fn assemble(
    conn: &mut Conn,
    digest: &Digest,
    size: i64,
    chunks: i32,
    first: &[u8],
) -> PgResult<Vec<u8>> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).max(first.len()));
    bytes.extend_from_slice(first);
    if chunks > 1 {
        let rest = conn.statement(
            "SELECT bytes FROM fleche_value_chunks WHERE digest = $1 AND seq > 0 ORDER BY seq",
        )?;
        let d = digest.as_bytes().as_slice();
        let mut rows = conn.client.query_raw(
            &rest,
            std::iter::once(&d as &(dyn postgres::types::ToSql + Sync)),
        )?;
        while let Some(row) = rows.next()? {
            bytes.extend_from_slice(row.get::<_, &[u8]>(0));
        }
    }
    Ok(bytes)
}

/// The whole call under `key` with every value it names that the server holds intact, in
/// one round trip (plus one per value of several chunks): a hit that the stack copies up
/// into a local file. Absent when the server lacks the call or its result value.
pub(crate) fn hit(conn: &mut Conn, key: &Digest) -> PgResult<Found<StoredCall>> {
    // One row per digest the call names (its result, then its arguments' digests, some of
    // which are keys without a stored value), with that value's first chunk.
    let rows = conn.query(
        "SELECT c.result, c.checksum, c.record, v.digest, v.checksum, v.size, v.chunks, ch.bytes
         FROM fleche_calls c
         CROSS JOIN LATERAL (SELECT c.result AS digest
             UNION SELECT a.digest FROM fleche_call_arguments a WHERE a.key = c.key) named
         LEFT JOIN fleche_values v ON v.digest = named.digest
         LEFT JOIN fleche_value_chunks ch ON ch.digest = v.digest AND ch.seq = 0
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
        let held = row.get::<_, Option<&[u8]>>(7).is_some();
        if !held || !names.contains(&digest) || call.values.iter().any(|(d, _)| *d == digest) {
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

/// The bytes of the value whose `(checksum, size, chunks, first chunk)` start at column `at`
/// of `row`, when they match the checksum.
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
        "SELECT v.checksum, v.size, v.chunks, ch.bytes FROM fleche_values v
         JOIN fleche_value_chunks ch ON ch.digest = v.digest AND ch.seq = 0
         WHERE v.digest = $1",
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
        "SELECT v.digest, v.checksum, v.size, v.chunks, ch.bytes FROM fleche_values v
         JOIN fleche_value_chunks ch ON ch.digest = v.digest AND ch.seq = 0
         WHERE v.digest = ANY($1)",
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
    Ok(rows
        .iter()
        .filter_map(intact_call)
        .map(|(key, _, record)| (key, record))
        .collect())
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
    Ok(rows
        .iter()
        .filter_map(intact_call)
        .map(|(key, _, record)| (key, record))
        .collect())
}

/// A filter the server answers from an index.
pub(crate) enum Filter<'a> {
    Name(&'a str),
    Module(&'a str),
    Tag(&'a str, &'a str),
    /// Argument name and the digest of its value, as bytes.
    Argument(&'a str, &'a [u8]),
}

/// Stores `calls` in one transaction: values the server lacks (chunked), then records with
/// their index rows, replacing earlier records under the same keys; and ends the leases
/// `holder` held on them. Returns how many value bytes were sent.
pub(crate) fn store(conn: &mut Conn, calls: &[StoredCall], holder: &str) -> PgResult<u64> {
    let mut txn = conn.transaction()?;
    let sent = store_values(&mut txn, calls)?;
    let mut keys: Vec<&[u8]> = Vec::with_capacity(calls.len());
    let mut results: Vec<&[u8]> = Vec::with_capacity(calls.len());
    let mut sums: Vec<i64> = Vec::with_capacity(calls.len());
    let mut records: Vec<&[u8]> = Vec::with_capacity(calls.len());
    let mut names: Vec<String> = Vec::with_capacity(calls.len());
    let mut modules: Vec<String> = Vec::with_capacity(calls.len());
    let mut starts: Vec<i64> = Vec::with_capacity(calls.len());
    let (mut tag_keys, mut tags, mut tag_values) = (Vec::new(), Vec::new(), Vec::new());
    let (mut arg_keys, mut arg_names, mut arg_digests) = (Vec::new(), Vec::new(), Vec::new());
    for call in calls {
        // A record that does not decode cannot be indexed; the file store skips it too.
        let Ok(record) = CallRecord::decode(&call.record) else {
            tracing::warn!(key = %call.key, "a call record does not decode; not pushed");
            continue;
        };
        let key = call.key.as_bytes().as_slice();
        keys.push(key);
        results.push(call.result.as_bytes().as_slice());
        sums.push(checksum::of_call(call.result.as_bytes(), &call.record) as i64);
        records.push(&call.record);
        starts.push(record.metadata.start_nanos());
        for (tag, value) in &record.metadata.tags {
            tag_keys.push(key);
            tags.push(tag.clone());
            tag_values.push(value.to_string());
        }
        for (name, digest) in record.arguments.iter().chain(&record.argument_keys) {
            arg_keys.push(key);
            arg_names.push(name.clone());
            arg_digests.push(digest.as_bytes().to_vec());
        }
        names.push(record.name);
        modules.push(record.module);
    }
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
    txn.execute(
        "INSERT INTO fleche_call_tags (key, tag, value)
         SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
        &[&tag_keys, &tags, &tag_values],
    )?;
    txn.execute(
        "INSERT INTO fleche_call_arguments (key, name, digest)
         SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::bytea[]) ON CONFLICT DO NOTHING",
        &[&arg_keys, &arg_names, &arg_digests],
    )?;
    txn.execute(
        "DELETE FROM fleche_claims WHERE key = ANY($1) AND holder = $2",
        &[&keys, &holder],
    )?;
    txn.commit()?;
    Ok(sent)
}

/// Sends the values of `calls` that the server does not hold yet; returns the bytes sent.
fn store_values(txn: &mut Txn<'_>, calls: &[StoredCall]) -> PgResult<u64> {
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
    let missing: Vec<(&Digest, &[u8])> = values
        .into_iter()
        .filter(|(d, _)| !held.contains(d.as_bytes().as_slice()))
        .collect();
    let (mut digests, mut sums, mut sizes, mut counts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut small_digests, mut small_bytes) = (Vec::new(), Vec::new());
    let mut sent = 0u64;
    for (digest, bytes) in &missing {
        let d = digest.as_bytes().as_slice();
        let chunks = bytes.len().div_ceil(CHUNK).max(1);
        digests.push(d);
        sums.push(checksum::of_value(bytes) as i64);
        sizes.push(bytes.len() as i64);
        counts.push(i32::try_from(chunks).unwrap_or(i32::MAX));
        sent += bytes.len() as u64;
        if chunks == 1 {
            small_digests.push(d);
            small_bytes.push(*bytes);
            continue;
        }
        // One statement per chunk: only one chunk is encoded for sending at a time.
        for (seq, chunk) in bytes.chunks(CHUNK).enumerate() {
            let seq = i32::try_from(seq).unwrap_or(i32::MAX);
            txn.execute(
                "INSERT INTO fleche_value_chunks (digest, seq, bytes) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&d, &seq, &chunk],
            )?;
        }
    }
    txn.execute(
        "INSERT INTO fleche_value_chunks (digest, seq, bytes)
         SELECT d, 0, b FROM UNNEST($1::bytea[], $2::bytea[]) AS t(d, b) ON CONFLICT DO NOTHING",
        &[&small_digests, &small_bytes],
    )?;
    // The value row last: a reader that finds it finds every chunk (same transaction anyway).
    txn.execute(
        "INSERT INTO fleche_values (digest, checksum, size, chunks)
         SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::int8[], $4::int4[]) ON CONFLICT DO NOTHING",
        &[&digests, &sums, &sizes, &counts],
    )?;
    Ok(sent)
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
