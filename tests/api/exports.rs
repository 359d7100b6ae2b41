//! Exports: the iCalendar feed of contract end dates, read back with an iCalendar parser, and the
//! OCDS release package, validated against the OCDS 1.1 release-package schema.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use diesel::RunQueryDsl;
use icalendar::{Calendar, Component, DatePerhapsTime};
use serde_json::Value;

use citytools::api::exports::ocds_context;
use citytools::config;
use citytools::export::ical::CALENDAR_NAME;
use citytools::export::ocds::{GSS_SCHEME, SERVICE_AREA_SCHEME};

use crate::helpers::{TestApp, TestResponse};

const CALENDAR: &str = "/api/v1/contracts/calendar.ics";

/// Runs one SQL statement with text parameters.
fn execute(app: &TestApp, sql: &str, params: &[&str]) {
    let mut query = diesel::sql_query(sql).into_boxed();
    for param in params {
        query = query.bind::<diesel::sql_types::Text, _>(param.to_string());
    }
    query
        .execute(&mut app.conn())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The response as a calendar, after checking the RFC 5545 line rules the parser forgives.
fn calendar(response: &TestResponse) -> Calendar {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/calendar; charset=utf-8")
    );
    let text = response.text();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(text.ends_with("END:VCALENDAR\r\n"));
    assert!(
        !text.replace("\r\n", "").contains(['\r', '\n']),
        "every line ends with CRLF"
    );
    for line in text.split_terminator("\r\n") {
        assert!(line.len() <= 75, "{line:?} is longer than 75 octets");
    }
    text.parse::<Calendar>()
        .unwrap_or_else(|e| panic!("not a calendar ({e}): {text}"))
}

fn uids(calendar: &Calendar) -> BTreeSet<String> {
    calendar
        .events()
        .map(|event| event.get_uid().expect("every event has a UID").to_owned())
        .collect()
}

/// The UIDs the calendar should hold for the contracts `sql` selects (a column `id`).
fn expected_uids(app: &TestApp, sql: &str) -> BTreeSet<String> {
    app.column(&format!(
        "SELECT 'contract-' || id || '@citytools' AS value FROM ({sql}) AS selected"
    ))
    .into_iter()
    .collect()
}

#[actix_web::test]
async fn calendar_has_an_all_day_event_for_every_contract_with_an_end_date() {
    let app = TestApp::new();
    // One contract without an end date, which has no event.
    execute(
        &app,
        "UPDATE contracts SET end_date = NULL, max_end_date = NULL
         WHERE id = (SELECT min(id) FROM contracts)",
        &[],
    );
    let calendar = calendar(&app.get(CALENDAR).await);
    assert_eq!(calendar.get_name(), Some(CALENDAR_NAME));
    assert_eq!(calendar.property_value("VERSION"), Some("2.0"));
    assert!(calendar.property_value("PRODID").is_some());

    let expected = expected_uids(&app, "SELECT id FROM contracts WHERE end_date IS NOT NULL");
    assert!(expected.len() > 500, "the seeds hold many dated contracts");
    assert_eq!(calendar.events().count(), expected.len());
    assert_eq!(uids(&calendar), expected);

    let row = app.column(
        "SELECT id || ' ' || end_date AS value FROM contracts
         WHERE end_date IS NOT NULL ORDER BY id LIMIT 1",
    );
    let (id, end) = row[0].split_once(' ').unwrap();
    let end = NaiveDate::parse_from_str(end, "%Y-%m-%d").unwrap();
    let event = calendar
        .events()
        .find(|event| event.get_uid() == Some(&format!("contract-{id}@citytools")))
        .unwrap();
    assert_eq!(event.get_start(), Some(DatePerhapsTime::Date(end)));
    assert_eq!(
        event.get_end(),
        Some(DatePerhapsTime::Date(end.succ_opt().unwrap())),
        "DTEND is the day after: the event is the end date, all day"
    );
    assert!(event.get_timestamp().is_some(), "DTSTAMP");
    let url = format!("http://localhost:8080/api/v1/contracts/{id}");
    assert_eq!(event.get_url(), Some(url.as_str()));
    assert!(event.get_description().unwrap().contains(&url));
}

