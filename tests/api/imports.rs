//! Importers: the real Contracts Finder fixtures, registers, the survey and OCDS, idempotency,
//! all-or-nothing files, access to `POST /api/v1/imports`, and the `citytools import` command.

use std::path::PathBuf;
use std::process::{Command, Output};

use actix_web::test as actix_test;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestResponse};

const CF_EXPORT: &str = "contracts_finder_export_awarded_2020-07_to_2020-10.csv";
const CF_OCDS_PAGE: &str = "contracts_finder_ocds_search_page_2022-10-20.json";

/// A fixture made for these tests (`tests/fixtures/imports/`).
fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/imports")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A real published file from the shared fixtures beside the checkout (`../shared/fixtures/real/`).
fn real_path(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/real")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: the real fixtures live in ../shared/fixtures/real/ beside the checkout",
        path.display()
    );
    path
}

fn real_fixture(name: &str) -> Vec<u8> {
    std::fs::read(real_path(name)).unwrap()
}

/// `POST /api/v1/imports?{query}` with `body` as the request body.
async fn post_import(
    app: &TestApp,
    query: &str,
    key: Option<&str>,
    body: &[u8],
    content_type: &str,
) -> TestResponse {
    let mut request = actix_test::TestRequest::post()
        .uri(&format!("/api/v1/imports?{query}"))
        .insert_header(("content-type", content_type))
        .set_payload(body.to_vec());
    if let Some(key) = key {
        request = request.insert_header(("authorization", format!("Bearer {key}")));
    }
    app.call(request).await
}

