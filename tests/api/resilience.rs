//! Losing the database: requests fail fast and clearly, readiness says so, and the service
//! recovers by itself when PostgreSQL returns.

use std::time::{Duration, Instant};

use citytools::app::{build_app, AppOptions};
use citytools::db::cluster::{ClusterOptions, LocalCluster};
use citytools::db::{self, LOCAL_DATABASE};
use diesel::{Connection, PgConnection};

/// Longest any request may take while the database is gone: the pool's 5 s wait for a
/// connection, with room for a slow machine. A bound on hanging, not a speed target.
const NO_HANG: Duration = Duration::from_secs(30);

fn start(base_dir: &std::path::Path, port: Option<u16>) -> LocalCluster {
    LocalCluster::start(&ClusterOptions {
        base_dir: base_dir.to_path_buf(),
        ephemeral: true,
        port,
    })
    .expect("start a private PostgreSQL")
}

#[actix_web::test]
async fn losing_the_database_is_a_503_and_the_service_recovers_by_itself() {
    let base_dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("resilience-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base_dir);
    let mut cluster = start(&base_dir, None);
    let port = cluster.port();
    cluster.ensure_database(LOCAL_DATABASE).unwrap();
    let url = cluster.database_url(LOCAL_DATABASE);
    citytools::app::startup::prepare(&mut PgConnection::establish(&url).unwrap()).unwrap();

    let pool = db::pool(&url, 4).unwrap();
    let app = actix_web::test::init_service(build_app(pool, AppOptions::default())).await;
    let get = |uri: &'static str| actix_web::test::TestRequest::get().uri(uri).to_request();
    assert_eq!(
        actix_web::test::call_service(&app, get("/api/v1/boroughs"))
            .await
            .status(),
        200
    );

    // Stop PostgreSQL while requests are in flight.
    let stopping = actix_web::rt::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    });
    let mut during = Vec::new();
    for uri in [
        "/api/v1/contracts",
        "/api/v1/boroughs/camden",
        "/api/v1/insights/market-share",
    ] {
        during.push(
            actix_web::test::call_service(&app, get(uri))
                .await
                .status()
                .as_u16(),
        );
    }
    let stopped = stopping.await.unwrap();
    for status in &during {
        assert!(
            matches!(status, 200 | 503),
            "a request during the stop answered {status}"
        );
    }

    // Gone: every request is a quick 503 problem with Retry-After, and /readyz says so.
    for uri in [
        "/api/v1/contracts?per_page=5",
        "/api/v1/boroughs/camden",
        "/api/v1/insights/summary",
        "/readyz",
    ] {
        let started = Instant::now();
        let response = actix_web::test::call_service(&app, get(uri)).await;
        assert!(
            started.elapsed() < NO_HANG,
            "{uri} hung for {:?}",
            started.elapsed()
        );
        assert_eq!(response.status(), 503, "{uri}");
        assert!(response.headers().contains_key("retry-after"), "{uri}");
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let body: serde_json::Value = actix_web::test::read_body_json(response).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("database") && !detail.contains("socket"),
            "{detail}"
        );
    }
    assert_eq!(
        actix_web::test::call_service(&app, get("/healthz"))
            .await
            .status(),
        200
    );

    // PostgreSQL comes back on the same socket: the same service answers again, unrestarted.
    drop(stopped);
    let _cluster = start(&base_dir, Some(port));
    let started = Instant::now();
    loop {
        let status = actix_web::test::call_service(&app, get("/readyz"))
            .await
            .status();
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < NO_HANG,
            "the service did not recover: {status}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    let response = actix_web::test::call_service(&app, get("/api/v1/boroughs?per_page=100")).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = actix_web::test::read_body_json(response).await;
    assert_eq!(body["meta"]["total"], 33, "no data was lost");
}

#[test]
fn a_second_command_uses_the_private_cluster_already_running() {
    let base_dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("shared-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base_dir);
    let serving = start(&base_dir, None);
    // A second command on the same directory (`citytools keys create` while `serve` runs):
    // no second server, no wait on the first one's lock, and the same database.
    let started = Instant::now();
    let second = start(&base_dir, None);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(second.port(), serving.port());
    PgConnection::establish(&second.database_url("postgres")).expect("the second connects");
    // Done, the second leaves the server running for the first.
    drop(second);
    PgConnection::establish(&serving.database_url("postgres")).expect("still running");
}
