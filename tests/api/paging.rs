//! Paging contract lists: keyset cursors, capped totals and the `Link` relations of each mode.

use diesel::connection::SimpleConnection;
use serde_json::Value;

use crate::helpers::{sort_param, TestApp, TestResponse};

/// Contracts in Camden and Hackney without a start date, end date or annual value (each in some
/// rows), and many sharing the same values, so that sorts meet nulls and ties.
const NULLS_AND_TIES: &str = "
    INSERT INTO contracts (borough_id, supplier_id, title, start_date, end_date, annual_value_gbp,
                           source, source_reference)
    SELECT CASE WHEN n % 2 = 0 THEN 'camden' ELSE 'hackney' END,
           CASE WHEN n % 7 = 0 THEN 'capita' ELSE 'civica' END,
           'Paging test contract ' || n,
           CASE WHEN n % 4 = 0 THEN NULL ELSE DATE '2024-04-01' END,
           CASE WHEN n % 3 = 0 THEN NULL ELSE DATE '2027-03-31' END,
           CASE WHEN n % 5 = 0 THEN NULL ELSE 1000.00 END,
           'manual', 'PAGING-' || n
    FROM generate_series(1, 40) AS n";

/// Every sort, with the SQL order it stands for.
const SORTS: &[(&str, &str)] = &[
    ("", "c.id"),
    ("end_date", "c.end_date ASC NULLS LAST, c.id"),
    ("-end_date", "c.end_date DESC NULLS LAST, c.id"),
    ("start_date", "c.start_date ASC NULLS LAST, c.id"),
    ("-start_date", "c.start_date DESC NULLS LAST, c.id"),
    (
        "annual_value_gbp",
        "c.annual_value_gbp ASC NULLS LAST, c.id",
    ),
    (
        "-annual_value_gbp",
        "c.annual_value_gbp DESC NULLS LAST, c.id",
    ),
    ("borough", "c.borough_id ASC, c.id"),
    ("-borough", "c.borough_id DESC, c.id"),
    ("supplier", "c.supplier_id ASC, c.id"),
    ("-supplier", "c.supplier_id DESC, c.id"),
];

/// The `Link` header as (relation, URL) pairs.
fn links(response: &TestResponse) -> Vec<(String, String)> {
    let header = response.header("link").expect("a Link header");
    header
        .split(", ")
        .map(|link| {
            let (url, rel) = link.split_once("; ").expect("<url>; rel=...");
            let rel = rel.trim_start_matches("rel=\"").trim_end_matches('"');
            (
                rel.to_owned(),
                url.trim_start_matches('<').trim_end_matches('>').to_owned(),
            )
        })
        .collect()
}

fn link(response: &TestResponse, rel: &str) -> Option<String> {
    links(response)
        .into_iter()
        .find(|(r, _)| r == rel)
        .map(|(_, url)| url)
}

/// Every id of `path?query`, page by page (by number) with `per_page`.
async fn ids_by_page(app: &TestApp, path: &str, query: &str, per_page: u32) -> Vec<Value> {
    let mut ids = Vec::new();
    for page in 1.. {
        let response = app
            .get(&format!("{path}?per_page={per_page}&page={page}{query}"))
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        let batch = response.ids();
        if batch.is_empty() {
            assert_eq!(
                ids.len() as i64,
                response.json()["meta"]["total"].as_i64().unwrap()
            );
            break;
        }
        ids.extend(batch);
    }
    ids
}

/// Every id of `path?query`, following `meta.next_cursor` from `cursor=`, checking each page's
/// meta and `Link` header on the way.
async fn ids_by_cursor(app: &TestApp, path: &str, query: &str, per_page: u32) -> Vec<Value> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let response = app
            .get(&format!(
                "{path}?per_page={per_page}&cursor={cursor}{query}"
            ))
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        let body = response.json();
        let meta = &body["meta"];
        assert!(meta.get("page").is_none(), "no page number in cursor mode");
        assert!(
            meta.get("next_cursor").is_some(),
            "next_cursor in cursor mode"
        );
        let batch = response.ids();
        assert!(batch.len() <= per_page as usize);
        ids.extend(batch);
        let rels: Vec<String> = links(&response).into_iter().map(|(rel, _)| rel).collect();
        assert!(!rels.contains(&"last".to_owned()) && !rels.contains(&"prev".to_owned()));
        match meta["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(
                    response.ids().len(),
                    per_page as usize,
                    "only the last page is short"
                );
                let next_link = link(&response, "next").expect("a next link");
                assert!(next_link.contains(&format!("cursor={next}")), "{next_link}");
                cursor = next.to_owned();
            }
            None => {
                assert_eq!(
                    link(&response, "next"),
                    None,
                    "no next link on the last page"
                );
                break;
            }
        }
    }
    ids
}

