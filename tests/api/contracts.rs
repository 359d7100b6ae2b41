//! Every contract filter and sort, paging and nested views, checked against SQL.

use serde_json::Value;

use crate::helpers::TestApp;

/// Every id the API returns for `query`, following pages of 500.
async fn all_ids(app: &TestApp, path: &str, query: &str) -> Vec<Value> {
    let mut ids = Vec::new();
    for page in 1.. {
        let sep = if query.is_empty() { "" } else { "&" };
        let response = app
            .get(&format!("{path}?{query}{sep}per_page=500&page={page}"))
            .await;
        assert_eq!(response.status, 200, "{}", response.text());
        let batch = response.ids();
        let total = response.json()["meta"]["total"].as_i64().unwrap();
        ids.extend(batch.clone());
        if batch.is_empty() || ids.len() as i64 >= total {
            assert_eq!(ids.len() as i64, total, "meta.total counts every match");
            break;
        }
    }
    ids
}

async fn assert_filter(app: &TestApp, query: &str, where_sql: &str) {
    let expected = app.contract_ids(&format!(
        "SELECT c.id AS value FROM contracts c WHERE {where_sql} ORDER BY c.id"
    ));
    assert!(
        !expected.is_empty(),
        "{query}: the seeds should match something"
    );
    let got = all_ids(app, "/api/v1/contracts", query).await;
    assert_eq!(got, expected, "{query}");
}

#[actix_web::test]
async fn each_filter_selects_exactly_the_matching_contracts() {
    let app = TestApp::new();
    let cases = [
        ("borough=camden", "c.borough_id = 'camden'"),
        ("borough=E09000007,islington", "c.borough_id IN ('camden', 'islington')"),
        ("borough=e09000019", "c.borough_id = 'islington'"),
        ("supplier=civica", "c.supplier_id = 'civica'"),
        ("supplier=civica,capita", "c.supplier_id IN ('civica', 'capita')"),
        ("system=civica-openrevenues", "c.system_id = 'civica-openrevenues'"),
        ("system=civica-openrevenues,mosaic", "c.system_id IN ('civica-openrevenues', 'mosaic')"),
        (
            "service_area=council-tax",
            "EXISTS (SELECT 1 FROM contract_service_areas a WHERE a.contract_id = c.id AND a.service_area_id = 'council-tax')",
        ),
        (
            "service_area=revenues-and-benefits",
            "EXISTS (SELECT 1 FROM contract_service_areas a JOIN service_areas s ON s.id = a.service_area_id \
             WHERE a.contract_id = c.id AND s.parent_id = 'revenues-and-benefits')",
        ),
        ("ends_after=2028-01-01", "c.end_date >= '2028-01-01'"),
        ("ends_before=2026-06-30", "c.end_date <= '2026-06-30'"),
        (
            "ends_after=2027-01-01&ends_before=2027-03-31",
            "c.end_date BETWEEN '2027-01-01' AND '2027-03-31'",
        ),
        ("active_on=2026-11-27", "c.start_date <= '2026-11-27' AND c.end_date >= '2026-11-27'"),
        ("hosting=saas,hybrid", "c.hosting IN ('saas', 'hybrid')"),
        ("procurement_route=framework", "c.procurement_route = 'framework'"),
        ("data_access=charged", "c.data_access = 'charged'"),
        ("data_access=charged,unavailable", "c.data_access IN ('charged', 'unavailable')"),
        ("source=illustrative", "c.source = 'illustrative'"),
        ("min_annual_value=250000", "c.annual_value_gbp >= 250000"),
        ("max_annual_value=20000.50", "c.annual_value_gbp <= 20000.50"),
        (
            "q=revenues",
            "c.title ILIKE '%revenues%' OR EXISTS (SELECT 1 FROM suppliers s WHERE s.id = c.supplier_id AND s.name ILIKE '%revenues%') \
             OR EXISTS (SELECT 1 FROM systems y WHERE y.id = c.system_id AND y.name ILIKE '%revenues%')",
        ),
        (
            "q=CIVICA%20licence",
            "(c.title ILIKE '%civica%' OR EXISTS (SELECT 1 FROM suppliers s WHERE s.id = c.supplier_id AND s.name ILIKE '%civica%') \
              OR EXISTS (SELECT 1 FROM systems y WHERE y.id = c.system_id AND y.name ILIKE '%civica%')) \
             AND (c.title ILIKE '%licence%' OR EXISTS (SELECT 1 FROM suppliers s WHERE s.id = c.supplier_id AND s.name ILIKE '%licence%') \
              OR EXISTS (SELECT 1 FROM systems y WHERE y.id = c.system_id AND y.name ILIKE '%licence%'))",
        ),
    ];
    for (query, where_sql) in cases {
        assert_filter(&app, query, where_sql).await;
    }
}

