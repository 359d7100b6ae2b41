//! Boroughs, service areas, suppliers and systems: lists, filters, sorts, lookups, ETags.

use serde_json::Value;

use crate::helpers::TestApp;

fn strings(ids: Vec<Value>) -> Vec<String> {
    ids.into_iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

async fn assert_list(app: &TestApp, uri: &str, sql: &str) {
    let expected = app.column(sql);
    let got = strings(app.get(uri).await.ids());
    assert_eq!(got, expected, "{uri}");
}

#[actix_web::test]
async fn boroughs_list_all_33_authorities_with_gss_codes() {
    let app = TestApp::new();
    let response = app.get("/api/v1/boroughs?per_page=100").await;
    assert_eq!(response.status, 200);
    let body = response.json();
    assert_eq!(body["meta"]["total"], 33);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 33);
    let camden = items.iter().find(|b| b["id"] == "camden").unwrap();
    assert_eq!(camden["gss_code"], "E09000007");
    assert_eq!(camden["kind"], "london_borough");
    let mut codes: Vec<&str> = items
        .iter()
        .map(|b| b["gss_code"].as_str().unwrap())
        .collect();
    codes.sort();
    let expected: Vec<String> = (1..=33).map(|n| format!("E090000{n:02}")).collect();
    assert_eq!(codes, expected);
}

#[actix_web::test]
async fn borough_filters_and_sorts() {
    let app = TestApp::new();
    let cases = [
        ("/api/v1/boroughs?kind=royal_borough", "SELECT id AS value FROM boroughs WHERE kind = 'royal_borough' ORDER BY id"),
        (
            "/api/v1/boroughs?kind=city_council,city_corporation",
            "SELECT id AS value FROM boroughs WHERE kind IN ('city_council', 'city_corporation') ORDER BY id",
        ),
        (
            "/api/v1/boroughs?inner_london_statutory=true",
            "SELECT id AS value FROM boroughs WHERE inner_london_statutory ORDER BY id",
        ),
        (
            "/api/v1/boroughs?inner_london_ons=false",
            "SELECT id AS value FROM boroughs WHERE NOT inner_london_ons ORDER BY id",
        ),
        ("/api/v1/boroughs?surveyed=true", "SELECT id AS value FROM boroughs WHERE surveyed ORDER BY id"),
        ("/api/v1/boroughs?q=upon", "SELECT id AS value FROM boroughs WHERE name ILIKE '%upon%' ORDER BY id"),
        ("/api/v1/boroughs?sort=-gss_code", "SELECT id AS value FROM boroughs ORDER BY gss_code DESC, id"),
        ("/api/v1/boroughs?sort=name", "SELECT id AS value FROM boroughs ORDER BY name, id"),
        ("/api/v1/boroughs?sort=-id&per_page=5", "SELECT id AS value FROM boroughs ORDER BY id DESC LIMIT 5"),
    ];
    for (uri, sql) in cases {
        assert_list(&app, uri, sql).await;
    }
    assert_eq!(
        app.column("SELECT count(*) AS value FROM boroughs WHERE surveyed")[0],
        "22"
    );
}

#[actix_web::test]
async fn a_borough_is_found_by_slug_or_gss_code() {
    let app = TestApp::new();
    let by_slug = app.get("/api/v1/boroughs/city-of-london").await;
    assert_eq!(by_slug.status, 200);
    assert_eq!(by_slug.json()["gss_code"], "E09000001");
    assert_eq!(by_slug.json()["kind"], "city_corporation");
    let by_code = app.get("/api/v1/boroughs/E09000001").await;
    assert_eq!(by_code.json(), by_slug.json());
    assert_eq!(by_code.header("etag"), by_slug.header("etag"));
}

#[actix_web::test]
async fn single_resources_carry_an_etag_and_answer_304() {
    let app = TestApp::new();
    let contract = &app.column("SELECT min(id) AS value FROM contracts")[0];
    for uri in [
        "/api/v1/boroughs/camden".to_owned(),
        "/api/v1/service-areas/council-tax".to_owned(),
        "/api/v1/suppliers/civica".to_owned(),
        "/api/v1/systems/civica-openrevenues".to_owned(),
        format!("/api/v1/contracts/{contract}"),
    ] {
        let first = app.get(&uri).await;
        assert_eq!(first.status, 200, "{uri}");
        let etag = first.header("etag").expect("ETag");
        assert!(
            etag.starts_with('"') && etag.ends_with('"'),
            "a strong ETag: {etag}"
        );
        let cached = app.get_with(&uri, &[("if-none-match", &etag)]).await;
        assert_eq!(cached.status, 304, "{uri}");
        assert!(cached.body.is_empty());
        assert_eq!(cached.header("etag"), Some(etag.clone()));
        let listed = app
            .get_with(&uri, &[("if-none-match", &format!("\"stale\", {etag}"))])
            .await;
        assert_eq!(listed.status, 304, "one of several ETags matches");
        let stale = app.get_with(&uri, &[("if-none-match", "\"stale\"")]).await;
        assert_eq!(stale.status, 200);
    }
}

#[actix_web::test]
async fn the_etag_changes_when_the_record_does() {
    let app = TestApp::new();
    let before = app.get("/api/v1/boroughs/camden").await;
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "UPDATE boroughs SET website = 'https://camden.example' WHERE id = 'camden'",
        ),
        &mut app.conn(),
    )
    .unwrap();
    let etag = before.header("etag").unwrap();
    let after = app
        .get_with("/api/v1/boroughs/camden", &[("if-none-match", &etag)])
        .await;
    assert_eq!(after.status, 200);
    assert_ne!(after.header("etag").unwrap(), etag);
    assert_eq!(
        after.json()["version"],
        2,
        "the version changes on every write"
    );
}

