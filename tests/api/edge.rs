//! The edge: security headers, CORS, write rate limits and body limits.

use std::sync::Arc;

use actix_web::test::{call_service, init_service, TestRequest};
use citytools::app::{build_app, AppOptions};
use citytools::guard::WriteLimiter;
use serde_json::json;

use crate::helpers::TestApp;

#[actix_web::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new();
    for uri in [
        "/api/v1/boroughs",
        "/api/v1/nothing",
        "/openapi.json",
        "/docs/",
        "/healthz",
    ] {
        let response = app.get(uri).await;
        assert_eq!(
            response.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{uri}"
        );
        assert_eq!(
            response.header("x-frame-options").as_deref(),
            Some("DENY"),
            "{uri}"
        );
        assert_eq!(
            response.header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{uri}"
        );
        let policy = response.header("content-security-policy").unwrap();
        assert!(policy.contains("frame-ancestors 'none'"), "{uri}: {policy}");
    }
    assert!(app
        .get("/api/v1/boroughs")
        .await
        .header("content-security-policy")
        .unwrap()
        .starts_with("default-src 'none'"));
}

fn options(origins: &[&str], rate: u32) -> AppOptions {
    AppOptions {
        cors_origins: Arc::new(origins.iter().map(|o| o.to_string()).collect()),
        write_limiter: WriteLimiter::new(rate),
        ..AppOptions::default()
    }
}

#[actix_web::test]
async fn browsers_read_from_anywhere_and_write_only_from_allowed_origins() {
    let test_app = TestApp::new();
    let app = init_service(build_app(
        test_app.pool.clone(),
        options(&["https://dash.example.org"], 0),
    ))
    .await;

    let read = call_service(
        &app,
        TestRequest::get()
            .uri("/api/v1/boroughs")
            .insert_header(("origin", "https://anywhere.example"))
            .to_request(),
    )
    .await;
    assert_eq!(read.status(), 200);
    assert_eq!(
        read.headers().get("access-control-allow-origin").unwrap(),
        "https://anywhere.example"
    );

    let preflight = |origin: &'static str, method: &'static str| {
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/api/v1/contracts")
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", method))
            .insert_header((
                "access-control-request-headers",
                "authorization, content-type",
            ))
            .to_request()
    };
    let allowed = call_service(&app, preflight("https://dash.example.org", "POST")).await;
    assert!(allowed.status().is_success());
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://dash.example.org"
    );
    let refused = call_service(&app, preflight("https://evil.example", "POST")).await;
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert!(refused.status().is_client_error());
    let get_preflight = call_service(&app, preflight("https://evil.example", "GET")).await;
    assert!(
        get_preflight.status().is_success(),
        "GETs from any origin, keyed ones included"
    );
}

#[actix_web::test]
async fn writes_beyond_the_rate_are_429_with_retry_after() {
    let test_app = TestApp::new();
    let admin = test_app.key("admin", None);
    let app = init_service(build_app(test_app.pool.clone(), options(&[], 3))).await;
    let patch = || {
        TestRequest::patch()
            .uri("/api/v1/boroughs/camden")
            .insert_header(("if-match", "*"))
            .insert_header(("authorization", format!("Bearer {admin}")))
            .set_json(json!({"website": "https://www.camden.gov.uk"}))
            .to_request()
    };
    for remaining in [2, 1, 0] {
        let written = call_service(&app, patch()).await;
        assert_eq!(written.status(), 200);
        let header = |name: &str| {
            written
                .headers()
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("ratelimit-limit"), "3");
        assert_eq!(header("ratelimit-remaining"), remaining.to_string());
        assert!(header("ratelimit-reset").parse::<u64>().unwrap() <= 60);
    }
    let limited = call_service(&app, patch()).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers().get("ratelimit-remaining").unwrap(), "0");
    let wait: u64 = limited
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    assert_eq!(
        limited.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    // Reads are not limited.
    let read = call_service(
        &app,
        TestRequest::get()
            .uri("/api/v1/boroughs/camden")
            .to_request(),
    )
    .await;
    assert_eq!(read.status(), 200);
    let changes =
        test_app.column("SELECT count(*) AS value FROM changes WHERE actor_kind = 'api_key'");
    assert_eq!(changes, vec!["3"], "a refused write changes nothing");
}

#[actix_web::test]
async fn a_keys_write_budget_is_spent_only_by_requests_that_verify_as_it() {
    let test_app = TestApp::new();
    let admin = test_app.key("admin", None);
    let app = init_service(build_app(test_app.pool.clone(), options(&[], 3))).await;
    // The victim's prefix with a made-up secret, from another address, many times.
    let (prefix, secret) = admin.trim_start_matches("ct_").split_once('_').unwrap();
    let forged = format!("ct_{prefix}_{}", "x".repeat(secret.len()));
    let write = |key: &str, address: &str| {
        TestRequest::patch()
            .uri("/api/v1/boroughs/camden")
            .insert_header(("if-match", "*"))
            .peer_addr(address.parse().unwrap())
            .insert_header(("authorization", format!("Bearer {key}")))
            .set_json(json!({"website": "https://www.camden.gov.uk"}))
            .to_request()
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            call_service(&app, write(&forged, "203.0.113.9:4000"))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429, 429],
        "the forger's address pays"
    );
    // The real key, from its own address, still writes.
    for _ in 0..3 {
        assert_eq!(
            call_service(&app, write(&admin, "198.51.100.7:4000"))
                .await
                .status(),
            200
        );
    }
    // And its own budget holds across addresses once spent.
    let limited = call_service(&app, write(&admin, "198.51.100.8:4000")).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_some());
}

#[actix_web::test]
async fn an_oversized_body_is_a_413_problem() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let body = json!({"notes": "x".repeat(400 * 1024)});
    let response = app
        .send(
            "PATCH",
            "/api/v1/boroughs/camden",
            Some(&admin),
            Some(&body),
            &[],
        )
        .await;
    response.problem(413);
}
