//! `citytools sync contracts-finder` against a loopback server that replays the recorded real
//! page of Contracts Finder's OCDS search, split into a chain of pages linked by `links.next`.
//! No test reaches the internet.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::TestApp;

const CF_OCDS_PAGE: &str = "contracts_finder_ocds_search_page_2022-10-20.json";
/// The recorded page's `publishedTo`, which every test reads up to.
pub(crate) const UNTIL: &str = "2022-10-20T09:43:52+01:00";
const PER_PAGE: usize = 15;

/// The recorded page, with the buyers of its four technology awards moved to London boroughs
/// (the real page has no London technology award): releases 0 (Peakon, CPV 48000000), 11 and 17
/// (one Amadeus process, two identical award updates), 13 (Ernst and Young, CPV 72212420) and
/// 46 (Insight Direct, CPV 48000000). Release 0's title gains "café £" to show the text survives
/// ISO-8859-1.
pub(crate) fn package() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/real")
        .join(CF_OCDS_PAGE);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the real fixtures live in ../shared/fixtures/real/ beside the checkout",
            path.display()
        )
    });
    let mut package: Value = serde_json::from_slice(&bytes).unwrap();
    let moves = [
        (0, "London Borough of Camden"),
        (11, "London Borough of Hackney"),
        (17, "London Borough of Hackney"),
        (13, "London Borough of Islington"),
        (46, "London Borough of Lambeth"),
    ];
    move_buyers(&mut package, &moves);
    let release = &mut package["releases"][0];
    let mark = |title: &mut Value| {
        if let Some(text) = title.as_str() {
            *title = json!(format!("{text} café £"));
        }
    };
    mark(&mut release["tender"]["title"]);
    for award in release["awards"].as_array_mut().unwrap() {
        mark(&mut award["title"]);
    }
    package
}

/// Gives the buyers of the releases at these positions the names of London boroughs, in the
/// release and among its parties.
pub(crate) fn move_buyers(package: &mut Value, moves: &[(usize, &str)]) {
    let releases = package["releases"].as_array_mut().unwrap();
    for (index, borough) in moves {
        let release = &mut releases[*index];
        let buyer_id = release["buyer"]["id"].clone();
        release["buyer"]["name"] = json!(borough);
        for party in release["parties"].as_array_mut().unwrap() {
            if party["id"] == buyer_id {
                party["name"] = json!(borough);
            }
        }
    }
}

/// The London technology contracts the adapted page makes: one per process.
pub(crate) const LONDON_CONTRACTS: usize = 4;

/// One answer of the test server.
#[derive(Clone)]
pub(crate) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Wait this long before answering.
    delay: Duration,
    /// Send only this many bytes of the body (its full length still declared).
    cut: Option<usize>,
}

impl Reply {
    pub(crate) fn json(body: Vec<u8>) -> Reply {
        Reply {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body,
            delay: Duration::ZERO,
            cut: None,
        }
    }

    pub(crate) fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: b"busy".to_vec(),
            delay: Duration::ZERO,
            cut: None,
        }
    }
}

/// Decides the answer to a request for page `page` (from 0), asked for the `hit`th time (from 0).
pub(crate) type Script = dyn Fn(&Pages, usize, usize) -> Reply + Send + Sync;

/// The chain of pages the server holds, as UTF-8 JSON.
pub(crate) struct Pages(pub(crate) Vec<Vec<u8>>);

/// A loopback server replaying the pages, recording each request's target and `User-Agent`.
pub(crate) struct Server {
    pub(crate) base: String,
    requests: Arc<Mutex<Vec<(String, String)>>>,
    script: Arc<Mutex<Arc<Script>>>,
}

/// Contracts Finder's search: its path and the parameter of the window's end.
const CONTRACTS_FINDER: (&str, &str) = ("/Published/Notices/OCDS/Search", "publishedTo");
/// Find a Tender's release packages.
const FIND_A_TENDER: (&str, &str) = ("/api/1.0/ocdsReleasePackages", "updatedTo");

impl Server {
    pub(crate) fn start(package: Value, script: Arc<Script>) -> Server {
        Server::start_for(package, script, CONTRACTS_FINDER)
    }

