//! Paging the catalogue lists (boroughs, service areas, suppliers, systems) by keyset cursor:
//! every record once, in the order of the numbered pages, with the same sorts and filters.

use base64::Engine;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use crate::helpers::{sort_param, TestApp, TestResponse};

/// The page size of the walks: small, so that every list spans several pages.
const PER_PAGE: u32 = 7;

/// A list to walk: its path, its filters (`&`-prefixed, or empty), and the SQL that gives its
/// ids unordered (`id` column, table alias `t`).
struct Walk {
    path: &'static str,
    filters: &'static str,
    sql: &'static str,
}

/// A `sort` and the SQL order it stands for.
type SortCase = (&'static str, &'static str);

const BOROUGH_SORTS: &[SortCase] = &[
    ("", "t.id"),
    ("name", "t.name, t.id"),
    ("-name", "t.name DESC, t.id"),
    ("gss_code", "t.gss_code, t.id"),
    ("-gss_code", "t.gss_code DESC, t.id"),
    ("id", "t.id"),
    ("-id", "t.id DESC"),
];

const NAME_AND_ID_SORTS: &[SortCase] = &[
    ("", "t.id"),
    ("name", "t.name, t.id"),
    ("-name", "t.name DESC, t.id"),
    ("id", "t.id"),
    ("-id", "t.id DESC"),
];

const SYSTEM_SORTS: &[SortCase] = &[
    ("", "t.id"),
    ("name", "t.name, t.id"),
    ("-name", "t.name DESC, t.id"),
    ("id", "t.id"),
    ("-id", "t.id DESC"),
    ("supplier", "t.supplier_id, t.id"),
    ("-supplier", "t.supplier_id DESC, t.id"),
];

fn encode(json: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
}