#[actix_web::test]
async fn calendar_uids_are_stable_across_requests_and_changes() {
    let app = TestApp::new();
    let first = app.get(CALENDAR).await.text();
    let second = app.get(CALENDAR).await.text();
    assert_eq!(first, second, "the same data gives the same calendar");

    let id = &app.column("SELECT min(id) AS value FROM contracts WHERE end_date IS NOT NULL")[0];
    execute(
        &app,
        "UPDATE contracts SET end_date = '2031-07-15', max_end_date = '2033-07-15'
         WHERE id = $1::bigint",
        &[id],
    );
    let changed = calendar(&app.get(CALENDAR).await);
    assert_eq!(uids(&changed), uids(&first.parse().unwrap()));
    let event = changed
        .events()
        .find(|event| event.get_uid() == Some(&format!("contract-{id}@citytools")))
        .unwrap();
    assert_eq!(
        event.get_start(),
        Some(DatePerhapsTime::Date(
            NaiveDate::from_ymd_opt(2031, 7, 15).unwrap()
        ))
    );
    assert!(event
        .get_description()
        .unwrap()
        .contains("Latest end date with every extension: 2033-07-15"));
}

#[actix_web::test]
async fn calendar_takes_the_contract_filters() {
    let app = TestApp::new();
    let response = app
        .get(&format!("{CALENDAR}?borough=camden,E09000019"))
        .await;
    let expected = expected_uids(
        &app,
        "SELECT id FROM contracts
         WHERE borough_id IN ('camden', 'islington') AND end_date IS NOT NULL",
    );
    assert!(!expected.is_empty());
    assert_eq!(uids(&calendar(&response)), expected);

    let response = app
        .get(&format!(
            "{CALENDAR}?service_area=revenues-and-benefits&ends_after=2026-01-01&ends_before=2027-12-31&source=illustrative"
        ))
        .await;
    let expected = expected_uids(
        &app,
        "SELECT DISTINCT c.id FROM contracts c
         JOIN contract_service_areas csa ON csa.contract_id = c.id
         JOIN service_areas sa ON sa.id = csa.service_area_id
         WHERE (sa.id = 'revenues-and-benefits' OR sa.parent_id = 'revenues-and-benefits')
           AND c.end_date BETWEEN '2026-01-01' AND '2027-12-31' AND c.source = 'illustrative'",
    );
    assert!(!expected.is_empty());
    assert_eq!(uids(&calendar(&response)), expected);

    let none = calendar(&app.get(&format!("{CALENDAR}?q=nosuchwordanywhere")).await);
    assert_eq!(none.events().count(), 0);
}

#[actix_web::test]
async fn calendar_text_is_escaped_and_folded() {
    let app = TestApp::new();
    let id = &app.column("SELECT min(id) AS value FROM contracts WHERE borough_id = 'camden'")[0];
    let title = format!(
        "Revenues, benefits; and a back\\slash: {} – with café support\nand a second line",
        "a long phrase that goes on ".repeat(8)
    );
    execute(
        &app,
        "UPDATE contracts SET title = $1, system_id = NULL, end_date = '2028-02-29'
         WHERE id = $2::bigint",
        &[&title, id],
    );
    let response = app.get(&format!("{CALENDAR}?borough=camden")).await;
    let text = response.text();
    let unfolded = text.replace("\r\n ", "");
    assert!(
        unfolded.contains("Revenues\\, benefits\\; and a back\\\\slash: a long phrase"),
        "TEXT values escape commas, semicolons and backslashes"
    );
    assert!(unfolded.contains("café support\\nand a second line"));
    assert!(
        text.contains("\r\n "),
        "long lines are folded onto continuation lines"
    );

    let calendar = calendar(&response);
    let event = calendar
        .events()
        .find(|event| event.get_uid() == Some(&format!("contract-{id}@citytools")))
        .unwrap();
    assert_eq!(
        event.get_summary(),
        Some(format!("Camden: {title} contract ends (illustrative)").as_str()),
        "the summary names the borough and, without a system, the title"
    );
    let description = event.get_description().unwrap();
    assert!(description.starts_with(&title), "{description}");
    assert!(description.contains("\nSupplier: "));
    assert!(description.contains("\nService areas: "));
    assert!(description.contains("not a real contract"));
}

