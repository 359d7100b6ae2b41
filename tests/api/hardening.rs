//! What an attacker with a key, or with none, could do to the shared catalogue and the data, and
//! that it no longer works.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::helpers::TestApp;

async fn import_register(app: &TestApp, key: &str, csv: &str) -> Value {
    app.call(
        TestRequest::post()
            .uri("/api/v1/imports?format=contracts-register&borough=camden")
            .insert_header(("authorization", format!("Bearer {key}")))
            .insert_header(("content-type", "text/csv"))
            .set_payload(csv.to_owned()),
    )
    .await
    .json()
}

#[actix_web::test]
async fn hidden_and_reordering_characters_never_reach_the_catalogue_or_a_record() {
    let app = TestApp::new();
    let admin = app.key("admin", None);

    // Through the API: refused, naming the field and the character.
    for (field, body) in [
        ("name", json!({"id": "acivic", "name": "\u{202e}acivic"})),
        (
            "name",
            json!({"id": "civica-two", "name": "Civ\u{200b}ica"}),
        ),
        (
            "aliases",
            json!({"id": "civica-three", "name": "Civica Three", "aliases": ["C\u{2066}ivica"]}),
        ),
    ] {
        let response = app
            .send("POST", "/api/v1/suppliers", Some(&admin), Some(&body), &[])
            .await;
        let problem = response.problem(422);
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("U+"),
            "{problem}"
        );
    }
    let response = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(
                &json!({"borough_id": "camden", "supplier_id": "civica", "title": "Pay\u{7}roll",
                         "service_area_ids": ["council-tax"], "source": "manual"}),
            ),
            &[],
        )
        .await;
    assert_eq!(response.problem(422)["errors"][0]["field"], "title");

    // Text is stored in normal form C: "Cafe" + combining acute is "Café".
    let created = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&json!({"borough_id": "camden", "supplier_id": "civica", "title": "Cafe\u{301} payments",
                         "service_area_ids": ["council-tax"], "source": "manual"})),
            &[],
        )
        .await
        .json();
    assert_eq!(created["title"], "Caf\u{e9} payments");

    // Through an import: the invisible characters are removed, so the right-to-left override
    // that displayed "acivic" as "civica" is plain "acivic", and a zero-width space cannot make
    // a second Civica.
    let report = import_register(
        &app,
        &admin,
        "reference,title,supplier,start_date,end_date,annual_value\n\
         R-1,Revenues\u{200b} software licence,\u{202e}acivic,2024-04-01,2029-03-31,100000\n\
         R-2,Payroll system,Civ\u{200b}ica UK Ltd,2024-04-01,2029-03-31,50000\n",
    )
    .await;
    assert_eq!(report["outcome"], "imported", "{report}");
    let names: Vec<String> = report["new_suppliers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["acivic"], "{report}");
    // A name that only looks like a known supplier's (a Cyrillic і in "Civica") is that supplier.
    let report = import_register(
        &app,
        &admin,
        "reference,title,supplier,start_date,end_date,annual_value\n\
         R-3,Revenues software licence,Civ\u{456}ca UK Limited,2024-04-01,2029-03-31,100000\n",
    )
    .await;
    assert_eq!(report["outcome"], "imported", "{report}");
    assert_eq!(report["new_suppliers"], json!([]), "{report}");
    assert_eq!(
        app.column("SELECT supplier_id AS value FROM contracts WHERE source_reference LIKE 'register:camden:R-3:%'"),
        ["civica"]
    );
    let stored = app.column(
        "SELECT title || '|' || supplier_id AS value FROM contracts \
         WHERE source_reference LIKE 'register:camden:%' ORDER BY title",
    );
    assert_eq!(
        stored,
        [
            "Payroll system|civica",
            "Revenues software licence|acivic",
            "Revenues software licence|civica"
        ]
    );
    let hidden = app.column(
        "SELECT count(*) AS value FROM suppliers WHERE name ~ '[\\u200b-\\u200f\\u202a-\\u202e\\u2066-\\u2069]'",
    );
    assert_eq!(hidden, ["0"]);
}