#[actix_web::test]
async fn walking_by_cursor_gives_every_contract_once_in_the_order_of_pages() {
    let app = TestApp::new();
    app.conn().batch_execute(NULLS_AND_TIES).unwrap();
    for (sort, order_sql) in SORTS {
        let expected = app.contract_ids(&format!(
            "SELECT c.id AS value FROM contracts c WHERE c.borough_id IN ('camden', 'hackney') ORDER BY {order_sql}"
        ));
        let query = format!("&borough=camden,hackney{}", sort_param(sort));
        let by_page = ids_by_page(&app, "/api/v1/contracts", &query, 4).await;
        assert_eq!(by_page, expected, "sort={sort}, by page");
        let by_cursor = ids_by_cursor(&app, "/api/v1/contracts", &query, 4).await;
        assert_eq!(by_cursor, expected, "sort={sort}, by cursor");
    }
}

#[actix_web::test]
async fn a_page_past_the_contracts_with_a_value_starts_at_the_right_one_without() {
    let app = TestApp::new();
    app.conn().batch_execute(NULLS_AND_TIES).unwrap();
    let expected = app.contract_ids(
        "SELECT c.id AS value FROM contracts c WHERE c.borough_id IN ('camden', 'hackney') \
         ORDER BY c.end_date DESC NULLS LAST, c.id",
    );
    let without_end: usize = app.column(
        "SELECT count(*) AS value FROM contracts WHERE borough_id IN ('camden', 'hackney') AND end_date IS NULL",
    )[0]
    .parse()
    .unwrap();
    assert!(without_end > 3);
    // The last page holds only contracts without an end date, and does not begin with the first.
    let per_page = without_end - 2;
    let last_page = expected.len().div_ceil(per_page);
    let response = app
        .get(&format!(
            "/api/v1/contracts?borough=camden,hackney&sort=-end_date&per_page={per_page}&page={last_page}"
        ))
        .await;
    let start = (last_page - 1) * per_page;
    assert_eq!(response.ids(), expected[start..].to_vec());
}

#[actix_web::test]
async fn nested_lists_page_by_cursor_too() {
    let app = TestApp::new();
    let path = "/api/v1/boroughs/camden/contracts";
    let expected = app.contract_ids(
        "SELECT id AS value FROM contracts WHERE borough_id = 'camden' ORDER BY end_date, id",
    );
    assert!(expected.len() > 3);
    assert_eq!(
        ids_by_cursor(&app, path, "&sort=end_date", 3).await,
        expected
    );
}

#[actix_web::test]
async fn a_cursor_made_for_another_sort_is_refused() {
    let app = TestApp::new();
    let first = app
        .get("/api/v1/contracts?sort=end_date&per_page=2&cursor=")
        .await
        .json();
    let cursor = first["meta"]["next_cursor"].as_str().unwrap().to_owned();
    for other in ["-end_date", "start_date", ""] {
        let response = app
            .get(&format!(
                "/api/v1/contracts?per_page=2&cursor={cursor}{}",
                sort_param(other)
            ))
            .await;
        let problem = response.problem(400);
        assert_eq!(problem["errors"][0]["field"], "cursor", "sort={other}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("sort=end_date"),
            "{}",
            problem["detail"]
        );
    }
}

#[actix_web::test]
async fn a_garbage_cursor_is_a_400_naming_cursor() {
    use base64::Engine;
    let encode = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let app = TestApp::new();
    for (cursor, sort) in [
        ("garbage".to_owned(), ""),
        ("%FF%FE".to_owned(), ""),
        (encode("[\"end_date\", 12, 5]"), "end_date"),
        (encode("[\"end_date\", \"31/03/2027\", 5]"), "end_date"),
        (
            encode("[\"annual_value_gbp\", \"lots\", 5]"),
            "annual_value_gbp",
        ),
        (encode("[\"borough\", null, 5]"), "borough"),
        (encode("[\"id\", \"x\", 5]"), ""),
        (encode("[\"id\", null]"), ""),
    ] {
        let response = app
            .get(&format!(
                "/api/v1/contracts?cursor={cursor}{}",
                sort_param(sort)
            ))
            .await;
        let problem = response.problem(400);
        assert_eq!(problem["errors"][0]["field"], "cursor", "{cursor}");
    }
}

#[actix_web::test]
async fn page_and_cursor_together_are_refused() {
    let app = TestApp::new();
    let problem = app
        .get("/api/v1/contracts?page=2&cursor=")
        .await
        .problem(400);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["page", "cursor"]);
}

#[actix_web::test]
async fn the_london_totals_are_exact() {
    let app = TestApp::new();
    let total: i64 = app.column("SELECT count(*) AS value FROM contracts")[0]
        .parse()
        .unwrap();
    assert!(total < 1000, "the seeds stay under the counting cap");
    for query in [
        "",
        "?count=exact",
        "?count=auto",
        "?cursor=",
        "?sort=end_date&page=3",
    ] {
        let meta = app.get(&format!("/api/v1/contracts{query}")).await.json()["meta"].clone();
        assert_eq!(meta["total"], total, "{query}");
        assert_eq!(meta["total_exact"], true, "{query}");
    }
    let problem = app
        .get("/api/v1/contracts?count=roughly")
        .await
        .problem(400);
    assert_eq!(problem["errors"][0]["field"], "count");
}

