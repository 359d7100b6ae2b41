//! The binary end to end: a private cluster created, served from, stopped on SIGTERM, reused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::helpers::TestApp;

const BINARY: &str = env!("CARGO_BIN_EXE_citytools");

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET; returns the status code and body.
pub(crate) fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

pub(crate) struct Service {
    child: Child,
    log: mpsc::Receiver<String>,
    lines: Vec<String>,
}

impl Service {
    fn start(data_dir: &Path, port: u16) -> Service {
        let mut command = Command::new(BINARY);
        command
            .env_remove("DATABASE_URL")
            .env("CITYTOOLS_DATA_DIR", data_dir);
        Service::spawn(command, port)
    }

    /// Runs `command` (the binary, with its environment) as `serve` on `port`.
    pub(crate) fn spawn(mut command: Command, port: u16) -> Service {
        let mut child = command
            .arg("serve")
            .env("CITYTOOLS_BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start citytools");
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Service {
            child,
            log,
            lines: Vec::new(),
        }
    }

    pub(crate) fn wait_for(&mut self, port: u16) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            self.lines.extend(self.log.try_iter());
            if let Some((200, _)) = http_get(port, "/readyz") {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("citytools exited with {status}:\n{}", self.lines.join("\n"));
            }
            thread::sleep(Duration::from_millis(200));
        }
        panic!("citytools did not become ready:\n{}", self.lines.join("\n"));
    }

    pub(crate) fn terminate(mut self) -> Vec<String> {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "citytools exits cleanly on SIGTERM: {status}"
                );
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "citytools stops on SIGTERM"
            );
            thread::sleep(Duration::from_millis(100));
        }
        thread::sleep(Duration::from_millis(200));
        self.lines.extend(self.log.try_iter());
        self.lines
    }
}

/// The cluster directory the service chose (the requested one, or its fallback).
fn cluster_dir(lines: &[String]) -> PathBuf {
    let line = lines
        .iter()
        .find(|l| l.contains("private PostgreSQL running from"))
        .expect("the service says where its cluster is");
    let rest = line.split("running from ").nth(1).unwrap();
    PathBuf::from(rest.split(" (socket").next().unwrap())
}

#[test]
fn serve_runs_its_own_database_stops_it_on_sigterm_and_reuses_it() {
    let data_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("service-test");
    if let Ok(previous) = data_dir.canonicalize() {
        let _ = std::fs::remove_dir_all(citytools::db::cluster::fallback_dir(&previous));
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    let port = free_port();

    let mut service = Service::start(&data_dir, port);
    service.wait_for(port);
    let (status, body) = http_get(port, "/api/v1/boroughs?per_page=100").unwrap();
    assert_eq!(status, 200);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["meta"]["total"], 33, "seeded on first start");
    // HEAD over a real connection: the GET's status and headers, no body.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(
            b"HEAD /api/v1/boroughs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\n"), "no body: {answer:?}");
    let lines = service.terminate();
    assert!(lines
        .iter()
        .any(|l| l.contains("creating a private PostgreSQL cluster")));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("private PostgreSQL stopped")),
        "{}",
        lines.join("\n")
    );
    let cluster = cluster_dir(&lines);
    assert!(
        !cluster.join("pgdata/postmaster.pid").exists(),
        "PostgreSQL is stopped with the service"
    );

    let mut again = Service::start(&data_dir, port);
    again.wait_for(port);
    assert_eq!(http_get(port, "/healthz").unwrap().0, 200);
    let lines = again.terminate();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("creating a private PostgreSQL cluster")),
        "the cluster is reused: {}",
        lines.join("\n")
    );
    assert!(
        !lines.iter().any(|l| l.contains("loaded the seeds")),
        "seeds load only into an empty database"
    );
    assert_eq!(cluster_dir(&lines), cluster);
}

#[test]
fn serve_without_sample_data_seeds_the_catalogue_alone() {
    let app = TestApp::empty();
    let port = free_port();
    let mut command = Command::new(BINARY);
    command
        .env("DATABASE_URL", &app.url)
        .env("CITYTOOLS_SAMPLE_DATA", "false");
    let mut service = Service::spawn(command, port);
    service.wait_for(port);
    let total = |path: &str| {
        let (status, body) = http_get(port, path).unwrap();
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["meta"]["total"].clone()
    };
    assert_eq!(total("/api/v1/boroughs"), 33, "the catalogue is seeded");
    assert!(total("/api/v1/systems").as_i64().unwrap() > 0);
    assert_eq!(
        total("/api/v1/contracts"),
        0,
        "the illustrative contracts are not"
    );
    let lines = service.terminate();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("without the illustrative contracts")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn migrate_and_seed_commands_use_database_url() {
    let app = TestApp::new();
    for (command, expected) in [
        ("migrate", "applied 0 migration(s)"),
        ("seed", "added 0 boroughs"),
    ] {
        let output = Command::new(BINARY)
            .arg(command)
            .env("DATABASE_URL", &app.url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{command}: {stderr}");
        assert!(stderr.contains(expected), "{command}: {stderr}");
    }
}

#[test]
fn a_bad_setting_is_named_and_exits_non_zero() {
    let output = Command::new(BINARY)
        .arg("migrate")
        .env("CITYTOOLS_POOL_SIZE", "many")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("CITYTOOLS_POOL_SIZE"));
}

#[test]
fn the_openapi_command_prints_the_committed_document() {
    let output = Command::new(BINARY).arg("openapi").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        include_str!("../../openapi/openapi.json")
    );
}

#[test]
fn without_server_binaries_the_error_says_what_to_install() {
    let output = Command::new(BINARY)
        .arg("migrate")
        .env_remove("DATABASE_URL")
        .env("CITYTOOLS_PG_BINDIR", "/nonexistent")
        .env(
            "CITYTOOLS_DATA_DIR",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-binaries"),
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for advice in [
        "apt-get install postgresql",
        "brew install postgresql",
        "DATABASE_URL",
        "docker compose up",
    ] {
        assert!(stderr.contains(advice), "{advice} missing from: {stderr}");
    }
}

#[actix_web::test]
async fn every_get_route_answers_head_as_its_get_does() {
    let app = TestApp::new();
    let document = serde_json::to_value(citytools::app::openapi()).unwrap();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        if item.get("get").is_none() {
            continue;
        }
        let id = match path.split('/').nth(3) {
            Some("boroughs") | Some("insights") => "camden",
            Some("service-areas") => "council-tax",
            Some("suppliers") => "civica",
            Some("contracts") | Some("tenders") | Some("watches") => "1",
            _ => "x",
        };
        let uri = path.replace("{id}", id).replace("{token}", "x");
        let get = app.get(&uri).await;
        let head = app
            .call(
                actix_web::test::TestRequest::default()
                    .method(actix_web::http::Method::HEAD)
                    .uri(&uri),
            )
            .await;
        assert_eq!(head.status, get.status, "HEAD {uri}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "HEAD {uri}"
        );
        checked += 1;
    }
    assert!(checked > 30, "{checked} GET routes");
}
