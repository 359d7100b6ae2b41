//! Tenders: London technology tender and planning notices synced from the recorded real
//! Contracts Finder page (replayed by a loopback server), listed with their incumbents and
//! linked to the contract their award becomes.

use serde_json::{json, Value};

use crate::helpers::{sort_param, TestApp};
use crate::sync::{count, healthy, move_buyers, package, summary_of, sync, text, Server};

/// The recorded page with three of its tender notices moved to London boroughs (the real page
/// has no London technology tender): release 62 ("Email Security Solution") to Croydon, 26
/// ("Workstation, Digital camera, Software, Support") to Camden with its closing date moved into
/// the future, and 74 and 83 (one "Electronic Payment System" process: its tender, and an
/// amendment published twelve minutes later that comes first on the page) to Merton.
pub(crate) fn tender_package() -> Value {
    let mut package = package();
    let moves = [
        (62, "London Borough of Croydon"),
        (26, "London Borough of Camden"),
        (74, "London Borough of Merton"),
        (83, "London Borough of Merton"),
    ];
    move_buyers(&mut package, &moves);
    package["releases"][26]["tender"]["tenderPeriod"]["endDate"] = json!("2099-01-15T23:59:59Z");
    package
}

/// The Croydon tender's process.
pub(crate) const CROYDON_OCID: &str = "ocds-b5fd17-76b1d25d-854c-498b-a6d1-33d7cdc244a1";
const MERTON_OCID: &str = "ocds-b5fd17-4336529a-8781-49a7-af7f-1293827c28f6";
const CAMDEN_OCID: &str = "ocds-b5fd17-23d79f04-8f30-47f5-80d6-306a71f8d56a";

/// An award of the Croydon tender, as Contracts Finder would publish it later.
fn croydon_award() -> Value {
    let mut release = tender_package()["releases"][62].clone();
    release["id"] = json!(format!("{CROYDON_OCID}-award"));
    release["tag"] = json!(["award"]);
    release["date"] = json!("2022-12-01T10:00:00Z");
    release["awards"] = json!([{
        "id": "1",
        "status": "active",
        "suppliers": [{"name": "Mimecast Services Limited"}],
        "value": {"amount": 42000, "currency": "GBP"},
        "contractPeriod": {"startDate": "2023-01-01T00:00:00Z", "endDate": "2099-12-31T23:59:59Z"}
    }]);
    let mut package = tender_package();
    package["releases"] = json!([release]);
    package
}

