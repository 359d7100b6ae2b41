//! CSV: header row, RFC 4180 quoting, every matching row (no paging), the same as the JSON list.

use crate::helpers::TestApp;

fn parse(text: &str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let rows = reader.records().map(|r| r.unwrap()).collect();
    (header, rows)
}

#[actix_web::test]
async fn csv_holds_every_matching_row_and_agrees_with_json() {
    let app = TestApp::new();
    let query = "service_area=revenues-and-benefits&ends_after=2026-01-01&ends_before=2027-12-31&sort=end_date";
    let json = app
        .get(&format!("/api/v1/contracts?{query}&per_page=500"))
        .await
        .json();
    let response = app
        .get(&format!("/api/v1/contracts?{query}&format=csv"))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert!(response
        .header("content-disposition")
        .unwrap()
        .contains("contracts.csv"));
    let (header, rows) = parse(&response.text());
    assert_eq!(rows.len() as u64, json["meta"]["total"].as_u64().unwrap());
    let id_column = header.iter().position(|h| h == "id").unwrap();
    let csv_ids: Vec<String> = rows.iter().map(|r| r[id_column].to_owned()).collect();
    let json_ids: Vec<String> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].to_string())
        .collect();
    assert_eq!(csv_ids, json_ids, "same rows, same order");
    let first = &json["items"][0];
    for (index, column) in header.iter().enumerate() {
        if column == "service_area_names" {
            // Beside the ids, the areas' names (the JSON has the ids only).
            let areas = app.get("/api/v1/service-areas?per_page=500").await.json();
            let name = |id: &str| {
                areas["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|a| a["id"] == id)
                    .unwrap()["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            };
            let names: Vec<String> = first["service_area_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| name(id.as_str().unwrap()))
                .collect();
            assert_eq!(header.get(index - 1), Some("service_area_ids"));
            assert_eq!(rows[0][index], names.join("|"), "column {column}");
            continue;
        }
        let expected = match &first[column] {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
                .join("|"),
            other => other.to_string(),
        };
        assert_eq!(rows[0][index], expected, "column {column}");
    }
}

#[actix_web::test]
async fn csv_is_not_paged() {
    let app = TestApp::new();
    let total: usize = app.column("SELECT count(*) AS value FROM contracts")[0]
        .parse()
        .unwrap();
    assert!(total > 500, "the seeds hold more than one maximum page");
    let response = app
        .get("/api/v1/contracts?format=csv&per_page=10&page=3")
        .await;
    let (_, rows) = parse(&response.text());
    assert_eq!(rows.len(), total);
}

#[actix_web::test]
async fn accept_header_selects_csv_and_format_json_overrides_it() {
    let app = TestApp::new();
    let response = app
        .get_with("/api/v1/boroughs", &[("accept", "text/csv")])
        .await;
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    let (header, rows) = parse(&response.text());
    assert_eq!(rows.len(), 33);
    assert_eq!(&header[0], "id");
    assert!(header.iter().any(|h| h == "gss_code"));

    let json = app
        .get_with("/api/v1/boroughs?format=json", &[("accept", "text/csv")])
        .await;
    assert_eq!(
        json.header("content-type").as_deref(),
        Some("application/json")
    );
}

#[actix_web::test]
async fn fields_with_commas_quotes_and_newlines_are_quoted() {
    let app = TestApp::new();
    let id = &app.column("SELECT min(id) AS value FROM contracts WHERE borough_id = 'camden'")[0];
    let tricky = "Licence, \"support\"\nand maintenance";
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE contracts SET title = $1 WHERE id = $2::bigint")
            .bind::<diesel::sql_types::Text, _>(tricky)
            .bind::<diesel::sql_types::Text, _>(id),
        &mut app.conn(),
    )
    .unwrap();
    let text = app
        .get("/api/v1/contracts?borough=camden&format=csv")
        .await
        .text();
    assert!(
        text.contains("\"Licence, \"\"support\"\"\nand maintenance\""),
        "RFC 4180 quoting"
    );
    let (header, rows) = parse(&text);
    let title = header.iter().position(|h| h == "title").unwrap();
    assert!(rows.iter().any(|r| &r[title] == tricky));
}

#[actix_web::test]
async fn every_list_and_nested_list_has_csv() {
    let app = TestApp::new();
    let cases = [
        (
            "/api/v1/service-areas",
            "SELECT count(*) AS value FROM service_areas",
        ),
        (
            "/api/v1/suppliers",
            "SELECT count(*) AS value FROM suppliers",
        ),
        ("/api/v1/systems", "SELECT count(*) AS value FROM systems"),
        (
            "/api/v1/boroughs/camden/contracts",
            "SELECT count(*) AS value FROM contracts WHERE borough_id = 'camden'",
        ),
        (
            "/api/v1/suppliers/civica/contracts",
            "SELECT count(*) AS value FROM contracts WHERE supplier_id = 'civica'",
        ),
        (
            "/api/v1/systems/civica-openrevenues/contracts",
            "SELECT count(*) AS value FROM contracts WHERE system_id = 'civica-openrevenues'",
        ),
    ];
    for (path, count_sql) in cases {
        let response = app.get(&format!("{path}?format=csv")).await;
        assert_eq!(response.status, 200, "{path}");
        let (_, rows) = parse(&response.text());
        let expected: usize = app.column(count_sql)[0].parse().unwrap();
        assert_eq!(rows.len(), expected, "{path}");
    }
}

#[actix_web::test]
async fn an_empty_result_is_a_header_row_alone() {
    let app = TestApp::new();
    let text = app
        .get("/api/v1/contracts?ends_before=1990-01-01&format=csv")
        .await
        .text();
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with("id,borough_id,borough_name,"));
}

#[actix_web::test]
async fn bad_csv_requests_are_problems_not_broken_downloads() {
    let app = TestApp::new();
    app.get("/api/v1/contracts?format=csv&borough=atlantis")
        .await
        .problem(400);
    app.get("/api/v1/contracts?format=xml").await.problem(400);
}

#[actix_web::test]
async fn text_that_a_spreadsheet_would_run_is_written_as_text() {
    let app = TestApp::new();
    let id = app.column("SELECT min(id)::text AS value FROM contracts WHERE borough_id = 'camden'")
        [0]
    .clone();
    let title = r#"=HYPERLINK("http://evil.example","click")"#;
    diesel::connection::SimpleConnection::batch_execute(
        &mut app.conn(),
        &format!(
            "UPDATE contracts SET title = '{}', notes = '@SUM(1+1)' WHERE id = {id};
             UPDATE suppliers SET name = '+Plus Ltd' WHERE id = 'civica';",
            title.replace('\'', "''")
        ),
    )
    .unwrap();
    // The JSON keeps the text as it is; every CSV cell that starts like a formula gets a '.
    let json = app.get(&format!("/api/v1/contracts/{id}")).await.json();
    assert_eq!(json["title"], title);
    let key = app.key("admin", None);
    let csv = app
        .send(
            "GET",
            "/api/v1/contracts?borough=camden&format=csv",
            Some(&key),
            None,
            &[],
        )
        .await
        .text();
    let (header, rows) = parse(&csv);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = rows.iter().find(|r| r[column("id")] == id).unwrap();
    assert_eq!(&row[column("title")], format!("'{title}"));
    assert_eq!(&row[column("notes")], "'@SUM(1+1)");
    let suppliers = app
        .get("/api/v1/suppliers?format=csv&per_page=500")
        .await
        .text();
    assert!(
        suppliers.contains(",'+Plus Ltd,") || suppliers.contains("\r\ncivica,'+Plus Ltd"),
        "{suppliers}"
    );
    for line in csv.lines().chain(suppliers.lines()) {
        for cell in line.split(',') {
            assert!(!cell.starts_with(['=', '+', '@']), "a formula in {line}");
        }
    }
}

#[actix_web::test]
async fn bom_true_puts_the_byte_order_mark_before_any_csv_for_excel() {
    let app = TestApp::new();
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    for uri in [
        "/api/v1/contracts?borough=camden&format=csv&bom=true",
        "/api/v1/insights/market-share?bom=true&format=csv",
        "/api/v1/boroughs?bom=true&format=csv",
    ] {
        let response = app.get(uri).await;
        assert_eq!(response.status, 200, "{uri}: {}", response.text());
        assert!(response.body.starts_with(BOM), "{uri}");
        let plain = app.get(&uri.replace("bom=true", "bom=false")).await;
        assert_eq!(&response.body[BOM.len()..], &plain.body[..], "{uri}");
        assert!(!plain.body.starts_with(BOM));
    }
    // JSON is untouched, and a value other than true or false is named.
    let json = app.get("/api/v1/contracts?borough=camden&bom=true").await;
    assert_eq!(json.status, 200);
    assert!(json.body.starts_with(b"{"));
    let body = app
        .get("/api/v1/contracts?format=csv&bom=yes")
        .await
        .problem(400);
    assert_eq!(body["errors"][0]["field"], "bom");
}

/// The XML of a workbook's first sheet.
fn sheet_xml(workbook: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(workbook)).expect("a zip");
    let mut sheet = archive
        .by_name("xl/worksheets/sheet1.xml")
        .expect("a first sheet");
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut sheet, &mut xml).unwrap();
    xml
}

