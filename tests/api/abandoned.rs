//! A request whose client goes away stops using the database: its statement is cancelled, or
//! never started when it was still waiting for a connection.

use std::time::{Duration, Instant};

use actix_web::test as actix_test;
use citytools::app::{build_app, AppOptions};
use citytools::db;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::helpers::TestApp;

/// Statements of this database's other sessions waiting for a lock on the contracts.
fn waiting_on_contracts(test: &TestApp, conn: &mut PgConnection) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = '{}' AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' \
           AND query ILIKE '%contracts%'",
        test.database
    ))
    .get_result::<Count>(conn)
    .unwrap()
    .n
}

#[actix_web::test]
async fn a_client_that_goes_away_has_its_statement_cancelled() {
    let test = TestApp::new();
    let pool = db::pool(&test.url, 2).unwrap();
    let app = actix_test::init_service(build_app(pool.clone(), AppOptions::default())).await;

    // Another session holds the contracts, so any read of them waits.
    let mut holder = test.conn();
    holder
        .batch_execute("BEGIN; LOCK TABLE contracts IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let mut watcher = test.conn();

    let request = actix_test::TestRequest::get()
        .uri("/api/v1/contracts?per_page=5")
        .to_request();
    let gave_up = actix_web::rt::time::timeout(Duration::from_millis(1500), async {
        actix_test::call_service(&app, request).await
    });
    // While the client waits, its statement waits on the lock.
    let (outcome, waiting) = futures_join(gave_up, async {
        actix_web::rt::time::sleep(Duration::from_millis(1000)).await;
        waiting_on_contracts(&test, &mut watcher)
    })
    .await;
    assert!(
        outcome.is_err(),
        "the request was expected to be still waiting"
    );
    assert_eq!(
        waiting, 1,
        "the request's statement was not waiting on the lock"
    );

    // The client is gone: its statement is cancelled although the lock is still held.
    let started = Instant::now();
    while waiting_on_contracts(&test, &mut watcher) > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the statement of a request that went away is still running"
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    holder.batch_execute("COMMIT").unwrap();

    // Its connection is back in the pool, and works.
    let response = actix_test::call_service(
        &app,
        actix_test::TestRequest::get()
            .uri("/api/v1/contracts?per_page=1")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
}

/// Runs two futures at once on this task and returns both results.
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}
