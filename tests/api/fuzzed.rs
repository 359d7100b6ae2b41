//! What Schemathesis found (`.ci/fuzz`), each kept as a test of its own.

use serde_json::{json, Value};

use crate::helpers::TestApp;

fn contract(extra: Value) -> Value {
    let mut body = json!({
        "borough_id": "camden",
        "supplier_id": "civica",
        "system_id": "civica-openrevenues",
        "service_area_ids": ["council-tax"],
        "title": "Revenues system",
        "start_date": "2024-04-01",
        "end_date": "2029-03-31",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[actix_web::test]
async fn zero_money_has_pence_like_any_other_amount() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let body = contract(json!({"annual_value_gbp": "0", "total_value_gbp": 0}));
    let created = app
        .send("POST", "/api/v1/contracts", Some(&admin), Some(&body), &[])
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["annual_value_gbp"], "0.00");
    assert_eq!(created.json()["total_value_gbp"], "0.00");
    let location = created.header("location").unwrap();
    let list = app
        .get("/api/v1/contracts?per_page=500&min_annual_value=0&max_annual_value=0")
        .await;
    assert!(
        list.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| format!("/api/v1/contracts/{}", c["id"]) == location
                && c["annual_value_gbp"] == "0.00"),
        "{}",
        list.text()
    );
}

#[actix_web::test]
async fn a_nul_character_is_refused_not_a_server_error() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    for uri in [
        "/api/v1/boroughs/cam%00den",
        "/api/v1/suppliers/a%00b",
        "/api/v1/systems/a%00b",
        "/api/v1/service-areas/a%00b",
        "/api/v1/boroughs/a%00b/contracts",
    ] {
        let response = app.get(uri).await;
        assert_eq!(response.status, 400, "{uri}: {}", response.text());
        assert!(
            response.text().contains("NUL"),
            "{uri}: {}",
            response.text()
        );
    }
    let before = app.change_count();
    let body = contract(json!({"title": "Revenues\u{0}system", "notes": "a\u{0}b"}));
    let refused = app
        .send("POST", "/api/v1/contracts", Some(&admin), Some(&body), &[])
        .await;
    let problem = refused.problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["title", "notes"], "{problem}");
    assert_eq!(app.change_count(), before);
}

#[actix_web::test]
async fn a_peer_confidence_above_five_is_refused() {
    let app = TestApp::new();
    let reader = app.key("reader", None);
    for (level, status) in [("5", 200), ("6", 400), ("0", 400)] {
        let response = app
            .get_with(
                &format!("/api/v1/boroughs/camden/peers?min_confidence={level}"),
                &[("authorization", &format!("Bearer {reader}"))],
            )
            .await;
        assert_eq!(response.status, status, "{level}: {}", response.text());
    }
}

#[actix_web::test]
async fn dates_and_money_are_written_exactly_as_documented() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    for (field, value) in [
        ("max_end_date", json!("")),
        ("end_date", json!(" 2029-03-31")),
        ("end_date", json!("2029-3-31")),
        ("annual_value_gbp", json!(" 100")),
        ("annual_value_gbp", json!("100.")),
        ("annual_value_gbp", json!("-1")),
        ("total_value_gbp", json!(-5)),
    ] {
        let body = contract(json!({ field: value }));
        let refused = app
            .send("POST", "/api/v1/contracts", Some(&admin), Some(&body), &[])
            .await;
        let problem = refused.problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{value}: {problem}");
    }
}

#[actix_web::test]
async fn an_id_cannot_be_cleared_but_may_be_left_out() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let refused = app
        .send(
            "PATCH",
            "/api/v1/suppliers/civica",
            Some(&admin),
            Some(&json!({"id": null, "sme": false})),
            &[],
        )
        .await;
    assert_eq!(refused.problem(422)["errors"][0]["field"], "id");
    let current = app.get("/api/v1/suppliers/civica").await.json();
    let mut whole = current.as_object().unwrap().clone();
    whole.remove("id");
    let replaced = app
        .send(
            "PUT",
            "/api/v1/suppliers/civica",
            Some(&admin),
            Some(&Value::Object(whole)),
            &[],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    assert_eq!(replaced.json()["id"], "civica");
}

#[actix_web::test]
async fn the_documented_write_bodies_say_what_is_required() {
    let document = serde_json::to_value(citytools::app::openapi()).unwrap();
    let schemas = &document["components"]["schemas"];
    for resource in ["Borough", "ServiceArea", "Supplier", "System", "Contract"] {
        let patch = &schemas[format!("{resource}Patch")];
        assert!(
            patch["required"].as_array().is_none_or(|r| r.is_empty()),
            "{resource}Patch: {patch}"
        );
        let input_required = schemas[format!("{resource}Input")]["required"].clone();
        assert!(input_required.as_array().is_some_and(|r| !r.is_empty()));
    }
    for resource in ["Borough", "ServiceArea", "Supplier", "System"] {
        let required = &schemas[format!("{resource}Replacement")]["required"];
        assert!(
            !required.as_array().unwrap().contains(&json!("id")),
            "{resource}Replacement: {required}"
        );
    }
    for (path, method) in [
        ("/api/v1/contracts", "post"),
        ("/api/v1/contracts/{id}", "put"),
        ("/api/v1/contracts/{id}", "patch"),
        ("/api/v1/boroughs/{id}", "delete"),
    ] {
        let responses = &document["paths"][path][method]["responses"];
        assert!(responses.get("429").is_some(), "{method} {path}");
        assert_eq!(
            responses.get("413").is_some(),
            method != "delete",
            "{method} {path}"
        );
    }
}

#[actix_web::test]
async fn the_calendar_takes_get_only() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    for method in ["PUT", "PATCH", "DELETE", "POST"] {
        let response = app
            .send(
                method,
                "/api/v1/contracts/calendar.ics",
                Some(&admin),
                Some(&json!({"title": "x"})),
                &[],
            )
            .await;
        response.problem(405);
        assert_eq!(
            response.header("allow").as_deref(),
            Some("GET, HEAD"),
            "{method}"
        );
    }
    assert_eq!(app.get("/api/v1/contracts/calendar.ics").await.status, 200);
    let document = serde_json::to_value(citytools::app::openapi()).unwrap();
    let calendar = document["paths"]["/api/v1/contracts/calendar.ics"]
        .as_object()
        .unwrap();
    assert_eq!(calendar.keys().collect::<Vec<_>>(), vec!["get"]);
}