#[actix_web::test]
async fn xlsx_is_the_csv_as_a_workbook_with_typed_cells() {
    let app = TestApp::new();
    let query = "borough=camden&sort=end_date";
    let csv = app
        .get(&format!("/api/v1/contracts?{query}&format=csv"))
        .await
        .text();
    let (header, rows) = parse(&csv);
    let response = app
        .get(&format!("/api/v1/contracts?{query}&format=xlsx"))
        .await;
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(
        response.header("content-type").unwrap(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(response
        .header("content-disposition")
        .unwrap()
        .contains("contracts.xlsx"));
    let xml = sheet_xml(&response.body);
    assert_eq!(
        xml.matches("<row ").count(),
        rows.len() + 1,
        "a header and a row per contract"
    );
    // The first contract's id and annual value are numbers, its end date a date serial (a
    // number with a date format), its title text.
    let first = &rows[0];
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let id = &first[column("id")];
    assert!(xml.contains(&format!("<v>{id}</v>")), "the id is a number");
    let value: f64 = first[column("annual_value_gbp")].parse().unwrap();
    assert!(
        xml.contains(&format!("<v>{value}</v>")),
        "the annual value {value} is a number"
    );
    let end = chrono::NaiveDate::parse_from_str(&first[column("end_date")], "%Y-%m-%d").unwrap();
    let serial = (end - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days();
    assert!(
        xml.contains(&format!("<v>{serial}</v>")),
        "the end date is Excel's day {serial}"
    );
    assert!(xml.contains(&first[column("title")].replace('&', "&amp;")));

    // Every tabular answer takes it; an answer that is not a table is refused as before.
    for path in [
        "/api/v1/insights/market-share?format=xlsx",
        "/api/v1/insights/estate?format=xlsx",
        "/api/v1/boroughs?format=xlsx",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status.as_u16(), 200, "{path}");
        assert_eq!(&response.body[..2], b"PK", "{path}");
    }
    app.get("/api/v1/insights/summary?format=xlsx")
        .await
        .problem(400);
}
