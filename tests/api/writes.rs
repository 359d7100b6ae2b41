//! Writes: validation, preconditions, concurrency, the change feed and who sees assessments.

use serde_json::{json, Value};

use crate::helpers::TestApp;

fn contract_body() -> Value {
    json!({
        "borough_id": "camden",
        "supplier_id": "civica",
        "system_id": "civica-openrevenues",
        "service_area_ids": ["council-tax", "business-rates"],
        "title": "Revenues system",
        "start_date": "2024-04-01",
        "end_date": "2029-03-31",
        "max_end_date": "2031-03-31",
        "annual_value_gbp": "185000.00",
        "total_value_gbp": 925000,
        "hosting": "saas",
        "procurement_route": "framework",
        "framework_name": "G-Cloud 14",
        "data_access": "charged",
        "source_reference": "CAM-001",
        "source_url": "https://www.camden.gov.uk/contracts",
        "satisfaction": 4,
        "value_for_money": 2,
        "support_confidence": 5,
        "development_confidence": 1,
        "notes": "Up for renewal"
    })
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

const ASSESSMENT: [&str; 5] = [
    "satisfaction",
    "value_for_money",
    "support_confidence",
    "development_confidence",
    "notes",
];

#[actix_web::test]
async fn a_created_contract_reads_back_as_written() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let created = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&contract_body()),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let body = created.json();
    let location = created.header("location").unwrap();
    assert_eq!(location, format!("/api/v1/contracts/{}", body["id"]));
    assert_eq!(body["annual_value_gbp"], "185000.00");
    assert_eq!(body["total_value_gbp"], "925000.00");
    assert_eq!(
        body["service_area_ids"],
        json!(["business-rates", "council-tax"])
    );
    assert_eq!(
        body["source"], "manual",
        "the default source of an API write"
    );
    assert_eq!(body["satisfaction"], 4);
    assert_eq!(body["version"], 1);
    let read = app.send("GET", &location, Some(&admin), None, &[]).await;
    assert_eq!(read.json(), body);
    assert_eq!(read.header("etag"), created.header("etag"));
}

#[actix_web::test]
async fn the_openapi_examples_are_accepted() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let document = serde_json::to_value(citytools::app::openapi()).unwrap();
    let schemas = &document["components"]["schemas"];
    let example = schemas["ContractInput"]["example"].clone();
    let created = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&example),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    for (schema, path) in [
        ("BoroughInput", "/api/v1/boroughs"),
        ("ServiceAreaInput", "/api/v1/service-areas"),
        ("SupplierInput", "/api/v1/suppliers"),
        ("SystemInput", "/api/v1/systems"),
    ] {
        let mut example = schemas[schema]["example"].clone();
        assert!(example.is_object(), "{schema} has an example");
        // The examples describe records that exist; give each a new id (and code) to create it.
        example["id"] = json!("example-record");
        if example.get("gss_code").is_some() {
            example["gss_code"] = json!("E09999990");
        }
        if let Some(aliases) = example.get_mut("aliases") {
            *aliases = json!(["Example Record Ltd"]);
        }
        let created = app
            .send("POST", path, Some(&admin), Some(&example), &[])
            .await;
        assert_eq!(created.status, 201, "{schema}: {}", created.text());
    }
}

