//! A request whose client goes away stops using the database: its statement is cancelled, or
//! never started when it was still waiting for a connection. A client that stops sending its
//! body is answered and let go.

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

#[actix_web::test]
async fn a_body_that_stops_arriving_is_refused_within_the_idle_bound() {
    use std::io::{Read, Write};

    let test = TestApp::new();
    let admin = test.key("admin", None);
    let pool = test.pool.clone();
    let options = AppOptions {
        body_idle: Some(Duration::from_millis(500)),
        ..AppOptions::default()
    };
    let server = actix_web::HttpServer::new(move || build_app(pool.clone(), options.clone()))
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let address = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let (answer, took) = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        // A body of 100 bytes, of which 7 are sent, and then nothing.
        write!(
            stream,
            "POST /api/v1/suppliers HTTP/1.1\r\nHost: localhost\r\n\
             Authorization: Bearer {admin}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"id\": "
        )
        .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let started = Instant::now();
        let mut answer = vec![0; 4096];
        let read = stream.read(&mut answer).unwrap();
        answer.truncate(read);
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    })
    .await
    .unwrap();
    handle.stop(false).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("request body"), "{answer}");
    assert!(took < Duration::from_secs(10), "answered after {took:?}");
    let suppliers = test.column("SELECT count(*)::text AS value FROM suppliers WHERE id = ''");
    assert_eq!(suppliers, vec!["0"]);
}

#[actix_web::test]
async fn an_anonymous_heavy_read_runs_under_a_shorter_statement_timeout() {
    let test = TestApp::new();
    let reader = test.key("reader", None);
    // One connection, so every request below shares it; a timeout no statement can meet.
    let pool = db::pool(&test.url, 1).unwrap();
    let options = AppOptions {
        heavy_reads: Some(citytools::guard::HeavyReads::new(1)),
        anonymous_heavy_timeout: Some(Duration::from_millis(1)),
        ..AppOptions::default()
    };
    let app = actix_test::init_service(build_app(pool, options)).await;
    let get = |uri: &str, key: Option<&str>| {
        let mut request = actix_test::TestRequest::get().uri(uri);
        if let Some(key) = key {
            request = request.insert_header(("authorization", format!("Bearer {key}")));
        }
        request.to_request()
    };
    let heavy = "/api/v1/insights/vendor-satisfaction?q=council";
    let anonymous = actix_test::call_service(&app, get(heavy, None)).await;
    assert_eq!(
        anonymous.status(),
        503,
        "an anonymous insight beat a 1 ms timeout"
    );
    let body: serde_json::Value = actix_test::read_body_json(anonymous).await;
    assert!(
        body["detail"].as_str().unwrap().contains("took too long"),
        "{body}"
    );
    // The same read with a key has the whole default timeout, on the same connection...
    let keyed = actix_test::call_service(&app, get(heavy, Some(&reader))).await;
    assert_eq!(keyed.status(), 200);
    // ...and so does an anonymous cheap read after it.
    let cheap = actix_test::call_service(&app, get("/api/v1/contracts?q=council", None)).await;
    assert_eq!(cheap.status(), 200);
}