    fn start_for(package: Value, script: Arc<Script>, (path, to): (&str, &str)) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let releases = package["releases"].as_array().unwrap().clone();
        let chunks: Vec<&[Value]> = releases.chunks(PER_PAGE).collect();
        let pages = Pages(
            chunks
                .iter()
                .enumerate()
                .map(|(i, chunk)| {
                    let mut page = package.clone();
                    page["releases"] = json!(chunk);
                    page["links"] = if i + 1 < chunks.len() {
                        json!({"next": format!(
                            "{base}{path}?{to}=2022-10-20T09%3A43%3A52%2B01%3A00&limit=100&cursor={}",
                            i + 1
                        )})
                    } else {
                        json!({})
                    };
                    serde_json::to_vec(&page).unwrap()
                })
                .collect(),
        );
        let server = Server {
            base,
            requests: Arc::new(Mutex::new(Vec::new())),
            script: Arc::new(Mutex::new(script)),
        };
        let requests = server.requests.clone();
        let script = server.script.clone();
        let pages = Arc::new(pages);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let requests = requests.clone();
                let script = script.clone();
                let pages = pages.clone();
                std::thread::spawn(move || answer(stream, &requests, &script, &pages));
            }
        });
        server
    }

    /// Replaces the script, for the next run.
    pub(crate) fn script(&self, script: Arc<Script>) {
        *self.script.lock().unwrap() = script;
    }

    pub(crate) fn targets(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }

    fn pages(&self) -> usize {
        package()["releases"]
            .as_array()
            .unwrap()
            .len()
            .div_ceil(PER_PAGE)
    }
}

fn answer(
    mut stream: TcpStream,
    requests: &Mutex<Vec<(String, String)>>,
    script: &Mutex<Arc<Script>>,
    pages: &Pages,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split(' ').nth(1).unwrap_or("").to_owned();
    let agent = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("user-agent:")
                .map(|_| l["user-agent:".len()..].trim().to_owned())
        })
        .unwrap_or_default();
    let page = target
        .split_once("cursor=")
        .map_or(0, |(_, n)| n.parse().unwrap());
    let hit = {
        let mut requests = requests.lock().unwrap();
        let hit = requests
            .iter()
            .filter(|(t, _)| {
                t.split_once("cursor=")
                    .map_or(0, |(_, n)| n.parse::<usize>().unwrap())
                    == page
            })
            .count();
        requests.push((target, agent));
        hit
    };
    let script = script.lock().unwrap().clone();
    let reply = script(pages, page, hit);
    std::thread::sleep(reply.delay);
    let mut response = format!(
        "HTTP/1.1 {} Status\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    let body = &reply.body[..reply.cut.unwrap_or(reply.body.len())];
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// Every page, at once, every time.
pub(crate) fn healthy() -> Arc<Script> {
    Arc::new(|pages: &Pages, page: usize, _hit: usize| Reply::json(pages.0[page].clone()))
}

/// `citytools sync contracts-finder` on the test's database, with no pause and quick retries.
pub(crate) fn sync(app: &TestApp, server: &Server, extra: &[&str]) -> Output {
    sync_from(app, server, "contracts-finder", extra)
}

/// `citytools sync {source}`, as [`sync`].
pub(crate) fn sync_from(app: &TestApp, server: &Server, source: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sync",
        source,
        "--base-url",
        &server.base,
        "--until",
        UNTIL,
        "--json",
    ];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_citytools"))
        .args(&args)
        .env("DATABASE_URL", &app.url)
        .env("RUST_LOG", "warn")
        .env("CITYTOOLS_SYNC_PAUSE_MS", "0")
        .env("CITYTOOLS_SYNC_TRIES", "3")
        .env("CITYTOOLS_SYNC_BACKOFF_MS", "10")
        .env("CITYTOOLS_SYNC_TIMEOUT", "1")
        .env_remove("CITYTOOLS_CONTRACTS_FINDER_URL")
        .env_remove("CITYTOOLS_FIND_A_TENDER_URL")
        .output()
        .expect("run citytools")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON summary a sync printed.
pub(crate) fn summary_of(output: &Output) -> Value {
    serde_json::from_str(text(&output.stdout).trim()).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?}, stderr {}",
            text(&output.stdout),
            text(&output.stderr)
        )
    })
}