/// The `Link` header's URL for `rel`, if any.
fn link(response: &TestResponse, rel: &str) -> Option<String> {
    let header = response.header("link").expect("a Link header");
    header.split(", ").find_map(|entry| {
        let (url, relation) = entry.split_once("; ").expect("<url>; rel=...");
        (relation == format!("rel=\"{rel}\""))
            .then(|| url.trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

fn strings(values: Vec<String>) -> Vec<Value> {
    values.into_iter().map(Value::from).collect()
}

/// The ids of one `per_page=500` page-number request: the whole list in one page.
async fn ids_in_one_page(app: &TestApp, path: &str, query: &str) -> Vec<Value> {
    let response = app.get(&format!("{path}?per_page=500{query}")).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["meta"]["page"], 1);
    let ids = response.ids();
    assert_eq!(
        body["meta"]["total"],
        ids.len(),
        "{path}?{query}: all on one page"
    );
    ids
}

/// Every id of `path?query` by cursor from `cursor=`, following each page's `Link` `next`,
/// checking each page's meta on the way. Returns the ids and the number of pages.
async fn ids_by_cursor(
    app: &TestApp,
    path: &str,
    query: &str,
    per_page: u32,
) -> (Vec<Value>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut url = format!("{path}?per_page={per_page}&cursor={query}");
    let mut total = None;
    loop {
        let response = app.get(&url).await;
        assert_eq!(response.status, 200, "{url}: {}", response.text());
        pages += 1;
        assert!(pages <= 200, "{url}: the walk does not end");
        let body = response.json();
        let meta = &body["meta"];
        assert!(
            meta.get("page").is_none(),
            "{url}: no page number by cursor"
        );
        assert_eq!(meta["per_page"], per_page, "{url}");
        let page_total = meta["total"].as_i64().expect("a total");
        assert_eq!(
            *total.get_or_insert(page_total),
            page_total,
            "{url}: one total"
        );
        let batch = response.ids();
        let first = link(&response, "first").expect("a first link");
        assert!(first.ends_with("&cursor="), "{first}");
        assert_eq!(
            link(&response, "last"),
            None,
            "{url}: no last link by cursor"
        );
        assert_eq!(
            link(&response, "prev"),
            None,
            "{url}: no prev link by cursor"
        );
        match &meta["next_cursor"] {
            Value::String(next) => {
                assert!(!next.is_empty());
                assert_eq!(
                    batch.len(),
                    per_page as usize,
                    "{url}: only the last page is short"
                );
                let next_link = link(&response, "next").expect("a next link");
                assert!(
                    next_link.ends_with(&format!("&cursor={next}")),
                    "{next_link}"
                );
                url = next_link;
            }
            Value::Null => {
                assert_eq!(
                    link(&response, "next"),
                    None,
                    "{url}: no next link on the last page"
                );
                ids.extend(batch);
                break;
            }
            other => panic!("{url}: next_cursor must be present, a string or null: {other}"),
        }
        ids.extend(batch);
    }
    assert_eq!(
        ids.len() as i64,
        total.unwrap(),
        "{path}?{query}: the total is exact"
    );
    (ids, pages)
}

/// For each sort: the ids by cursor, the ids of one big page, and the ids in SQL order agree.
async fn check_walks(app: &TestApp, walks: &[Walk], sorts: &[SortCase]) {
    for walk in walks {
        for (sort, order) in sorts {
            let query = format!("{}{}", walk.filters, sort_param(sort));
            let in_sql = strings(app.column(&format!("{} ORDER BY {order}", walk.sql)));
            assert!(
                in_sql.len() > 2 * PER_PAGE as usize,
                "{}{query}: the list spans at least three pages",
                walk.path
            );
            let one_page = ids_in_one_page(app, walk.path, &query).await;
            assert_eq!(
                one_page, in_sql,
                "{}{query}: one page, in SQL order",
                walk.path
            );
            let (by_cursor, pages) = ids_by_cursor(app, walk.path, &query, PER_PAGE).await;
            assert_eq!(by_cursor, one_page, "{}{query}: by cursor", walk.path);
            assert_eq!(pages, one_page.len().div_ceil(PER_PAGE as usize));
        }
    }
}

#[actix_web::test]
async fn walking_boroughs_by_cursor_visits_each_once_in_page_order() {
    let app = TestApp::new();
    let walks = [
        Walk {
            path: "/api/v1/boroughs",
            filters: "",
            sql: "SELECT t.id AS value FROM boroughs t",
        },
        Walk {
            path: "/api/v1/boroughs",
            filters: "&inner_london_statutory=false",
            sql: "SELECT t.id AS value FROM boroughs t WHERE NOT t.inner_london_statutory",
        },
    ];
    check_walks(&app, &walks, BOROUGH_SORTS).await;
}

#[actix_web::test]
async fn walking_service_areas_by_cursor_visits_each_once_in_page_order() {
    let app = TestApp::new();
    let walks = [
        Walk {
            path: "/api/v1/service-areas",
            filters: "",
            sql: "SELECT t.id AS value FROM service_areas t",
        },
        Walk {
            path: "/api/v1/service-areas",
            filters: "&level=area",
            sql: "SELECT t.id AS value FROM service_areas t WHERE t.parent_id IS NOT NULL",
        },
    ];
    check_walks(&app, &walks, NAME_AND_ID_SORTS).await;
}

#[actix_web::test]
async fn walking_suppliers_by_cursor_visits_each_once_in_page_order() {
    let app = TestApp::new();
    let walks = [
        Walk {
            path: "/api/v1/suppliers",
            filters: "",
            sql: "SELECT t.id AS value FROM suppliers t",
        },
        Walk {
            path: "/api/v1/suppliers",
            filters: "&sme=false",
            sql: "SELECT t.id AS value FROM suppliers t WHERE t.sme = false",
        },
    ];
    check_walks(&app, &walks, NAME_AND_ID_SORTS).await;
}

#[actix_web::test]
async fn walking_systems_by_cursor_visits_each_once_in_page_order() {
    let app = TestApp::new();
    let walks = [
        Walk {
            path: "/api/v1/systems",
            filters: "",
            sql: "SELECT t.id AS value FROM systems t",
        },
        Walk {
            path: "/api/v1/systems",
            filters: "&supplier=civica,microsoft,idox",
            sql: "SELECT t.id AS value FROM systems t WHERE t.supplier_id IN ('civica', 'microsoft', 'idox')",
        },
    ];
    check_walks(&app, &walks, SYSTEM_SORTS).await;
}

#[actix_web::test]
async fn walking_one_suppliers_systems_by_cursor_keeps_the_filter_on_every_page() {
    let app = TestApp::new();
    let civica = strings(app.column(
        "SELECT id AS value FROM systems WHERE supplier_id = 'civica' ORDER BY name DESC, id",
    ));
    assert!(civica.len() > 3, "civica has systems on several pages of 3");
    let query = "&supplier=civica&sort=-name";
    assert_eq!(
        ids_in_one_page(&app, "/api/v1/systems", query).await,
        civica
    );
    let (by_cursor, pages) = ids_by_cursor(&app, "/api/v1/systems", query, 3).await;
    assert_eq!(by_cursor, civica);
    assert_eq!(pages, civica.len().div_ceil(3));
}

#[actix_web::test]
async fn walking_service_areas_by_cursor_with_a_level_filter_gives_only_that_level() {
    let app = TestApp::new();
    for (level, condition) in [("area", "IS NOT NULL"), ("group", "IS NULL")] {
        let expected = strings(app.column(&format!(
            "SELECT id AS value FROM service_areas WHERE parent_id {condition} ORDER BY name, id"
        )));
        assert!(expected.len() > 3, "{level}");
        let query = format!("&level={level}&sort=name");
        let (by_cursor, _) = ids_by_cursor(&app, "/api/v1/service-areas", &query, 3).await;
        assert_eq!(by_cursor, expected, "level={level}");
    }
}

#[actix_web::test]
async fn boroughs_named_with_spaces_apostrophes_and_ties_page_by_cursor_in_name_order() {
    let app = TestApp::new();
    // Names that differ only in a space, an apostrophe (straight or curly), punctuation or an
    // accent, and one name three times, so that ties fall across page boundaries.
    app.conn()
        .batch_execute(
            "INSERT INTO boroughs (id, gss_code, name, official_name, kind,
                                   inner_london_statutory, inner_london_ons)
             VALUES
               ('kings-heath', 'E09000901', 'King''s Heath', 'King''s Heath', 'london_borough', false, false),
               ('kings-heath-2', 'E09000902', 'Kings Heath', 'Kings Heath', 'london_borough', false, false),
               ('kingsheath', 'E09000903', 'KingsHeath', 'KingsHeath', 'london_borough', false, false),
               ('kings-heath-3', 'E09000904', 'King’s Heath', 'King’s Heath', 'london_borough', false, false),
               ('st-marys', 'E09000905', 'St Mary''s \"Quarter\" & Docks', 'St Mary''s', 'london_borough', false, false),
               ('zoe-vale', 'E09000906', 'Zoë Vale', 'Zoë Vale', 'london_borough', false, false),
               ('twin-c', 'E09000907', 'Barking and Dagenham', 'Twin C', 'london_borough', false, false),
               ('twin-a', 'E09000908', 'Barking and Dagenham', 'Twin A', 'london_borough', false, false),
               ('o-brien', 'E09000909', 'O''Brien\\Vale', 'O''Brien', 'london_borough', false, false)",
        )
        .unwrap();
    for (sort, order) in [("name", "name, id"), ("-name", "name DESC, id")] {
        let expected = strings(app.column(&format!(
            "SELECT id AS value FROM boroughs ORDER BY {order}"
        )));
        let query = sort_param(sort);
        assert_eq!(
            ids_in_one_page(&app, "/api/v1/boroughs", &query).await,
            expected
        );
        for per_page in [1, 2, 3, 7] {
            let (by_cursor, _) = ids_by_cursor(&app, "/api/v1/boroughs", &query, per_page).await;
            assert_eq!(by_cursor, expected, "sort={sort}, per_page={per_page}");
        }
    }
    // The three boroughs of one name come together, by id, whichever way the names run.
    let (ascending, _) = ids_by_cursor(&app, "/api/v1/boroughs", "&sort=name", 2).await;
    let twins: Vec<&str> = ascending
        .iter()
        .map(|id| id.as_str().unwrap())
        .filter(|id| ["barking-and-dagenham", "twin-a", "twin-c"].contains(id))
        .collect();
    assert_eq!(twins, ["barking-and-dagenham", "twin-a", "twin-c"]);
    let position = |id: &str| ascending.iter().position(|v| v == id).unwrap();
    assert_eq!(position("twin-a"), position("barking-and-dagenham") + 1);
    assert_eq!(position("twin-c"), position("twin-a") + 1);
}

#[actix_web::test]
async fn a_cursor_walk_ending_on_a_full_page_has_no_empty_page_after_it() {
    let app = TestApp::new();
    let total = app.column("SELECT count(*) AS value FROM boroughs")[0]
        .parse::<u32>()
        .unwrap();
    for per_page in [total, 11] {
        assert_eq!(total % per_page, 0, "the pages divide the boroughs exactly");
        let (ids, pages) = ids_by_cursor(&app, "/api/v1/boroughs", "&sort=name", per_page).await;
        assert_eq!(ids.len() as u32, total);
        assert_eq!(pages as u32, total / per_page, "per_page={per_page}");
    }
}

#[actix_web::test]
async fn an_empty_catalogue_list_by_cursor_is_one_page_with_no_next_cursor() {
    let app = TestApp::new();
    for path in [
        "/api/v1/boroughs",
        "/api/v1/service-areas",
        "/api/v1/suppliers",
        "/api/v1/systems",
    ] {
        let response = app
            .get(&format!(
                "{path}?q=nothing-is-called-this&cursor=&sort=name"
            ))
            .await;
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        let body = response.json();
        assert_eq!(body["items"], json!([]), "{path}");
        assert_eq!(body["meta"]["total"], 0, "{path}");
        assert_eq!(body["meta"]["next_cursor"], Value::Null, "{path}");
        assert!(body["meta"].get("page").is_none(), "{path}");
        assert_eq!(link(&response, "next"), None, "{path}");
    }
}

/// The `meta.next_cursor` of the first page of `path?per_page=3&cursor=` with `query`.
async fn second_page_cursor(app: &TestApp, path: &str, query: &str) -> String {
    let response = app.get(&format!("{path}?per_page=3&cursor={query}")).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response.json()["meta"]["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{path}{query}: a next cursor"))
        .to_owned()
}

const CATALOGUE: [&str; 4] = [
    "/api/v1/boroughs",
    "/api/v1/service-areas",
    "/api/v1/suppliers",
    "/api/v1/systems",
];

#[actix_web::test]
async fn a_catalogue_cursor_made_for_sort_name_is_refused_with_another_sort() {
    let app = TestApp::new();
    for path in CATALOGUE {
        let cursor = second_page_cursor(&app, path, "&sort=name").await;
        // The cursor works with the sort it was made for.
        let same = app
            .get(&format!("{path}?per_page=3&sort=name&cursor={cursor}"))
            .await;
        assert_eq!(same.status, 200, "{path}: {}", same.text());
        for other in ["-name", "id", "-id", ""] {
            let response = app
                .get(&format!(
                    "{path}?per_page=3&cursor={cursor}{}",
                    sort_param(other)
                ))
                .await;
            let problem = response.problem(400);
            assert_eq!(
                problem["errors"][0]["field"], "cursor",
                "{path} sort={other}"
            );
            assert!(
                problem["detail"].as_str().unwrap().contains("sort=name"),
                "{path} sort={other}: {}",
                problem["detail"]
            );
        }
    }
}

#[actix_web::test]
async fn a_catalogue_cursor_of_the_default_order_is_refused_with_sort_name() {
    let app = TestApp::new();
    for path in CATALOGUE {
        let cursor = second_page_cursor(&app, path, "").await;
        let problem = app
            .get(&format!("{path}?per_page=3&sort=name&cursor={cursor}"))
            .await
            .problem(400);
        assert_eq!(problem["errors"][0]["field"], "cursor", "{path}");
    }
}

#[actix_web::test]
async fn page_and_cursor_together_are_refused_on_every_catalogue_list() {
    let app = TestApp::new();
    for path in CATALOGUE {
        let cursor = second_page_cursor(&app, path, "&sort=name").await;
        for query in [
            "page=2&cursor=".to_owned(),
            "page=1&cursor=".to_owned(),
            format!("sort=name&cursor={cursor}&page=2"),
        ] {
            let problem = app.get(&format!("{path}?{query}")).await.problem(400);
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, ["page", "cursor"], "{path}?{query}");
        }
    }
}