#[actix_web::test]
async fn each_validation_rule_names_its_field() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let cases: Vec<(Value, &str)> = vec![
        (with(contract_body(), "colour", json!("red")), "colour"),
        (with(contract_body(), "hosting", json!("cloud")), "hosting"),
        (
            with(contract_body(), "procurement_route", json!("tender")),
            "procurement_route",
        ),
        (
            with(contract_body(), "data_access", json!("free")),
            "data_access",
        ),
        (with(contract_body(), "source", json!("rumour")), "source"),
        (
            with(contract_body(), "satisfaction", json!(0)),
            "satisfaction",
        ),
        (
            with(contract_body(), "value_for_money", json!(6)),
            "value_for_money",
        ),
        (
            with(contract_body(), "support_confidence", json!(3.5)),
            "support_confidence",
        ),
        (
            with(contract_body(), "development_confidence", json!("4")),
            "development_confidence",
        ),
        (
            with(contract_body(), "end_date", json!("2023-01-01")),
            "end_date",
        ),
        (
            with(contract_body(), "max_end_date", json!("2029-03-30")),
            "max_end_date",
        ),
        (
            with(contract_body(), "start_date", json!("01/04/2024")),
            "start_date",
        ),
        (
            with(contract_body(), "annual_value_gbp", json!("-1.00")),
            "annual_value_gbp",
        ),
        (
            with(contract_body(), "annual_value_gbp", json!("10.001")),
            "annual_value_gbp",
        ),
        (
            with(contract_body(), "total_value_gbp", json!("£10")),
            "total_value_gbp",
        ),
        (
            with(contract_body(), "borough_id", json!("atlantis")),
            "borough_id",
        ),
        (
            with(contract_body(), "supplier_id", json!("acme")),
            "supplier_id",
        ),
        (
            with(contract_body(), "supplier_id", json!("Not A Slug")),
            "supplier_id",
        ),
        (
            with(contract_body(), "system_id", json!("abacus")),
            "system_id",
        ),
        (
            with(contract_body(), "service_area_ids", json!(["alchemy"])),
            "service_area_ids",
        ),
        (
            with(
                contract_body(),
                "service_area_ids",
                json!(["revenues-and-benefits"]),
            ),
            "service_area_ids",
        ),
        (
            with(contract_body(), "service_area_ids", json!([])),
            "service_area_ids",
        ),
        (with(contract_body(), "title", json!("")), "title"),
        (with(contract_body(), "title", json!(null)), "title"),
        (
            with(contract_body(), "source_url", json!("ftp://x")),
            "source_url",
        ),
        (with(contract_body(), "notes", json!(12)), "notes"),
    ];
    let changes = app.change_count();
    for (body, field) in cases {
        let response = app
            .send("POST", "/api/v1/contracts", Some(&admin), Some(&body), &[])
            .await;
        let problem = response.problem(422);
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec![field], "{body}");
    }
    // Several failures are reported together.
    let mut body = contract_body();
    body["satisfaction"] = json!(9);
    body["end_date"] = json!("2000-01-01");
    body["extra"] = json!(true);
    let problem = app
        .send("POST", "/api/v1/contracts", Some(&admin), Some(&body), &[])
        .await
        .problem(422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 3);
    assert_eq!(app.change_count(), changes, "refused writes are not logged");
}

#[actix_web::test]
async fn malformed_bodies_are_problems() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let not_json = app
        .call(
            actix_web::test::TestRequest::post()
                .uri("/api/v1/contracts")
                .insert_header(("authorization", format!("Bearer {admin}")))
                .set_payload("{not json"),
        )
        .await;
    not_json.problem(400);
    app.send(
        "POST",
        "/api/v1/contracts",
        Some(&admin),
        Some(&json!([1, 2])),
        &[],
    )
    .await
    .problem(422);
    let too_big = json!({"title": "x".repeat(300_000)});
    let response = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&too_big),
            &[],
        )
        .await;
    response.problem(413);
}

#[actix_web::test]
async fn duplicates_are_conflicts() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let first = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&contract_body()),
            &[],
        )
        .await;
    assert_eq!(first.status, 201);
    let again = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&contract_body()),
            &[],
        )
        .await;
    again.problem(409);
    let duplicate_code = json!({"id": "camden-two", "gss_code": "E09000007", "name": "Camden", "official_name": "x",
                                "kind": "london_borough", "inner_london_statutory": true, "inner_london_ons": true});
    app.send(
        "POST",
        "/api/v1/boroughs",
        Some(&admin),
        Some(&duplicate_code),
        &[],
    )
    .await
    .problem(409);
    let duplicate_slug = json!({"id": "camden", "gss_code": "E09999991", "name": "Camden", "official_name": "x",
                                "kind": "london_borough", "inner_london_statutory": true, "inner_london_ons": true});
    app.send(
        "POST",
        "/api/v1/boroughs",
        Some(&admin),
        Some(&duplicate_slug),
        &[],
    )
    .await
    .problem(409);
}

