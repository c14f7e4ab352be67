//! The throwaway PostgreSQL server the PostgreSQL tests run against: it starts, answers on its
//! port, stops and starts again with its data.

use std::process::Command;

use fleche_tests::postgres::Postgres;

fn psql(server: &Postgres, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &server.url(),
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn a_throwaway_server_starts_stops_and_keeps_its_data() {
    let Some(server) = Postgres::for_test("a_throwaway_server_starts_stops_and_keeps_its_data")
    else {
        return;
    };
    psql(&server, "create table t (x int); insert into t values (42)").unwrap();
    server.stop().unwrap();
    assert!(
        psql(&server, "select 1").is_err(),
        "a stopped server answers nothing"
    );
    server.restart().unwrap();
    assert_eq!(psql(&server, "select x from t").unwrap(), "42");
}