#[actix_web::test]
async fn a_tampered_catalogue_cursor_is_a_400_naming_cursor() {
    let app = TestApp::new();
    for path in CATALOGUE {
        let real = second_page_cursor(&app, path, "&sort=name").await;
        let mut cursors: Vec<(String, &str)> = vec![
            ("garbage".to_owned(), "name"),
            ("%FF%FE".to_owned(), "name"),
            ("!!!!".to_owned(), "name"),
            // The real cursor with a character changed, cut short, or padded.
            (format!("X{}", &real[1..]), "name"),
            (real[..real.len() / 2].to_owned(), "name"),
            (format!("{real}=="), "name"),
            // Well-formed base64 of the wrong JSON.
            (encode(&json!(["name", 12, "camden"])), "name"),
            (encode(&json!(["name", null, "camden"])), "name"),
            (encode(&json!(["name", ["Camden"], "camden"])), "name"),
            (encode(&json!(["name", "Camden", 5])), "name"),
            (encode(&json!(["name", "Camden", null])), "name"),
            (encode(&json!(["name", "Camden"])), "name"),
            (encode(&json!(["name"])), "name"),
            (
                encode(&json!({"sort": "name", "value": "Camden", "id": "camden"})),
                "name",
            ),
            (encode(&json!("name")), "name"),
            (encode(&json!([null, "Camden", "camden"])), "name"),
            (encode(&json!(["", "Camden", "camden"])), "name"),
            (encode(&json!(["id", "camden", "camden"])), "-id"),
            // Longer than any cursor the service makes.
            (encode(&json!(["name", "x".repeat(2000), "camden"])), "name"),
        ];
        cursors.push((real.to_lowercase(), "name"));
        for (cursor, sort) in cursors {
            let response = app
                .get(&format!("{path}?cursor={cursor}&sort={sort}"))
                .await;
            if response.status == 200 && cursor == real.to_lowercase() {
                continue; // lower-casing may leave a cursor that still decodes
            }
            let problem = response.problem(400);
            assert_eq!(
                problem["errors"][0]["field"], "cursor",
                "{path}?cursor={cursor}&sort={sort}"
            );
        }
    }
}