#[actix_web::test]
async fn one_borough_cannot_take_anothers_references_to_block_its_import() {
    let app = TestApp::new();
    let hackney = app.key("borough", Some("hackney"));
    let camden = app.key("borough", Some("camden"));
    // Hackney writes a contract under Camden's register namespace, in the importer's source.
    let squat = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&hackney),
            Some(
                &json!({"borough_id": "hackney", "supplier_id": "civica", "title": "Squat",
                         "service_area_ids": ["council-tax"], "source": "open_data",
                         "source_reference": "register:camden:R-200:civica"}),
            ),
            &[],
        )
        .await;
    assert_eq!(squat.status.as_u16(), 201, "{}", squat.text());
    // Camden's register import of R-200 is not blocked, and makes Camden's own contract.
    let report = import_register(
        &app,
        &camden,
        "reference,title,supplier,start_date,end_date,annual_value\n\
         R-200,Revenues software licence,Civica UK Ltd,2024-04-01,2029-03-31,100000\n",
    )
    .await;
    assert_eq!(report["outcome"], "imported", "{report}");
    assert_eq!(report["created"], 1, "{report}");
    let owners = app.column(
        "SELECT borough_id || '|' || title AS value FROM contracts \
         WHERE source_reference = 'register:camden:R-200:civica' ORDER BY borough_id",
    );
    assert_eq!(
        owners,
        ["camden|Revenues software licence", "hackney|Squat"]
    );
    // Importing again updates Camden's, never Hackney's.
    let again = import_register(
        &app,
        &camden,
        "reference,title,supplier,start_date,end_date,annual_value\n\
         R-200,Revenues software licence,Civica UK Ltd,2024-04-01,2030-03-31,100000\n",
    )
    .await;
    assert_eq!(
        (again["created"].clone(), again["updated"].clone()),
        (json!(0), json!(1)),
        "{again}"
    );
    let squatted = app.column(
        "SELECT coalesce(end_date::text, 'none') AS value FROM contracts WHERE title = 'Squat'",
    );
    assert_eq!(squatted, ["none"]);
}

#[actix_web::test]
async fn an_import_holds_every_text_to_the_apis_limits_and_writes_nothing_beyond_them() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let before = app.fingerprint(&[
        ("contracts", "t.id"),
        ("suppliers", "t.id"),
        ("changes", "t.id"),
    ]);
    let long = "x".repeat(10_001);
    for (field, row) in [
        (
            "title",
            format!("R-1,{long} software,Civica UK Ltd,2024-04-01,2029-03-31,1000"),
        ),
        (
            "supplier",
            format!("R-2,Payroll software,{long} Ltd,2024-04-01,2029-03-31,1000"),
        ),
    ] {
        let report = import_register(
            &app,
            &admin,
            &format!("reference,title,supplier,start_date,end_date,annual_value\n{row}\n"),
        )
        .await;
        assert_eq!(report["outcome"], "failed", "{field}");
        let fields: Vec<&str> = report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field}: {fields:?}");
        let message = report["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("longer than 10000"), "{message}");
        // The report quotes the start of the text, not all of it.
        assert!(report.to_string().len() < 5_000, "{field}");
    }
    assert_eq!(
        app.fingerprint(&[
            ("contracts", "t.id"),
            ("suppliers", "t.id"),
            ("changes", "t.id")
        ]),
        before
    );
}

#[actix_web::test]
async fn dates_fall_between_1900_and_2199_however_they_come_in() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let response = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(
                &json!({"borough_id": "camden", "supplier_id": "civica", "title": "Payroll",
                         "service_area_ids": ["council-tax"], "source": "manual",
                         "start_date": "0000-01-01", "end_date": "9999-12-31"}),
            ),
            &[],
        )
        .await;
    let problem = response.problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["start_date", "end_date"], "{problem}");
    let query = app
        .get("/api/v1/contracts?ends_after=0000-01-01")
        .await
        .problem(400);
    assert_eq!(query["errors"][0]["field"], "ends_after");
    let report = import_register(
        &app,
        &admin,
        "reference,title,supplier,start_date,end_date,annual_value\n\
         R-1,Payroll software,Civica UK Ltd,01/01/0000,31/03/2029,1000\n",
    )
    .await;
    assert_eq!(report["outcome"], "failed", "{report}");
    assert_eq!(report["errors"][0]["field"], "start_date", "{report}");
}

#[actix_web::test]
async fn forwarded_headers_and_a_bad_host_never_reach_an_exports_links() {
    let app = TestApp::new();
    let response = app
        .get_with(
            "/api/v1/contracts/calendar.ics?borough=camden",
            &[
                ("x-forwarded-proto", "javascript"),
                ("x-forwarded-host", "evil.example"),
                ("forwarded", "proto=javascript;host=evil.example"),
                ("host", "citytools.example.org"),
            ],
        )
        .await;
    let calendar = response.text();
    assert!(
        calendar.contains("URL:http://citytools.example.org/api/v1/contracts/"),
        "{calendar}"
    );
    assert!(!calendar.contains("evil") && !calendar.contains("javascript"));
    let bad_host = app
        .get_with(
            "/api/v1/contracts/calendar.ics?borough=camden",
            &[("host", "javascript:alert(1)//")],
        )
        .await
        .text();
    assert!(!bad_host.contains("javascript"), "{bad_host}");
    assert!(bad_host.contains("URL:http://localhost:8080/api/v1/contracts/"));
}