#[actix_web::test]
async fn calendar_never_shows_assessments_even_with_a_key() {
    let app = TestApp::new();
    execute(
        &app,
        "UPDATE contracts SET notes = 'confidential remark', satisfaction = 1
         WHERE borough_id = 'camden'",
        &[],
    );
    let key = app.key("admin", None);
    let response = app
        .send(
            "GET",
            &format!("{CALENDAR}?borough=camden"),
            Some(&key),
            None,
            &[],
        )
        .await;
    let text = response.text();
    assert!(calendar(&response).events().count() > 0);
    assert!(!text.contains("confidential remark"));
    assert!(!text.to_lowercase().contains("satisfaction"));
}

#[actix_web::test]
async fn calendar_refuses_bad_filters_and_bad_keys() {
    let app = TestApp::new();
    let problem = app
        .get(&format!("{CALENDAR}?borough=camdn"))
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "borough");
    let problem = app
        .get(&format!("{CALENDAR}?ends_after=31/03/2026"))
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "ends_after");
    for paging in ["page=2", "per_page=10", "format=csv", "sort=end_date"] {
        let problem = app.get(&format!("{CALENDAR}?{paging}")).await.problem(400);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("unknown query parameter"),
            "{paging}: {problem}"
        );
    }
    app.send("GET", CALENDAR, Some("ct_not_a_key"), None, &[])
        .await
        .problem(401);
}

#[actix_web::test]
async fn calendar_documents_every_contract_filter() {
    let document = serde_json::to_value(citytools::app::openapi()).unwrap();
    let names = |path: &str| -> BTreeSet<String> {
        document["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut filters = names("/api/v1/contracts");
    for list_only in ["sort", "page", "per_page", "cursor", "count", "format"] {
        assert!(filters.remove(list_only));
    }
    assert_eq!(names(CALENDAR), filters);
    let operation = &document["paths"][CALENDAR]["get"];
    assert_eq!(operation["tags"][0], "contracts");
    assert!(operation["responses"]["200"]["content"]["text/calendar"].is_object());
}

// ---------------------------------------------------------------------------------------------
// OCDS

/// A validator for OCDS 1.1 release packages, from the schemas in `tests/fixtures/ocds/`. The
/// package schema refers to the release schema by its URL: the local copy is registered under
/// that URL and retrieval is off, so nothing is fetched.
fn package_validator() -> jsonschema::Validator {
    let package: Value =
        serde_json::from_str(include_str!("../fixtures/ocds/release-package-schema.json")).unwrap();
    let release: Value =
        serde_json::from_str(include_str!("../fixtures/ocds/release-schema.json")).unwrap();
    let release_url = package["properties"]["releases"]["items"]["$ref"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(release["id"], release_url.as_str());
    let registry = jsonschema::Registry::new()
        .add(release_url, release)
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_registry(&registry)
        .offline()
        .should_validate_formats(true)
        .build(&package)
        .expect("the OCDS package schema compiles")
}

fn assert_valid_package(package: &Value) {
    let validator = package_validator();
    let errors: Vec<String> = validator
        .iter_errors(package)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid OCDS release package:\n{}",
        errors.join("\n")
    );
}

#[actix_web::test]
async fn ocds_validator_checks_releases_through_the_reference() {
    let app = TestApp::new();
    let package = ocds(
        &app.get("/api/v1/contracts?borough=camden&format=ocds")
            .await,
    );
    let validator = package_validator();
    assert!(validator.is_valid(&package));
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut copy = package.clone();
        change(&mut copy);
        !validator.is_valid(&copy)
    };
    assert!(broken(
        &|p| p["releases"][0]["tag"] = serde_json::json!(["bogus"])
    ));
    assert!(broken(
        &|p| p["releases"][0]["contracts"][0]["status"] = "open".into()
    ));
    assert!(broken(&|p| p["releases"][0]["date"] = "31/03/2026".into()));
    assert!(broken(&|p| p["publishedDate"] = "yesterday".into()));
}

fn ocds(response: &TestResponse) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("application/json")
    );
    response.json()
}

