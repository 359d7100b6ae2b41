//! The access matrix: every write operation by every kind of caller. A refused write changes
//! nothing, in the data or in the change log.

use serde_json::{json, Value};

use crate::helpers::TestApp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    MalformedScheme,
    MalformedKey,
    Revoked,
    Reader,
    OwnBorough,
    OtherBorough,
    Admin,
}

const EVERYONE: [Who; 8] = [
    Who::Anonymous,
    Who::MalformedScheme,
    Who::MalformedKey,
    Who::Revoked,
    Who::Reader,
    Who::OwnBorough,
    Who::OtherBorough,
    Who::Admin,
];

/// What each caller gets: the status for those refused, success for those allowed.
fn expected(who: Who, contract_op: bool) -> Option<u16> {
    match who {
        Who::Anonymous | Who::MalformedScheme | Who::MalformedKey | Who::Revoked => Some(401),
        Who::Reader | Who::OtherBorough => Some(403),
        Who::OwnBorough if !contract_op => Some(403),
        Who::OwnBorough | Who::Admin => None,
    }
}

/// Rows that deletes can remove: nothing refers to them.
const SPARE_ROWS: &str = "
    INSERT INTO boroughs (id, gss_code, name, official_name, kind, inner_london_statutory, inner_london_ons)
        VALUES ('spare-borough', 'E09999998', 'Spare', 'Spare Borough', 'london_borough', false, false);
    INSERT INTO service_areas (id, name, parent_id) VALUES ('spare-area', 'Spare area', 'revenues-and-benefits');
    INSERT INTO suppliers (id, name) VALUES ('spare-supplier', 'Spare Supplier');
    INSERT INTO systems (id, name, supplier_id) VALUES ('spare-system', 'Spare System', 'civica');
";

/// A fingerprint of every table a write can touch, and of the change log.
const FINGERPRINT: &str = "SELECT md5(concat_ws('|',
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM boroughs t),
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM service_areas t),
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM suppliers t),
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM supplier_aliases t),
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM systems t),
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM system_service_areas t),
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM contracts t),
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM contract_service_areas t),
    (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM changes t))) AS value";

struct Callers {
    reader: String,
    own: String,
    other: String,
    admin: String,
    revoked: String,
}

fn callers(app: &TestApp) -> Callers {
    let revoked = app.key("admin", None);
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE api_keys SET revoked_at = now() WHERE name = 'test admin'"),
        &mut app.conn(),
    )
    .unwrap();
    Callers {
        reader: app.key("reader", None),
        own: app.key("borough", Some("camden")),
        other: app.key("borough", Some("hackney")),
        admin: app.key("admin", None),
        revoked,
    }
}

fn setup() -> (TestApp, Callers, String) {
    let app = TestApp::new();
    diesel::connection::SimpleConnection::batch_execute(&mut app.conn(), SPARE_ROWS).unwrap();
    let callers = callers(&app);
    let contract =
        app.column("SELECT min(id) AS value FROM contracts WHERE borough_id = 'camden'")[0].clone();
    (app, callers, contract)
}

async fn send_as(
    app: &TestApp,
    callers: &Callers,
    who: Who,
    method: &str,
    uri: &str,
    body: Option<&Value>,
) -> crate::helpers::TestResponse {
    match who {
        Who::Anonymous => app.send(method, uri, None, body, &[]).await,
        Who::MalformedScheme => {
            app.send(
                method,
                uri,
                None,
                body,
                &[("authorization", "Basic YWRtaW46YWRtaW4=")],
            )
            .await
        }
        Who::MalformedKey => app.send(method, uri, Some("not-a-key"), body, &[]).await,
        Who::Revoked => {
            app.send(method, uri, Some(&callers.revoked), body, &[])
                .await
        }
        Who::Reader => {
            app.send(method, uri, Some(&callers.reader), body, &[])
                .await
        }
        Who::OwnBorough => app.send(method, uri, Some(&callers.own), body, &[]).await,
        Who::OtherBorough => app.send(method, uri, Some(&callers.other), body, &[]).await,
        Who::Admin => app.send(method, uri, Some(&callers.admin), body, &[]).await,
    }
}

fn contract_body() -> Value {
    json!({
        "borough_id": "camden",
        "supplier_id": "civica",
        "system_id": "civica-openrevenues",
        "service_area_ids": ["council-tax"],
        "title": "Council tax system",
        "start_date": "2024-04-01",
        "end_date": "2029-03-31",
        "annual_value_gbp": "120000.00",
        "satisfaction": 4
    })
}