#[actix_web::test]
async fn deleting_a_referenced_record_says_what_refers_to_it() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let contracts = app
        .column("SELECT count(*) AS value FROM contracts WHERE supplier_id = 'civica'")[0]
        .clone();
    let problem = app
        .send(
            "DELETE",
            "/api/v1/suppliers/civica",
            Some(&admin),
            None,
            &[],
        )
        .await
        .problem(409);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{contracts} contracts")),
        "{detail}"
    );
    assert!(detail.contains("systems"), "{detail}");
    app.send("DELETE", "/api/v1/boroughs/camden", Some(&admin), None, &[])
        .await
        .problem(409);
    app.send(
        "DELETE",
        "/api/v1/systems/civica-openrevenues",
        Some(&admin),
        None,
        &[],
    )
    .await
    .problem(409);
    app.send(
        "DELETE",
        "/api/v1/service-areas/revenues-and-benefits",
        Some(&admin),
        None,
        &[],
    )
    .await
    .problem(409);
}

#[actix_web::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let id = &app.column("SELECT min(id) AS value FROM contracts")[0];
    let uri = format!("/api/v1/contracts/{id}");
    let etag = app
        .send("GET", &uri, Some(&admin), None, &[])
        .await
        .header("etag")
        .unwrap();
    let first = app
        .send(
            "PATCH",
            &uri,
            Some(&admin),
            Some(&json!({"notes": "first"})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(first.status, 200);
    assert_ne!(first.header("etag").unwrap(), etag);
    let changes = app.change_count();
    let before = app.send("GET", &uri, Some(&admin), None, &[]).await.json();
    for method in ["PATCH", "PUT", "DELETE"] {
        let body = (method != "DELETE").then(|| json!({"notes": "second"}));
        let stale = app
            .send(
                method,
                &uri,
                Some(&admin),
                body.as_ref(),
                &[("if-match", &etag)],
            )
            .await;
        stale.problem(412);
    }
    assert_eq!(
        app.send("GET", &uri, Some(&admin), None, &[]).await.json(),
        before
    );
    assert_eq!(app.change_count(), changes);
    // The current ETag, or `*`, lets the write through.
    let current = first.header("etag").unwrap();
    let ok = app
        .send(
            "PATCH",
            &uri,
            Some(&admin),
            Some(&json!({"notes": "second"})),
            &[("if-match", &current)],
        )
        .await;
    assert_eq!(ok.status, 200);
    let star = app
        .send(
            "PATCH",
            &uri,
            Some(&admin),
            Some(&json!({"notes": "third"})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(star.status, 200);
}

#[actix_web::test]
async fn a_change_or_deletion_without_if_match_is_428_and_changes_nothing() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let id = &app.column("SELECT min(id) AS value FROM contracts")[0];
    let changes = app.change_count();
    for (method, uri, body) in [
        (
            "PATCH",
            format!("/api/v1/contracts/{id}"),
            Some(json!({"notes": "blind"})),
        ),
        (
            "PUT",
            "/api/v1/boroughs/camden".to_owned(),
            Some(json!({"name": "Camden"})),
        ),
        ("DELETE", format!("/api/v1/contracts/{id}"), None),
        ("DELETE", "/api/v1/suppliers/civica".to_owned(), None),
    ] {
        let mut request = actix_web::test::TestRequest::default()
            .method(actix_web::http::Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .insert_header(("authorization", format!("Bearer {admin}")));
        if let Some(body) = &body {
            request = request.set_json(body);
        }
        let refused = app.call(request).await;
        let problem = refused.problem(428);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("If-Match") && detail.contains("ETag"),
            "{method} {uri}: {detail}"
        );
    }
    assert_eq!(
        app.change_count(),
        changes,
        "a refused write changes nothing"
    );
}

#[actix_web::test]
async fn of_two_concurrent_updates_with_one_if_match_exactly_one_succeeds() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let id = &app.column("SELECT min(id) AS value FROM contracts")[0];
    let uri = format!("/api/v1/contracts/{id}");
    let etag = app
        .send("GET", &uri, Some(&admin), None, &[])
        .await
        .header("etag")
        .unwrap();
    for round in 0..5 {
        let etag = if round == 0 {
            etag.clone()
        } else {
            app.send("GET", &uri, Some(&admin), None, &[])
                .await
                .header("etag")
                .unwrap()
        };
        let a_body = json!({"notes": format!("a{round}")});
        let b_body = json!({"notes": format!("b{round}")});
        let headers = [("if-match", etag.as_str())];
        let a = app.send("PATCH", &uri, Some(&admin), Some(&a_body), &headers);
        let b = app.send("PATCH", &uri, Some(&admin), Some(&b_body), &headers);
        let (a, b) = tokio::join!(a, b);
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 412], "round {round}");
    }
    assert_eq!(
        app.column(&format!(
            "SELECT count(*) AS value FROM changes \
             WHERE resource = 'contracts' AND resource_id = '{id}' AND actor_kind = 'api_key'"
        )),
        vec!["5"]
    );
}