fn release_ids(package: &Value) -> BTreeSet<String> {
    package["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|release| release["contracts"][0]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn ocds_package_validates_against_the_schema() {
    let app = TestApp::new();
    let package = ocds(&app.get("/api/v1/contracts?format=ocds").await);
    assert_valid_package(&package);
    let total = app.column("SELECT count(*) AS value FROM contracts")[0].clone();
    assert_eq!(
        package["releases"].as_array().unwrap().len().to_string(),
        total,
        "every contract, not a page"
    );
    assert_eq!(package["version"], "1.1");
    assert!(package["publisher"]["name"].is_string());
    assert!(package["license"].as_str().unwrap().starts_with("https://"));
    assert_eq!(
        package["publishedDate"],
        app.column(
            "SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS value FROM contracts"
        )[0]
        .as_str(),
        "the date of the newest change to the contracts"
    );
}

#[actix_web::test]
async fn ocds_releases_follow_the_filters_and_the_ocid_prefix() {
    let app = TestApp::new();
    let query = "borough=camden,islington&service_area=revenues-and-benefits&sort=end_date";
    let package = ocds(
        &app.get(&format!("/api/v1/contracts?{query}&format=ocds&per_page=1"))
            .await,
    );
    assert_valid_package(&package);
    let json = app
        .get(&format!("/api/v1/contracts?{query}&per_page=500"))
        .await
        .json();
    let json_ids: Vec<String> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].to_string())
        .collect();
    assert!(!json_ids.is_empty());
    let package_ids: Vec<String> = package["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|release| release["contracts"][0]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        package_ids, json_ids,
        "the same contracts in the same order"
    );

    let prefix = config::ocid_prefix(|name| std::env::var(name).ok()).unwrap();
    for release in package["releases"].as_array().unwrap() {
        let id = release["contracts"][0]["id"].as_str().unwrap();
        assert_eq!(release["ocid"], format!("{prefix}-{id}"));
        let buyer = &release["parties"][0];
        assert_eq!(buyer["roles"][0], "buyer");
        assert_eq!(release["buyer"]["id"], buyer["id"]);
        assert_eq!(buyer["additionalIdentifiers"][0]["scheme"], GSS_SCHEME);
        assert!(["E09000007", "E09000019"]
            .contains(&buyer["additionalIdentifiers"][0]["id"].as_str().unwrap()));
        let supplier = &release["parties"][1];
        assert_eq!(supplier["roles"][0], "supplier");
        assert_eq!(release["awards"][0]["suppliers"][0]["id"], supplier["id"]);
        let contract = &release["contracts"][0];
        assert_eq!(contract["awardID"], release["awards"][0]["id"]);
        assert_eq!(
            contract["items"][0]["classification"]["scheme"],
            SERVICE_AREA_SCHEME
        );
    }
    assert_eq!(
        package["uri"],
        format!("http://localhost:8080/api/v1/contracts?{query}&format=ocds&per_page=1")
    );
}