/// A successful import's report.
async fn imported(app: &TestApp, query: &str, key: &str, body: &[u8], content_type: &str) -> Value {
    let response = post_import(app, query, Some(key), body, content_type).await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

/// Everything an import may write: contracts, their areas, suppliers, aliases and the change log.
fn fingerprint(app: &TestApp) -> String {
    app.fingerprint(&[
        ("contracts", "t.id"),
        ("contract_service_areas", "t.contract_id, t.service_area_id"),
        ("suppliers", "t.id"),
        ("supplier_aliases", "t.supplier_id, t.alias"),
        ("changes", "t.id"),
    ])
}

fn skipped(report: &Value, reason: &str) -> u64 {
    report["skipped_by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["reason"] == reason)
        .map_or(0, |s| s["count"].as_u64().unwrap())
}

fn counts(report: &Value) -> [u64; 5] {
    ["created", "updated", "unchanged", "skipped", "failed"].map(|k| report[k].as_u64().unwrap())
}

/// A contract by source reference, as an admin reads it.
async fn contract_by_reference(app: &TestApp, admin: &str, reference: &str) -> Value {
    let ids = app.column(&format!(
        "SELECT id AS value FROM contracts WHERE source_reference = '{}'",
        reference.replace('\'', "''")
    ));
    assert_eq!(ids.len(), 1, "one contract {reference}");
    app.send(
        "GET",
        &format!("/api/v1/contracts/{}", ids[0]),
        Some(admin),
        None,
        &[],
    )
    .await
    .json()
}

// ---------------------------------------------------------------------------------------------
// The real fixtures.

/// The London authorities that buy in the Contracts Finder export, as the file names them, with
/// their boroughs and how many of the 1,000 notices each published: read off the file by hand.
const LONDON_BUYERS_IN_EXPORT: &[(&str, &str, usize)] = &[
    ("City of London Corporation", "city-of-london", 2),
    ("Haringey Council - Traffic Management", "haringey", 1),
    ("ISLINGTON COUNCIL", "islington", 1),
    ("Islington", "islington", 1),
    ("London Borough Of Bexley", "bexley", 4),
    ("London Borough Of Bromley", "bromley", 1),
    ("London Borough Of Camden Council", "camden", 1),
    ("London Borough of Camden", "camden", 3),
    ("London Borough of Ealing", "ealing", 1),
    ("London Borough of Hackney", "hackney", 2),
    (
        "London Borough of Hammersmith & Fulham",
        "hammersmith-and-fulham",
        1,
    ),
    ("London Borough of Hillingdon", "hillingdon", 1),
    ("London Borough of Lambeth", "lambeth", 2),
    ("London Borough of Merton", "merton", 1),
    ("London Borough of Redbridge", "redbridge", 1),
    ("London Borough of Sutton", "sutton", 1),
    ("London Borough of Waltham Forest", "waltham-forest", 2),
    ("Royal Borough of Greenwich", "greenwich", 1),
    (
        "The Royal Borough of Kingston upon Thames",
        "kingston-upon-thames",
        1,
    ),
    ("Tower Hamlets", "tower-hamlets", 1),
];

/// The export's rows as (buyer, CPV codes).
fn export_rows() -> Vec<(String, Vec<String>)> {
    let bytes = real_fixture(CF_EXPORT);
    // One notice has a cell fewer than the header: read it as the importer does.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes.as_slice());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (buyer, cpv) = (column("Organisation Name"), column("Cpv Codes"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[buyer].to_owned(),
                r[cpv].split_whitespace().map(str::to_owned).collect(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn the_contracts_finder_export_gives_its_one_london_technology_contract() {
    // The expectation, from the file itself: 29 notices of London authorities, of which only
    // Greenwich's CCTV contract has an IT CPV code (72 IT services, 50300000 computer and
    // telecoms maintenance); the other 971 buyers are not London authorities.
    let rows = export_rows();
    assert_eq!(rows.len(), 1000);
    for (name, _, count) in LONDON_BUYERS_IN_EXPORT {
        assert_eq!(
            rows.iter().filter(|(b, _)| b == name).count(),
            *count,
            "{name}"
        );
    }
    let london: Vec<&(String, Vec<String>)> = rows
        .iter()
        .filter(|(b, _)| LONDON_BUYERS_IN_EXPORT.iter().any(|(n, _, _)| n == b))
        .collect();
    assert_eq!(london.len(), 29);
    let it = |code: &String| {
        ["48", "72", "302", "324", "325", "503", "5161", "642"]
            .iter()
            .any(|p| code.starts_with(p))
    };
    let technology: Vec<&&(String, Vec<String>)> = london
        .iter()
        .filter(|(_, cpv)| cpv.iter().any(it))
        .collect();
    assert_eq!(technology.len(), 1);
    assert_eq!(technology[0].0, "Royal Borough of Greenwich");

    let app = TestApp::new();
    let admin = app.key("admin", None);
    let before = app.change_count();
    let report = imported(
        &app,
        "format=contracts-finder-csv",
        &admin,
        &real_fixture(CF_EXPORT),
        "text/csv",
    )
    .await;
    assert_eq!(report["outcome"], "imported");
    assert_eq!(
        (report["read"].as_u64(), report["records"].as_u64()),
        (Some(1000), Some(1000))
    );
    assert_eq!(counts(&report), [1, 0, 0, 999, 0]);
    assert_eq!(skipped(&report, "buyer_outside_london"), 1000 - 29);
    assert_eq!(skipped(&report, "not_technology"), 29 - 1);
    assert_eq!(
        report["new_suppliers"],
        json!([{"id": "eurovia-infrastructure", "name": "Eurovia Infrastructure", "row": 119}])
    );

    let contract = contract_by_reference(
        &app,
        &admin,
        "contracts-finder:greenwich:RBG001-DN479909-00029959",
    )
    .await;
    assert_eq!(contract["borough_id"], "greenwich");
    assert_eq!(contract["supplier_id"], "eurovia-infrastructure");
    assert_eq!(
        contract["title"],
        "SPS 2158 - CCTV System Upgrade, Operation and Maintenance"
    );
    assert_eq!(contract["start_date"], "2020-09-08");
    assert_eq!(contract["end_date"], "2026-02-18");
    assert_eq!(contract["total_value_gbp"], "2700000.00");
    assert_eq!(contract["procurement_route"], "open_tender");
    assert_eq!(contract["source"], "open_data");
    assert_eq!(
        contract["service_area_ids"],
        json!(["it-service-management"])
    );
    assert_eq!(
        contract["source_url"],
        "https://procontract.due-north.com/Advert?advertId=90f80862-cea0-ea11-8103-005056b64545"
    );
    assert_eq!(
        app.change_count(),
        before + 2,
        "the new supplier and the contract are logged"
    );

    let second = imported(
        &app,
        "format=contracts-finder-csv",
        &admin,
        &real_fixture(CF_EXPORT),
        "text/csv",
    )
    .await;
    assert_eq!(counts(&second), [0, 0, 1, 999, 0]);
    assert_eq!(second["new_suppliers"], json!([]));
    assert_eq!(
        app.change_count(),
        before + 2,
        "an unchanged import logs nothing"
    );
    let again = contract_by_reference(
        &app,
        &admin,
        "contracts-finder:greenwich:RBG001-DN479909-00029959",
    )
    .await;
    assert_eq!(again["version"], 1);
}

#[actix_web::test]
async fn the_contracts_finder_ocds_page_has_no_london_technology_contract_and_says_why() {
    // From the file: 100 releases of 86 contracting processes; two London buyers (Hounslow's
    // SEND research tender and Redbridge's smoking cessation tender), neither technology and
    // neither awarded yet.
    let package: Value = serde_json::from_slice(&real_fixture(CF_OCDS_PAGE)).unwrap();
    let releases = package["releases"].as_array().unwrap();
    let ocids: std::collections::BTreeSet<&str> = releases
        .iter()
        .map(|r| r["ocid"].as_str().unwrap())
        .collect();
    let london: Vec<&str> = releases
        .iter()
        .map(|r| r["buyer"]["name"].as_str().unwrap())
        .filter(|name| name.starts_with("London Borough of"))
        .collect();
    assert_eq!((releases.len(), ocids.len()), (100, 86));
    assert_eq!(
        london,
        vec!["London Borough of Hounslow", "London Borough of Redbridge"]
    );

    let app = TestApp::new();
    let admin = app.key("admin", None);
    let before = fingerprint(&app);
    for _ in 0..2 {
        let report = imported(
            &app,
            "format=ocds",
            &admin,
            &real_fixture(CF_OCDS_PAGE),
            "application/json",
        )
        .await;
        assert_eq!(
            (report["read"].as_u64(), report["records"].as_u64()),
            (Some(100), Some(86))
        );
        assert_eq!(counts(&report), [0, 0, 0, 86, 0]);
        assert_eq!(skipped(&report, "buyer_outside_london"), 84);
        assert_eq!(skipped(&report, "not_technology"), 2);
    }
    let all = imported(
        &app,
        "format=ocds&all=true&dry_run=true",
        &admin,
        &real_fixture(CF_OCDS_PAGE),
        "application/json",
    )
    .await;
    assert_eq!(skipped(&all, "buyer_outside_london"), 84);
    assert_eq!(skipped(&all, "no_supplier"), 0);
    assert_eq!(
        all["tenders"]["created"], 2,
        "with every contract kept, Hounslow's and Redbridge's tender notices would be tenders"
    );
    assert_eq!(fingerprint(&app), before);
}

// ---------------------------------------------------------------------------------------------
// OCDS merging, registers and the survey.

#[actix_web::test]
async fn ocds_releases_of_one_process_become_one_contract_with_the_latest_information() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let package = fixture("ocds_london_releases.json");
    let report = imported(&app, "format=ocds", &admin, &package, "application/json").await;
    assert_eq!(
        (report["read"].as_u64(), report["records"].as_u64()),
        (Some(7), Some(5))
    );
    assert_eq!(counts(&report), [3, 0, 0, 2, 0]);
    assert_eq!(
        report["tenders"],
        json!({"created": 3, "updated": 0, "unchanged": 0}),
        "Newham's, Camden's and Islington's tender notices"
    );
    assert_eq!(skipped(&report, "buyer_outside_london"), 1, "Kent");
    assert_eq!(skipped(&report, "not_technology"), 1, "Hackney's cleaning");
    assert_eq!(
        skipped(&report, "no_supplier"),
        0,
        "Islington's open tender is a tender"
    );
    let tenders = app.get("/api/v1/tenders?sort=title").await.json();
    let shown: Vec<String> = tenders["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}|{}|{}",
                t["ocid"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
                t["awarded_contract_ids"].as_array().unwrap().len()
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            "ocds-test-camden-gis|complete|2",
            "ocds-test-islington-tender|active|0",
            "ocds-test-newham-revs|complete|1",
        ]
    );

    // Tender, award and a later amendment (first in the file): the amendment's period and value.
    let newham = contract_by_reference(&app, &admin, "ocds-test-newham-revs").await;
    assert_eq!(newham["borough_id"], "newham", "GB-LAE NWM");
    assert_eq!(
        newham["supplier_id"], "civica",
        "Civica UK Limited is an alias"
    );
    assert_eq!(newham["title"], "Revenues and benefits system");
    assert_eq!(
        (
            &newham["start_date"],
            &newham["end_date"],
            &newham["max_end_date"]
        ),
        (
            &json!("2024-04-01"),
            &json!("2030-03-31"),
            &json!("2032-03-31")
        )
    );
    assert_eq!(newham["total_value_gbp"], "1100000.00");
    assert_eq!(newham["procurement_route"], "open_tender");
    assert_eq!(
        newham["service_area_ids"],
        json!(["business-rates", "council-tax", "housing-benefit"])
    );
    assert_eq!(
        newham["source_url"],
        "https://www.contractsfinder.service.gov.uk/Notice/00000000-0000-0000-0000-000000000001"
    );

    // Two awarded suppliers, one cancelled award: two contracts, each with its award's value.
    let esri = contract_by_reference(&app, &admin, "ocds-test-camden-gis:esri").await;
    let astun = contract_by_reference(&app, &admin, "ocds-test-camden-gis:astun-technology").await;
    assert_eq!(
        (&esri["borough_id"], &esri["supplier_id"]),
        (&json!("camden"), &json!("esri-uk"))
    );
    assert_eq!(astun["supplier_id"], "astun");
    assert_eq!(
        (&esri["total_value_gbp"], &astun["total_value_gbp"]),
        (&json!("40000.00"), &json!("20000.50"))
    );
    assert_eq!(esri["service_area_ids"], json!(["gis"]));
    assert_eq!(esri["procurement_route"], "framework");

    let logged = app.change_count();
    let again = imported(&app, "format=ocds", &admin, &package, "application/json").await;
    assert_eq!(counts(&again), [0, 0, 3, 2, 0]);
    assert_eq!(again["tenders"]["unchanged"], 3);
    assert_eq!(app.change_count(), logged);

    // A further amendment moves the end date: one update, logged with before and after.
    let mut amended: Value = serde_json::from_slice(&package).unwrap();
    let mut extension = amended["releases"][0].clone();
    extension["id"] = json!("ocds-test-newham-revs-amendment-2");
    extension["date"] = json!("2026-01-05T10:00:00Z");
    extension["awards"][0]["contractPeriod"]["endDate"] = json!("2031-03-31T23:59:59+01:00");
    amended["releases"].as_array_mut().unwrap().push(extension);
    let body = serde_json::to_vec(&amended).unwrap();
    let logged_id = app.column("SELECT max(id) AS value FROM changes").remove(0);
    let changed = imported(&app, "format=ocds", &admin, &body, "application/json").await;
    assert_eq!(counts(&changed), [0, 1, 2, 2, 0]);
    assert_eq!(changed["contracts"][0]["action"], "updated");
    let updated = contract_by_reference(&app, &admin, "ocds-test-newham-revs").await;
    assert_eq!(
        (&updated["end_date"], &updated["version"]),
        (&json!("2031-03-31"), &json!(2))
    );
    assert_eq!(app.change_count(), logged + 1);
    let feed = app
        .send(
            "GET",
            &format!("/api/v1/changes?after={logged_id}&resource=contracts"),
            Some(&admin),
            None,
            &[],
        )
        .await
        .json();
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let last = &items[0];
    assert_eq!(last["action"], "update");
    assert_eq!(last["before"]["end_date"], "2030-03-31");
    assert_eq!(last["after"]["end_date"], "2031-03-31");
}

#[actix_web::test]
async fn a_register_is_read_whatever_its_headers_dates_and_money_look_like() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let register = fixture("register_hackney.csv");
    let report = imported(
        &app,
        "format=contracts-register&borough=hackney",
        &admin,
        &register,
        "text/csv",
    )
    .await;
    // Ten rows (a blank one aside): eight technology contracts; cleaning and grounds skipped.
    assert_eq!(report["read"], 10);
    assert_eq!(counts(&report), [8, 0, 0, 2, 0]);
    assert_eq!(skipped(&report, "not_technology"), 2);
    assert_eq!(report["borough_id"], "hackney");
    assert_eq!(
        report["new_suppliers"],
        json!([{"id": "acme-cyber-defence", "name": "Acme Cyber Defence Ltd", "row": 6}])
    );
    let columns: Vec<(String, String)> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["header"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(columns.contains(&("supplier".into(), "Supplier Name".into())));
    assert!(columns.contains(&("end_date".into(), "Expiry Date".into())));
    assert!(columns.contains(&(
        "max_end_date".into(),
        "Expiry Date Including Extensions".into()
    )));
    assert!(columns.contains(&("total_value".into(), "Total Contract Value (£)".into())));

    let revs = contract_by_reference(&app, &admin, "register:hackney:HK-ICT-001:civica").await;
    assert_eq!(revs["supplier_id"], "civica");
    assert_eq!(
        (
            &revs["start_date"],
            &revs["end_date"],
            &revs["max_end_date"]
        ),
        (
            &json!("2022-04-01"),
            &json!("2027-03-31"),
            &json!("2029-03-31")
        )
    );
    assert_eq!(revs["total_value_gbp"], "1234567.89");
    assert_eq!(revs["procurement_route"], "framework");
    assert_eq!(
        revs["service_area_ids"],
        json!(["business-rates", "council-tax", "housing-benefit"])
    );

    let mosaic = contract_by_reference(&app, &admin, "register:hackney:HK-ICT-002:servelec").await;
    assert_eq!(
        mosaic["system_id"], "mosaic",
        "a one-word system named with its vendor"
    );
    assert_eq!(mosaic["total_value_gbp"], "450000.00");
    assert_eq!(mosaic["procurement_route"], "direct_award");
    assert_eq!(
        mosaic["service_area_ids"],
        json!(["adult-social-care", "childrens-social-care"])
    );

    let parking =
        contract_by_reference(&app, &admin, "register:hackney:HK-ICT-003:taranto-systems").await;
    assert_eq!(
        (&parking["start_date"], &parking["total_value_gbp"]),
        (&json!("2021-07-01"), &json!("250000.00"))
    );
    assert_eq!(parking["service_area_ids"], json!(["parking"]));

    let security = contract_by_reference(
        &app,
        &admin,
        "register:hackney:HK-ICT-004:acme-cyber-defence",
    )
    .await;
    let laptops = contract_by_reference(
        &app,
        &admin,
        "register:hackney:HK-ICT-005:acme-cyber-defence",
    )
    .await;
    assert_eq!(
        (&security["supplier_id"], &laptops["supplier_id"]),
        (&json!("acme-cyber-defence"), &json!("acme-cyber-defence"))
    );
    assert_eq!(
        (&security["end_date"], &security["total_value_gbp"]),
        (&Value::Null, &Value::Null),
        "blank and TBC"
    );
    assert_eq!(
        laptops["procurement_route"], "framework",
        "a further competition"
    );
    let acme = app
        .send(
            "GET",
            "/api/v1/suppliers/acme-cyber-defence",
            None,
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(
        (&acme["companies_house_number"], &acme["sme"]),
        (&json!("01234567"), &json!(true))
    );

    // One reference, two suppliers: two contracts.
    let esri = contract_by_reference(&app, &admin, "register:hackney:HK-ICT-006:esri").await;
    let astun =
        contract_by_reference(&app, &admin, "register:hackney:HK-ICT-006:astun-technology").await;
    assert_eq!(
        (&esri["total_value_gbp"], &astun["total_value_gbp"]),
        (&json!("60000.00"), &json!("15000.00"))
    );
    assert_eq!(esri["service_area_ids"], json!(["gis"]));

    // No reference: keyed on a hash of the supplier, title and start date.
    let hashed = app.column("SELECT source_reference AS value FROM contracts WHERE supplier_id = 'microsoft' AND borough_id = 'hackney' AND source = 'open_data'");
    assert_eq!(hashed.len(), 1);
    assert!(
        hashed[0].starts_with("register:hackney:")
            && hashed[0].len() == "register:hackney:".len() + 16
    );

    let logged = app.change_count();
    let again = imported(
        &app,
        "format=contracts-register&borough=E09000012",
        &admin,
        &register,
        "text/csv",
    )
    .await;
    assert_eq!(counts(&again), [0, 0, 8, 2, 0]);
    assert_eq!(app.change_count(), logged);
}

#[actix_web::test]
async fn a_register_reimport_keeps_the_boroughs_own_assessment() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let register = fixture("register_hackney.csv");
    imported(
        &app,
        "format=contracts-register&borough=hackney",
        &admin,
        &register,
        "text/csv",
    )
    .await;
    let revs = contract_by_reference(&app, &admin, "register:hackney:HK-ICT-001:civica").await;
    let patched = app
        .send(
            "PATCH",
            &format!("/api/v1/contracts/{}", revs["id"]),
            Some(&admin),
            Some(&json!({"satisfaction": 2, "hosting": "saas"})),
            &[],
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let again = imported(
        &app,
        "format=contracts-register&borough=hackney",
        &admin,
        &register,
        "text/csv",
    )
    .await;
    assert_eq!(
        counts(&again),
        [0, 0, 8, 2, 0],
        "a register says nothing of satisfaction or hosting"
    );
    let kept = contract_by_reference(&app, &admin, "register:hackney:HK-ICT-001:civica").await;
    assert_eq!(
        (&kept["satisfaction"], &kept["hosting"], &kept["version"]),
        (&json!(2), &json!("saas"), &json!(2))
    );
}

#[actix_web::test]
async fn survey_rows_become_survey_contracts_and_a_changed_row_updates_its_contract() {
    let app = TestApp::new();
    let camden = app.key("borough", Some("camden"));
    let survey = fixture("survey_camden.csv");
    let report = imported(&app, "format=survey", &camden, &survey, "text/csv").await;
    assert_eq!(report["read"], 5);
    assert_eq!(counts(&report), [4, 0, 0, 1, 0]);
    assert_eq!(skipped(&report, "template_example"), 1);
    assert_eq!(
        report["new_suppliers"],
        json!([{"id": "acme-bins", "name": "Acme Bins Ltd", "row": 5}])
    );
    assert_eq!(report["warnings"][0]["field"], "system");
    assert_eq!(report["warnings"][0]["value"], "Acme Bins Pro");

    let revs = contract_by_reference(&app, &camden, "camden:civica-openrevenues").await;
    assert_eq!(revs["source"], "survey");
    assert_eq!(revs["system_id"], "civica-openrevenues");
    assert_eq!(
        revs["service_area_ids"],
        json!(["business-rates", "council-tax", "housing-benefit"]),
        "the system's areas"
    );
    assert_eq!(
        (&revs["annual_value_gbp"], &revs["total_value_gbp"]),
        (&json!("150000.00"), &json!("750000.00"))
    );
    assert_eq!(
        (&revs["satisfaction"], &revs["development_confidence"]),
        (&json!(4), &json!(2))
    );
    assert_eq!(revs["framework_name"], "G-Cloud 12");

    let mosaic = contract_by_reference(&app, &camden, "camden:mosaic").await;
    assert_eq!(
        (&mosaic["borough_id"], &mosaic["title"]),
        (&json!("camden"), &json!("Mosaic")),
        "a GSS code; the system names it"
    );
    assert_eq!(
        mosaic["service_area_ids"],
        json!(["adult-social-care", "childrens-social-care"]),
        "area names"
    );
    assert_eq!(
        (
            &mosaic["hosting"],
            &mosaic["procurement_route"],
            &mosaic["data_access"]
        ),
        (
            &json!("on_premises"),
            &json!("open_tender"),
            &json!("charged")
        )
    );
    assert_eq!(mosaic["notes"], "Data extracts are charged per request");

    let bins = contract_by_reference(&app, &camden, "camden:acme-bins-pro").await;
    assert_eq!(
        (&bins["system_id"], &bins["supplier_id"]),
        (&Value::Null, &json!("acme-bins"))
    );
    let parking = contract_by_reference(&app, &camden, "camden:CAM-PK-01").await;
    assert_eq!(
        (&parking["supplier_id"], &parking["hosting"]),
        (&json!("taranto"), &json!("supplier_hosted"))
    );

    let logged = app.change_count();
    let again = imported(&app, "format=survey", &camden, &survey, "text/csv").await;
    assert_eq!(counts(&again), [0, 0, 4, 1, 0]);
    assert_eq!(app.change_count(), logged);

    let changed = String::from_utf8(survey)
        .unwrap()
        .replace(",3,2,3,1,Data extracts", ",4,2,3,1,Data extracts");
    let report = imported(
        &app,
        "format=survey",
        &camden,
        changed.as_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(counts(&report), [0, 1, 3, 1, 0]);
    let mosaic = contract_by_reference(&app, &camden, "camden:mosaic").await;
    assert_eq!(
        (&mosaic["satisfaction"], &mosaic["version"]),
        (&json!(4), &json!(2))
    );
    assert_eq!(app.change_count(), logged + 1);
}

#[actix_web::test]
async fn a_dry_run_reports_the_same_and_writes_nothing() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let before = fingerprint(&app);
    let report = imported(
        &app,
        "format=contracts-register&borough=hackney&dry_run=true",
        &admin,
        &fixture("register_hackney.csv"),
        "text/csv",
    )
    .await;
    assert_eq!(report["outcome"], "checked");
    assert_eq!(counts(&report), [8, 0, 0, 2, 0]);
    assert_eq!(report["new_suppliers"].as_array().unwrap().len(), 1);
    assert!(report["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"].is_null()));
    assert_eq!(fingerprint(&app), before);
}

// ---------------------------------------------------------------------------------------------
// Files that fail change nothing.

/// Posts a file that must fail; returns its report after checking nothing was written.
async fn fails(app: &TestApp, query: &str, body: &[u8], content_type: &str) -> Value {
    let admin = app.key("admin", None);
    let before = fingerprint(app);
    let response = post_import(app, query, Some(&admin), body, content_type).await;
    let report = response.problem(422);
    assert_eq!(report["outcome"], "failed");
    assert_eq!(fingerprint(app), before, "nothing was written");
    report
}

#[actix_web::test]
async fn a_file_that_is_not_csv_changes_nothing() {
    let app = TestApp::new();
    let xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml";
    let report = fails(
        &app,
        "format=contracts-register&borough=hackney",
        xlsx,
        "text/csv",
    )
    .await;
    assert_eq!(report["file_error"]["kind"], "not_csv");
    assert!(
        report["detail"].as_str().unwrap().contains("Excel"),
        "{}",
        report["detail"]
    );
    let json_as_csv = fails(
        &app,
        "format=contracts-finder-csv",
        &fixture("ocds_london_releases.json"),
        "text/csv",
    )
    .await;
    assert!(json_as_csv["detail"]
        .as_str()
        .unwrap()
        .contains("--format ocds"));
}

#[actix_web::test]
async fn a_file_in_the_wrong_encoding_changes_nothing() {
    let app = TestApp::new();
    // "£" in Windows-1252, as Excel's plain "CSV" saves it.
    let register = String::from_utf8(fixture("register_hackney.csv")).unwrap();
    let cp1252: Vec<u8> = register
        .chars()
        .flat_map(|c| match c {
            '£' => vec![0xA3],
            c => c.to_string().into_bytes(),
        })
        .collect();
    let report = fails(
        &app,
        "format=contracts-register&borough=hackney",
        &cp1252,
        "text/csv",
    )
    .await;
    assert_eq!(report["file_error"]["kind"], "wrong_encoding");
    let detail = report["detail"].as_str().unwrap();
    assert!(
        detail.contains("line 1") && detail.contains("UTF-8"),
        "{detail}"
    );
}

#[actix_web::test]
async fn truncated_json_changes_nothing() {
    let app = TestApp::new();
    let package = real_fixture(CF_OCDS_PAGE);
    let report = fails(
        &app,
        "format=ocds",
        &package[..package.len() / 2],
        "application/json",
    )
    .await;
    assert_eq!(report["file_error"]["kind"], "not_json");
    assert!(
        report["detail"].as_str().unwrap().contains("truncated"),
        "{}",
        report["detail"]
    );
    let not_ocds = fails(&app, "format=ocds", br#"{"data": []}"#, "application/json").await;
    assert_eq!(not_ocds["file_error"]["kind"], "not_ocds");
}

#[actix_web::test]
async fn missing_required_columns_change_nothing() {
    let app = TestApp::new();
    let register = "Contract Reference,Title,Start Date,End Date,Value\nX-1,Software support,01/04/2024,31/03/2025,1000\n";
    let report = fails(
        &app,
        "format=contracts-register&borough=camden",
        register.as_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(report["file_error"]["kind"], "missing_columns");
    let detail = report["detail"].as_str().unwrap();
    assert!(
        detail.contains("supplier") && detail.contains("\"Vendor\""),
        "{detail}"
    );
    let survey = "borough,system\nCamden,Mosaic\n";
    let report = fails(&app, "format=survey", survey.as_bytes(), "text/csv").await;
    assert_eq!(report["file_error"]["kind"], "missing_columns");
    assert!(report["detail"].as_str().unwrap().contains("supplier"));
}

#[actix_web::test]
async fn a_bad_row_among_good_ones_changes_nothing_and_is_named() {
    let app = TestApp::new();
    let register = String::from_utf8(fixture("register_hackney.csv"))
        .unwrap()
        .replace("1/7/2021,30/06/2024", "1/7/2021,31/02/2024")
        .replace("\"£120,000\"", "\"£12O,000\"");
    let report = fails(
        &app,
        "format=contracts-register&borough=hackney",
        register.as_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(report["failed"], 2);
    assert_eq!(report["created"], 6, "what the good rows would have done");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(
        (&errors[0]["row"], &errors[0]["field"], &errors[0]["value"]),
        (&json!(5), &json!("end_date"), &json!("31/02/2024"))
    );
    assert!(errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("not a date"));
    assert_eq!(
        (&errors[1]["row"], &errors[1]["field"], &errors[1]["value"]),
        (&json!(7), &json!("total_value"), &json!("£12O,000"))
    );
    assert_eq!(report["detail"], "2 records failed; nothing was written");
}

#[actix_web::test]
async fn contradicting_rows_for_one_contract_fail_and_repeated_rows_are_skipped() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let header = "Reference,Title,Supplier,Start Date,Value,CPV\n";
    let row = "R-1,Payroll software,Zellis UK Ltd,01/04/2024,1000,48000000\n";
    let repeated = format!("{header}{row}{row}");
    let report = imported(
        &app,
        "format=contracts-register&borough=camden",
        &admin,
        repeated.as_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(counts(&report), [1, 0, 0, 1, 0]);
    assert_eq!(skipped(&report, "duplicate"), 1);
    let contradicting = format!("{header}{row}{}", row.replace("1000", "2000"));
    let report = fails(
        &app,
        "format=contracts-register&borough=camden",
        contradicting.as_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(report["errors"][0]["row"], 3);
}

// ---------------------------------------------------------------------------------------------
// Who may import, and what the endpoint accepts.

#[actix_web::test]
async fn an_anonymous_import_is_401_and_a_reader_import_is_403() {
    let app = TestApp::new();
    let before = fingerprint(&app);
    let survey = fixture("survey_camden.csv");
    post_import(&app, "format=survey", None, &survey, "text/csv")
        .await
        .problem(401);
    let reader = app.key("reader", None);
    post_import(&app, "format=survey", Some(&reader), &survey, "text/csv")
        .await
        .problem(403);
    assert_eq!(fingerprint(&app), before);
}

#[actix_web::test]
async fn a_borough_key_imports_its_own_survey_and_register_only() {
    let app = TestApp::new();
    let camden = app.key("borough", Some("camden"));
    let before = fingerprint(&app);
    // Another borough's register, Contracts Finder and OCDS data need an admin key.
    let register = fixture("register_hackney.csv");
    post_import(
        &app,
        "format=contracts-register&borough=hackney",
        Some(&camden),
        &register,
        "text/csv",
    )
    .await
    .problem(403);
    post_import(
        &app,
        "format=contracts-finder-csv",
        Some(&camden),
        &real_fixture(CF_EXPORT),
        "text/csv",
    )
    .await
    .problem(403);
    post_import(
        &app,
        "format=ocds",
        Some(&camden),
        &fixture("ocds_london_releases.json"),
        "application/json",
    )
    .await
    .problem(403);
    // A survey row of another borough is an error in that row.
    let survey = String::from_utf8(fixture("survey_camden.csv"))
        .unwrap()
        .replace("\nE09000007,", "\nIslington,");
    let report = post_import(
        &app,
        "format=survey",
        Some(&camden),
        survey.as_bytes(),
        "text/csv",
    )
    .await
    .problem(422);
    assert_eq!(report["errors"][0]["field"], "borough");
    assert_eq!(fingerprint(&app), before);

    // Its own register needs no borough parameter; naming its own borough (by name) is fine too.
    let report = imported(
        &app,
        "format=contracts-register",
        &camden,
        &register,
        "text/csv",
    )
    .await;
    assert_eq!(
        (&report["borough_id"], &report["created"]),
        (&json!("camden"), &json!(8))
    );
    let report = imported(
        &app,
        "format=contracts-register&borough=Camden",
        &camden,
        &register,
        "text/csv",
    )
    .await;
    assert_eq!(report["unchanged"], 8);
}

#[actix_web::test]
async fn bad_parameters_and_bodies_are_400() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let survey = fixture("survey_camden.csv");
    for (query, named) in [
        ("format=xlsx", "format"),
        ("", "format"),
        ("format=survey&colour=red", "colour"),
        ("format=survey&dry_run=maybe", "dry_run"),
        ("format=contracts-register", "borough"),
        ("format=contracts-register&borough=gotham", "borough"),
    ] {
        let problem = post_import(&app, query, Some(&admin), &survey, "text/csv")
            .await
            .problem(400);
        assert!(
            problem["detail"].as_str().unwrap().contains(named),
            "{query}: {problem}"
        );
    }
    let empty = post_import(&app, "format=survey", Some(&admin), b"", "text/csv")
        .await
        .problem(400);
    assert!(empty["detail"].as_str().unwrap().contains("empty"));
    let form = post_import(
        &app,
        "format=survey",
        Some(&admin),
        b"--x\r\n\r\n--x--",
        "multipart/form-data; boundary=x",
    )
    .await
    .problem(400);
    assert!(form["detail"].as_str().unwrap().contains("form"), "{form}");
    let no_file = post_import(
        &app,
        "format=survey",
        Some(&admin),
        b"--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n--x--\r\n",
        "multipart/form-data; boundary=x",
    )
    .await
    .problem(400);
    assert!(
        no_file["detail"]
            .as_str()
            .unwrap()
            .contains("field named `file`"),
        "{no_file}"
    );
}

#[actix_web::test]
async fn a_form_upload_imports_its_file_field_as_the_body_would() {
    let survey = fixture("survey_camden.csv");
    let mut form = Vec::new();
    form.extend_from_slice(
        b"--boundary\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nfrom a browser\r\n\
          --boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"survey.csv\"\r\n\
          Content-Type: text/csv\r\n\r\n",
    );
    form.extend_from_slice(&survey);
    form.extend_from_slice(b"\r\n--boundary--\r\n");
    let as_form = TestApp::new();
    let admin = as_form.key("admin", None);
    let from_form = imported(
        &as_form,
        "format=survey&dry_run=true",
        &admin,
        &form,
        "multipart/form-data; boundary=boundary",
    )
    .await;
    let as_body = TestApp::new();
    let admin = as_body.key("admin", None);
    let from_body = imported(
        &as_body,
        "format=survey&dry_run=true",
        &admin,
        &survey,
        "text/csv",
    )
    .await;
    assert_eq!(from_form, from_body);
    assert!(from_form["read"].as_u64().unwrap() > 0, "{from_form}");
}

#[actix_web::test]
async fn a_file_over_50_mb_is_413_while_other_routes_keep_the_default_limit() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let before = fingerprint(&app);
    let huge = vec![b'a'; 50 * 1024 * 1024 + 1];
    post_import(&app, "format=survey", Some(&admin), &huge, "text/csv")
        .await
        .problem(413);
    // A 1 MB register is fine here...
    let mut register = String::from("Reference,Title,Supplier,Value\n");
    while register.len() < 1024 * 1024 {
        register.push_str("R,Office cleaning services for the town hall and libraries,Sparkle Office Cleaning Ltd,1000\n");
    }
    let report = imported(
        &app,
        "format=contracts-register&borough=camden",
        &admin,
        register.as_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(report["created"], 0);
    // ...but not as the body of a contract.
    let padding = "x".repeat(1024 * 1024);
    let response = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&json!({"notes": padding})),
            &[],
        )
        .await;
    response.problem(413);
    assert_eq!(fingerprint(&app), before);
}

#[actix_web::test]
async fn an_http_import_is_logged_as_an_import_by_the_keys_holder() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let before = app.change_count();
    imported(
        &app,
        "format=ocds",
        &admin,
        &fixture("ocds_london_releases.json"),
        "application/json",
    )
    .await;
    let actors = app.column(&format!(
        "SELECT DISTINCT concat_ws('|', actor_kind, coalesce(actor_key_id::text, 'none'), actor_name) AS value FROM changes WHERE id > {before}"
    ));
    assert_eq!(actors.len(), 1, "{actors:?}");
    assert!(
        actors[0].starts_with("import|none|test admin"),
        "{}",
        actors[0]
    );
    // Three contracts and the three tenders of their processes.
    assert_eq!(app.change_count(), before + 6);
}

// ---------------------------------------------------------------------------------------------
// The command line.

fn citytools(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_citytools"))
        .args(args)
        .env("DATABASE_URL", &app.url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run citytools")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[actix_web::test]
async fn the_command_line_prints_the_survey_template() {
    let output = Command::new(env!("CARGO_BIN_EXE_citytools"))
        .args(["import", "--template", "survey"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let template = text(&output.stdout);
    let lines: Vec<&str> = template.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one example row");
    assert!(lines[0].starts_with("borough,service_areas,system,supplier,contract_title,start_date,end_date,max_end_date,annual_value_gbp,total_value_gbp,hosting,procurement_route,framework_name,data_access,satisfaction,value_for_money,support_confidence,development_confidence,notes"));
    assert!(lines[1].ends_with(",example"));

    // The template imports as it is: its example row is skipped.
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let report = imported(
        &app,
        "format=survey",
        &admin,
        template.as_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(counts(&report), [0, 0, 0, 1, 0]);
}

#[actix_web::test]
async fn the_command_line_imports_reports_and_is_idempotent() {
    let app = TestApp::new();
    let path = real_path(CF_EXPORT);
    let path = path.to_str().unwrap();
    let before = app.change_count();
    let first = citytools(
        &app,
        &["import", "--format", "contracts-finder-csv", "--json", path],
    );
    assert!(first.status.success(), "{}", text(&first.stderr));
    let summary = text(&first.stderr);
    assert!(
        summary.contains("1 created, 0 updated, 0 unchanged, 999 skipped, 0 failed"),
        "{summary}"
    );
    assert!(
        summary.contains("971  the buyer is not one of the 33 London authorities"),
        "{summary}"
    );
    assert!(
        summary.contains("Eurovia Infrastructure (eurovia-infrastructure)"),
        "{summary}"
    );
    let report: Value =
        serde_json::from_str(text(&first.stdout).trim()).expect("one JSON report on stdout");
    assert_eq!(counts(&report), [1, 0, 0, 999, 0]);
    assert_eq!(report["file"], CF_EXPORT);
    let actors = app.column(&format!(
        "SELECT DISTINCT actor_kind || '|' || actor_name AS value FROM changes WHERE id > {before}"
    ));
    assert_eq!(actors.len(), 1);
    assert!(
        actors[0].starts_with(&format!("import|citytools import {CF_EXPORT} (")),
        "{}",
        actors[0]
    );

    let second = citytools(&app, &["import", "--format", "contracts-finder-csv", path]);
    assert!(second.status.success());
    assert!(text(&second.stderr).contains("0 created, 0 updated, 1 unchanged"));
    assert!(
        second.stdout.is_empty(),
        "without --json, nothing on stdout"
    );
    assert_eq!(app.change_count(), before + 2);
}

#[actix_web::test]
async fn the_command_line_fails_a_bad_file_without_writing_and_dry_runs_write_nothing() {
    let app = TestApp::new();
    let before = fingerprint(&app);
    let dir = std::env::temp_dir().join(format!("citytools-import-test-{}", app.database));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.csv");
    let register = String::from_utf8(fixture("register_hackney.csv"))
        .unwrap()
        .replace("30/09/2026", "2026-09-31");
    std::fs::write(&bad, register).unwrap();
    let good = dir.join("good.csv");
    std::fs::write(&good, fixture("register_hackney.csv")).unwrap();

    let failed = citytools(
        &app,
        &[
            "import",
            "--format",
            "contracts-register",
            "--borough",
            "hackney",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!failed.status.success());
    let stderr = text(&failed.stderr);
    assert!(
        stderr.contains("FAILED") && stderr.contains("row 3, end_date = \"2026-09-31\""),
        "{stderr}"
    );

    let dry = citytools(
        &app,
        &[
            "import",
            "--format",
            "contracts-register",
            "--borough",
            "hackney",
            "--dry-run",
            good.to_str().unwrap(),
        ],
    );
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(text(&dry.stderr).contains("8 would be created"));

    let missing = citytools(
        &app,
        &[
            "import",
            "--format",
            "contracts-register",
            good.to_str().unwrap(),
        ],
    );
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("--borough"));
    assert_eq!(fingerprint(&app), before);
    std::fs::remove_dir_all(&dir).unwrap();
}