#[actix_web::test]
async fn a_numbered_page_deeper_than_ten_thousand_rows_points_to_the_cursor() {
    let app = TestApp::new();
    for uri in [
        "/api/v1/contracts?page=1000000&sort=-annual_value_gbp",
        "/api/v1/contracts?page=202&per_page=50",
        "/api/v1/suppliers?page=10002&per_page=1",
        "/api/v1/tenders?page=22&per_page=500",
    ] {
        let problem = app.get(uri).await.problem(400);
        assert_eq!(problem["errors"][0]["field"], "page", "{uri}");
        assert!(
            problem["detail"].as_str().unwrap().contains("cursor"),
            "{uri}"
        );
    }
    // The deepest numbered page still answers.
    let deepest = app.get("/api/v1/contracts?page=201&per_page=50").await;
    assert_eq!(deepest.status.as_u16(), 200);
}

#[actix_web::test]
async fn readyz_answers_while_slow_requests_hold_every_connection_of_the_pool() {
    use actix_web::test::{call_service, init_service};
    let test_app = TestApp::new();
    // A pool of one connection, taken (as by a slow export), and /readyz's own pool.
    let pool = citytools::db::pool(&test_app.url, 1).unwrap();
    let _held = pool.get().unwrap();
    let options = citytools::app::AppOptions {
        health_pool: Some(citytools::db::pool(&test_app.url, 1).unwrap()),
        ..citytools::app::AppOptions::default()
    };
    let app = init_service(citytools::app::build_app(pool.clone(), options)).await;
    let started = std::time::Instant::now();
    let ready = call_service(&app, TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(ready.status(), 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

/// A borough key's file of more records than it may import is refused as soon as it has been
/// read: nothing is looked up or planned, so the answer lists no contracts and counts none as
/// created, and nothing is written.
#[actix_web::test]
async fn a_borough_keys_file_of_too_many_records_is_refused_before_any_plan() {
    let app = TestApp::new();
    let camden = app.key("borough", Some("camden"));
    let mut register = String::from("reference,title,supplier,start_date,end_date,annual_value\n");
    for n in 0..20_001 {
        register.push_str(&format!(
            "BIG-{n},Case management software,Civica,2024-04-01,2029-03-31,1000\n"
        ));
    }
    let report = import_register(&app, &camden, &register).await;
    assert_eq!(report["outcome"], "failed", "{report}");
    assert_eq!(report["records"], 20_001);
    assert_eq!(report["errors"][0]["field"], "file");
    assert!(report["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("at most 20000"));
    assert_eq!(
        (&report["created"], &report["contracts"]),
        (&json!(0), &json!([]))
    );
    assert_eq!(
        app.column("SELECT count(*) AS value FROM contracts WHERE source_reference LIKE '%BIG-%'"),
        ["0"]
    );
}

#[actix_web::test]
async fn a_borough_key_imports_one_file_at_a_time_and_adds_few_suppliers() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::new();
    let camden = app.key("borough", Some("camden"));
    let admin = app.key("admin", None);
    let mut register = String::from("reference,title,supplier,start_date,end_date,annual_value\n");
    for n in 0..51 {
        register.push_str(&format!(
            "R-{n},Case management software,Newco {n} Software Ltd,2024-04-01,2029-03-31,1000\n"
        ));
    }
    let report = import_register(&app, &camden, &register).await;
    assert_eq!(report["outcome"], "failed", "{report}");
    assert_eq!(report["errors"][0]["field"], "supplier", "{report}");
    assert!(report["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("at most 50"));
    assert_eq!(
        app.column("SELECT count(*) AS value FROM suppliers WHERE name LIKE 'Newco %'"),
        ["0"]
    );
    // An admin's import adds them.
    let report = import_register(&app, &admin, &register).await;
    assert_eq!(report["outcome"], "imported", "{report}");

    // While an import by a key runs, another by the same key is a 429; another key's goes on.
    let key_id: i64 = app.column(&format!(
        "SELECT id AS value FROM api_keys WHERE key_hash = '{}'",
        citytools::auth::hash_key(&camden)
    ))[0]
        .parse()
        .unwrap();
    let mut running = app.conn();
    running
        .batch_execute(&format!(
            "SELECT pg_advisory_lock({})",
            0x696d_706f_0000_0000_i64 + key_id
        ))
        .unwrap();
    let small = "reference,title,supplier,start_date,end_date,annual_value\n\
                 R-900,Payroll software,Civica UK Ltd,2024-04-01,2029-03-31,1000\n";
    let busy = app
        .call(
            TestRequest::post()
                .uri("/api/v1/imports?format=contracts-register&borough=camden")
                .insert_header(("authorization", format!("Bearer {camden}")))
                .insert_header(("content-type", "text/csv"))
                .set_payload(small),
        )
        .await;
    assert_eq!(busy.status.as_u16(), 429, "{}", busy.text());
    assert!(busy.header("retry-after").is_some());
    assert_eq!(
        import_register(&app, &admin, small).await["outcome"],
        "imported"
    );
    running
        .batch_execute(&format!(
            "SELECT pg_advisory_unlock({})",
            0x696d_706f_0000_0000_i64 + key_id
        ))
        .unwrap();
    assert_eq!(
        import_register(&app, &camden, small).await["outcome"],
        "imported"
    );
}

#[actix_web::test]
async fn insights_and_downloads_take_a_bounded_share_of_the_connections() {
    use actix_web::test::{call_service, init_service, read_body};
    let test_app = TestApp::new();
    let options = citytools::app::AppOptions {
        heavy_reads: Some(citytools::guard::HeavyReads::new(1)),
        ..citytools::app::AppOptions::default()
    };
    let app = init_service(citytools::app::build_app(test_app.pool.clone(), options)).await;
    let get = |uri: &str| TestRequest::get().uri(uri).to_request();
    // A download whose client has not read it yet holds the one place.
    let download = call_service(&app, get("/api/v1/contracts?format=csv")).await;
    assert_eq!(download.status(), 200);
    for uri in [
        "/api/v1/insights/summary",
        "/api/v1/contracts/calendar.ics",
        "/api/v1/suppliers?format=csv",
    ] {
        let busy = call_service(&app, get(uri)).await;
        assert_eq!(busy.status(), 503, "{uri}");
        assert!(busy.headers().get("retry-after").is_some());
    }
    // Cheap reads go on meanwhile.
    assert_eq!(
        call_service(&app, get("/api/v1/contracts?per_page=5"))
            .await
            .status(),
        200
    );
    // Once the download has been sent, its place is free.
    let body = read_body(download).await;
    assert!(body.starts_with(b"id,"));
    assert_eq!(
        call_service(&app, get("/api/v1/insights/summary"))
            .await
            .status(),
        200
    );
}

/// Heavy reads without a key cannot take the places kept for callers with a key: with three
/// places, one anonymous download holds the one anonymous place, another anonymous heavy read
/// is refused, and a keyed insight still answers.
#[actix_web::test]
async fn anonymous_heavy_reads_leave_places_for_callers_with_a_key() {
    use actix_web::test::{call_service, init_service, read_body};
    let test_app = TestApp::new();
    let reader = test_app.key("reader", None);
    let options = citytools::app::AppOptions {
        heavy_reads: Some(citytools::guard::HeavyReads::new(3)),
        ..citytools::app::AppOptions::default()
    };
    let app = init_service(citytools::app::build_app(test_app.pool.clone(), options)).await;
    let get = |uri: &str| TestRequest::get().uri(uri).to_request();
    let download = call_service(&app, get("/api/v1/contracts?format=csv")).await;
    assert_eq!(download.status(), 200);
    let busy = call_service(&app, get("/api/v1/insights/summary")).await;
    assert_eq!(busy.status(), 503);
    let detail = String::from_utf8(read_body(busy).await.to_vec()).unwrap();
    assert!(detail.contains("without a key"), "{detail}");
    for _ in 0..2 {
        let keyed = TestRequest::get()
            .uri("/api/v1/insights/summary")
            .insert_header(("authorization", format!("Bearer {reader}")))
            .to_request();
        assert_eq!(call_service(&app, keyed).await.status(), 200);
    }
    drop(read_body(download).await);
    assert_eq!(
        call_service(&app, get("/api/v1/insights/summary"))
            .await
            .status(),
        200
    );
}

#[actix_web::test]
async fn a_configured_public_url_is_the_origin_of_every_link() {
    use actix_web::test::{call_service, init_service, read_body};
    let test_app = TestApp::new();
    let options = citytools::app::AppOptions {
        public_url: Some("https://citytools.example.org".into()),
        ..citytools::app::AppOptions::default()
    };
    let app = init_service(citytools::app::build_app(test_app.pool.clone(), options)).await;
    let request = TestRequest::get()
        .uri("/api/v1/contracts/calendar.ics?borough=camden")
        .insert_header(("host", "elsewhere.example"))
        .to_request();
    let body = read_body(call_service(&app, request).await).await;
    let calendar = String::from_utf8_lossy(&body);
    assert!(calendar.contains("URL:https://citytools.example.org/api/v1/contracts/"));
    assert!(!calendar.contains("elsewhere"));
}
