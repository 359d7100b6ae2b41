//! The seeds: the right authorities and codes, a complete catalogue, illustrative contracts.

use crate::helpers::TestApp;

fn count(app: &TestApp, sql: &str) -> i64 {
    app.column(sql)[0].parse().unwrap()
}

#[actix_web::test]
async fn the_33_authorities_have_the_reference_gss_codes() {
    let app = TestApp::new();
    let reference = include_str!("../../seeds/boroughs.csv");
    let mut reader = csv::Reader::from_reader(reference.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 33);
    for row in &rows {
        let stored = app.column(&format!(
            "SELECT concat_ws('|', gss_code, name, kind, inner_london_statutory, inner_london_ons) AS value \
             FROM boroughs WHERE id = '{}'",
            &row[0]
        ));
        let expected = format!(
            "{}|{}|{}|{}|{}",
            &row[1],
            &row[2],
            &row[4],
            if &row[5] == "true" { "t" } else { "f" },
            if &row[6] == "true" { "t" } else { "f" }
        );
        assert_eq!(stored, vec![expected], "{}", &row[0]);
    }
    assert_eq!(count(&app, "SELECT count(*) AS value FROM boroughs"), 33);
    assert_eq!(
        app.column("SELECT id AS value FROM boroughs WHERE gss_code = 'E09000033'"),
        vec!["westminster"]
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS value FROM boroughs WHERE surveyed"
        ),
        22
    );
}

#[actix_web::test]
async fn the_catalogue_is_complete_and_consistent() {
    let app = TestApp::new();
    assert!(
        count(
            &app,
            "SELECT count(*) AS value FROM service_areas WHERE parent_id IS NULL"
        ) >= 8
    );
    assert!(
        count(
            &app,
            "SELECT count(*) AS value FROM service_areas WHERE parent_id IS NOT NULL"
        ) >= 30
    );
    assert!(count(&app, "SELECT count(*) AS value FROM suppliers") >= 40);
    assert!(count(&app, "SELECT count(*) AS value FROM systems") >= 80);
    // Every system's supplier exists (also enforced by a foreign key) and it serves at least one area.
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM systems y WHERE NOT EXISTS (SELECT 1 FROM suppliers s WHERE s.id = y.supplier_id)"),
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM systems y WHERE NOT EXISTS (SELECT 1 FROM system_service_areas a WHERE a.system_id = y.id)"),
        0
    );
    // Systems serve areas, never groups.
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM system_service_areas a JOIN service_areas s ON s.id = a.service_area_id WHERE s.parent_id IS NULL"),
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM suppliers s WHERE NOT EXISTS (SELECT 1 FROM supplier_aliases a WHERE a.supplier_id = s.id)"),
        0,
        "every supplier has at least one alias"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM (SELECT normalized FROM supplier_aliases GROUP BY normalized HAVING count(DISTINCT supplier_id) > 1) d"),
        0,
        "no alias matches two suppliers"
    );
}

#[actix_web::test]
async fn the_illustrative_contracts_cover_every_borough_group_and_value() {
    let app = TestApp::new();
    assert!(count(&app, "SELECT count(*) AS value FROM contracts") >= 600);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS value FROM contracts WHERE source <> 'illustrative'"
        ),
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(DISTINCT borough_id) AS value FROM contracts"
        ),
        33
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM service_areas g WHERE g.parent_id IS NULL AND NOT EXISTS (\
            SELECT 1 FROM contract_service_areas a JOIN service_areas s ON s.id = a.service_area_id WHERE s.parent_id = g.id)"),
        0,
        "every group has contracts"
    );
    for (column, values) in [("hosting", 6), ("procurement_route", 5), ("data_access", 4)] {
        assert_eq!(
            count(
                &app,
                &format!("SELECT count(DISTINCT {column}) AS value FROM contracts")
            ),
            values,
            "{column}"
        );
    }
    assert!(
        count(
            &app,
            "SELECT count(*) AS value FROM contracts WHERE max_end_date > end_date"
        ) > 0
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM contracts WHERE start_date IS NULL OR end_date IS NULL OR annual_value_gbp IS NULL OR total_value_gbp IS NULL"),
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM contracts WHERE procurement_route = 'framework' AND framework_name IS NULL"),
        0
    );
    // End dates spread over the two years before and the six after late 2026.
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM contracts WHERE end_date < '2024-11-01' OR end_date > '2032-12-31'"),
        0
    );
    for year in 2025..=2032 {
        assert!(
            count(&app, &format!("SELECT count(*) AS value FROM contracts WHERE extract(year FROM end_date) = {year}")) > 20,
            "contracts end in {year}"
        );
    }
    // Assessments exactly for the 22 surveyed boroughs.
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM contracts c JOIN boroughs b ON b.id = c.borough_id \
                     WHERE b.surveyed <> (c.satisfaction IS NOT NULL AND c.value_for_money IS NOT NULL \
                                          AND c.support_confidence IS NOT NULL AND c.development_confidence IS NOT NULL)"),
        0
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM contracts c WHERE NOT EXISTS (SELECT 1 FROM contract_service_areas a WHERE a.contract_id = c.id)"),
        0,
        "every contract has a service area"
    );
}

#[actix_web::test]
async fn seeding_again_adds_nothing_and_changes_nothing() {
    let app = TestApp::new();
    let mut conn = app.conn();
    let before =
        app.column("SELECT md5(string_agg(c::text, ',' ORDER BY id)) AS value FROM contracts c");
    let report = citytools::seed::load(&mut conn).unwrap();
    assert_eq!(report, citytools::seed::SeedReport::default());
    let after =
        app.column("SELECT md5(string_agg(c::text, ',' ORDER BY id)) AS value FROM contracts c");
    assert_eq!(before, after);
}

