//! Cursor paging on the two lists that are not catalogue or contract lists: the change feed and
//! the opportunities insight. Each walked by cursor gives what its other paging gives.

use serde_json::Value;

use crate::helpers::{TestApp, TestResponse};

/// The `Link` header's URL for `rel`, if any.
fn link(response: &TestResponse, rel: &str) -> Option<String> {
    let header = response.header("link")?;
    header.split(", ").find_map(|entry| {
        let (url, relation) = entry.split_once("; ")?;
        (relation == format!("rel=\"{rel}\""))
            .then(|| url.trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

/// Every id reached by following `next` links from `first`, the number of pages, and the last
/// page's `meta.next_cursor`.
async fn walk(app: &TestApp, first: &str) -> (Vec<Value>, usize, Value) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut last_cursor = Value::Null;
    let mut next = Some(first.to_owned());
    while let Some(url) = next {
        let response = app.get(&url).await;
        assert_eq!(response.status, 200, "{url}: {}", response.text());
        pages += 1;
        assert!(pages < 1000, "the walk ends");
        let body = response.json();
        last_cursor = body["meta"]["next_cursor"].clone();
        assert!(
            body["meta"].get("page").is_none(),
            "no page number in cursor mode"
        );
        ids.extend(response.ids());
        next = link(&response, "next");
        if let Some(next) = &next {
            let cursor = body["meta"]["next_cursor"].as_str().expect("a next cursor");
            assert!(next.ends_with(&format!("cursor={cursor}")), "{next}");
        }
    }
    (ids, pages, last_cursor)
}

#[actix_web::test]
async fn walking_the_change_feed_by_cursor_gives_every_change_in_order() {
    let app = TestApp::new();
    let mut all: Vec<i64> = app
        .column("SELECT id AS value FROM changes")
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    all.sort_unstable();
    assert!(all.len() > 100, "the seeds are logged");
    let (ids, pages, last_cursor) = walk(&app, "/api/v1/changes?cursor=&per_page=97").await;
    let ids: Vec<i64> = ids.iter().map(|id| id.as_i64().unwrap()).collect();
    assert_eq!(ids, all);
    assert!(pages > 1);
    // Caught up: the last cursor reads nothing until something changes.
    let cursor = last_cursor
        .as_str()
        .expect("a feed always gives a cursor")
        .to_owned();
    let empty = app.get(&format!("/api/v1/changes?cursor={cursor}")).await;
    assert!(empty.ids().is_empty());
    assert_eq!(empty.json()["meta"]["next_cursor"], cursor.as_str());
    assert!(link(&empty, "next").is_none());
}

#[actix_web::test]
async fn the_change_feed_takes_after_or_cursor_not_both() {
    let app = TestApp::new();
    let first = app.get("/api/v1/changes?cursor=&per_page=5").await.json();
    let cursor = first["meta"]["next_cursor"].as_str().unwrap().to_owned();
    let by_after = app.get("/api/v1/changes?after=5&per_page=5").await;
    let by_cursor = app
        .get(&format!("/api/v1/changes?cursor={cursor}&per_page=5"))
        .await;
    assert_eq!(by_cursor.ids(), by_after.ids());
    let both = app
        .get(&format!("/api/v1/changes?after=5&cursor={cursor}"))
        .await
        .problem(400);
    let fields: Vec<&str> = both["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["after", "cursor"]);
    let foreign = app.get("/api/v1/boroughs?cursor=&per_page=2").await.json()["meta"]
        ["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = app
        .get(&format!("/api/v1/changes?cursor={foreign}"))
        .await
        .problem(400);
    assert_eq!(refused["errors"][0]["field"], "cursor");
}

#[actix_web::test]
async fn walking_opportunities_by_cursor_gives_the_numbered_pages_in_order() {
    let app = TestApp::new();
    let window = "ends_after=2026-01-01&ends_before=2030-12-31";
    let whole = app
        .get(&format!(
            "/api/v1/insights/opportunities?{window}&per_page=500"
        ))
        .await;
    let expected = whole.ids();
    assert!(expected.len() > 30, "the window holds many contracts");
    let (ids, pages, last_cursor) = walk(
        &app,
        &format!("/api/v1/insights/opportunities?{window}&per_page=13&cursor="),
    )
    .await;
    assert_eq!(ids, expected);
    assert_eq!(pages, expected.len().div_ceil(13));
    assert!(
        last_cursor.is_null(),
        "the last page of a list has no next cursor"
    );
    let page_and_cursor = app
        .get(&format!(
            "/api/v1/insights/opportunities?{window}&page=2&cursor="
        ))
        .await
        .problem(400);
    assert_eq!(page_and_cursor["errors"][0]["field"], "page");
}