#[actix_web::test]
async fn ocds_carries_dates_values_and_statuses() {
    let app = TestApp::new();
    let id = &app.column("SELECT min(id) AS value FROM contracts WHERE borough_id = 'camden'")[0];
    execute(
        &app,
        "UPDATE contracts SET start_date = '2020-04-01', end_date = '2021-03-31',
                max_end_date = '2022-03-31', total_value_gbp = 1234567.89
         WHERE id = $1::bigint",
        &[id],
    );
    let response = app
        .get("/api/v1/boroughs/camden/contracts?format=ocds")
        .await;
    assert!(
        response
            .text()
            .contains(r#""amount":1234567.89,"currency":"GBP""#),
        "money is the exact decimal"
    );
    let package = ocds(&response);
    assert_valid_package(&package);
    let expected = app.column("SELECT id AS value FROM contracts WHERE borough_id = 'camden'");
    assert_eq!(release_ids(&package), expected.into_iter().collect());
    let release = package["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|release| release["contracts"][0]["id"] == id.as_str())
        .unwrap();
    let contract = &release["contracts"][0];
    assert_eq!(contract["status"], "terminated");
    assert_eq!(contract["period"]["startDate"], "2020-04-01T00:00:00Z");
    assert_eq!(contract["period"]["endDate"], "2021-03-31T23:59:59Z");
    assert_eq!(contract["period"]["maxExtentDate"], "2022-03-31T23:59:59Z");
    assert_eq!(contract["value"]["currency"], "GBP");
    assert!(contract["description"]
        .as_str()
        .unwrap()
        .contains("not a real contract"));
}

#[actix_web::test]
async fn ocds_never_shows_assessments_even_with_a_key() {
    let app = TestApp::new();
    execute(
        &app,
        "UPDATE contracts SET notes = 'confidential remark', satisfaction = 1, value_for_money = 2
         WHERE borough_id = 'camden'",
        &[],
    );
    let key = app.key("reader", None);
    let response = app
        .send(
            "GET",
            "/api/v1/contracts?borough=camden&format=ocds",
            Some(&key),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    let text = response.text();
    assert_valid_package(&ocds(&response));
    assert!(!text.contains("confidential remark"));
    for field in [
        "satisfaction",
        "value_for_money",
        "support_confidence",
        "notes",
    ] {
        assert!(!text.contains(field), "{field}");
    }
}

#[actix_web::test]
async fn ocds_of_no_contracts_is_an_empty_package() {
    let app = TestApp::new();
    let package = ocds(
        &app.get("/api/v1/contracts?q=nosuchwordanywhere&format=ocds")
            .await,
    );
    assert_eq!(package["releases"], serde_json::json!([]));
    assert!(package["publishedDate"].is_string());
}

#[actix_web::test]
async fn ocds_refuses_bad_filters() {
    let app = TestApp::new();
    let problem = app
        .get("/api/v1/contracts?format=ocds&borough=camdn")
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "borough");
    app.get("/api/v1/contracts?format=xml").await.problem(400);
    let problem = app.get("/api/v1/boroughs?format=ocds").await.problem(400);
    assert_eq!(
        problem["errors"][0]["field"], "format",
        "only contracts have OCDS"
    );
}

#[actix_web::test]
async fn ocds_release_builder_takes_any_prefix_and_validates() {
    let app = TestApp::new();
    let mut conn = app.conn();
    let id: i64 = app.column("SELECT min(id) AS value FROM contracts")[0]
        .parse()
        .unwrap();
    let record = citytools::queries::contracts::find(&mut conn, id)
        .unwrap()
        .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let context = ocds_context(&mut conn, "ocds-a1b2c3", "https://api.example", today).unwrap();
    let release = serde_json::to_value(context.release(&record)).unwrap();
    assert_eq!(release["ocid"], format!("ocds-a1b2c3-{id}"));
    assert_valid_package(&serde_json::json!({
        "uri": "https://api.example/api/v1/contracts?format=ocds",
        "version": "1.1",
        "publishedDate": "2026-01-01T00:00:00Z",
        "publisher": {"name": "test"},
        "releases": [release],
    }));
}