pub(crate) fn count(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

/// Everything a sync may write: contracts, their areas, suppliers, the change log and runs.
fn fingerprint(app: &TestApp) -> String {
    app.fingerprint(&[
        ("contracts", "t.id"),
        ("contract_service_areas", "t.contract_id, t.service_area_id"),
        ("suppliers", "t.id"),
        ("changes", "t.id"),
        ("sync_runs", "t.id"),
    ])
}

/// What makes a contract, whoever wrote it: every value a source gives, and its areas.
fn contracts_made(app: &TestApp) -> BTreeSet<String> {
    app.column(
        "SELECT concat_ws('|', c.source, c.source_reference, c.borough_id, c.supplier_id, \
                c.system_id, c.title, c.start_date, c.end_date, c.max_end_date, \
                c.annual_value_gbp, c.total_value_gbp, c.procurement_route, c.framework_name, \
                c.source_url, (SELECT string_agg(service_area_id, ',' ORDER BY service_area_id) \
                FROM contract_service_areas a WHERE a.contract_id = c.id)) AS value \
         FROM contracts c WHERE c.source = 'open_data'",
    )
    .into_iter()
    .collect()
}

#[actix_web::test]
async fn a_chain_of_pages_makes_the_contracts_an_import_of_the_same_releases_makes() {
    let server = Server::start(package(), healthy());
    let app = TestApp::new();
    let output = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = summary_of(&output);
    assert_eq!(count(&summary, "pages") as usize, server.pages());
    assert_eq!(count(&summary, "releases"), 100);
    // The page's tender notices are none of them London technology.
    assert_eq!(count(&summary, "tenders_added"), 0);
    assert_eq!(count(&summary, "added") as usize, LONDON_CONTRACTS);
    assert_eq!(count(&summary, "updated"), 0);
    assert!(summary["error"].is_null());

    // The chain was followed by links.next, each page once, by a client that names itself.
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), server.pages());
    assert!(requests[0].0.starts_with(
        "/Published/Notices/OCDS/Search?publishedFrom=2022-10-19T00%3A00%3A00Z&publishedTo=2022-10-20T08%3A43%3A52Z&limit=100"
    ));
    for (i, (target, agent)) in requests.iter().enumerate().skip(1) {
        assert!(target.ends_with(&format!("cursor={i}")), "{target}");
        assert!(
            agent.starts_with("citytools/") && agent.ends_with("(City Tools API sync)"),
            "{agent}"
        );
    }

    // The run is recorded, with its position at the end of the search.
    let run = app.column(
        "SELECT concat_ws('|', source, pages, added, updated, error IS NULL, position, \
                finished_at IS NOT NULL) AS value FROM sync_runs",
    );
    assert_eq!(
        run,
        vec![format!(
            "contracts-finder|{}|{LONDON_CONTRACTS}|0|t|2022-10-20T08:43:52Z|t",
            server.pages()
        )]
    );

    // Provenance on every synced contract, in the API and in the change log.
    let run_id = summary["run_id"].as_i64().unwrap();
    let stamped = app.column(&format!(
        "SELECT count(*) AS value FROM contracts WHERE sync_run_id = {run_id} \
         AND retrieved_at IS NOT NULL AND version = 1"
    ));
    assert_eq!(stamped, vec![LONDON_CONTRACTS.to_string()]);
    let id = app.column(&format!(
        "SELECT id AS value FROM contracts WHERE sync_run_id = {run_id} AND title LIKE '%café £%'"
    ));
    assert_eq!(id.len(), 1, "the café £ title came through");
    let contract = app
        .get(&format!("/api/v1/contracts/{}", id[0]))
        .await
        .json();
    assert_eq!(contract["sync_run_id"], json!(run_id));
    assert!(contract["retrieved_at"].is_string());
    let logged = app.column(&format!(
        "SELECT after->>'sync_run_id' AS value FROM changes WHERE resource = 'contracts' AND resource_id = '{}'",
        id[0]
    ));
    assert_eq!(logged, vec![run_id.to_string()]);

    // `citytools import` of the same releases makes the same contracts, without provenance.
    let imported = TestApp::new();
    let dir = std::env::temp_dir().join(format!("citytools-sync-test-{}", imported.database));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("package.json");
    std::fs::write(&file, serde_json::to_vec(&package()).unwrap()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_citytools"))
        .args(["import", "--format", "ocds", file.to_str().unwrap()])
        .env("DATABASE_URL", &imported.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(contracts_made(&imported).len(), LONDON_CONTRACTS);
    assert_eq!(contracts_made(&imported), contracts_made(&app));
    assert_eq!(
        imported.column("SELECT count(*) AS value FROM contracts WHERE sync_run_id IS NOT NULL OR retrieved_at IS NOT NULL"),
        vec!["0"]
    );
}

#[actix_web::test]
async fn a_second_sync_changes_nothing_and_an_amended_release_updates() {
    let server = Server::start(package(), healthy());
    let app = TestApp::new();
    let first = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let contracts = |app: &TestApp| {
        app.column("SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) AS value FROM contracts t")
    };
    let before = (contracts(&app), app.change_count());

    let second = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let summary = summary_of(&second);
    assert_eq!(
        (count(&summary, "added"), count(&summary, "updated")),
        (0, 0)
    );
    // Hackney's process is on pages 1 and 2: unchanged on each.
    assert_eq!(count(&summary, "unchanged") as usize, LONDON_CONTRACTS + 1);
    assert_eq!((contracts(&app), app.change_count()), before);

    // A later release of Camden's contract with a new value updates it, once.
    let mut amended = package();
    let release = &mut amended["releases"][0];
    release["date"] = json!("2022-10-20T09:43:00+01:00");
    for award in release["awards"].as_array_mut().unwrap() {
        award["value"] = json!({"amount": 150000, "currency": "GBP"});
    }
    let amended = Server::start(amended, healthy());
    let third = sync(&app, &amended, &["--since", "2022-10-19"]);
    assert!(third.status.success(), "{}", text(&third.stderr));
    let summary = summary_of(&third);
    assert_eq!(
        (count(&summary, "added"), count(&summary, "updated")),
        (0, 1)
    );
    assert_eq!(app.change_count(), before.1 + 1);
    let run_id = summary["run_id"].as_i64().unwrap();
    assert_eq!(
        app.column(&format!(
            "SELECT count(*) AS value FROM contracts WHERE sync_run_id = {run_id} AND version = 2"
        )),
        vec!["1"]
    );
}

#[actix_web::test]
async fn a_busy_slow_or_garbled_source_is_waited_out_and_retried() {
    // Page 1 in ISO-8859-1 (every time); page 2 a 429 with Retry-After: 1 first; page 3 a 503
    // first; page 4 slower than the timeout first; page 5 cut short first.
    let script: Arc<Script> = Arc::new(|pages: &Pages, page: usize, hit: usize| {
        let mut reply = Reply::json(pages.0[page].clone());
        match (page, hit) {
            (0, _) => {
                let text = String::from_utf8(pages.0[0].clone()).unwrap();
                assert!(text.contains("café £"));
                // Characters beyond Latin-1 (curly quotes) as JSON escapes, the rest as bytes.
                let mut body = Vec::new();
                for c in text.chars() {
                    match u8::try_from(u32::from(c)) {
                        Ok(byte) => body.push(byte),
                        Err(_) => {
                            let mut units = [0u16; 2];
                            for unit in c.encode_utf16(&mut units) {
                                body.extend(format!("\\u{unit:04x}").bytes());
                            }
                        }
                    }
                }
                assert!(
                    body.contains(&0xe9) && body.contains(&0xa3),
                    "é and £ as Latin-1"
                );
                reply.body = body;
                reply.headers = vec![(
                    "Content-Type".into(),
                    "application/json; charset=ISO-8859-1".into(),
                )];
            }
            (1, 0) => {
                reply = Reply::status(429);
                reply.headers.push(("Retry-After".into(), "1".into()));
            }
            (2, 0) => reply = Reply::status(503),
            (3, 0) => reply.delay = Duration::from_secs(3),
            (4, 0) => reply.cut = Some(reply.body.len() / 2),
            _ => {}
        }
        reply
    });
    let server = Server::start(package(), script);
    let app = TestApp::new();
    let output = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = summary_of(&output);
    assert_eq!(count(&summary, "added") as usize, LONDON_CONTRACTS);
    let tries: Vec<u64> = summary["per_page"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| count(p, "tries"))
        .collect();
    assert_eq!(tries[..6], [1, 2, 2, 2, 2, 1]);
    let page2 = &summary["per_page"][1];
    assert!(
        count(page2, "waited_ms") >= 1000,
        "Retry-After: 1 waited out"
    );
    assert!(page2["retried"][0].as_str().unwrap().contains("429"));
    assert!(summary["per_page"][2]["retried"][0]
        .as_str()
        .unwrap()
        .contains("503"));
    assert_eq!(summary["errors"].as_array().unwrap().len(), 4);
    assert_eq!(
        app.column("SELECT count(*) AS value FROM contracts WHERE title LIKE '%café £%'"),
        vec!["1"],
        "the ISO-8859-1 page decoded"
    );
}

#[actix_web::test]
async fn a_run_that_fails_half_way_keeps_its_pages_and_the_next_continues_from_there() {
    // Page 3 fails every try in the first run.
    let failing: Arc<Script> = Arc::new(|pages: &Pages, page: usize, _hit: usize| {
        if page == 2 {
            Reply::status(502)
        } else {
            Reply::json(pages.0[page].clone())
        }
    });
    let server = Server::start(package(), failing);
    let app = TestApp::new();
    let first = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(!first.status.success());
    let stderr = text(&first.stderr);
    assert!(
        stderr.contains("pages 1-2 were committed and stay") && stderr.contains("cursor=2"),
        "{stderr}"
    );
    let summary = summary_of(&first);
    assert_eq!(count(&summary, "pages"), 2);
    assert_eq!(summary["errors"].as_array().unwrap().len(), 3, "3 tries");
    assert!(summary["stopped_at"]
        .as_str()
        .unwrap()
        .ends_with("cursor=2"));
    // Pages 1 and 2 hold releases 0 to 29: Camden, Hackney and Islington.
    assert_eq!(
        app.column("SELECT count(*) AS value FROM contracts WHERE sync_run_id IS NOT NULL"),
        vec!["3"]
    );
    let position = app.column(
        "SELECT concat_ws('|', pages, position, error IS NOT NULL) AS value FROM sync_runs",
    );
    assert_eq!(position.len(), 1);
    assert!(
        position[0].starts_with("2|http://") && position[0].ends_with("cursor=2|t"),
        "{position:?}"
    );

    // The source recovers; a run without --since starts at page 3.
    server.script(healthy());
    let asked = server.targets().len();
    let second = sync(&app, &server, &[]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let summary = summary_of(&second);
    assert_eq!(count(&summary, "pages") as usize, server.pages() - 2);
    assert_eq!(count(&summary, "added"), 1, "Lambeth's, on page 4");
    assert!(server.targets()[asked].ends_with("cursor=2"));
    assert_eq!(
        app.column("SELECT count(*) AS value FROM contracts WHERE sync_run_id IS NOT NULL"),
        vec![LONDON_CONTRACTS.to_string()]
    );
    assert_eq!(
        app.column("SELECT position AS value FROM sync_runs ORDER BY id DESC LIMIT 1"),
        vec!["2022-10-20T08:43:52Z"]
    );
}

#[actix_web::test]
async fn a_dry_run_reports_and_writes_nothing() {
    let server = Server::start(package(), healthy());
    let app = TestApp::new();
    let before = fingerprint(&app);
    let output = sync(&app, &server, &["--since", "2022-10-19", "--dry-run"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = summary_of(&output);
    // Each page is planned against the database as it is, with nothing written in between:
    // Hackney's process, on pages 1 and 2, would be added by each.
    assert_eq!(count(&summary, "added") as usize, LONDON_CONTRACTS + 1);
    assert!(summary["run_id"].is_null());
    assert_eq!(fingerprint(&app), before);
    assert!(text(&output.stderr).contains("dry run, nothing written"));
}

#[actix_web::test]
async fn a_source_that_keeps_failing_writes_nothing_and_exits_non_zero() {
    let server = Server::start(
        package(),
        Arc::new(|_: &Pages, _: usize, _: usize| Reply::status(500)),
    );
    let app = TestApp::new();
    let contracts_and_changes = |app: &TestApp| {
        app.column(
            "SELECT concat_ws(' ', (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM contracts t), \
                    (SELECT count(*) FROM changes)) AS value",
        )
    };
    let before = contracts_and_changes(&app);
    let output = sync(&app, &server, &["--since", "2022-10-19"]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no page was committed") && stderr.contains("HTTP 500"),
        "{stderr}"
    );
    assert_eq!(server.targets().len(), 3, "3 tries, then it gives up");
    assert_eq!(contracts_and_changes(&app), before);
    assert_eq!(
        app.column("SELECT count(*) AS value FROM sync_runs WHERE position IS NOT NULL"),
        vec!["0"],
        "no position stored"
    );
}

#[actix_web::test]
async fn find_a_tender_is_read_the_same_way_from_its_release_packages() {
    let server = Server::start_for(package(), healthy(), FIND_A_TENDER);
    let app = TestApp::new();
    let output = sync_from(&app, &server, "find-a-tender", &["--since", "2022-10-19"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = summary_of(&output);
    assert_eq!(summary["source"], "find-a-tender");
    assert_eq!(count(&summary, "pages") as usize, server.pages());
    assert_eq!(count(&summary, "added") as usize, LONDON_CONTRACTS);
    // The page's tender notices are none of them London technology.
    assert_eq!(count(&summary, "tenders_added"), 0);
    let targets = server.targets();
    assert!(
        targets[0].starts_with(
            "/api/1.0/ocdsReleasePackages?updatedFrom=2022-10-19T00%3A00%3A00Z&updatedTo=2022-10-20T08%3A43%3A52Z&limit=100"
        ),
        "{}",
        targets[0]
    );
    assert!(targets[1].ends_with("cursor=1"));
    assert_eq!(
        app.column("SELECT concat_ws('|', source, pages, position) AS value FROM sync_runs"),
        vec![format!(
            "find-a-tender|{}|2022-10-20T08:43:52Z",
            server.pages()
        )]
    );
}
