//! Reaching the server: the URL read as libpq reads it, the password from the environment
//! (`PGPASSWORD`, then `~/.pgpass` or `PGPASSFILE`) and never from the URL, TLS when the URL
//! asks for it (`sslmode`, see `tls.rs`), and a small pool of connections, each keeping the
//! statements it prepared so that a statement costs one round trip, not two.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::GenericClient;
use postgres::Statement;
use postgres::config::{Host, SslMode};
use postgres::types::ToSql;
use postgres_native_tls::MakeTlsConnector;

use super::tls::{self, Mode, Tls};

/// Connections kept open per process: a cached call holds one for one round trip, so a few
/// serve many threads; the pusher and the lease renewer take one each.
const POOL_SIZE: u32 = 8;
/// How long a call waits for the server before it computes without it: an unreachable
/// server must cost a call little, and only once (see `Health`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) type Pool = r2d2::Pool<Manager>;

type PgResult<T> = Result<T, postgres::Error>;

/// Opens connections for the pool.
pub(crate) struct Manager {
    config: postgres::Config,
    connector: MakeTlsConnector,
    tls: Tls,
    refused: Arc<Refused>,
}

/// Why the server refused the last connection, if it did (who we are, TLS it lacks or wants,
/// a certificate not accepted): a setting to change, not an outage. The pool retries and
/// then says only "timed out"; this says what to do.
#[derive(Default)]
pub(crate) struct Refused(Mutex<Option<String>>);

impl Refused {
    pub(crate) fn why(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, why: Option<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = why;
    }
}

