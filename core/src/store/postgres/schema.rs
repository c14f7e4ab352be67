//! The tables fleche keeps in PostgreSQL, created on first use and versioned: a row in
//! `fleche_schema` holds the schema version, and a database of another version is refused
//! with a clear error instead of being read with the wrong layout.
//!
//! The same data as a cache file: call records with their checksums and the columns that
//! queries filter on (name, module, start time, result), tags and arguments in their own
//! indexed tables, values stored once per digest (inline up to one chunk, else in chunks),
//! and the leases of calls being computed.

/// The layout this fleche reads and writes. Version 2 keeps a value of one chunk in its own
/// row (`fleche_values.bytes`) rather than in `fleche_value_chunks`: a row less per value.
/// Version 3 stores call records in the binary layout of cache format 5
/// (`record/layout.rs`) instead of CBOR; version 4 in the layout of cache format 6 (times as
/// whole nanoseconds or microseconds), which a fleche of version 3 cannot read. Version 5
/// holds the call keys of cache format 7 (first byte from the function's name,
/// `digest::call_cluster`); a version-4 database is rekeyed when first met (see [`upgrade`]).
pub(crate) const SCHEMA_VERSION: i32 = 5;

/// Any constant: the advisory lock that serialises creating the schema, so processes that
/// start together on a new database do not race each other's `CREATE TABLE`.
const CREATE_LOCK: i64 = 0x666c_6563_6865;

const CREATE: &str = "
CREATE TABLE fleche_schema (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version integer NOT NULL
);
CREATE TABLE fleche_values (
    digest bytea PRIMARY KEY,
    checksum bigint NOT NULL,
    size bigint NOT NULL,
    chunks integer NOT NULL,
    bytes bytea
);
CREATE TABLE fleche_value_chunks (
    digest bytea NOT NULL,
    seq integer NOT NULL,
    bytes bytea NOT NULL,
    PRIMARY KEY (digest, seq)
);
CREATE TABLE fleche_calls (
    key bytea PRIMARY KEY,
    result bytea NOT NULL,
    checksum bigint NOT NULL,
    record bytea NOT NULL,
    name text NOT NULL,
    module text NOT NULL,
    start_ns bigint NOT NULL
);
CREATE INDEX fleche_calls_by_name ON fleche_calls (name);
CREATE INDEX fleche_calls_by_module ON fleche_calls (module);
CREATE INDEX fleche_calls_by_time ON fleche_calls (start_ns);
CREATE INDEX fleche_calls_by_result ON fleche_calls (result);
CREATE TABLE fleche_call_tags (
    key bytea NOT NULL,
    tag text NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (key, tag)
);
CREATE INDEX fleche_calls_by_tag ON fleche_call_tags (tag, value);
CREATE TABLE fleche_call_arguments (
    key bytea NOT NULL,
    name text NOT NULL,
    digest bytea NOT NULL,
    PRIMARY KEY (key, name, digest)
);
CREATE INDEX fleche_calls_by_argument ON fleche_call_arguments (name, digest);
CREATE TABLE fleche_claims (
    key bytea PRIMARY KEY,
    holder text NOT NULL,
    expires timestamptz NOT NULL
);
";

/// Creates the tables in an empty database, or checks the version of existing ones.
/// `Err` says what is wrong and what to do.
pub(crate) fn ensure(client: &mut postgres::Client) -> Result<(), String> {
    if let Some(found) = version(client)? {
        if found == 4 {
            upgrade(client)?;
            return check(version(client)?.unwrap_or(0));
        }
        return check(found);
    }
    let mut txn = client.transaction().map_err(|e| detail(&e))?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])
        .map_err(|e| detail(&e))?;
    // Another process may have created it while we waited for the lock.
    let exists = txn
        .query_one("SELECT to_regclass('fleche_schema') IS NOT NULL", &[])
        .map_err(|e| detail(&e))?
        .get::<_, bool>(0);
    if !exists {
        txn.batch_execute(CREATE).map_err(|e| {
            format!(
                "cannot create fleche's tables (does the user have CREATE on the database?): {e}"
            )
        })?;
        txn.execute(
            "INSERT INTO fleche_schema (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )
        .map_err(|e| detail(&e))?;
    }
    txn.commit().map_err(|e| detail(&e))?;
    match version(client)? {
        Some(version) => check(version),
        None => Err("fleche_schema holds no version row".to_owned()),
    }
}