#[actix_web::test]
async fn a_forged_catalogue_cursor_with_quotes_in_its_value_resumes_after_that_value() {
    let app = TestApp::new();
    // A cursor the service did not make, but could have: it is only a position, so the list
    // resumes after it, and the quotes and comment marks in it are data, not SQL.
    let value = "Camden' OR '1'='1' --";
    let cursor = encode(&json!(["name", value, "camden"]));
    let response = app
        .get(&format!(
            "/api/v1/boroughs?sort=name&per_page=500&cursor={cursor}"
        ))
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let expected = strings(app.column(
        "SELECT id AS value FROM boroughs \
         WHERE name > 'Camden'' OR ''1''=''1'' --' \
            OR (name = 'Camden'' OR ''1''=''1'' --' AND id > 'camden') \
         ORDER BY name, id",
    ));
    let all: usize = app.column("SELECT count(*) AS value FROM boroughs")[0]
        .parse()
        .unwrap();
    assert!(!expected.is_empty() && expected.len() < all);
    assert_eq!(response.ids(), expected);
    assert_eq!(
        response.json()["meta"]["total"],
        all,
        "the total counts the whole list"
    );
}

#[actix_web::test]
async fn a_catalogue_cursor_with_a_nul_character_is_a_400_naming_cursor() {
    let app = TestApp::new();
    for path in CATALOGUE {
        for token in [
            json!(["name", "Cam\u{0}den", "camden"]),
            json!(["name", "Camden", "cam\u{0}den"]),
            json!(["id", "cam\u{0}den", "camden"]),
        ] {
            let sort = token[0].as_str().unwrap();
            let response = app
                .get(&format!("{path}?sort={sort}&cursor={}", encode(&token)))
                .await;
            let problem = response.problem(400);
            assert_eq!(problem["errors"][0]["field"], "cursor", "{path} {token}");
        }
    }
}

