//! Leases on call keys in PostgreSQL, so machines sharing the server compute each call once.
//! A claims table rather than advisory locks: a lease must name its holder for the waiting
//! side's message, and must outlive a dropped connection only as long as its lease runs.
//! Lease ends are the server's own clock (`now()`), so clients' clocks never matter.

use std::time::Duration;

use super::connect::{Conn, Prepared};
use crate::digest::Digest;

type PgResult<T> = Result<T, postgres::Error>;

/// Claims `key` for `holder` for `lease`, unless another holder's lease runs; returns the
/// holder of the running lease (ours when we got it).
pub(crate) fn claim(
    conn: &mut Conn,
    key: &Digest,
    holder: &str,
    lease: Duration,
) -> PgResult<String> {
    let micros = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
    let key = key.as_bytes().as_slice();
    let ours = conn.query_opt(
        "INSERT INTO fleche_claims (key, holder, expires)
         VALUES ($1, $2, now() + make_interval(secs => $3::float8 / 1e6))
         ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, expires = EXCLUDED.expires
         WHERE fleche_claims.expires < now() OR fleche_claims.holder = EXCLUDED.holder
         RETURNING holder",
        &[&key, &holder, &(micros as f64)],
    )?;
    if ours.is_some() {
        return Ok(holder.to_owned());
    }
    // Held by another: who (it may have ended just now; then claim again next time).
    let row = conn.query_opt(
        "SELECT holder FROM fleche_claims WHERE key = $1 AND expires >= now()",
        &[&key],
    )?;
    Ok(row.map_or_else(String::new, |r| r.get(0)))
}

/// The holder of a running lease on `key`, if any.
pub(crate) fn holder(conn: &mut Conn, key: &Digest) -> PgResult<Option<String>> {
    Ok(conn
        .query_opt(
            "SELECT holder FROM fleche_claims WHERE key = $1 AND expires >= now()",
            &[&key.as_bytes().as_slice()],
        )?
        .map(|r| r.get(0)))
}

/// Ends `holder`'s claims on `keys`.
pub(crate) fn release(conn: &mut Conn, keys: &[Digest], holder: &str) -> PgResult<()> {
    let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes().as_slice()).collect();
    conn.execute(
        "DELETE FROM fleche_claims WHERE key = ANY($1) AND holder = $2",
        &[&keys, &holder],
    )?;
    Ok(())
}

/// Extends `holder`'s leases on `keys` to `lease` from now.
pub(crate) fn renew(
    conn: &mut Conn,
    keys: &[Digest],
    holder: &str,
    lease: Duration,
) -> PgResult<()> {
    let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes().as_slice()).collect();
    let micros = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX) as f64;
    conn.execute(
        "UPDATE fleche_claims SET expires = now() + make_interval(secs => $3::float8 / 1e6)
         WHERE key = ANY($1) AND holder = $2",
        &[&keys, &holder, &micros],
    )?;
    Ok(())
}