/// Version 4 -> 5: every call key's first byte becomes its function's cluster, in the calls,
/// tags and arguments tables, in one transaction (so a failure leaves version 4 whole). The
/// other 31 bytes stay, so a call keeps its identity. Leases (`fleche_claims`) are left to
/// expire: they name keys no format-7 fleche computes.
fn upgrade(client: &mut postgres::Client) -> Result<(), String> {
    let mut txn = client.transaction().map_err(|e| detail(&e))?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])
        .map_err(|e| detail(&e))?;
    // Another process may have upgraded it while we waited for the lock.
    let now: i32 = txn
        .query_one("SELECT version FROM fleche_schema", &[])
        .map_err(|e| detail(&e))?
        .get(0);
    if now != 4 {
        return Ok(());
    }
    // Old clients still writing (they take no lock) wait until the rekeying is committed, so
    // no call, tag or argument lands between its statements under a key it does not move.
    txn.batch_execute(
        "LOCK TABLE fleche_calls, fleche_call_tags, fleche_call_arguments IN SHARE ROW EXCLUSIVE MODE",
    )
    .map_err(|e| detail(&e))?;
    let names: Vec<String> = txn
        .query("SELECT DISTINCT name FROM fleche_calls", &[])
        .map_err(|e| detail(&e))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    tracing::info!(
        functions = names.len(),
        "rekeying the shared database's calls for schema version {SCHEMA_VERSION} (was 4); this runs once"
    );
    txn.batch_execute(
        "CREATE TEMP TABLE fleche_clusters (name text PRIMARY KEY, cluster integer NOT NULL)
         ON COMMIT DROP",
    )
    .map_err(|e| detail(&e))?;
    let clusters: Vec<i32> = names
        .iter()
        .map(|name| i32::from(crate::digest::call_cluster(name)))
        .collect();
    txn.execute(
        "INSERT INTO fleche_clusters (name, cluster) SELECT * FROM unnest($1::text[], $2::int[])",
        &[&names, &clusters],
    )
    .map_err(|e| detail(&e))?;
    txn.batch_execute(
        "UPDATE fleche_call_tags t SET key = set_byte(t.key, 0, c.cluster)
           FROM fleche_calls k JOIN fleche_clusters c ON c.name = k.name
           WHERE t.key = k.key AND get_byte(t.key, 0) <> c.cluster;
         UPDATE fleche_call_arguments a SET key = set_byte(a.key, 0, c.cluster)
           FROM fleche_calls k JOIN fleche_clusters c ON c.name = k.name
           WHERE a.key = k.key AND get_byte(a.key, 0) <> c.cluster;
         UPDATE fleche_calls k SET key = set_byte(k.key, 0, c.cluster)
           FROM fleche_clusters c
           WHERE c.name = k.name AND get_byte(k.key, 0) <> c.cluster;
         UPDATE fleche_schema SET version = 5;",
    )
    .map_err(|e| {
        format!(
            "cannot rekey the calls for schema version {SCHEMA_VERSION}: {}",
            detail(&e)
        )
    })?;
    txn.commit().map_err(|e| detail(&e))
}

/// The version row, or `None` when fleche has no tables there yet.
fn version(client: &mut postgres::Client) -> Result<Option<i32>, String> {
    let exists = client
        .query_one("SELECT to_regclass('fleche_schema') IS NOT NULL", &[])
        .map_err(|e| detail(&e))?
        .get::<_, bool>(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_opt("SELECT version FROM fleche_schema", &[])
        .map_err(|e| detail(&e))?;
    // A table without its row is from no release of fleche: an unknown version.
    Ok(Some(row.map_or(0, |r| r.get(0))))
}

fn check(found: i32) -> Result<(), String> {
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let advice = if found < SCHEMA_VERSION {
        "it was made by an older fleche: use a new database (or schema) for this release, or the release that made it"
    } else {
        "it was made by a newer fleche: upgrade fleche, or use another database"
    };
    Err(format!(
        "the database holds fleche schema version {found}, this fleche {} reads version {SCHEMA_VERSION}; {advice}",
        env!("CARGO_PKG_VERSION")
    ))
}

/// What the server said, with its SQLSTATE, rather than the client's bare "db error".
pub(crate) fn detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