/// The write operations: method, path (`{contract}` is a Camden contract), body, and whether
/// borough keys may make it.
fn operations() -> Vec<(&'static str, &'static str, Option<Value>, bool)> {
    vec![
        ("POST", "/api/v1/contracts", Some(contract_body()), true),
        (
            "PUT",
            "/api/v1/contracts/{contract}",
            Some(contract_body()),
            true,
        ),
        (
            "PATCH",
            "/api/v1/contracts/{contract}",
            Some(json!({"notes": "checked"})),
            true,
        ),
        ("DELETE", "/api/v1/contracts/{contract}", None, true),
        (
            "POST",
            "/api/v1/boroughs",
            Some(
                json!({"id": "new-borough", "gss_code": "E09999997", "name": "New", "official_name": "New Borough",
                        "kind": "london_borough", "inner_london_statutory": false, "inner_london_ons": false}),
            ),
            false,
        ),
        (
            "PUT",
            "/api/v1/boroughs/spare-borough",
            Some(
                json!({"gss_code": "E09999998", "name": "Spare", "official_name": "Spare Borough",
                        "kind": "royal_borough", "inner_london_statutory": false, "inner_london_ons": true}),
            ),
            false,
        ),
        (
            "PATCH",
            "/api/v1/boroughs/camden",
            Some(json!({"website": "https://camden.example"})),
            false,
        ),
        ("DELETE", "/api/v1/boroughs/spare-borough", None, false),
        (
            "POST",
            "/api/v1/service-areas",
            Some(
                json!({"id": "new-area", "name": "New area", "parent_id": "revenues-and-benefits"}),
            ),
            false,
        ),
        (
            "PUT",
            "/api/v1/service-areas/spare-area",
            Some(
                json!({"name": "Spare area", "parent_id": "revenues-and-benefits", "description": "Kept for tests"}),
            ),
            false,
        ),
        (
            "PATCH",
            "/api/v1/service-areas/council-tax",
            Some(json!({"description": "Council tax billing"})),
            false,
        ),
        ("DELETE", "/api/v1/service-areas/spare-area", None, false),
        (
            "POST",
            "/api/v1/suppliers",
            Some(
                json!({"id": "new-supplier", "name": "New Supplier", "aliases": ["New Supplier Ltd"], "sme": true}),
            ),
            false,
        ),
        (
            "PUT",
            "/api/v1/suppliers/spare-supplier",
            Some(
                json!({"name": "Spare Supplier", "aliases": ["Spare Supplier Limited"], "sme": false}),
            ),
            false,
        ),
        (
            "PATCH",
            "/api/v1/suppliers/civica",
            Some(json!({"website": "https://civica.example"})),
            false,
        ),
        ("DELETE", "/api/v1/suppliers/spare-supplier", None, false),
        (
            "POST",
            "/api/v1/systems",
            Some(
                json!({"id": "new-system", "name": "New System", "supplier_id": "civica", "service_area_ids": ["council-tax"]}),
            ),
            false,
        ),
        (
            "PUT",
            "/api/v1/systems/spare-system",
            Some(
                json!({"name": "Spare System", "supplier_id": "civica", "service_area_ids": ["business-rates"]}),
            ),
            false,
        ),
        (
            "PATCH",
            "/api/v1/systems/civica-openrevenues",
            Some(json!({"description": "Revenues"})),
            false,
        ),
        ("DELETE", "/api/v1/systems/spare-system", None, false),
    ]
}

