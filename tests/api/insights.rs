//! Each insight on a small dataset whose answers are worked out by hand below.
//!
//! | id   | borough   | supplier | system              | areas                        | end        | annual | sat | vfm | sup | dev | data access  |
//! |------|-----------|----------|---------------------|------------------------------|------------|--------|-----|-----|-----|-----|--------------|
//! | 1001 | camden    | civica   | civica-openrevenues | council-tax, business-rates  | 2027-01-31 | 100.00 | 4   | 3   | 5   | 4   | included     |
//! | 1002 | hackney   | civica   | civica-openrevenues | council-tax                  | 2027-06-30 | 200.00 | 2   | 2   | 5   | 5   | charged      |
//! | 1003 | islington | capita   | capita-academy      | council-tax                  | 2028-01-31 |  50.50 | 5   | 3   | 4   | 5   | unavailable  |
//! | 1004 | lambeth   | capita   | -                   | council-tax                  | 2028-02-01 |  10.00 | -   | -   | -   | -   | unknown      |
//! | 1005 | camden    | capita   | -                   | business-rates               | 2027-06-30 | 300.00 | 3   | 3   | -   | -   | included     |
//! | 1006 | southwark | civica   | civica-openrevenues | business-rates               | 2027-06-30 |  70.00 | -   | -   | -   | -   | charged      |

use serde_json::{json, Value};

use crate::helpers::TestApp;

const DATASET: &str = "
    DELETE FROM contract_service_areas;
    DELETE FROM contracts;
    INSERT INTO contracts (id, borough_id, supplier_id, system_id, title, start_date, end_date, annual_value_gbp,
                           satisfaction, value_for_money, support_confidence, development_confidence, data_access, source)
    VALUES
      (1001, 'camden',    'civica', 'civica-openrevenues', 'Revenues', '2022-02-01', '2027-01-31', 100.00, 4, 3, 5, 4, 'included', 'manual'),
      (1002, 'hackney',   'civica', 'civica-openrevenues', 'Revenues', '2022-07-01', '2027-06-30', 200.00, 2, 2, 5, 5, 'charged', 'manual'),
      (1003, 'islington', 'capita', 'capita-academy',      'Revenues', '2023-02-01', '2028-01-31',  50.50, 5, 3, 4, 5, 'unavailable', 'manual'),
      (1004, 'lambeth',   'capita', NULL,                  'Council tax bureau', '2023-02-02', '2028-02-01', 10.00, NULL, NULL, NULL, NULL, 'unknown', 'manual'),
      (1005, 'camden',    'capita', NULL,                  'Business rates bureau', '2022-07-01', '2027-06-30', 300.00, 3, 3, NULL, NULL, 'included', 'manual'),
      (1006, 'southwark', 'civica', 'civica-openrevenues', 'Revenues', '2022-07-01', '2027-06-30', 70.00, NULL, NULL, NULL, NULL, 'charged', 'manual');
    INSERT INTO contract_service_areas (contract_id, service_area_id) VALUES
      (1001, 'council-tax'), (1001, 'business-rates'), (1002, 'council-tax'), (1003, 'council-tax'),
      (1004, 'council-tax'), (1005, 'business-rates'), (1006, 'business-rates');
";

fn dataset() -> TestApp {
    let app = TestApp::new();
    diesel::connection::SimpleConnection::batch_execute(&mut app.conn(), DATASET).unwrap();
    app
}

/// Per group: service area, supplier, contract ids, borough ids, total annual value.
type GroupSummary = (String, Value, Vec<i64>, Vec<String>, String);

