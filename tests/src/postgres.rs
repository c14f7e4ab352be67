//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, `pg_ctl` on a
//! free loopback port (and a unix socket in the same directory), stopped and removed on drop.
//!
//! Nothing needs to be running beforehand; the server binaries come from the distribution's
//! packages (`/usr/lib/postgresql/*/bin`, which `.ci/run` installs). PostgreSQL refuses to run
//! as root, so as root the server runs as the `postgres` user. A server with TLS gets a
//! self-signed certificate made at start by the `openssl` program.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Set to `1` (as `.ci/run` does) to make a server that cannot start a failure, not a skip.
pub const ENV_REQUIRE: &str = "FLECHE_REQUIRE_POSTGRES";

/// A running throwaway server.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
    tls: bool,
}

impl Postgres {
    /// Starts a new server, or says why it cannot.
    pub fn start() -> Result<Postgres, String> {
        Postgres::start_with(false)
    }

    /// Starts a new server whose TCP connections must use TLS, with a self-signed
    /// certificate for `localhost` and `127.0.0.1` ([`Postgres::certificate`]); connections
    /// over its unix socket ([`Postgres::socket_url`]) need none.
    pub fn start_with_tls() -> Result<Postgres, String> {
        Postgres::start_with(true)
    }

    fn start_with(tls: bool) -> Result<Postgres, String> {
        let bin = server_binaries()?;
        let as_postgres_user = running_as_root();
        let dir = tempfile::Builder::new()
            .prefix("fleche-pg-")
            .tempdir()
            .map_err(|e| format!("no temporary directory: {e}"))?;
        if as_postgres_user {
            run(Command::new("chown")
                .args(["postgres:postgres", dir.path().to_str().unwrap_or_default()]))?;
        }
        let server = Postgres {
            port: free_port()?,
            dir,
            bin,
            as_postgres_user,
            tls,
        };
        let data = server.data();
        server.run_server_tool(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        if tls {
            server.set_up_tls()?;
        }
        server.start_server()?;
        Ok(server)
    }

    /// A self-signed certificate and its key beside the data, and TCP allowed over TLS only.
    fn set_up_tls(&self) -> Result<(), String> {
        let dir = self.dir.path();
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.crt",
            ])
            .current_dir(dir))
        .map_err(|e| format!("cannot make a certificate with openssl (is it installed?): {e}"))?;
        let key = dir.join("server.key");
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .map_err(|e| format!("cannot restrict {}: {e}", key.display()))?;
        if self.as_postgres_user {
            run(Command::new("chown").args([
                "postgres:postgres",
                key.to_str().unwrap_or_default(),
                dir.join("server.crt").to_str().unwrap_or_default(),
            ]))?;
        }
        // Rewriting the file keeps its owner (the server's user).
        let hba = self.data().join("pg_hba.conf");
        std::fs::write(
            &hba,
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )
        .map_err(|e| format!("cannot write {}: {e}", hba.display()))
    }

    /// The server's certificate (PEM), for `sslrootcert`; `None` without TLS.
    pub fn certificate(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.path().join("server.crt"))
    }

    /// Starts a server with TLS ([`Postgres::start_with_tls`]), or fails or skips as
    /// [`Postgres::for_test`] does.
    pub fn for_test_with_tls(test: &str) -> Option<Postgres> {
        Postgres::or_skip(test, Postgres::start_with_tls())
    }

    /// Starts a server, or: fails when [`ENV_REQUIRE`] is `1`, else prints how to run the
    /// PostgreSQL tests and returns `None` (the test then checks nothing).
    pub fn for_test(test: &str) -> Option<Postgres> {
        Postgres::or_skip(test, Postgres::start())
    }

    fn or_skip(test: &str, started: Result<Postgres, String>) -> Option<Postgres> {
        match started {
            Ok(server) => Some(server),
            Err(why) if std::env::var(ENV_REQUIRE).is_ok_and(|v| v == "1") => {
                panic!("{test}: cannot start a PostgreSQL server ({ENV_REQUIRE}=1): {why}")
            }
            Err(why) => {
                eprintln!(
                    "{test}: SKIPPED, no PostgreSQL server could be started: {why}\n\
                     To run it: install the server (Debian: apt-get install postgresql), \
                     then run the tests again; {ENV_REQUIRE}=1 makes this a failure."
                );
                None
            }
        }
    }

    /// A URL to the `postgres` database as the `postgres` user over loopback TCP.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Connection settings over its unix socket, as the `postgres` user (no TLS needed).
    pub fn socket_url(&self) -> String {
        format!(
            "host={} port={} user=postgres dbname=postgres",
            self.dir.path().display(),
            self.port
        )
    }

    /// The TCP port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (fast shutdown: clients are disconnected), keeping its data.
    pub fn stop(&self) -> Result<(), String> {
        let data = self.data();
        self.run_server_tool(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        )
        .map(drop)
    }

    /// Starts a stopped server again on the same port, with its data.
    pub fn restart(&self) -> Result<(), String> {
        self.start_server()
    }

    fn start_server(&self) -> Result<(), String> {
        let data = self.data();
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        if self.tls {
            let dir = self.dir.path().display();
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key"
            ));
        }
        let log = self.dir.path().join("server.log");
        self.run_server_tool(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-l",
                log.to_str().unwrap_or_default(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .map_err(|e| {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            format!("{e}\nserver log:\n{log}")
        })
        .map(drop)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server's programs, as the `postgres` user when we are root.
    fn run_server_tool(&self, tool: &str, args: &[&str]) -> Result<Output, String> {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(&program);
            cmd
        } else {
            Command::new(&program)
        };
        cmd.args(args).current_dir(self.dir.path());
        run(&mut cmd)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        // Immediate: the directory is removed next, so nothing needs to be kept.
        let _ = self.run_server_tool(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{:?} failed ({}): {}{}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out)
}

/// The directory of `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/N/bin` (Debian
/// keeps them off the PATH), else the PATH's.
fn server_binaries() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Ok(bin);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists());
    on_path.ok_or_else(|| {
        "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on the PATH".to_owned()
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A loopback port nothing listens on now.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("no free loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}