#[actix_web::test]
async fn the_database_enforces_the_rules_of_the_data() {
    let app = TestApp::new();
    let mut conn = app.conn();
    let id = &app.column("SELECT min(id) AS value FROM contracts")[0];
    let rejected = [
        format!("UPDATE contracts SET satisfaction = 6 WHERE id = {id}"),
        format!("UPDATE contracts SET value_for_money = 0 WHERE id = {id}"),
        format!("UPDATE contracts SET end_date = start_date - 1 WHERE id = {id}"),
        format!("UPDATE contracts SET max_end_date = end_date - 1 WHERE id = {id}"),
        format!("UPDATE contracts SET annual_value_gbp = -1 WHERE id = {id}"),
        format!("UPDATE contracts SET hosting = 'cloud' WHERE id = {id}"),
        format!("UPDATE contracts SET procurement_route = 'tender' WHERE id = {id}"),
        format!("UPDATE contracts SET data_access = 'free' WHERE id = {id}"),
        format!("UPDATE contracts SET source = 'rumour' WHERE id = {id}"),
        format!("UPDATE contracts SET borough_id = 'atlantis' WHERE id = {id}"),
        "UPDATE boroughs SET gss_code = 'E09000001' WHERE id = 'camden'".to_owned(),
        "UPDATE boroughs SET kind = 'county' WHERE id = 'camden'".to_owned(),
        "INSERT INTO suppliers (id, name) VALUES ('Not A Slug', 'x')".to_owned(),
    ];
    for sql in rejected {
        let result = diesel::RunQueryDsl::execute(diesel::sql_query(&sql), &mut conn);
        assert!(result.is_err(), "accepted: {sql}");
    }
}

#[actix_web::test]
async fn systems_and_contracts_are_tagged_with_areas_not_groups() {
    let app = TestApp::new();
    let id = &app.column("SELECT min(id) AS value FROM contracts")[0];
    for sql in [
        format!("INSERT INTO contract_service_areas VALUES ({id}, 'revenues-and-benefits')"),
        "INSERT INTO system_service_areas VALUES ('civica-openrevenues', 'revenues-and-benefits')"
            .to_owned(),
    ] {
        let result = diesel::RunQueryDsl::execute(diesel::sql_query(&sql), &mut app.conn());
        assert!(result.is_err(), "accepted: {sql}");
    }
}

#[actix_web::test]
async fn the_seeded_rows_are_in_the_change_feed_as_created_by_the_cli() {
    let app = TestApp::new();
    let rows = count(
        &app,
        "SELECT (SELECT count(*) FROM boroughs) + (SELECT count(*) FROM service_areas) + (SELECT count(*) FROM suppliers) \
         + (SELECT count(*) FROM systems) + (SELECT count(*) FROM contracts) AS value",
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS value FROM changes WHERE action = 'create' AND actor_kind = 'cli'"
        ),
        rows
    );
    let feed = app.get("/api/v1/changes?after=0&per_page=1").await.json();
    let first = &feed["items"][0];
    assert_eq!(first["resource"], "boroughs");
    assert_eq!(first["actor"]["kind"], "cli");
    let borough = app
        .get(&format!(
            "/api/v1/boroughs/{}",
            first["resource_id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(
        first["after"], borough,
        "the logged record is the API's representation"
    );
}

/// The catalogue's definitions of the contracts' indexes, constraints and triggers.
fn schema_of_contracts(app: &TestApp) -> Vec<String> {
    app.column(
        "SELECT indexdef AS value FROM pg_indexes \
         WHERE tablename IN ('contracts', 'contract_service_areas') \
         UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated::text \
         FROM pg_constraint WHERE conrelid IN ('contracts'::regclass, 'contract_service_areas'::regclass) \
         UNION ALL SELECT tgname || ' ' || tgenabled::text FROM pg_trigger \
         WHERE tgrelid IN ('contracts'::regclass, 'contract_service_areas'::regclass) \
         AND NOT tgisinternal \
         ORDER BY 1",
    )
}

#[actix_web::test]
async fn the_synthetic_generator_leaves_the_schema_as_it_found_it_and_the_totals_right() {
    let app = TestApp::new();
    let before = schema_of_contracts(&app);
    let options = citytools::synthetic::SyntheticOptions {
        authorities: 60,
        // Larger than the table, so indexes and foreign keys are dropped and rebuilt.
        contracts: 12_000,
        seed: 3,
    };
    let report = citytools::synthetic::generate(&mut app.conn(), options).unwrap();
    assert_eq!(report.contracts, 12_000);
    assert_eq!(report.authorities_added, 27);
    assert_eq!(
        schema_of_contracts(&app),
        before,
        "indexes, keys and triggers are back"
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS value FROM contracts"),
        709 + 12_000
    );

    // The rollups, rebuilt after the load, hold what the contracts say.
    let summary = app.get("/api/v1/insights/summary").await.json();
    assert_eq!(summary["contracts"], 12_709);
    assert_eq!(summary["authorities"], 60);

    // The same seed again replaces the synthetic set with the same contracts.
    let titles = "SELECT md5(string_agg(title || borough_id || supplier_id || \
                  coalesce(end_date::text, ''), ',' ORDER BY source_reference)) AS value \
                  FROM contracts WHERE source_reference LIKE 'SYN-%'";
    let first = app.column(titles);
    citytools::synthetic::generate(&mut app.conn(), options).unwrap();
    assert_eq!(app.column(titles), first);
    assert_eq!(schema_of_contracts(&app), before);
    assert_eq!(
        app.get("/api/v1/insights/summary").await.json()["contracts"],
        12_709
    );
}