#[actix_web::test]
async fn service_areas_form_a_two_level_tree() {
    let app = TestApp::new();
    assert_list(
        &app,
        "/api/v1/service-areas?level=group",
        "SELECT id AS value FROM service_areas WHERE parent_id IS NULL ORDER BY id",
    )
    .await;
    assert_list(
        &app,
        "/api/v1/service-areas?parent=revenues-and-benefits&sort=-name",
        "SELECT id AS value FROM service_areas WHERE parent_id = 'revenues-and-benefits' ORDER BY name DESC, id",
    )
    .await;
    assert_list(
        &app,
        "/api/v1/service-areas?level=area&q=care&per_page=500",
        "SELECT id AS value FROM service_areas WHERE parent_id IS NOT NULL \
         AND (name ILIKE '%care%' OR description ILIKE '%care%') ORDER BY id",
    )
    .await;
    let area = app
        .get("/api/v1/service-areas/adult-social-care")
        .await
        .json();
    assert!(area["parent_id"].is_string());
    let group = app
        .get(&format!(
            "/api/v1/service-areas/{}",
            area["parent_id"].as_str().unwrap()
        ))
        .await;
    assert!(group.json()["parent_id"].is_null());
    app.get("/api/v1/service-areas?level=middle")
        .await
        .problem(400);
}

#[actix_web::test]
async fn the_database_keeps_the_tree_two_levels_deep() {
    let app = TestApp::new();
    let result = diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO service_areas (id, name, parent_id) VALUES ('too-deep', 'Too deep', 'council-tax')",
        ),
        &mut app.conn(),
    );
    assert!(result.is_err(), "an area cannot sit under another area");
}

#[actix_web::test]
async fn suppliers_filter_by_alias_sme_and_service_area() {
    let app = TestApp::new();
    let alias = &app
        .column("SELECT min(alias) AS value FROM supplier_aliases WHERE supplier_id = 'civica'")[0];
    let body = app
        .get(&format!(
            "/api/v1/suppliers?q={}",
            alias.replace(' ', "%20")
        ))
        .await
        .json();
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "civica"),
        "search finds aliases"
    );
    assert_list(
        &app,
        "/api/v1/suppliers?sme=true&per_page=500",
        "SELECT id AS value FROM suppliers WHERE sme ORDER BY id",
    )
    .await;
    assert_list(
        &app,
        "/api/v1/suppliers?service_area=environment-and-streets&sort=-name&per_page=500",
        "SELECT s.id AS value FROM suppliers s WHERE EXISTS (SELECT 1 FROM systems y \
           JOIN system_service_areas a ON a.system_id = y.id JOIN service_areas sa ON sa.id = a.service_area_id \
           WHERE y.supplier_id = s.id AND sa.parent_id = 'environment-and-streets') ORDER BY s.name DESC, s.id",
    )
    .await;
    let civica = app.get("/api/v1/suppliers/civica").await.json();
    let aliases = app.column(
        "SELECT alias AS value FROM supplier_aliases WHERE supplier_id = 'civica' ORDER BY alias",
    );
    assert_eq!(civica["aliases"], serde_json::json!(aliases));
}

#[actix_web::test]
async fn systems_filter_by_supplier_and_service_area() {
    let app = TestApp::new();
    assert_list(
        &app,
        "/api/v1/systems?supplier=civica,capita&sort=supplier&per_page=500",
        "SELECT id AS value FROM systems WHERE supplier_id IN ('civica', 'capita') ORDER BY supplier_id, id",
    )
    .await;
    assert_list(
        &app,
        "/api/v1/systems?service_area=housing&per_page=500",
        "SELECT DISTINCT y.id AS value FROM systems y JOIN system_service_areas a ON a.system_id = y.id \
         JOIN service_areas s ON s.id = a.service_area_id WHERE s.parent_id = 'housing' OR s.id = 'housing' ORDER BY 1",
    )
    .await;
    assert_list(
        &app,
        "/api/v1/systems?q=revenues&sort=-name",
        "SELECT id AS value FROM systems WHERE name ILIKE '%revenues%' OR description ILIKE '%revenues%' ORDER BY name DESC, id",
    )
    .await;
    let system = app.get("/api/v1/systems/civica-openrevenues").await.json();
    let areas = app.column(
        "SELECT service_area_id AS value FROM system_service_areas WHERE system_id = 'civica-openrevenues' ORDER BY 1",
    );
    assert_eq!(system["service_area_ids"], serde_json::json!(areas));
    assert_eq!(system["supplier_id"], "civica");
}

#[actix_web::test]
async fn health_and_readiness() {
    let app = TestApp::new();
    let health = app.get("/healthz").await;
    assert_eq!(health.status, 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
}

#[actix_web::test]
async fn readiness_fails_with_a_problem_when_the_database_is_unreachable() {
    let pool =
        citytools::db::pool("postgresql://nobody@/nowhere?host=/nonexistent&port=1", 1).unwrap();
    let app =
        actix_web::test::init_service(citytools::app::build_app(pool, Default::default())).await;
    let request = actix_web::test::TestRequest::get()
        .uri("/readyz")
        .to_request();
    let response = actix_web::test::call_service(&app, request).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
}