#[actix_web::test]
async fn catalogue_csv_holds_every_row_whatever_the_cursor() {
    let app = TestApp::new();
    for (path, table) in [
        ("/api/v1/boroughs", "boroughs"),
        ("/api/v1/service-areas", "service_areas"),
        ("/api/v1/suppliers", "suppliers"),
        ("/api/v1/systems", "systems"),
    ] {
        let total: usize = app.column(&format!("SELECT count(*) AS value FROM {table}"))[0]
            .parse()
            .unwrap();
        let cursor = second_page_cursor(&app, path, "&sort=name").await;
        for query in [
            "sort=name&cursor=".to_owned(),
            format!("sort=name&cursor={cursor}"),
            format!("sort=name&per_page=3&cursor={cursor}"),
        ] {
            for (uri, accept) in [
                (format!("{path}?format=csv&{query}"), None),
                (format!("{path}?{query}"), Some("text/csv")),
            ] {
                let headers: Vec<(&str, &str)> =
                    accept.map(|a| vec![("accept", a)]).unwrap_or_default();
                let response = app.get_with(&uri, &headers).await;
                assert_eq!(response.status, 200, "{uri}: {}", response.text());
                assert!(
                    response
                        .header("content-type")
                        .unwrap()
                        .starts_with("text/csv"),
                    "{uri}"
                );
                let rows = csv::Reader::from_reader(response.text().as_bytes())
                    .records()
                    .count();
                assert_eq!(rows, total, "{uri}");
            }
        }
    }
}
