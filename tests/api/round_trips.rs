//! One round trip a request: a list or a record is one statement, prepared once per
//! connection, with the filter's ids checked against the in-memory reference cache, which any
//! change to the reference tables refreshes (this instance's writes at once, anyone's through
//! PostgreSQL's notifications).

use std::time::{Duration, Instant};

use actix_web::test as actix_test;
use citytools::app::{build_app, AppOptions};
use citytools::db::{self, DbPool};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// The statements the pool's only connection has run so far.
fn statements(pool: &DbPool) -> u64 {
    db::statements_run(&mut pool.get().unwrap()).expect("a pooled connection is watched")
}

/// Statements that the pool's connection keeps prepared and that read the contracts.
fn prepared_contract_reads(pool: &DbPool) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_prepared_statements \
         WHERE statement LIKE '%FROM \"contracts\"%'",
    )
    .get_result::<Count>(&mut pool.get().unwrap())
    .unwrap()
    .n
}

/// Waits (up to 10 s) for `check` to hold: the cache of another instance hears of a change
/// through a notification, a moment after the commit.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_filtered_list_or_a_record_is_one_prepared_statement() {
    let test = TestApp::new();
    let pool = db::pool(&test.url, 1).unwrap();
    let app = actix_test::init_service(build_app(pool.clone(), AppOptions::default())).await;
    let get = |uri: &str| actix_test::TestRequest::get().uri(uri).to_request();

    let id: i64 = test.column("SELECT min(id)::text AS value FROM contracts")[0]
        .parse()
        .unwrap();
    let record = format!("/api/v1/contracts/{id}");
    let lists = [
        "/api/v1/contracts?borough=camden",
        "/api/v1/contracts?borough=E09000007&service_area=revenues-and-benefits&sort=end_date",
        "/api/v1/contracts?supplier=civica&system=civica-openrevenues&per_page=5&page=2",
        "/api/v1/contracts?q=revenues&sort=-annual_value_gbp",
        "/api/v1/contracts?ends_after=2026-01-01&ends_before=2027-12-31&cursor=",
        record.as_str(),
    ];
    // The first request loads the reference cache once the listener is connected.
    let started = Instant::now();
    loop {
        let before = statements(&pool);
        let response = actix_test::call_service(&app, get(lists[1])).await;
        assert_eq!(response.status(), 200);
        if statements(&pool) - before == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the reference cache never filled"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    for uri in lists {
        for _ in 0..2 {
            let before = statements(&pool);
            let response = actix_test::call_service(&app, get(uri)).await;
            assert_eq!(response.status(), 200, "{uri}");
            let body: Value = actix_test::read_body_json(response).await;
            if uri != record {
                assert_eq!(body["meta"]["total_exact"], true, "{uri}");
                assert!(
                    body["meta"]["total"].as_i64().unwrap() > 0,
                    "{uri} matches nothing"
                );
            }
            assert_eq!(statements(&pool) - before, 1, "statements for {uri}");
        }
    }
    assert!(
        prepared_contract_reads(&pool) >= lists.len() as i64,
        "the list statements were not kept prepared"
    );

    // An unknown id is not in the cache: the database is asked, and the answer is a 400.
    let response = actix_test::call_service(&app, get("/api/v1/contracts?borough=atlantis")).await;
    assert_eq!(response.status(), 400);
}

#[actix_web::test]
async fn a_new_service_area_is_in_its_group_at_once_here_and_soon_everywhere() {
    let test = TestApp::new();
    let admin = test.key("admin", None);
    let group_list = "/api/v1/contracts?service_area=revenues-and-benefits&per_page=500";
    let ids = |body: Value| -> Vec<i64> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let before = ids(test.get(group_list).await.json());
    assert!(!before.is_empty());

    // Through this instance's API: the group names the new area on the very next request.
    let created = test
        .send(
            "POST",
            "/api/v1/service-areas",
            Some(&admin),
            Some(&json!({"id": "parking-permits", "name": "Parking permits",
                         "parent_id": "revenues-and-benefits"})),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let mut conn = test.conn();
    let contract = tag_outside_the_group(&mut conn, "min", "parking-permits");
    assert!(!before.contains(&contract));
    let now = ids(test.get(group_list).await.json());
    assert!(
        now.contains(&contract),
        "the new area's contract is not in its group"
    );

    // Behind the API's back (another instance, an import, psql): the notification reaches the
    // cache, and the group names the area.
    conn.batch_execute(
        "INSERT INTO service_areas (id, name, parent_id) \
         VALUES ('resident-parking', 'Resident parking', 'revenues-and-benefits')",
    )
    .unwrap();
    let other = tag_outside_the_group(&mut conn, "max", "resident-parking");
    eventually("the notification never refreshed the cache", async || {
        ids(test.get(group_list).await.json()).contains(&other)
    })
    .await;

    // A borough by its GSS code, a supplier made a moment ago: known or asked for, never
    // refused for being new.
    conn.batch_execute(
        "INSERT INTO suppliers (id, name) VALUES ('brand-new-ltd', 'Brand New Ltd')",
    )
    .unwrap();
    let response = test.get("/api/v1/contracts?supplier=brand-new-ltd").await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["meta"]["total"], 0);
}

/// Tags the contract with the lowest or highest id (`pick`: `min` or `max`) among those in no
/// area of revenues and benefits with `area`; returns its id.
fn tag_outside_the_group(conn: &mut PgConnection, pick: &str, area: &str) -> i64 {
    diesel::sql_query(format!(
        "INSERT INTO contract_service_areas (contract_id, service_area_id) \
         SELECT {pick}(id), '{area}' FROM contracts \
         WHERE id NOT IN (SELECT contract_id FROM contract_service_areas \
                          WHERE service_area_id IN (SELECT id FROM service_areas \
                                                    WHERE parent_id = 'revenues-and-benefits')) \
         RETURNING contract_id AS value"
    ))
    .get_result::<IdRow>(conn)
    .unwrap()
    .value
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}