#[actix_web::test]
async fn every_write_is_in_the_change_feed_with_before_and_after() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let reader = app.key("reader", None);
    let start: i64 = app.column("SELECT coalesce(max(id), 0) AS value FROM changes")[0]
        .parse()
        .unwrap();

    let created = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&contract_body()),
            &[],
        )
        .await
        .json();
    let uri = format!("/api/v1/contracts/{}", created["id"]);
    let updated = app
        .send(
            "PATCH",
            &uri,
            Some(&admin),
            Some(&json!({"end_date": "2030-03-31", "satisfaction": 2})),
            &[],
        )
        .await
        .json();
    app.send("DELETE", &uri, Some(&admin), None, &[]).await;
    let borough = app
        .send(
            "PATCH",
            "/api/v1/boroughs/camden",
            Some(&admin),
            Some(&json!({"website": "https://camden.example"})),
            &[],
        )
        .await
        .json();

    let feed = app
        .send(
            "GET",
            &format!("/api/v1/changes?after={start}"),
            Some(&reader),
            None,
            &[],
        )
        .await;
    assert_eq!(feed.status, 200, "{}", feed.text());
    let items = feed.json()["items"].as_array().unwrap().clone();
    let summary: Vec<(String, String)> = items
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("contracts".into(), "create".into()),
            ("contracts".into(), "update".into()),
            ("contracts".into(), "delete".into()),
            ("boroughs".into(), "update".into()),
        ]
    );
    assert!(items[0]["before"].is_null());
    assert_eq!(items[0]["after"], created);
    assert_eq!(items[1]["before"], created);
    assert_eq!(items[1]["after"], updated);
    assert_eq!(items[2]["before"], updated);
    assert!(items[2]["after"].is_null());
    assert_eq!(items[3]["after"], borough);
    assert_eq!(items[3]["resource_id"], "camden");
    assert_eq!(items[0]["actor"]["name"], "test admin");
    assert_eq!(items[0]["actor"]["kind"], "api_key");
    let ids: Vec<i64> = items.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order");

    // Paging with `after`, and a resource filter.
    let first = app
        .get(&format!("/api/v1/changes?after={start}&per_page=2"))
        .await;
    let first_body = first.json();
    assert_eq!(first_body["items"].as_array().unwrap().len(), 2);
    assert!(first.header("link").unwrap().contains("rel=\"next\""));
    let next_after = first_body["meta"]["next_after"].as_i64().unwrap();
    let rest = app
        .get(&format!("/api/v1/changes?after={next_after}&per_page=2"))
        .await
        .json();
    assert_eq!(rest["items"][0]["id"].as_i64().unwrap(), ids[2]);
    let boroughs_only = app
        .get(&format!("/api/v1/changes?after={start}&resource=boroughs"))
        .await
        .json();
    assert_eq!(boroughs_only["items"].as_array().unwrap().len(), 1);
    app.get("/api/v1/changes?resource=keys").await.problem(400);
    app.get("/api/v1/changes?after=-1").await.problem(400);

    // Anonymous callers see no assessment fields and no key names in the feed.
    let anonymous = app
        .get(&format!("/api/v1/changes?after={start}"))
        .await
        .json();
    for change in anonymous["items"].as_array().unwrap() {
        for side in ["before", "after"] {
            if let Some(record) = change[side].as_object() {
                for field in ASSESSMENT {
                    assert!(!record.contains_key(field), "{field} in the anonymous feed");
                }
            }
        }
        assert!(change["actor"].get("name").is_none());
    }
}