#[actix_web::test]
async fn a_large_total_is_estimated_unless_an_exact_count_is_asked_for() {
    let app = TestApp::new();
    app.conn()
        .batch_execute(
            "INSERT INTO contracts (borough_id, supplier_id, title, end_date, source, source_reference)
             SELECT 'camden', 'civica', 'Bulk contract ' || n, DATE '2028-01-01', 'manual', 'BULK-' || n
             FROM generate_series(1, 1500) AS n;
             ANALYZE contracts;",
        )
        .unwrap();
    let exact: i64 = app.column("SELECT count(*) AS value FROM contracts")[0]
        .parse()
        .unwrap();
    assert!(exact > 2000);

    let estimated = app.get("/api/v1/contracts?sort=end_date").await;
    let meta = &estimated.json()["meta"];
    assert_eq!(meta["total_exact"], false);
    assert!(
        meta["total"].as_i64().unwrap() > 1000,
        "an estimate is never below the number counted: {meta}"
    );
    assert_eq!(
        link(&estimated, "last"),
        None,
        "no last page of an estimate"
    );
    assert!(link(&estimated, "next")
        .unwrap()
        .ends_with("sort=end_date&page=2"));
    assert_eq!(link(&estimated, "prev"), None);

    let middle = app.get("/api/v1/contracts?per_page=500&page=2").await;
    assert_eq!(middle.json()["meta"]["total_exact"], false);
    assert!(link(&middle, "prev").unwrap().ends_with("page=1"));
    assert!(link(&middle, "next").unwrap().ends_with("page=3"));

    // Counting reaches the end of the page asked for, so near the end the total is exact.
    let near_end = app.get("/api/v1/contracts?per_page=500&page=5").await;
    let meta = &near_end.json()["meta"];
    assert_eq!(
        (meta["total"].as_i64(), &meta["total_exact"]),
        (Some(exact), &Value::Bool(true))
    );
    assert!(link(&near_end, "last").unwrap().ends_with("page=5"));

    let counted = app.get("/api/v1/contracts?count=exact").await;
    let meta = &counted.json()["meta"];
    assert_eq!(meta["total"], exact);
    assert_eq!(meta["total_exact"], true);
    let last = (exact + 49) / 50;
    assert!(link(&counted, "last")
        .unwrap()
        .ends_with(&format!("count=exact&page={last}")));

    let filtered = app
        .get("/api/v1/contracts?borough=camden&cursor=")
        .await
        .json();
    assert_eq!(filtered["meta"]["total_exact"], false);
    let narrow = app.get("/api/v1/contracts?borough=islington").await.json();
    assert_eq!(
        narrow["meta"]["total_exact"], true,
        "a small filter is counted"
    );
}

#[actix_web::test]
async fn link_relations_in_cursor_mode_keep_the_other_parameters() {
    let app = TestApp::new();
    let first = app
        .get("/api/v1/contracts?borough=camden&sort=-end_date&per_page=3&cursor=")
        .await;
    let next_cursor = first.json()["meta"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        link(&first, "first").unwrap(),
        "/api/v1/contracts?borough=camden&sort=-end_date&per_page=3&cursor="
    );
    assert_eq!(
        link(&first, "next").unwrap(),
        format!("/api/v1/contracts?borough=camden&sort=-end_date&per_page=3&cursor={next_cursor}")
    );
    // The next link is the second page, and it links on in turn.
    let second = app.get(&link(&first, "next").unwrap()).await;
    assert_eq!(second.status, 200);
    let by_page = app
        .get("/api/v1/contracts?borough=camden&sort=-end_date&per_page=3&page=2")
        .await;
    assert_eq!(second.ids(), by_page.ids());
    assert!(link(&second, "next").is_some());
    assert_eq!(link(&second, "prev"), None);

    // Page mode, for comparison: numbered links, no next_cursor.
    let numbered = app.get("/api/v1/contracts?borough=camden&per_page=3").await;
    assert!(numbered.json()["meta"].get("next_cursor").is_none());
    assert_eq!(numbered.json()["meta"]["page"], 1);
    let rels: Vec<String> = links(&numbered).into_iter().map(|(rel, _)| rel).collect();
    assert_eq!(rels, ["first", "last", "next"]);
}

#[actix_web::test]
async fn csv_holds_every_row_whatever_the_cursor() {
    let app = TestApp::new();
    let total = app.column("SELECT count(*) AS value FROM contracts")[0].clone();
    let first = app.get("/api/v1/contracts?per_page=2&cursor=").await.json();
    let cursor = first["meta"]["next_cursor"].as_str().unwrap().to_owned();
    for query in ["cursor=".to_owned(), format!("cursor={cursor}")] {
        let response = app
            .get(&format!("/api/v1/contracts?format=csv&{query}"))
            .await;
        assert_eq!(response.status, 200);
        let rows = csv::Reader::from_reader(response.text().as_bytes())
            .records()
            .count();
        assert_eq!(rows.to_string(), total, "{query}");
    }
}