#[actix_web::test]
async fn filters_combine_with_and() {
    let app = TestApp::new();
    assert_filter(
        &app,
        "service_area=revenues-and-benefits&ends_after=2026-01-01&ends_before=2027-12-31&hosting=on_premises,saas,supplier_hosted",
        "c.end_date BETWEEN '2026-01-01' AND '2027-12-31' AND c.hosting IN ('on_premises', 'saas', 'supplier_hosted') \
         AND EXISTS (SELECT 1 FROM contract_service_areas a JOIN service_areas s ON s.id = a.service_area_id \
                     WHERE a.contract_id = c.id AND (s.parent_id = 'revenues-and-benefits' OR s.id = 'revenues-and-benefits'))",
    )
    .await;
}

#[actix_web::test]
async fn a_search_with_like_wildcards_matches_them_literally() {
    let app = TestApp::new();
    let response = app.get("/api/v1/contracts?q=%25").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["meta"]["total"], 0);
}

#[actix_web::test]
async fn every_sort_orders_by_its_key_then_id() {
    let app = TestApp::new();
    let cases = [
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
    for (sort, order_sql) in cases {
        let expected = app.contract_ids(&format!(
            "SELECT c.id AS value FROM contracts c WHERE c.borough_id IN ('camden', 'hackney') ORDER BY {order_sql}"
        ));
        let got = all_ids(
            &app,
            "/api/v1/contracts",
            &format!("borough=camden,hackney&sort={sort}"),
        )
        .await;
        assert_eq!(got, expected, "sort={sort}");
    }
    let unsorted = all_ids(&app, "/api/v1/contracts", "borough=camden").await;
    let by_id = app
        .contract_ids("SELECT id AS value FROM contracts WHERE borough_id = 'camden' ORDER BY id");
    assert_eq!(unsorted, by_id, "without sort, lists are in id order");
}

#[actix_web::test]
async fn pages_partition_the_list_and_link_to_each_other() {
    let app = TestApp::new();
    let total: usize = app.column("SELECT count(*) AS value FROM contracts")[0]
        .parse()
        .unwrap();
    let first = app.get("/api/v1/contracts?sort=end_date").await;
    assert_eq!(first.json()["meta"]["per_page"], 50, "default page size");
    assert_eq!(first.json()["meta"]["total_exact"], true);
    assert_eq!(first.json()["meta"]["page"], 1);
    assert_eq!(first.ids().len(), 50);
    let link = first.header("link").expect("Link header");
    assert!(
        link.contains("</api/v1/contracts?sort=end_date&page=2>; rel=\"next\""),
        "{link}"
    );
    assert!(link.contains("rel=\"first\"") && link.contains("rel=\"last\""));
    assert!(!link.contains("rel=\"prev\""));

    let last_page = total.div_ceil(100);
    let mut seen = Vec::new();
    for page in 1..=last_page {
        let response = app
            .get(&format!(
                "/api/v1/contracts?sort=end_date&per_page=100&page={page}"
            ))
            .await;
        let link = response.header("link").unwrap();
        assert_eq!(link.contains("rel=\"prev\""), page > 1);
        assert_eq!(link.contains("rel=\"next\""), page < last_page);
        seen.extend(response.ids());
    }
    assert_eq!(seen.len(), total);
    let mut unique = seen.clone();
    unique.sort_by_key(|v| v.as_i64());
    unique.dedup();
    assert_eq!(unique.len(), total, "no contract appears on two pages");

    let beyond = app
        .get(&format!(
            "/api/v1/contracts?per_page=100&page={}",
            last_page + 1
        ))
        .await;
    assert_eq!(beyond.status, 200);
    assert!(beyond.ids().is_empty());
    assert_eq!(beyond.json()["meta"]["total"], total);

    let largest = app.get("/api/v1/contracts?per_page=500").await;
    assert_eq!(largest.ids().len(), 500.min(total));
    assert_eq!(app.get("/api/v1/contracts?per_page=1").await.ids().len(), 1);
}

#[actix_web::test]
async fn nested_lists_take_the_same_filters_within_their_parent() {
    let app = TestApp::new();
    let cases = [
        (
            "/api/v1/boroughs/camden/contracts",
            "c.borough_id = 'camden'",
        ),
        (
            "/api/v1/boroughs/E09000007/contracts",
            "c.borough_id = 'camden'",
        ),
        (
            "/api/v1/suppliers/civica/contracts",
            "c.supplier_id = 'civica'",
        ),
        (
            "/api/v1/systems/civica-openrevenues/contracts",
            "c.system_id = 'civica-openrevenues'",
        ),
    ];
    for (path, where_sql) in cases {
        let expected = app.contract_ids(&format!(
            "SELECT c.id AS value FROM contracts c WHERE {where_sql} ORDER BY c.id"
        ));
        assert!(!expected.is_empty());
        assert_eq!(all_ids(&app, path, "").await, expected, "{path}");
        let filtered = app.contract_ids(&format!(
            "SELECT c.id AS value FROM contracts c WHERE {where_sql} AND c.end_date >= '2027-01-01' ORDER BY c.id"
        ));
        assert_eq!(
            all_ids(&app, path, "ends_after=2027-01-01").await,
            filtered,
            "{path}"
        );
    }
    // A filter that contradicts the parent selects nothing rather than widening the list.
    let response = app
        .get("/api/v1/boroughs/camden/contracts?borough=islington")
        .await;
    assert_eq!(response.json()["meta"]["total"], 0);
}

#[actix_web::test]
async fn a_contract_shows_its_names_areas_and_exact_money() {
    let app = TestApp::new();
    let id =
        &app.column("SELECT min(id) AS value FROM contracts WHERE max_end_date IS NOT NULL")[0];
    let response = app.get(&format!("/api/v1/contracts/{id}")).await;
    assert_eq!(response.status, 200);
    let body = response.json();
    let row = app.column(&format!(
        "SELECT concat_ws('/', c.borough_id, b.name, c.annual_value_gbp::text, c.max_end_date::text, \
                (SELECT string_agg(service_area_id, '|' ORDER BY service_area_id) FROM contract_service_areas WHERE contract_id = c.id)) AS value \
         FROM contracts c JOIN boroughs b ON b.id = c.borough_id WHERE c.id = {id}"
    ));
    let parts: Vec<&str> = row[0].split('/').collect();
    assert_eq!(body["borough_id"], parts[0]);
    assert_eq!(body["borough_name"], parts[1]);
    assert_eq!(
        body["annual_value_gbp"], parts[2],
        "money is an exact decimal string"
    );
    assert_eq!(body["max_end_date"], parts[3]);
    let areas: Vec<&str> = body["service_area_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(areas.join("|"), parts[4]);
    assert_eq!(body["source"], "illustrative");
    assert_eq!(body["version"], 1);
}

#[actix_web::test]
async fn anonymous_callers_never_see_assessment_fields() {
    let app = TestApp::new();
    let assessed = &app.column(
        "SELECT min(id) AS value FROM contracts WHERE satisfaction IS NOT NULL AND notes IS NOT NULL",
    )[0];
    let fields = [
        "satisfaction",
        "value_for_money",
        "support_confidence",
        "development_confidence",
        "notes",
    ];
    let single = app
        .get(&format!("/api/v1/contracts/{assessed}"))
        .await
        .json();
    let list = app.get("/api/v1/contracts?per_page=500").await.json();
    let nested = app.get("/api/v1/boroughs/camden/contracts").await.json();
    for field in fields {
        assert!(single.get(field).is_none(), "{field} in a single contract");
        for item in list["items"]
            .as_array()
            .unwrap()
            .iter()
            .chain(nested["items"].as_array().unwrap())
        {
            assert!(item.get(field).is_none(), "{field} in a list");
        }
    }
    let csv = app.get("/api/v1/contracts?format=csv").await.text();
    let header = csv.lines().next().unwrap();
    for field in fields {
        assert!(
            !header.split(',').any(|column| column == field),
            "{field} in CSV"
        );
    }
}

#[actix_web::test]
async fn q_finds_service_area_names_and_vendor_is_the_products_maker() {
    let app = TestApp::new();
    // A council-tax contract whose title, supplier and system never say "council tax".
    let quiet = app.column(
        "SELECT c.id::text AS value FROM contracts c
           JOIN contract_service_areas a ON a.contract_id = c.id AND a.service_area_id = 'council-tax'
           JOIN suppliers s ON s.id = c.supplier_id
           LEFT JOIN systems y ON y.id = c.system_id
          WHERE c.title NOT ILIKE '%council%' AND s.name NOT ILIKE '%council%'
            AND coalesce(y.name, '') NOT ILIKE '%council%'
          ORDER BY c.id LIMIT 1",
    );
    assert_eq!(quiet.len(), 1, "the seeds hold such a contract");
    let found = app
        .get("/api/v1/contracts?q=council%20tax&per_page=500")
        .await
        .json();
    let ids: Vec<String> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].to_string())
        .collect();
    assert!(
        ids.contains(&quiet[0]),
        "q=council tax missed contract {}",
        quiet[0]
    );

    // vendor: the system's maker, whoever holds the contract.
    let expected: i64 = app.column(
        "SELECT count(*)::text AS value FROM contracts c JOIN systems y ON y.id = c.system_id
          WHERE y.supplier_id = 'civica'",
    )[0]
    .parse()
    .unwrap();
    assert!(expected > 0);
    let made = app
        .get("/api/v1/contracts?vendor=civica&count=exact")
        .await
        .json();
    assert_eq!(made["meta"]["total"], expected);
    let body = app.get("/api/v1/contracts?vendor=civca").await.problem(400);
    assert_eq!(body["errors"][0]["field"], "vendor");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`civica`"),
        "{body}"
    );
}