#[actix_web::test]
async fn keyed_callers_see_assessments_everywhere_and_anonymous_ones_nowhere() {
    let app = TestApp::new();
    let reader = app.key("reader", None);
    let borough = app.key("borough", Some("hackney"));
    let id = &app.column("SELECT min(id) AS value FROM contracts WHERE satisfaction IS NOT NULL AND notes IS NOT NULL")[0];
    let surfaces = [
        format!("/api/v1/contracts/{id}"),
        "/api/v1/contracts?per_page=500".to_owned(),
        "/api/v1/boroughs/camden/contracts".to_owned(),
        "/api/v1/suppliers/civica/contracts".to_owned(),
        "/api/v1/systems/civica-openrevenues/contracts".to_owned(),
    ];
    for uri in &surfaces {
        for (key, sees) in [
            (None, false),
            (Some(reader.as_str()), true),
            (Some(borough.as_str()), true),
        ] {
            let body = app.send("GET", uri, key, None, &[]).await.json();
            let records = match body.get("items") {
                Some(items) => items.as_array().unwrap().clone(),
                None => vec![body],
            };
            assert!(!records.is_empty(), "{uri}");
            for record in records {
                for field in ASSESSMENT {
                    assert_eq!(
                        record.get(field).is_some(),
                        sees,
                        "{field} on {uri} with key {key:?}"
                    );
                }
            }
        }
        let anonymous = app
            .send(
                "GET",
                &format!(
                    "{uri}{}format=csv",
                    if uri.contains('?') { "&" } else { "?" }
                ),
                None,
                None,
                &[],
            )
            .await;
        if anonymous
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/csv"))
        {
            let header = anonymous.text().lines().next().unwrap().to_owned();
            let keyed = app
                .send(
                    "GET",
                    &format!(
                        "{uri}{}format=csv",
                        if uri.contains('?') { "&" } else { "?" }
                    ),
                    Some(&reader),
                    None,
                    &[],
                )
                .await
                .text();
            for field in ASSESSMENT {
                assert!(
                    !header.split(',').any(|c| c == field),
                    "{field} in anonymous CSV of {uri}"
                );
                assert!(
                    keyed.lines().next().unwrap().split(',').any(|c| c == field),
                    "{field} in keyed CSV of {uri}"
                );
            }
        }
    }
    let anonymous = app.get(&format!("/api/v1/contracts/{id}")).await;
    let keyed = app
        .send(
            "GET",
            &format!("/api/v1/contracts/{id}"),
            Some(&reader),
            None,
            &[],
        )
        .await;
    assert_ne!(
        anonymous.header("etag"),
        keyed.header("etag"),
        "different representations, different ETags"
    );
    assert!(anonymous.headers.get_all("vary").any(|v| v
        .to_str()
        .unwrap()
        .to_lowercase()
        .contains("authorization")));
}