fn synced(app: &TestApp, server: &Server) -> Value {
    let output = sync(app, server, &["--since", "2022-10-19"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    summary_of(&output)
}

async fn tender_by_ocid(app: &TestApp, ocid: &str) -> Value {
    let id = app.column(&format!(
        "SELECT id AS value FROM tenders WHERE ocid = '{ocid}'"
    ));
    assert_eq!(id.len(), 1, "one tender for {ocid}");
    app.get(&format!("/api/v1/tenders/{}", id[0])).await.json()
}

#[actix_web::test]
async fn a_sync_makes_each_london_technology_tender_once_with_its_latest_values() {
    let server = Server::start(tender_package(), healthy());
    let app = TestApp::new();
    let summary = synced(&app, &server);
    assert_eq!(count(&summary, "tenders_added"), 3);
    assert_eq!(count(&summary, "tenders_updated"), 0);
    // Merton's amendment (page 5) came before its older tender notice (page 6), which changes
    // nothing.
    assert_eq!(count(&summary, "tenders_unchanged"), 1);

    let list = app.get("/api/v1/tenders?sort=title").await.json();
    assert_eq!(list["meta"]["total"], 3);
    let boroughs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["borough_id"].as_str().unwrap())
        .collect();
    assert_eq!(boroughs, ["merton", "croydon", "camden"]);

    let merton = tender_by_ocid(&app, MERTON_OCID).await;
    assert_eq!(merton["title"], "Electronic Payment System");
    assert_eq!(
        merton["description"],
        "Electronic Payment Solution\r\n\r\nAdditional information: Is a Recurrent Procurement Type? : No",
        "the amendment's text, not the older notice's"
    );
    assert_eq!(merton["status"], "active");
    assert_eq!(merton["closing_date"], "2022-11-18");
    assert_eq!(merton["published_date"], "2022-10-19");
    assert_eq!(merton["service_area_ids"], json!(["payments-and-income"]));
    assert_eq!(merton["source"], "open_data");
    assert!(merton["source_url"]
        .as_str()
        .unwrap()
        .starts_with("https://www.contractsfinder.service.gov.uk/Notice/"));
    assert_eq!(merton["sync_run_id"], summary["run_id"]);
    assert!(merton["retrieved_at"].is_string());
    assert_eq!(merton["awarded_contract_ids"], json!([]));

    let croydon = tender_by_ocid(&app, CROYDON_OCID).await;
    assert_eq!(croydon["title"], "Email Security Solution");
    assert_eq!(croydon["value_gbp"], Value::Null);

    // Each creation is in the change feed, once.
    let logged = app.column(
        "SELECT count(*) AS value FROM changes WHERE resource = 'tenders' AND action = 'create'",
    );
    assert_eq!(logged, vec!["3"]);
    let feed = app.get("/api/v1/changes?resource=tenders").await.json();
    assert_eq!(feed["items"].as_array().unwrap().len(), 3);

    // The run counts them at /sources.
    let sources = app.get("/api/v1/sources").await.json();
    assert_eq!(sources["items"][0]["last_run"]["tenders_added"], 3);

    // A second sync of the same pages writes nothing.
    let before = app.fingerprint(&[
        ("tenders", "t.id"),
        ("tender_service_areas", "t.tender_id, t.service_area_id"),
        ("changes", "t.id"),
    ]);
    let again = synced(&app, &server);
    assert_eq!(
        (
            count(&again, "tenders_added"),
            count(&again, "tenders_updated"),
            count(&again, "tenders_unchanged")
        ),
        (0, 0, 4)
    );
    let after = app.fingerprint(&[
        ("tenders", "t.id"),
        ("tender_service_areas", "t.tender_id, t.service_area_id"),
        ("changes", "t.id"),
    ]);
    assert_eq!(before, after);
}

#[actix_web::test]
async fn a_tender_shows_its_incumbents_and_the_contract_its_award_became() {
    let server = Server::start(tender_package(), healthy());
    let app = TestApp::new();
    synced(&app, &server);
    let croydon = tender_by_ocid(&app, CROYDON_OCID).await;
    let area = croydon["service_area_ids"][0].as_str().unwrap().to_owned();
    assert_eq!(area, "productivity-and-collaboration");

    // The incumbents are exactly Croydon's current contracts in the tender's area.
    let expected = app.contract_ids(&format!(
        "SELECT c.id AS value FROM contracts c \
         JOIN contract_service_areas a ON a.contract_id = c.id \
         WHERE c.borough_id = 'croydon' AND a.service_area_id = '{area}' \
         AND (c.end_date IS NULL OR c.end_date >= CURRENT_DATE) ORDER BY c.id"
    ));
    assert!(
        !expected.is_empty(),
        "the seeds give Croydon a contract there"
    );
    let mut incumbents: Vec<Value> = croydon["incumbents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    incumbents.sort_by_key(|id| id.as_i64());
    assert_eq!(incumbents, expected);
    let first = &croydon["incumbents"][0];
    for field in ["supplier_id", "supplier_name", "source"] {
        assert!(first[field].is_string(), "{field} in {first}");
    }
    assert!(croydon["incumbent_supplier_ids"]
        .as_array()
        .unwrap()
        .contains(&first["supplier_id"]));

    // An ended contract in the area is not an incumbent; a current one is.
    let admin = app.key("admin", None);
    let write = |title: &str, end: &str| {
        json!({
            "borough_id": "croydon", "supplier_id": "microsoft", "title": title,
            "service_area_ids": [area], "end_date": end, "source": "manual"
        })
    };
    let ended = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&write("Old mail", "2020-03-31")),
            &[],
        )
        .await
        .json()["id"]
        .clone();
    let current = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&write("Mail", "2098-03-31")),
            &[],
        )
        .await
        .json()["id"]
        .clone();
    let croydon = tender_by_ocid(&app, CROYDON_OCID).await;
    let ids: Vec<&Value> = croydon["incumbents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert!(ids.contains(&&current), "{ids:?}");
    assert!(!ids.contains(&&ended), "{ids:?}");

    // The award, read later, makes a contract, completes the tender and is linked from it (and
    // is not its own incumbent).
    let award = Server::start(croydon_award(), healthy());
    let summary = synced(&app, &award);
    assert_eq!(count(&summary, "added"), 1);
    assert_eq!(count(&summary, "tenders_updated"), 1);
    let contract = app.contract_ids(&format!(
        "SELECT id AS value FROM contracts WHERE source_reference = '{CROYDON_OCID}'"
    ));
    assert_eq!(contract.len(), 1);
    let croydon = tender_by_ocid(&app, CROYDON_OCID).await;
    assert_eq!(croydon["status"], "complete");
    assert_eq!(croydon["awarded_contract_ids"], json!(contract));
    assert!(!croydon["incumbents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == contract[0]));
    assert_eq!(croydon["version"], 2);
    let logged = app.column(&format!(
        "SELECT concat_ws('|', action, before->>'status', after->>'status') AS value FROM changes \
         WHERE resource = 'tenders' AND resource_id = '{}' ORDER BY id",
        croydon["id"]
    ));
    assert_eq!(logged, vec!["create|active", "update|active|complete"]);
}

#[actix_web::test]
async fn tenders_filter_sort_page_and_download_as_contracts_do() {
    let server = Server::start(tender_package(), healthy());
    let app = TestApp::new();
    synced(&app, &server);
    let ocids = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["ocid"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |query: &str| {
        let app = &app;
        let uri = format!("/api/v1/tenders?{query}");
        async move {
            let response = app.get(&uri).await;
            assert_eq!(response.status.as_u16(), 200, "{uri}: {}", response.text());
            response.json()
        }
    };

    assert_eq!(ocids(&list("borough=croydon").await), [CROYDON_OCID]);
    // GSS codes name boroughs too (Merton's is E09000024).
    assert_eq!(ocids(&list("borough=E09000024").await), [MERTON_OCID]);
    assert_eq!(
        ocids(&list("borough=croydon,camden&sort=-closing_date").await),
        [CAMDEN_OCID, CROYDON_OCID]
    );
    assert_eq!(
        ocids(&list("service_area=payments-and-income").await),
        [MERTON_OCID]
    );
    assert_eq!(ocids(&list("open=true").await), [CAMDEN_OCID]);
    assert_eq!(ocids(&list("open=false").await).len(), 3);
    assert_eq!(
        ocids(&list("closes_after=2022-11-18&closes_before=2022-11-18&sort=title").await),
        [MERTON_OCID, CROYDON_OCID]
    );
    assert_eq!(ocids(&list("q=email%20SECURITY").await), [CROYDON_OCID]);
    assert_eq!(
        ocids(&list("q=recurrent").await),
        [MERTON_OCID],
        "descriptions are searched"
    );
    assert_eq!(ocids(&list("status=complete").await).len(), 0);

    // `supplier` finds the tenders where it holds an incumbent contract.
    let croydon = tender_by_ocid(&app, CROYDON_OCID).await;
    let holder = croydon["incumbents"][0]["supplier_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let held = list(&format!("supplier={holder}")).await;
    assert!(ocids(&held).contains(&CROYDON_OCID.to_owned()));
    for tender in held["items"].as_array().unwrap() {
        assert!(tender["incumbent_supplier_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(holder)));
    }

    // Every sort pages the same by number and by cursor.
    for sort in [
        "",
        "closing_date",
        "-closing_date",
        "published_date",
        "-published_date",
        "value_gbp",
        "-value_gbp",
        "title",
        "-title",
    ] {
        let all = ocids(&list(&format!("per_page=500{}", sort_param(sort))).await);
        assert_eq!(all.len(), 3);
        let mut walked = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = list(&format!("per_page=1&cursor={cursor}{}", sort_param(sort))).await;
            walked.extend(ocids(&page));
            match page["meta"]["next_cursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(walked, all, "sort {sort:?}");
        let numbered: Vec<String> = numbered_pages(&app, sort).await;
        assert_eq!(numbered, all, "sort {sort:?}");
    }
    // Missing values come last in either direction.
    let by_value = ocids(&list("sort=-value_gbp").await);
    assert_eq!(by_value.len(), 3);

    // CSV: a header and one row per tender, the incumbents as supplier ids.
    let csv = app.get("/api/v1/tenders?format=csv&sort=title").await;
    assert_eq!(csv.status.as_u16(), 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let body = csv.text();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 4, "{body}");
    assert!(lines[0].starts_with("id,ocid,borough_id,borough_name,title,"));
    assert!(lines[0].contains(",incumbent_supplier_ids,"));
    assert!(lines[1].contains(MERTON_OCID));

    // Bad values say what is wrong, each named.
    let bad = app
        .get("/api/v1/tenders?borough=atlantis&status=open&service_area=nowhere&supplier=nobody")
        .await
        .problem(400);
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in ["borough", "status", "service_area", "supplier"] {
        assert!(fields.contains(&field), "{field} in {bad}");
    }
    app.get("/api/v1/tenders?closes_after=2023-01-02&closes_before=2023-01-01")
        .await
        .problem(400);
    app.get("/api/v1/tenders?closes_after=tomorrow")
        .await
        .problem(400);
    app.get("/api/v1/tenders?sort=-borough").await.problem(400);
    app.get("/api/v1/tenders?colour=red").await.problem(400);
    // A cursor this list did not make, or made for another sort, is a 400, never a 500.
    let value_cursor = list("sort=value_gbp&per_page=1&cursor=").await["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("/api/v1/tenders?sort=title&cursor={value_cursor}"))
        .await
        .problem(400);
    use base64::Engine;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"["closing_date","not a date","1"]"#);
    app.get(&format!(
        "/api/v1/tenders?sort=closing_date&cursor={forged}"
    ))
    .await
    .problem(400);

    // One tender; a missing one is a 404.
    let id = croydon["id"].as_i64().unwrap();
    let one = app.get(&format!("/api/v1/tenders/{id}")).await;
    assert_eq!(one.status.as_u16(), 200);
    assert!(one.header("etag").is_some());
    app.get("/api/v1/tenders/999999").await.problem(404);
    app.get("/api/v1/tenders/croydon").await.problem(404);
}

/// Every tender in `sort` order, read a page of one at a time by page number.
async fn numbered_pages(app: &TestApp, sort: &str) -> Vec<String> {
    let mut all = Vec::new();
    for page in 1..=3 {
        let body = app
            .get(&format!(
                "/api/v1/tenders?per_page=1&page={page}{}",
                sort_param(sort)
            ))
            .await
            .json();
        for item in body["items"].as_array().unwrap() {
            all.push(item["ocid"].as_str().unwrap().to_owned());
        }
    }
    all
}