/// One connection and the statements prepared on it, by their text. A statement given as
/// text costs two round trips (prepare, then run); a prepared one costs one, which halves a
/// hit served by the server.
pub(crate) struct Conn {
    pub(crate) client: postgres::Client,
    statements: HashMap<&'static str, Statement>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> PgResult<Conn> {
        let connected = self.config.connect(self.connector.clone());
        self.refused
            .set(connected.as_ref().err().and_then(|e| refusal(e, &self.tls)));
        Ok(Conn {
            client: connected?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> PgResult<()> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

/// Running statements prepared once per connection (each kept by its SQL text), on a
/// connection and on a transaction alike.
pub(crate) trait Prepared {
    type Client: GenericClient;

    /// The client to run on, and the connection's prepared statements.
    fn parts(&mut self) -> (&mut Self::Client, &mut HashMap<&'static str, Statement>);

    /// The statement for `sql`, prepared on this connection the first time.
    fn statement(&mut self, sql: &'static str) -> PgResult<Statement> {
        let (client, statements) = self.parts();
        if let Some(statement) = statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        statements.insert(sql, statement.clone());
        Ok(statement)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<Vec<postgres::Row>> {
        let statement = self.statement(sql)?;
        self.parts().0.query(&statement, params)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> PgResult<Option<postgres::Row>> {
        let statement = self.statement(sql)?;
        self.parts().0.query_opt(&statement, params)
    }

    fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> PgResult<u64> {
        let statement = self.statement(sql)?;
        self.parts().0.execute(&statement, params)
    }
}

impl Prepared for Conn {
    type Client = postgres::Client;

    fn parts(&mut self) -> (&mut postgres::Client, &mut HashMap<&'static str, Statement>) {
        (&mut self.client, &mut self.statements)
    }
}

impl Conn {
    /// A transaction whose statements are prepared once per connection too.
    pub(crate) fn transaction(&mut self) -> PgResult<Txn<'_>> {
        Ok(Txn {
            txn: self.client.transaction()?,
            statements: &mut self.statements,
        })
    }
}

/// A transaction on a [`Conn`]; dropped without [`Txn::commit`], it rolls back.
pub(crate) struct Txn<'a> {
    pub(crate) txn: postgres::Transaction<'a>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl<'a> Prepared for Txn<'a> {
    type Client = postgres::Transaction<'a>;

    fn parts(
        &mut self,
    ) -> (
        &mut postgres::Transaction<'a>,
        &mut HashMap<&'static str, Statement>,
    ) {
        (&mut self.txn, self.statements)
    }
}

impl Txn<'_> {
    pub(crate) fn commit(self) -> PgResult<()> {
        self.txn.commit()
    }
}

/// What to tell the user about a connection the server refused; `None` when it could not be
/// reached at all (an outage, reported as such).
fn refusal(e: &postgres::Error, tls: &Tls) -> Option<String> {
    if let Some(db) = e.as_db_error()
        && db.code().code().starts_with("28")
    {
        // Class 28: authorization (no pg_hba.conf line for us, a wrong password).
        return Some(format!(
            "the server refused the connection: {} ({}); check the user in the URL, PGPASSWORD or ~/.pgpass, and the server's pg_hba.conf (a `hostssl` line there wants sslmode=require)",
            db.message(),
            db.code().code()
        ));
    }
    tls::refusal(e, tls)
}

/// A parsed URL, ready to connect, and how to name it in messages.
pub(crate) struct Target {
    pub(crate) config: postgres::Config,
    pub(crate) tls: Tls,
    /// The URL as given (it holds no password).
    pub(crate) shown: String,
}

/// Reads `url` (`postgres://user@host:port/db?sslmode=require`). A password in the URL is
/// refused: URLs end up in `fleche.toml`, logs and screens.
pub(crate) fn target(url: &str) -> Result<Target, String> {
    let (rest, tls) = tls::take_from(url).map_err(|e| format!("`{url}`: {e}"))?;
    let mut config = postgres::Config::from_str(&rest).map_err(|e| {
        format!(
            "`{url}` is not a PostgreSQL URL ({e}); expected postgres://USER@HOST:PORT/DATABASE"
        )
    })?;
    if config.get_password().is_some() {
        return Err(
            "the URL holds a password: remove it and set PGPASSWORD, or add a line to ~/.pgpass (HOST:PORT:DATABASE:USER:PASSWORD)".to_owned(),
        );
    }
    let shown = url.to_owned();
    if config.get_user().is_none() {
        let user = std::env::var("PGUSER")
            .or_else(|_| std::env::var("USER"))
            .map_err(|_| format!("`{url}` names no user: write postgres://USER@HOST/DATABASE"))?;
        config.user(&user);
    }
    if config.get_hosts().is_empty() {
        config.host("localhost");
    }
    // Only `require` and stricter turn TLS on; `prefer`, the library's default, would
    // otherwise try TLS against servers that were never set up for it.
    config.ssl_mode(if tls.mode == Mode::Off {
        SslMode::Disable
    } else {
        SslMode::Require
    });
    if let Some(password) = password_for(&config) {
        config.password(password);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.keepalives(true);
    config.application_name("fleche");
    Ok(Target { config, tls, shown })
}

/// A pool that opens connections when first needed, so that building it never blocks, and
/// where it says why the server refused a connection.
pub(crate) fn pool(target: &Target) -> Result<(Pool, Arc<Refused>), String> {
    let refused = Arc::new(Refused::default());
    let connector = tls::connector(&target.tls).map_err(|e| format!("`{}`: {e}", target.shown))?;
    let manager = Manager {
        config: target.config.clone(),
        connector,
        tls: target.tls.clone(),
        refused: refused.clone(),
    };
    let pool = r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(0))
        // A check on every checkout would double the round trips of a hit; a broken
        // connection shows itself on use, and the pool drops closed ones.
        .test_on_check_out(false)
        .connection_timeout(CONNECT_TIMEOUT)
        .build_unchecked(manager);
    Ok((pool, refused))
}

/// The password for this connection: `PGPASSWORD`, else the first matching line of the
/// password file, as libpq does.
fn password_for(config: &postgres::Config) -> Option<String> {
    if let Ok(password) = std::env::var("PGPASSWORD") {
        return Some(password);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".pgpass")))?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        // libpq matches a socket directory against `localhost`.
        _ => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    pgpass_lookup(&file, [&host, &port, database, user])
}

/// The password of the first line of `file` whose four fields match (`*` matches anything;
/// `\:` and `\\` are a literal colon and backslash).
fn pgpass_lookup(file: &Path, wanted: [&str; 4]) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split_fields(line);
            let [host, port, db, user, password] = fields.as_slice() else {
                return None;
            };
            let matches = [host, port, db, user]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field.as_str() == "*" || field.as_str() == want);
            matches.then(|| password.clone())
        })
}

fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_with_what_to_do() {
        let Err(e) = target("postgres://me:secret@db.example/cache") else {
            panic!("a password in the URL must be refused");
        };
        assert!(e.contains("PGPASSWORD") && e.contains(".pgpass"), "{e}");
    }

    #[test]
    fn tls_only_when_the_url_asks_for_it() {
        let mode = |url: &str| target(url).unwrap().config.get_ssl_mode();
        assert_eq!(
            mode("postgres://me@db/cache?sslmode=require"),
            SslMode::Require
        );
        assert_eq!(mode("postgres://me@db/cache"), SslMode::Disable);
        assert_eq!(
            mode("postgres://me@db/cache?sslmode=prefer"),
            SslMode::Disable
        );
        assert!(target("mysql://me@db").is_err());
    }

    #[test]
    fn the_password_file_is_read_as_libpq_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:me:wrong\ndb\\:x:*:cache:me:p\\:ss\n*:*:*:me:fallback\n",
        )
        .unwrap();
        assert_eq!(
            pgpass_lookup(&file, ["db:x", "5432", "cache", "me"]).as_deref(),
            Some("p:ss")
        );
        assert_eq!(
            pgpass_lookup(&file, ["elsewhere", "1", "x", "me"]).as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup(&file, ["h", "1", "x", "you"]), None);
    }
}