#[test]
fn keys_are_created_listed_and_revoked_from_the_command_line() {
    let app = TestApp::new();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_citytools"))
            .args(args)
            .env("DATABASE_URL", &app.url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let created = run(&[
        "keys",
        "create",
        "--role",
        "borough",
        "--borough",
        "E09000012",
        "--name",
        "Hackney team",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let stdout = String::from_utf8(created.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_owned();
    assert!(
        key.starts_with("ct_"),
        "the key alone on the last line: {stdout}"
    );
    let listed = String::from_utf8(run(&["keys", "list"]).stdout).unwrap();
    assert!(listed.contains("Hackney team") && listed.contains("hackney"));
    assert!(!listed.contains(&key), "list never shows a key");
    let id = listed
        .lines()
        .find(|line| line.contains("Hackney team"))
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    for bad in [
        vec!["keys", "create", "--role", "borough", "--name", "x"],
        vec![
            "keys",
            "create",
            "--role",
            "admin",
            "--borough",
            "camden",
            "--name",
            "x",
        ],
        vec![
            "keys",
            "create",
            "--role",
            "borough",
            "--borough",
            "atlantis",
            "--name",
            "x",
        ],
        vec!["keys", "create", "--role", "owner", "--name", "x"],
        vec!["keys", "revoke", "999999"],
    ] {
        assert!(!run(&bad).status.success(), "{bad:?}");
    }
    assert!(run(&["keys", "revoke", &id]).status.success());
    assert!(
        !run(&["keys", "revoke", &id]).status.success(),
        "already revoked"
    );
    let runtime = actix_web::rt::System::new();
    runtime.block_on(async {
        app.send("GET", "/api/v1/boroughs", Some(&key), None, &[])
            .await
            .problem(401);
    });
}

#[actix_web::test]
async fn a_contract_id_with_leading_zeros_names_the_same_contract_for_reads_and_writes() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let id = &app.column("SELECT min(id)::text AS value FROM contracts")[0];
    let padded = format!("/api/v1/contracts/00{id}");
    let read = app.get(&padded).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["id"].to_string(), *id);
    let patched = app
        .send(
            "PATCH",
            &padded,
            Some(&admin),
            Some(&json!({"notes": "padded"})),
            &[],
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    assert_eq!(patched.json()["id"].to_string(), *id);
    let deleted = app.send("DELETE", &padded, Some(&admin), None, &[]).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        app.get(&format!("/api/v1/contracts/{id}")).await.status,
        404
    );
}

/// Many changes logged at once (an import's) keep their order across the statements that write
/// them, each with its action, under consecutive ids.
#[actix_web::test]
async fn a_batch_of_changes_is_logged_in_order() {
    use citytools::changelog::{record_many, Actor, Entry, Resource};
    use diesel::Connection;
    let app = TestApp::new();
    let before = app.column("SELECT coalesce(max(id), 0) AS value FROM changes")[0]
        .parse::<i64>()
        .unwrap();
    let entries: Vec<Entry> = (0..1_234)
        .map(|i| Entry {
            resource: Resource::Contracts,
            resource_id: format!("{}", 900_000 + i),
            before: (i % 3 != 0).then(|| json!({"n": i})),
            after: (i % 3 != 2).then(|| json!({"n": i + 1})),
        })
        .collect();
    let actor = Actor {
        kind: "import",
        key_id: None,
        name: "a batch".into(),
    };
    let mut conn = app.conn();
    conn.transaction(|conn| record_many(conn, &actor, &entries))
        .unwrap();
    let logged = app.column(&format!(
        "SELECT concat_ws('|', id - {before}, resource_id, action, actor_name) AS value \
         FROM changes WHERE id > {before} ORDER BY id"
    ));
    let expected: Vec<String> = (0..1_234)
        .map(|i| {
            let action = ["create", "update", "delete"][i % 3];
            format!("{}|{}|{action}|a batch", i + 1, 900_000 + i)
        })
        .collect();
    assert_eq!(logged, expected);
}
