//! `GET /api/v1/sources` and the background sync of `serve`, against the loopback replay server
//! of the sync tests. No test reaches the internet.

use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use serde_json::Value;

use citytools::sync::background::{self, Turn, SYNC_LOCK_KEY};
use citytools::sync::SourceName;

use crate::helpers::TestApp;
use crate::service::{free_port, http_get, Service};
use crate::sync::{count, healthy, package, summary_of, sync, text, Pages, Reply, Server};

const BINARY: &str = env!("CARGO_BIN_EXE_citytools");

/// The item of `source` in a `/api/v1/sources` body.
fn source<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

#[actix_web::test]
async fn before_any_sync_both_sources_are_listed_without_a_run() {
    let app = TestApp::new();
    let response = app.get("/api/v1/sources").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["contracts-finder", "find-a-tender"]);
    for item in body["items"].as_array().unwrap() {
        assert!(item["last_run"].is_null(), "{item}");
        assert!(item["last_success_at"].is_null(), "{item}");
        assert_eq!(item["background_sync"], false, "off in the test app");
    }
}

#[actix_web::test]
async fn a_query_parameter_is_a_400() {
    let app = TestApp::new();
    app.get("/api/v1/sources?name=contracts-finder")
        .await
        .problem(400);
}

#[actix_web::test]
async fn the_last_run_shows_its_counts_and_a_failure_keeps_the_last_success() {
    let server = Server::start(package(), healthy());
    let app = TestApp::new();
    let output = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = summary_of(&output);

    let body = app.get("/api/v1/sources").await.json();
    let run = &source(&body, "contracts-finder")["last_run"];
    for field in ["pages", "added", "updated", "unchanged", "skipped"] {
        assert_eq!(run[field].as_u64(), Some(count(&summary, field)), "{field}");
    }
    assert!(count(&summary, "added") > 0);
    assert!(run["error"].is_null());
    assert!(run["started_at"].is_string() && run["finished_at"].is_string());
    assert_eq!(run["position"], summary["position"]);
    let succeeded = source(&body, "contracts-finder")["last_success_at"].clone();
    assert_eq!(succeeded, run["finished_at"]);
    assert!(source(&body, "find-a-tender")["last_run"].is_null());

    // The source breaks: the next run fails, and the last success stays the earlier run's.
    server.script(Arc::new(|_: &Pages, _: usize, _: usize| Reply::status(500)));
    let output = sync(&app, &server, &[]);
    assert!(!output.status.success());
    let body = app.get("/api/v1/sources").await.json();
    let failed = source(&body, "contracts-finder");
    assert!(
        failed["last_run"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("HTTP 500")),
        "{failed}"
    );
    assert_eq!(failed["last_run"]["pages"], 0);
    assert_ne!(failed["last_run"]["started_at"], run["started_at"]);
    assert_eq!(failed["last_success_at"], succeeded);
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

fn try_lock(conn: &mut PgConnection) -> bool {
    diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(SYNC_LOCK_KEY)
        .get_result::<Locked>(conn)
        .unwrap()
        .locked
}

#[test]
fn a_turn_is_skipped_while_another_instance_holds_the_lock() {
    let app = TestApp::new();
    let mut other = app.conn();
    assert!(try_lock(&mut other), "the lock is free to begin with");
    // The source's address is never asked for: a skipped turn reads nothing.
    let turn = background::turn(&app.pool, &[SourceName::ContractsFinder]).unwrap();
    assert!(matches!(turn, Turn::Skipped), "{turn:?}");
    assert_eq!(
        app.column("SELECT count(*) AS value FROM sync_runs"),
        vec!["0"]
    );

    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(SYNC_LOCK_KEY)
        .execute(&mut other)
        .unwrap();
    let turn = background::turn(&app.pool, &[]).unwrap();
    assert!(
        matches!(turn, Turn::Ran(ref done) if done.is_empty()),
        "{turn:?}"
    );
    // The turn let the lock go when it ended.
    assert!(try_lock(&mut other), "released after a turn");
}

#[test]
fn serve_syncs_the_named_source_by_itself_and_stays_ready() {
    let server = Server::start(package(), healthy());
    let app = TestApp::new();
    let port = free_port();
    let mut command = Command::new(BINARY);
    command
        .env("DATABASE_URL", &app.url)
        .env("CITYTOOLS_SYNC", "contracts-finder")
        .env("CITYTOOLS_SYNC_INTERVAL", "1s")
        .env("CITYTOOLS_CONTRACTS_FINDER_URL", &server.base)
        .env_remove("CITYTOOLS_FIND_A_TENDER_URL")
        .env("CITYTOOLS_SYNC_PAUSE_MS", "0")
        .env("CITYTOOLS_SYNC_TRIES", "3")
        .env("CITYTOOLS_SYNC_BACKOFF_MS", "10")
        .env("CITYTOOLS_SYNC_TIMEOUT", "5");
    let mut service = Service::spawn(command, port);
    service.wait_for(port);
    let started = Instant::now();
    let finished = loop {
        assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200));
        let (status, body) = http_get(port, "/api/v1/sources").unwrap();
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        let run = source(&body, "contracts-finder")["last_run"].clone();
        if run["finished_at"].is_string() {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no background sync finished: {body}"
        );
        thread::sleep(Duration::from_millis(200));
    };
    let synced = source(&finished, "contracts-finder");
    assert_eq!(synced["background_sync"], true);
    assert!(synced["last_run"]["error"].is_null(), "{synced}");
    assert!(synced["last_success_at"].is_string());
    assert_eq!(source(&finished, "find-a-tender")["background_sync"], false);
    assert!(source(&finished, "find-a-tender")["last_run"].is_null());
    assert!(server.targets()[0].starts_with("/Published/Notices/OCDS/Search?"));
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200));
    service.terminate();
}

#[test]
fn a_bad_sync_setting_stops_serve_and_is_named() {
    for (name, value) in [
        ("CITYTOOLS_SYNC", "contracts-finder,tenders-r-us"),
        ("CITYTOOLS_SYNC_INTERVAL", "now and then"),
        ("CITYTOOLS_SYNC_INTERVAL", "0s"),
    ] {
        // A database nothing listens at: had the setting been taken, serve would still exit,
        // without naming it.
        let output = Command::new(BINARY)
            .arg("serve")
            .env("DATABASE_URL", "postgres://citytools@127.0.0.1:1/none")
            .env("CITYTOOLS_BIND", format!("127.0.0.1:{}", free_port()))
            .env_remove("CITYTOOLS_SYNC")
            .env_remove("CITYTOOLS_SYNC_INTERVAL")
            .env(name, value)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{name}={value}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains(&format!("{name} is set to")),
            "{name}={value}: {stderr}"
        );
    }
}
