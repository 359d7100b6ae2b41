//! Real and invented data never mix silently: a database can start without the illustrative
//! contracts, they can be purged (and only they), and every insight says which sources its
//! contracts came from.

use std::process::{Command, Output};

use diesel::connection::SimpleConnection;
use serde_json::{json, Map, Value};

use crate::helpers::TestApp;

const BINARY: &str = env!("CARGO_BIN_EXE_citytools");

fn count(app: &TestApp, sql: &str) -> i64 {
    app.column(sql)[0].parse().unwrap()
}

/// Runs `citytools args...` on `app`'s database.
fn citytools(app: &TestApp, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env("DATABASE_URL", &app.url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run citytools")
}

/// The catalogue's row counts in the seed files (a header line each).
fn seeded_catalogue() -> [(&'static str, i64); 4] {
    let rows = |csv: &str| csv::Reader::from_reader(csv.as_bytes()).records().count() as i64;
    [
        ("boroughs", rows(citytools::seed::BOROUGHS_CSV)),
        ("service_areas", rows(citytools::seed::SERVICE_AREAS_CSV)),
        ("suppliers", rows(citytools::seed::SUPPLIERS_CSV)),
        ("systems", rows(citytools::seed::SYSTEMS_CSV)),
    ]
}

fn assert_catalogue_without_contracts(app: &TestApp) {
    for (table, rows) in seeded_catalogue() {
        assert_eq!(
            count(app, &format!("SELECT count(*) AS value FROM {table}")),
            rows,
            "{table}"
        );
    }
    assert_eq!(count(app, "SELECT count(*) AS value FROM contracts"), 0);
    assert_eq!(
        count(
            app,
            "SELECT count(*) AS value FROM changes WHERE resource = 'contracts'"
        ),
        0,
        "no contract was logged either"
    );
}

#[actix_web::test]
async fn starting_without_sample_data_seeds_the_catalogue_and_no_contracts() {
    let app = TestApp::empty();
    citytools::app::startup::prepare_with(&mut app.conn(), false).unwrap();
    assert_catalogue_without_contracts(&app);
    let contracts = app.get("/api/v1/contracts").await.json();
    assert_eq!(contracts["meta"]["total"], 0);
    let summary = app.get("/api/v1/insights/summary").await.json();
    assert_eq!(summary["contracts"], 0);
    assert_eq!(summary["sources"], json!({}));
    // Not empty any more, so a second start seeds nothing, illustrative contracts included.
    citytools::app::startup::prepare_with(&mut app.conn(), true).unwrap();
    assert_eq!(count(&app, "SELECT count(*) AS value FROM contracts"), 0);
}

#[actix_web::test]
async fn seed_no_sample_data_loads_the_catalogue_and_no_contracts() {
    let app = TestApp::empty();
    let output = citytools(&app, &["seed", "--no-sample-data"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("added 33 boroughs"), "{stderr}");
    assert!(stderr.contains(" 0 contracts"), "{stderr}");
    assert_catalogue_without_contracts(&app);
}

#[test]
fn a_bad_sample_data_setting_is_named_and_exits_non_zero() {
    for bad in ["no", "maybe"] {
        let output = Command::new(BINARY)
            .arg("migrate")
            .env("CITYTOOLS_SAMPLE_DATA", bad)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("CITYTOOLS_SAMPLE_DATA"), "{stderr}");
        assert!(stderr.contains("true or false"), "{stderr}");
    }
}

/// Three contracts that are not illustrative, with different suppliers, boroughs and sources.
const REAL_CONTRACTS: &str = "
    WITH c AS (
      INSERT INTO contracts (borough_id, supplier_id, system_id, title, start_date, end_date,
                             annual_value_gbp, data_access, source, source_reference)
      VALUES ('camden', 'civica', 'civica-openrevenues', 'Revenues', '2022-04-01', '2027-03-31', 120000.00, 'included', 'manual', 'M-1'),
             ('camden', 'capita', NULL, 'Council tax bureau', '2023-04-01', '2028-03-31', 50000.00, 'charged', 'survey', 'S-1'),
             ('hackney', 'bartec', NULL, 'Waste system', '2021-04-01', '2026-12-31', 80000.00, 'unknown', 'open_data', 'O-1')
      RETURNING id, source_reference)
    INSERT INTO contract_service_areas (contract_id, service_area_id)
    SELECT id, CASE source_reference WHEN 'O-1' THEN 'waste-and-recycling' ELSE 'council-tax' END FROM c;
";

fn with_real_contracts() -> TestApp {
    let app = TestApp::new();
    app.conn().batch_execute(REAL_CONTRACTS).unwrap();
    app
}

/// A fingerprint of every contract, its service areas and the change log.
fn fingerprint(app: &TestApp) -> String {
    app.fingerprint(&[
        ("contracts", "t.id"),
        ("contract_service_areas", "t.contract_id, t.service_area_id"),
        ("changes", "t.id"),
    ])
}

fn json_stdout(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[actix_web::test]
async fn a_dry_run_purge_counts_and_writes_nothing() {
    let app = with_real_contracts();
    let illustrative = count(
        &app,
        "SELECT count(*) AS value FROM contracts WHERE source = 'illustrative'",
    );
    assert!(illustrative > 0);
    let before = fingerprint(&app);
    let output = citytools(
        &app,
        &["purge", "--source", "illustrative", "--dry-run", "--json"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("dry run"), "{stderr}");
    assert_eq!(
        json_stdout(&output),
        json!({"source": "illustrative", "dry_run": true, "contracts": illustrative, "changes_logged": 0})
    );
    assert_eq!(fingerprint(&app), before, "a dry run writes nothing");
}

#[actix_web::test]
async fn purge_removes_exactly_the_illustrative_contracts_and_logs_each() {
    let app = with_real_contracts();
    let purged = app.column(
        "SELECT id::text AS value FROM contracts WHERE source = 'illustrative' ORDER BY id",
    );
    let kept = app.column(
        "SELECT md5(c::text) AS value FROM contracts c WHERE source <> 'illustrative' ORDER BY id",
    );
    assert_eq!(kept.len(), 3);
    // The logged `before` is the contract's current representation: compare one of them.
    let one: i64 = purged[0].parse().unwrap();
    let shown = citytools::representations::contract::current(&mut app.conn(), one)
        .unwrap()
        .unwrap();
    let changes_before = app.change_count();
    let last_change = count(&app, "SELECT max(id) AS value FROM changes");

    let output = citytools(&app, &["purge", "--source", "illustrative", "--json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("deleted {} illustrative", purged.len())),
        "{stderr}"
    );
    let summary = json_stdout(&output);
    assert_eq!(summary["contracts"], purged.len());
    assert_eq!(summary["changes_logged"], purged.len());
    assert_eq!(summary["dry_run"], false);

    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS value FROM contracts WHERE source = 'illustrative'"
        ),
        0
    );
    assert_eq!(
        app.column(
            "SELECT md5(c::text) AS value FROM contracts c WHERE source <> 'illustrative' ORDER BY id"
        ),
        kept,
        "the other sources are untouched"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS value FROM contract_service_areas a \
             WHERE NOT EXISTS (SELECT 1 FROM contracts c WHERE c.id = a.contract_id)"
        ),
        0
    );

    // One deletion logged per purged contract, by the CLI's purge, with the contract as it was.
    assert_eq!(app.change_count() - changes_before, purged.len() as i64);
    let logged = app.column(&format!(
        "SELECT resource_id AS value FROM changes WHERE id > {last_change} \
         AND resource = 'contracts' AND action = 'delete' AND actor_kind = 'cli' \
         AND actor_name LIKE 'citytools purge %' AND after IS NULL AND before->>'source' = 'illustrative' \
         ORDER BY resource_id::bigint"
    ));
    assert_eq!(logged, purged);
    let before: Value = serde_json::from_str(
        &app.column(&format!(
            "SELECT before::text AS value FROM changes WHERE resource = 'contracts' \
             AND resource_id = '{one}' AND action = 'delete'"
        ))[0],
    )
    .unwrap();
    assert_eq!(before, shown);

    // The feed shows the deletions; the rollups follow the contracts.
    let feed = app
        .get(&format!("/api/v1/changes?after={last_change}&per_page=1"))
        .await
        .json();
    assert_eq!(feed["items"][0]["action"], "delete");
    crate::rollups::assert_rollups_agree(&mut app.conn(), "after a purge");
    citytools::queries::rollups::compact(&mut app.conn()).unwrap();
    crate::rollups::assert_rollups_agree(&mut app.conn(), "after a purge and compaction");
    let summary = app.get("/api/v1/insights/summary").await.json();
    assert_eq!(summary["contracts"], 3);
    assert_eq!(
        summary["sources"],
        json!({"manual": 1, "open_data": 1, "survey": 1})
    );

    // Nothing illustrative is left to purge.
    let again = citytools(&app, &["purge", "--source", "illustrative"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("deleted 0 illustrative"));
}

#[actix_web::test]
async fn purging_any_other_source_is_refused_and_touches_nothing() {
    let app = with_real_contracts();
    let before = fingerprint(&app);
    for source in ["survey", "manual", "open_data", "rumour", ""] {
        let output = citytools(&app, &["purge", "--source", source]);
        assert!(!output.status.success(), "{source:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("only --source illustrative"),
            "{source:?}: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }
    let missing = citytools(&app, &["purge"]);
    assert!(!missing.status.success(), "--source is required");
    assert_eq!(fingerprint(&app), before);
}

/// The contracts `condition` selects (a SQL condition on `c`), counted by source, as `sources`
/// should show them.
fn sources_in_sql(app: &TestApp, condition: &str) -> Value {
    let rows = app.column(&format!(
        "SELECT source || '=' || count(*) AS value FROM contracts c WHERE {condition} \
         GROUP BY source ORDER BY source"
    ));
    let mut map = Map::new();
    for row in rows {
        let (source, n) = row.split_once('=').unwrap();
        map.insert(source.to_owned(), json!(n.parse::<i64>().unwrap()));
    }
    Value::Object(map)
}

#[actix_web::test]
async fn every_insight_counts_its_contracts_by_source() {
    let app = with_real_contracts();
    let reader = app.key("reader", None);
    let camden = "c.borough_id = 'camden'";
    let cases = [
        ("/api/v1/insights/joint-procurement?borough=camden", camden.to_owned()),
        (
            "/api/v1/insights/expertise?system=civica-openrevenues&borough=camden",
            format!("{camden} AND c.system_id = 'civica-openrevenues'"),
        ),
        (
            "/api/v1/insights/opportunities?borough=camden&ends_after=2026-01-01&ends_before=2027-12-31",
            format!("{camden} AND c.end_date BETWEEN '2026-01-01' AND '2027-12-31'"),
        ),
        ("/api/v1/insights/market-share?borough=camden", camden.to_owned()),
        ("/api/v1/insights/vendor-satisfaction?borough=camden", camden.to_owned()),
        ("/api/v1/insights/expiry-timeline?borough=camden", camden.to_owned()),
        ("/api/v1/insights/summary?borough=camden", camden.to_owned()),
        ("/api/v1/insights/data-access?borough=camden", camden.to_owned()),
        (
            "/api/v1/insights/summary?service_area=revenues-and-benefits",
            "c.id IN (SELECT a.contract_id FROM contract_service_areas a \
             JOIN service_areas s ON s.id = a.service_area_id WHERE s.parent_id = 'revenues-and-benefits')"
                .to_owned(),
        ),
        ("/api/v1/insights/summary", "true".to_owned()),
        (
            "/api/v1/insights/data-access?source=survey,manual",
            "c.source IN ('survey', 'manual')".to_owned(),
        ),
        (
            "/api/v1/suppliers/civica/footprint?borough=camden",
            format!("{camden} AND c.supplier_id = 'civica'"),
        ),
        (
            "/api/v1/boroughs/camden/peers",
            "c.system_id IN (SELECT system_id FROM contracts WHERE borough_id = 'camden')"
                .to_owned(),
        ),
    ];
    for (uri, condition) in cases {
        let response = app.send("GET", uri, Some(&reader), None, &[]).await;
        assert_eq!(response.status, 200, "{uri}: {}", response.text());
        let expected = sources_in_sql(&app, &condition);
        assert_eq!(response.json()["sources"], expected, "{uri}");
    }
    // Camden mixes real and invented contracts, and says so.
    let camden = app
        .get("/api/v1/insights/summary?borough=camden")
        .await
        .json();
    assert_eq!(camden["sources"]["manual"], 1);
    assert_eq!(camden["sources"]["survey"], 1);
    assert!(camden["sources"]["illustrative"].as_i64().unwrap() > 0);
    assert!(
        camden["sources"].get("open_data").is_none(),
        "hackney's only"
    );
}

#[actix_web::test]
async fn insight_csv_exports_have_no_sources() {
    let app = with_real_contracts();
    for path in [
        "market-share",
        "vendor-satisfaction",
        "expiry-timeline",
        "data-access",
        "expertise?system=civica-openrevenues",
    ] {
        let sep = if path.contains('?') { "&" } else { "?" };
        let csv = app
            .get(&format!("/api/v1/insights/{path}{sep}format=csv"))
            .await
            .text();
        assert!(!csv.contains("sources"), "{path}: {csv}");
        assert!(!csv.contains("illustrative"), "{path}");
    }
}