fn summarise(groups: &Value) -> Vec<GroupSummary> {
    groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["service_area_id"].as_str().unwrap().to_owned(),
                g["supplier_id"].clone(),
                g["contracts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["id"].as_i64().unwrap())
                    .collect(),
                g["borough_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_str().unwrap().to_owned())
                    .collect(),
                g["total_annual_value_gbp"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn s(items: &[&str]) -> Vec<String> {
    items.iter().map(|i| i.to_string()).collect()
}

#[actix_web::test]
async fn joint_procurement_groups_by_window_from_the_first_end_date() {
    let app = dataset();
    let body = app
        .get("/api/v1/insights/joint-procurement?include=contracts")
        .await
        .json();
    // Both groups start on 2027-01-31, so business-rates comes first. In council-tax, 1003 ends
    // exactly 12 months after 1001 and joins; 1004 ends a day later, alone, and is dropped. In
    // business-rates, 1005 and 1006 tie on end date and are taken by id.
    assert_eq!(
        summarise(&body),
        vec![
            (
                "business-rates".into(),
                Value::Null,
                vec![1001, 1005, 1006],
                s(&["camden", "southwark"]),
                "470.00".into()
            ),
            (
                "council-tax".into(),
                Value::Null,
                vec![1001, 1002, 1003],
                s(&["camden", "hackney", "islington"]),
                "350.50".into()
            ),
        ]
    );
    let group = &body["items"][1];
    assert_eq!(group["first_end_date"], "2027-01-31");
    assert_eq!(group["last_end_date"], "2028-01-31");
    assert_eq!(group["contracts"][2]["annual_value_gbp"], "50.50");
    assert_eq!(body["window_months"], 12);
    assert_eq!(body["min_boroughs"], 2);

    let six = app
        .get("/api/v1/insights/joint-procurement?window_months=6&include=contracts")
        .await
        .json();
    assert_eq!(
        summarise(&six),
        vec![
            (
                "business-rates".into(),
                Value::Null,
                vec![1001, 1005, 1006],
                s(&["camden", "southwark"]),
                "470.00".into()
            ),
            (
                "council-tax".into(),
                Value::Null,
                vec![1001, 1002],
                s(&["camden", "hackney"]),
                "300.00".into()
            ),
            (
                "council-tax".into(),
                Value::Null,
                vec![1003, 1004],
                s(&["islington", "lambeth"]),
                "60.50".into()
            ),
        ]
    );

    let by_supplier = app
        .get("/api/v1/insights/joint-procurement?group_by=supplier&include=contracts")
        .await
        .json();
    assert_eq!(
        summarise(&by_supplier),
        vec![
            (
                "business-rates".into(),
                json!("civica"),
                vec![1001, 1006],
                s(&["camden", "southwark"]),
                "170.00".into()
            ),
            (
                "council-tax".into(),
                json!("civica"),
                vec![1001, 1002],
                s(&["camden", "hackney"]),
                "300.00".into()
            ),
            (
                "council-tax".into(),
                json!("capita"),
                vec![1003, 1004],
                s(&["islington", "lambeth"]),
                "60.50".into()
            ),
        ]
    );

    let three = app
        .get("/api/v1/insights/joint-procurement?min_boroughs=3&include=contracts")
        .await
        .json();
    assert_eq!(summarise(&three).len(), 1);
    // The contract filters narrow the scan; a service-area filter limits the areas shown.
    let filtered = app
        .get("/api/v1/insights/joint-procurement?service_area=council-tax&ends_before=2027-12-31&include=contracts")
        .await
        .json();
    assert_eq!(
        summarise(&filtered),
        vec![(
            "council-tax".into(),
            Value::Null,
            vec![1001, 1002],
            s(&["camden", "hackney"]),
            "300.00".into()
        )]
    );
    app.get("/api/v1/insights/joint-procurement?window_months=0")
        .await
        .problem(400);
    app.get("/api/v1/insights/joint-procurement?group_by=borough")
        .await
        .problem(400);
}

#[actix_web::test]
async fn joint_procurement_pages_summaries_links_them_to_their_contracts_and_leaves_out_ended_groups(
) {
    let app = dataset();
    // A group that ended last year: Camden and Hackney parking, both over before today.
    diesel::connection::SimpleConnection::batch_execute(
        &mut app.conn(),
        "INSERT INTO contracts (id, borough_id, supplier_id, title, end_date, annual_value_gbp, source)
         VALUES (1007, 'camden', 'civica', 'Parking', current_date - 400, 5.00, 'manual'),
                (1008, 'hackney', 'civica', 'Parking', current_date - 390, 6.00, 'manual');
         INSERT INTO contract_service_areas (contract_id, service_area_id)
         VALUES (1007, 'parking'), (1008, 'parking');",
    )
    .unwrap();

    // Summaries by default: no contracts inline, a count, a total and a link.
    let body = app
        .get("/api/v1/insights/joint-procurement?borough=camden,hackney,islington,southwark")
        .await
        .json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "the ended parking group is left out: {body}"
    );
    assert!(items.iter().all(|g| g.get("contracts").is_none()));
    let council_tax = &items[1];
    assert_eq!(council_tax["service_area_id"], "council-tax");
    assert_eq!(council_tax["contract_count"], 3);
    assert_eq!(council_tax["total_annual_value_gbp"], "350.50");
    assert_eq!(body["meta"]["total"], 2);
    assert_eq!(body["meta"]["next_cursor"], Value::Null);

    // The link lists exactly the group's contracts, keeping the request's own filters.
    let url = council_tax["contracts_url"].as_str().unwrap();
    assert!(
        url.contains("borough=camden%2Chackney%2Cislington%2Csouthwark"),
        "{url}"
    );
    let listed = app.get(url).await.json();
    let mut ids: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, vec![1001, 1002, 1003]);

    // Ended groups on request.
    let with_ended = app
        .get("/api/v1/insights/joint-procurement?include=ended")
        .await
        .json();
    assert_eq!(with_ended["items"][0]["service_area_id"], "parking");
    assert_eq!(with_ended["meta"]["total"], 3);

    // A page at a time, by cursor; the pages together are the whole answer.
    let whole = app
        .get("/api/v1/insights/joint-procurement?include=ended,contracts&window_months=6")
        .await
        .json();
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let response = app
            .get(&format!("/api/v1/insights/joint-procurement?include=ended,contracts&window_months=6&per_page=1&cursor={cursor}"))
            .await;
        assert!(response.header("link").unwrap().contains("rel=\"first\""));
        let page = response.json();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        paged.push(page["items"][0].clone());
        match page["meta"]["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(Value::Array(paged), whole["items"]);
    // A cursor of another grouping, or a made-up one, is a 400.
    app.get(&format!(
        "/api/v1/insights/joint-procurement?group_by=supplier&cursor={cursor}"
    ))
    .await
    .problem(400);
    app.get("/api/v1/insights/joint-procurement?cursor=bm9wZQ")
        .await
        .problem(400);
    app.get("/api/v1/insights/joint-procurement?include=everything")
        .await
        .problem(400);

    // Every group as CSV, one row each.
    let csv = app
        .get("/api/v1/insights/joint-procurement?format=csv")
        .await
        .text();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "service_area_id,supplier_id,first_end_date,last_end_date,borough_ids,borough_count,contract_count,total_annual_value_gbp,contracts_url"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[1].starts_with("council-tax,,2027-01-31,2028-01-31,camden|hackney|islington,3,3,350.50,/api/v1/contracts?"), "{csv}");
}

#[actix_web::test]
async fn market_share_and_hhi_per_area() {
    let app = dataset();
    let body = app.get("/api/v1/insights/market-share").await.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    // business-rates: civica 2 of 3 (camden, southwark), capita 1 of 3; HHI = 66.67^2 + 33.33^2.
    assert_eq!(items[0]["service_area_id"], "business-rates");
    assert_eq!(items[0]["contracts"], 3);
    assert_eq!(items[0]["hhi"], 5555.6);
    assert_eq!(items[0]["suppliers"][0]["supplier_id"], "civica");
    assert_eq!(items[0]["suppliers"][0]["boroughs"], 2);
    assert_eq!(items[0]["suppliers"][0]["share"], 0.6667);
    assert_eq!(items[0]["suppliers"][1]["share"], 0.3333);
    // council-tax: two suppliers with 2 contracts each (a tie, by id); HHI = 50^2 + 50^2.
    assert_eq!(items[1]["hhi"], 5000.0);
    let order: Vec<&str> = items[1]["suppliers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["supplier_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec!["capita", "civica"]);
    let csv = app
        .get("/api/v1/insights/market-share?format=csv")
        .await
        .text();
    assert_eq!(csv.lines().count(), 1 + 4);
    assert!(csv.starts_with("service_area_id,area_contracts,hhi,supplier_id"));
    let one = app
        .get("/api/v1/insights/market-share?service_area=council-tax")
        .await
        .json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn vendor_satisfaction_and_its_correlation() {
    let app = dataset();
    let reader = app.key("reader", None);
    let keyed = app
        .send(
            "GET",
            "/api/v1/insights/vendor-satisfaction",
            Some(&reader),
            None,
            &[],
        )
        .await
        .json();
    let camden = &keyed["items"][0];
    assert_eq!(camden["borough_id"], "camden");
    assert_eq!(camden["suppliers"], 2);
    assert_eq!(camden["contracts"], 2);
    assert_eq!(camden["mean_satisfaction"], 3.5);
    assert_eq!(camden["mean_value_for_money"], 3.0);
    let lambeth = keyed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["borough_id"] == "lambeth")
        .unwrap();
    assert!(
        lambeth.get("mean_satisfaction").is_none(),
        "a borough without ratings has no means"
    );
    // Rated boroughs: camden (2 suppliers; 3.5, 3.0), hackney (1; 2, 2), islington (1; 5, 3).
    // Satisfaction: the deviations cancel, r = 0. Value for money: r = (1/3) / (2/3) = 0.5.
    assert_eq!(
        keyed["correlation"],
        json!({"suppliers_vs_satisfaction": 0.0, "suppliers_vs_value_for_money": 0.5, "n": 3})
    );

    let anonymous = app.get("/api/v1/insights/vendor-satisfaction").await.json();
    for item in anonymous["items"].as_array().unwrap() {
        assert!(
            item.get("mean_satisfaction").is_none() && item.get("mean_value_for_money").is_none()
        );
        assert!(item.get("suppliers").is_some());
    }
    assert_eq!(
        anonymous["correlation"], keyed["correlation"],
        "an aggregate over 3 boroughs is public"
    );

    // Over two rated boroughs the correlation is for keyed callers only.
    let two = "/api/v1/insights/vendor-satisfaction?borough=camden,hackney";
    let anonymous_two = app.get(two).await.json();
    assert_eq!(anonymous_two["correlation"]["n"], 2);
    assert!(anonymous_two["correlation"]["suppliers_vs_value_for_money"].is_null());
    let keyed_two = app.send("GET", two, Some(&reader), None, &[]).await.json();
    assert_eq!(
        keyed_two["correlation"]["suppliers_vs_value_for_money"],
        1.0
    );
    let csv = app
        .get("/api/v1/insights/vendor-satisfaction?format=csv")
        .await
        .text();
    assert!(!csv.contains("mean_"), "no means in the anonymous CSV");
}

#[actix_web::test]
async fn expiry_timeline_by_quarter_and_year() {
    let app = dataset();
    let quarters = app.get("/api/v1/insights/expiry-timeline").await.json();
    assert_eq!(
        quarters["items"],
        json!([
            {"period": "2027-Q1", "start_date": "2027-01-01", "contracts": 1, "boroughs": 1, "annual_value_gbp": "100.00"},
            {"period": "2027-Q2", "start_date": "2027-04-01", "contracts": 3, "boroughs": 3, "annual_value_gbp": "570.00"},
            {"period": "2028-Q1", "start_date": "2028-01-01", "contracts": 2, "boroughs": 2, "annual_value_gbp": "60.50"}
        ])
    );
    let years = app
        .get("/api/v1/insights/expiry-timeline?interval=year")
        .await
        .json();
    assert_eq!(years["items"][0]["period"], "2027");
    assert_eq!(years["items"][0]["contracts"], 4);
    assert_eq!(years["items"][0]["boroughs"], 3);
    assert_eq!(years["items"][1]["annual_value_gbp"], "60.50");
    app.get("/api/v1/insights/expiry-timeline?interval=month")
        .await
        .problem(400);
    let csv = app
        .get("/api/v1/insights/expiry-timeline?format=csv")
        .await
        .text();
    assert_eq!(csv.lines().nth(2).unwrap(), "2027-Q2,2027-04-01,3,3,570.00");
}

#[actix_web::test]
async fn summary_counts_and_top_share() {
    let app = dataset();
    let body = app.get("/api/v1/insights/summary?top=1").await.json();
    // civica and capita hold 3 contracts each: the tie goes to the lower id, capita.
    assert_eq!(
        body,
        json!({
            "authorities": 5, "suppliers": 2, "systems": 2, "contracts": 6,
            "top": [{"supplier_id": "capita", "supplier_name": body["top"][0]["supplier_name"], "contracts": 3, "share": 0.5}],
            "top_share": 0.5,
            "sources": {"manual": 6}
        })
    );
    let both = app.get("/api/v1/insights/summary").await.json();
    assert_eq!(both["top_share"], 1.0);
    app.get("/api/v1/insights/summary?top=0").await.problem(400);
}

#[actix_web::test]
async fn data_access_by_supplier() {
    let app = dataset();
    let body = app.get("/api/v1/insights/data-access").await.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items[0]["supplier_id"], "civica");
    assert_eq!(items[0]["charged"], 2);
    assert_eq!(items[0]["included"], 1);
    assert_eq!(items[0]["share_charged_or_unavailable"], 0.6667);
    assert_eq!(items[1]["supplier_id"], "capita");
    assert_eq!(
        (
            items[1]["unavailable"].as_i64(),
            items[1]["unknown"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(items[1]["share_charged_or_unavailable"], 0.3333);
}

#[actix_web::test]
async fn expertise_orders_by_confidence_only_for_keyed_callers() {
    let app = dataset();
    let reader = app.key("reader", None);
    let uri = "/api/v1/insights/expertise?system=civica-openrevenues";
    let keyed = app.send("GET", uri, Some(&reader), None, &[]).await.json();
    let order: Vec<&str> = keyed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["borough_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec!["hackney", "camden", "southwark"],
        "5+5, then 5+4, then no ratings"
    );
    assert_eq!(keyed["items"][0]["support_confidence"], 5);
    assert_eq!(keyed["system_name"], "Civica OpenRevenues");
    let anonymous = app.get(uri).await.json();
    let order: Vec<&str> = anonymous["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["borough_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec!["camden", "hackney", "southwark"],
        "no ordering that would reveal ratings"
    );
    for item in anonymous["items"].as_array().unwrap() {
        assert!(
            item.get("support_confidence").is_none()
                && item.get("development_confidence").is_none()
        );
    }
    app.get("/api/v1/insights/expertise").await.problem(400);
    app.get("/api/v1/insights/expertise?system=abacus")
        .await
        .problem(400);
}

#[actix_web::test]
async fn expertise_takes_several_systems_in_either_form() {
    let app = dataset();
    let reader = app.key("reader", None);
    for uri in [
        "/api/v1/insights/expertise?system=capita-academy,civica-openrevenues",
        "/api/v1/insights/expertise?system=capita-academy&system=civica-openrevenues",
    ] {
        let body = app.send("GET", uri, Some(&reader), None, &[]).await.json();
        assert!(body.get("system_id").is_none(), "several systems: {body}");
        assert_eq!(
            body["systems"],
            json!([
                {"system_id": "capita-academy", "system_name": "Academy Revenues and Benefits"},
                {"system_id": "civica-openrevenues", "system_name": "Civica OpenRevenues"}
            ])
        );
        let items: Vec<(&str, &str)> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["system_id"].as_str().unwrap(),
                    b["borough_id"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            items,
            [
                ("capita-academy", "islington"),
                ("civica-openrevenues", "hackney"),
                ("civica-openrevenues", "camden"),
                ("civica-openrevenues", "southwark"),
            ],
            "by system in the order asked, then by confidence"
        );
        let csv = app
            .send(
                "GET",
                &format!("{uri}&format=csv"),
                Some(&reader),
                None,
                &[],
            )
            .await
            .text();
        assert!(csv.starts_with(
            "borough_id,borough_name,contracts,system_id,system_name,support_confidence,development_confidence"
        ), "{csv}");
        assert_eq!(csv.lines().count(), 5, "{csv}");
    }
    let one = app
        .get("/api/v1/insights/expertise?system=capita-academy")
        .await
        .json();
    assert_eq!(
        one["system_id"], "capita-academy",
        "one system is named as before"
    );
    let many = vec!["civica-openrevenues"; 21].join(",");
    let problem = app
        .get(&format!("/api/v1/insights/expertise?system={many}"))
        .await
        .problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("at most 20"),
        "{problem}"
    );
}

#[actix_web::test]
async fn peers_need_a_key_and_a_confidence() {
    let app = dataset();
    let reader = app.key("reader", None);
    app.get("/api/v1/boroughs/camden/peers").await.problem(401);
    let body = app
        .send(
            "GET",
            "/api/v1/boroughs/camden/peers",
            Some(&reader),
            None,
            &[],
        )
        .await
        .json();
    // Camden uses civica-openrevenues; hackney (5, 5) knows it well, southwark has no ratings.
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["system_id"], "civica-openrevenues");
    let peers: Vec<&str> = body["items"][0]["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["borough_id"].as_str().unwrap())
        .collect();
    assert_eq!(peers, vec!["hackney"]);
    let islington = app
        .send(
            "GET",
            "/api/v1/boroughs/E09000019/peers?min_confidence=5",
            Some(&reader),
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(islington["borough_id"], "islington");
    assert!(
        islington["items"][0]["peers"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nobody else uses capita-academy"
    );
    app.send(
        "GET",
        "/api/v1/boroughs/atlantis/peers",
        Some(&reader),
        None,
        &[],
    )
    .await
    .problem(404);
}

#[actix_web::test]
async fn opportunities_in_a_window_with_totals_by_area() {
    let app = dataset();
    let body = app
        .get("/api/v1/insights/opportunities?ends_after=2027-06-01&ends_before=2028-01-31")
        .await
        .json();
    let ids: Vec<i64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![1002, 1005, 1006, 1003],
        "soonest first, ties by id"
    );
    assert_eq!(body["items"][0]["supplier_name"], "Civica");
    assert_eq!(
        body["by_service_area"],
        json!([
            {"service_area_id": "business-rates", "contracts": 2, "boroughs": 2, "annual_value_gbp": "370.00"},
            {"service_area_id": "council-tax", "contracts": 2, "boroughs": 2, "annual_value_gbp": "250.50"}
        ])
    );
    assert!(body["items"][0].get("satisfaction").is_none());
    // By default: from today to 18 months on.
    let defaults = app.get("/api/v1/insights/opportunities").await.json();
    let today = chrono::Utc::now().date_naive();
    let later = today.checked_add_months(chrono::Months::new(18)).unwrap();
    assert_eq!(defaults["meta"]["ends_after"], today.to_string());
    assert_eq!(defaults["meta"]["ends_before"], later.to_string());
    let expected = app.column(&format!(
        "SELECT count(*) AS value FROM contracts WHERE end_date BETWEEN '{today}' AND '{later}'"
    ));
    assert_eq!(defaults["meta"]["total"].to_string(), expected[0]);
    let csv = app.get("/api/v1/insights/opportunities?ends_after=2027-06-01&ends_before=2028-01-31&format=csv").await.text();
    assert_eq!(csv.lines().count(), 5);
}

#[actix_web::test]
async fn a_suppliers_footprint() {
    let app = dataset();
    let body = app.get("/api/v1/suppliers/civica/footprint").await.json();
    assert_eq!(
        body["items"],
        json!([
            {"borough_id": "camden", "borough_name": "Camden", "contracts": 1,
             "service_area_ids": ["business-rates", "council-tax"], "system_ids": ["civica-openrevenues"]},
            {"borough_id": "hackney", "borough_name": "Hackney", "contracts": 1,
             "service_area_ids": ["council-tax"], "system_ids": ["civica-openrevenues"]},
            {"borough_id": "southwark", "borough_name": "Southwark", "contracts": 1,
             "service_area_ids": ["business-rates"], "system_ids": ["civica-openrevenues"]}
        ])
    );
    let narrowed = app
        .get("/api/v1/suppliers/civica/footprint?service_area=business-rates")
        .await
        .json();
    assert_eq!(narrowed["items"].as_array().unwrap().len(), 2);
    let csv = app
        .get("/api/v1/suppliers/civica/footprint?format=csv")
        .await
        .text();
    assert_eq!(
        csv,
        "borough_id,borough_name,contracts,service_area_ids,system_ids\r\n\
         camden,Camden,1,business-rates|council-tax,civica-openrevenues\r\n\
         hackney,Hackney,1,council-tax,civica-openrevenues\r\n\
         southwark,Southwark,1,business-rates,civica-openrevenues\r\n"
    );
    app.get("/api/v1/suppliers/acme/footprint")
        .await
        .problem(404);
}

#[actix_web::test]
async fn every_insight_takes_the_contract_filters_and_refuses_unknown_ones() {
    let app = dataset();
    for path in [
        "joint-procurement",
        "expertise?system=civica-openrevenues",
        "opportunities",
        "market-share",
        "vendor-satisfaction",
        "expiry-timeline",
        "summary",
        "data-access",
    ] {
        let sep = if path.contains('?') { "&" } else { "?" };
        let ok = app
            .get(&format!(
                "/api/v1/insights/{path}{sep}hosting=saas,unknown&ends_after=2027-01-01"
            ))
            .await;
        assert_eq!(ok.status, 200, "{path}: {}", ok.text());
        app.get(&format!("/api/v1/insights/{path}{sep}colour=red"))
            .await
            .problem(400);
        app.get(&format!("/api/v1/insights/{path}{sep}borough=atlantis"))
            .await
            .problem(400);
    }
}

#[actix_web::test]
async fn estate_is_the_borough_by_service_area_matrix() {
    let app = dataset();
    let by_area = app
        .get("/api/v1/insights/estate?level=area&borough=camden")
        .await
        .json();
    assert_eq!(by_area["level"], "area");
    let cells: Vec<(&str, i64, Vec<Value>)> = by_area["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            let systems = cell["systems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| json!([s["system_id"], s["supplier_name"], s["contracts"]]))
                .collect();
            (
                cell["service_area_id"].as_str().unwrap(),
                cell["contracts"].as_i64().unwrap(),
                systems,
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            (
                "business-rates",
                2,
                vec![
                    json!(["civica-openrevenues", "Civica", 1]),
                    json!([null, "Capita", 1])
                ]
            ),
            (
                "council-tax",
                1,
                vec![json!(["civica-openrevenues", "Civica", 1])]
            ),
        ],
        "{by_area}"
    );
    let columns: Vec<&str> = by_area["service_areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["business-rates", "council-tax"]);
    assert_eq!(by_area["sources"], json!({"manual": 2}));

    // By group, a contract in two of the group's areas counts once.
    let grouped = app.get("/api/v1/insights/estate").await.json();
    assert_eq!(grouped["level"], "group");
    let camden = grouped["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|cell| cell["borough_id"] == "camden")
        .unwrap();
    assert_eq!(camden["service_area_id"], "revenues-and-benefits");
    assert_eq!(camden["contracts"], 2, "{camden}");
    let boroughs: Vec<&str> = grouped["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| cell["borough_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        boroughs,
        ["Camden", "Hackney", "Islington", "Lambeth", "Southwark"]
    );

    let csv = app
        .get("/api/v1/insights/estate?level=area&borough=camden&format=csv")
        .await
        .text();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "borough_id,borough_name,service_area_id,service_area_name,contracts,system_ids,system_names,supplier_ids,supplier_names,other_systems"
    );
    assert!(
        lines[1].starts_with("camden,Camden,business-rates,Business rates,2,civica-openrevenues|,"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");

    assert_eq!(
        grouped["meta"],
        json!({"total": 5, "page": 1, "per_page": 50})
    );

    // Rows come a page of boroughs at a time, by name.
    let paged = app
        .get("/api/v1/insights/estate?per_page=2&page=3")
        .await
        .json();
    assert_eq!(paged["meta"], json!({"total": 5, "page": 3, "per_page": 2}));
    let boroughs: Vec<&str> = paged["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| cell["borough_id"].as_str().unwrap())
        .collect();
    assert_eq!(boroughs, ["southwark"]);

    let problem = app.get("/api/v1/insights/estate?level=borough").await;
    let problem = problem.problem(400);
    assert!(
        problem["detail"].as_str().unwrap().contains("level"),
        "{problem}"
    );
}

/// An anonymous insight's answer is kept until a write changes the data: the second request is
/// answered from memory with the same body, a write through the API (its change logged) lets it
/// go, and keyed requests and CSV are always computed.
#[actix_web::test]
async fn an_anonymous_answer_is_kept_until_a_write() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let path = "/api/v1/insights/summary?borough=camden";
    let status = |r: &crate::helpers::TestResponse| r.header("cache-status").unwrap_or_default();
    let first = app.get(path).await;
    assert_eq!(status(&first), "citytools; fwd=miss; stored");
    let again = app.get(path).await;
    assert_eq!(status(&again), "citytools; hit");
    assert_eq!(again.json(), first.json());
    assert_eq!(
        again.header("content-type").as_deref(),
        Some("application/json")
    );

    let keyed = app.send("GET", path, Some(&admin), None, &[]).await;
    assert_eq!(keyed.status, 200, "{}", keyed.text());
    assert_eq!(keyed.header("cache-status"), None);
    let csv = app
        .get("/api/v1/insights/market-share?borough=camden&format=csv")
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("cache-status"), None, "a download is never kept");

    let body = json!({
        "borough_id": "camden", "supplier_id": "civica", "title": "Kept answers",
        "service_area_ids": ["council-tax"], "end_date": "2030-03-31"
    });
    let created = app
        .send("POST", "/api/v1/contracts", Some(&admin), Some(&body), &[])
        .await;
    assert_eq!(created.status, 201);
    let after = app.get(path).await;
    assert_eq!(status(&after), "citytools; fwd=miss; stored");
    assert_eq!(
        after.json()["contracts"].as_i64().unwrap(),
        first.json()["contracts"].as_i64().unwrap() + 1
    );
}

/// Joint procurement by service area over nothing but areas, boroughs and end dates finds its
/// groups by index probes of the service-area rows; any other filter reads every (area,
/// contract) pair in order. A filter on every source selects the same contracts the other way:
/// both ways give the same groups, figures and totals.
#[actix_web::test]
async fn joint_procurement_by_probes_answers_as_the_full_scan_does() {
    let app = TestApp::new();
    let every_source = "source=illustrative,open_data,survey,manual";
    for query in [
        "include=ended",
        "",
        "window_months=1&min_boroughs=1&include=ended",
        "window_months=36&min_boroughs=4&include=ended",
        "service_area=revenues-and-benefits&window_months=6",
        "borough=camden,hackney,islington&min_boroughs=2&include=ended",
        "ends_after=2026-01-01&ends_before=2028-06-30&window_months=3&include=ended",
        "service_area=council-tax&borough=camden,hackney&ends_before=2029-12-31&min_boroughs=1&include=ended",
    ] {
        let read = |extra: &str| {
            let uri = format!("/api/v1/insights/joint-procurement?per_page=500&{query}&{extra}");
            let app = &app;
            async move {
                let mut body = app.get(&uri).await.json();
                for group in body["items"].as_array_mut().unwrap() {
                    group.as_object_mut().unwrap().remove("contracts_url");
                }
                (body["items"].clone(), body["meta"]["total"].clone())
            }
        };
        let (probed, total) = read("").await;
        let (scanned, scanned_total) = read(every_source).await;
        assert!(total.as_i64().unwrap() > 0, "{query}: no groups to compare");
        assert_eq!(total, scanned_total, "{query}");
        assert_eq!(probed, scanned, "{query}");
    }
}
