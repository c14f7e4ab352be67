//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, `pg_ctl` on a
//! free loopback port (and a unix socket in the same directory), stopped and removed on drop.
//!
//! Nothing needs to be running beforehand; the server binaries come from the distribution's
//! packages (`/usr/lib/postgresql/*/bin`, which `.ci/run` installs). PostgreSQL refuses to run
//! as root, so as root the server runs as the `postgres` user.

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
}

impl Postgres {
    /// Starts a new server, or says why it cannot.
    pub fn start() -> Result<Postgres, String> {
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
        server.start_server()?;
        Ok(server)
    }

    /// Starts a server, or: fails when [`ENV_REQUIRE`] is `1`, else prints how to run the
    /// PostgreSQL tests and returns `None` (the test then checks nothing).
    pub fn for_test(test: &str) -> Option<Postgres> {
        match Postgres::start() {
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
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
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