#[actix_web::test]
async fn every_write_operation_by_every_kind_of_caller() {
    let mut matrix = Vec::new();
    for (method, path, body, contract_op) in operations() {
        // The refused callers, one after another on one database: none of them changes anything.
        let (app, keys, contract) = setup();
        let uri = path.replace("{contract}", &contract);
        let fingerprint = app.column(FINGERPRINT);
        for who in EVERYONE {
            if let Some(status) = expected(who, contract_op) {
                let response = send_as(&app, &keys, who, method, &uri, body.as_ref()).await;
                let problem = response.problem(status);
                if status == 401 {
                    assert!(response
                        .header("www-authenticate")
                        .is_some_and(|h| h.starts_with("Bearer")));
                }
                assert!(!problem["detail"].as_str().unwrap().is_empty());
                assert_eq!(
                    app.column(FINGERPRINT),
                    fingerprint,
                    "{who:?} {method} {uri} changed something"
                );
                matrix.push(format!("{method} {path} {who:?} -> {status}"));
            }
        }
        // Each allowed caller on a database of its own, so that each write can succeed.
        for who in EVERYONE
            .into_iter()
            .filter(|who| expected(*who, contract_op).is_none())
        {
            let (app, keys, contract) = setup();
            let uri = path.replace("{contract}", &contract);
            let changes = app.change_count();
            let response = send_as(&app, &keys, who, method, &uri, body.as_ref()).await;
            assert!(
                response.status.is_success(),
                "{who:?} {method} {uri}: {}",
                response.text()
            );
            assert_eq!(
                app.change_count(),
                changes + 1,
                "{who:?} {method} {uri} is logged once"
            );
            if method != "DELETE" {
                assert!(response.header("etag").is_some());
                let read = app
                    .send(
                        "GET",
                        response.header("location").as_deref().unwrap_or(&uri),
                        Some(&keys.admin),
                        None,
                        &[],
                    )
                    .await;
                assert_eq!(
                    read.header("etag"),
                    response.header("etag"),
                    "the write returns the ETag a read gives"
                );
            } else {
                assert_eq!(response.status, 204);
                app.send("GET", &uri, Some(&keys.admin), None, &[])
                    .await
                    .problem(404);
            }
            matrix.push(format!(
                "{method} {path} {who:?} -> {}",
                response.status.as_u16()
            ));
        }
    }
    assert_eq!(matrix.len(), operations().len() * EVERYONE.len());
    println!("{}", matrix.join("\n"));
}

#[actix_web::test]
async fn a_borough_key_cannot_move_a_contract_to_another_borough() {
    let (app, keys, contract) = setup();
    let uri = format!("/api/v1/contracts/{contract}");
    let fingerprint = app.column(FINGERPRINT);
    let response = app
        .send(
            "PATCH",
            &uri,
            Some(&keys.own),
            Some(&json!({"borough_id": "hackney"})),
            &[],
        )
        .await;
    let problem = response.problem(403);
    assert!(problem["detail"].as_str().unwrap().contains("hackney"));
    assert_eq!(app.column(FINGERPRINT), fingerprint);
    // An admin may.
    let moved = app
        .send(
            "PATCH",
            &uri,
            Some(&keys.admin),
            Some(&json!({"borough_id": "hackney"})),
            &[],
        )
        .await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.json()["borough_id"], "hackney");
}

#[actix_web::test]
async fn refusals_do_not_reveal_whether_a_record_exists() {
    let (app, keys, _) = setup();
    for uri in ["/api/v1/contracts/99999999", "/api/v1/boroughs/atlantis"] {
        let anonymous = app
            .send("PATCH", uri, None, Some(&json!({"notes": "x"})), &[])
            .await;
        anonymous.problem(401);
        let reader = app
            .send(
                "PATCH",
                uri,
                Some(&keys.reader),
                Some(&json!({"notes": "x"})),
                &[],
            )
            .await;
        reader.problem(403);
    }
}

#[actix_web::test]
async fn keys_are_recorded_as_used() {
    let (app, keys, _) = setup();
    assert_eq!(
        app.column("SELECT count(*) AS value FROM api_keys WHERE last_used_at IS NOT NULL"),
        vec!["0"]
    );
    app.send("GET", "/api/v1/boroughs", Some(&keys.reader), None, &[])
        .await;
    assert_eq!(
        app.column("SELECT name AS value FROM api_keys WHERE last_used_at IS NOT NULL"),
        vec!["test reader"]
    );
    // Keys are stored only as hashes.
    let stored = app.column("SELECT concat(prefix, key_hash) AS value FROM api_keys");
    assert!(stored.iter().all(|row| !row.contains(&keys.reader[12..])));
}

#[actix_web::test]
async fn a_bad_key_is_refused_even_on_reads() {
    let (app, keys, _) = setup();
    for header in [
        "Bearer ct_aaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "Bearer",
        "Token abc",
    ] {
        let response = app
            .send(
                "GET",
                "/api/v1/contracts",
                None,
                None,
                &[("authorization", header)],
            )
            .await;
        response.problem(401);
        assert!(response.header("www-authenticate").is_some());
    }
    app.send("GET", "/api/v1/contracts", Some(&keys.revoked), None, &[])
        .await
        .problem(401);
}
