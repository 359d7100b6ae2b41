//! The insight rollups against the contracts: after random writes of every kind, each insight
//! read from the rollups equals the same insight computed from the contracts, before and after
//! compaction, and a rebuild from scratch changes nothing.

use citytools::queries::contracts::{ContractCriteria, ContractFilter, Within};
use citytools::queries::insights as raw;
use citytools::queries::rollups::{self, Shortcut};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::helpers::TestApp;

fn ids(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    diesel::sql_query(sql)
        .load::<Id>(conn)
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect()
}

fn pick<'a>(rng: &mut ChaCha8Rng, from: &'a [String]) -> &'a str {
    &from[rng.random_range(0..from.len())]
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Writes of every kind the rollups must follow, straight in SQL.
fn random_writes(conn: &mut PgConnection, rng: &mut ChaCha8Rng, count: usize) {
    let boroughs = ids(conn, "SELECT id FROM boroughs ORDER BY id");
    let suppliers = ids(conn, "SELECT id FROM suppliers ORDER BY id");
    let systems = ids(conn, "SELECT id FROM systems ORDER BY id");
    let areas = ids(
        conn,
        "SELECT id FROM service_areas WHERE parent_id IS NOT NULL ORDER BY id",
    );
    for _ in 0..count {
        let contract = ids(
            conn,
            "SELECT id::text AS id FROM contracts ORDER BY random() LIMIT 1",
        )
        .pop()
        .expect("a contract");
        let statement = match rng.random_range(0..10) {
            0 => format!(
                "UPDATE contracts SET supplier_id = {} WHERE id = {contract}",
                quote(pick(rng, &suppliers))
            ),
            1 => format!(
                "UPDATE contracts SET borough_id = {} WHERE id = {contract}",
                quote(pick(rng, &boroughs))
            ),
            2 => format!(
                "UPDATE contracts SET system_id = {} WHERE id = {contract}",
                if rng.random_bool(0.3) {
                    "NULL".to_owned()
                } else {
                    quote(pick(rng, &systems))
                }
            ),
            3 => format!(
                "UPDATE contracts SET start_date = NULL, max_end_date = NULL, end_date = {}, \
                 annual_value_gbp = {} WHERE id = {contract}",
                if rng.random_bool(0.2) {
                    "NULL".to_owned()
                } else {
                    format!(
                        "DATE '2024-01-01' + {}",
                        rng.random_range(0..3650)
                    )
                },
                if rng.random_bool(0.3) {
                    "NULL".to_owned()
                } else {
                    format!("{}.{:02}", rng.random_range(0..500_000), rng.random_range(0..100))
                }
            ),
            4 => format!(
                "UPDATE contracts SET satisfaction = {}, value_for_money = {}, data_access = {}, \
                 source = {} WHERE id = {contract}",
                rating(rng),
                rating(rng),
                quote(["included", "charged", "unavailable", "unknown"][rng.random_range(0..4)]),
                quote(["manual", "survey", "illustrative"][rng.random_range(0..3)])
            ),
            5 => format!("DELETE FROM contracts WHERE id = {contract}"),
            6 => format!(
                "DELETE FROM contract_service_areas WHERE contract_id = {contract}; \
                 INSERT INTO contract_service_areas VALUES ({contract}, {}) ON CONFLICT DO NOTHING; \
                 INSERT INTO contract_service_areas VALUES ({contract}, {}) ON CONFLICT DO NOTHING",
                quote(pick(rng, &areas)),
                quote(pick(rng, &areas))
            ),
            7 => format!(
                "UPDATE contract_service_areas SET service_area_id = {} \
                 WHERE contract_id = {contract} AND service_area_id = \
                 (SELECT min(service_area_id) FROM contract_service_areas WHERE contract_id = {contract}) \
                 AND NOT EXISTS (SELECT 1 FROM contract_service_areas WHERE contract_id = {contract} \
                 AND service_area_id = {0})",
                quote(pick(rng, &areas))
            ),
            8 => format!(
                "WITH c AS (INSERT INTO contracts (borough_id, supplier_id, system_id, title, \
                 end_date, annual_value_gbp, satisfaction, data_access, source) \
                 VALUES ({}, {}, {}, 'A new contract', DATE '2027-06-30', 1000.50, {}, 'charged', \
                 'manual') RETURNING id) \
                 INSERT INTO contract_service_areas SELECT id, {} FROM c",
                quote(pick(rng, &boroughs)),
                quote(pick(rng, &suppliers)),
                quote(pick(rng, &systems)),
                rating(rng),
                quote(pick(rng, &areas))
            ),
            _ => {
                // Several changes to one contract in one transaction, one of them undone.
                format!(
                    "BEGIN; UPDATE contracts SET supplier_id = {s} WHERE id = {contract}; \
                     SAVEPOINT x; DELETE FROM contracts WHERE id = {contract}; ROLLBACK TO x; \
                     UPDATE contracts SET borough_id = {b} WHERE id = {contract}; COMMIT",
                    s = quote(pick(rng, &suppliers)),
                    b = quote(pick(rng, &boroughs))
                )
            }
        };
        conn.batch_execute(&statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

fn rating(rng: &mut ChaCha8Rng) -> String {
    if rng.random_bool(0.3) {
        "NULL".to_owned()
    } else {
        rng.random_range(1..=5).to_string()
    }
}

fn day(text: &str) -> chrono::NaiveDate {
    text.parse().unwrap()
}

fn filter(conn: &mut PgConnection, criteria: ContractCriteria) -> ContractFilter {
    criteria.resolve(conn).expect("a valid filter")
}

/// Every insight the rollups answer, both ways, for a spread of filters.
pub(crate) fn assert_rollups_agree(conn: &mut PgConnection, when: &str) {
    let boroughs = ids(conn, "SELECT id FROM boroughs ORDER BY id LIMIT 5");
    let suppliers = ids(
        conn,
        "SELECT supplier_id AS id FROM contracts GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3",
    );
    let criteria = vec![
        ContractCriteria::default(),
        ContractCriteria {
            borough: boroughs[..2].to_vec(),
            ..Default::default()
        },
        ContractCriteria {
            supplier: suppliers.clone(),
            ..Default::default()
        },
        ContractCriteria {
            borough: boroughs.clone(),
            supplier: suppliers[..1].to_vec(),
            ..Default::default()
        },
        ContractCriteria {
            service_area: vec!["revenues-and-benefits".into(), "waste-and-recycling".into()],
            ..Default::default()
        },
        ContractCriteria {
            service_area: vec!["environment-and-streets".into()],
            supplier: suppliers.clone(),
            ..Default::default()
        },
        ContractCriteria {
            supplier: suppliers[..2].to_vec(),
            within: Some(Within::Supplier(suppliers[1].clone())),
            ..Default::default()
        },
        ContractCriteria {
            within: Some(Within::Borough(boroughs[3].clone())),
            ..Default::default()
        },
        ContractCriteria {
            ends_after: Some(day("2026-11-28")),
            ends_before: Some(day("2028-05-28")),
            ..Default::default()
        },
        ContractCriteria {
            ends_after: Some(day("2025-01-01")),
            service_area: vec![
                "environment-and-streets".into(),
                "waste-and-recycling".into(),
            ],
            borough: boroughs.clone(),
            ..Default::default()
        },
        ContractCriteria {
            ends_before: Some(day("2027-12-31")),
            within: Some(Within::Borough(boroughs[2].clone())),
            ..Default::default()
        },
    ];
    for criteria in criteria {
        let described = format!("{when}, {criteria:?}");
        let filter = filter(conn, criteria);
        if let Some(d) = Shortcut::BoroughSupplier.narrowing(&filter) {
            assert_eq!(
                rollups::ratings_by_borough(conn, &d).unwrap(),
                raw::ratings_by_borough_from_contracts(conn, &filter).unwrap(),
                "vendor satisfaction: {described}"
            );
            assert_eq!(
                rollups::data_access_by_supplier(conn, &d).unwrap(),
                raw::data_access_by_supplier_from_contracts(conn, &filter).unwrap(),
                "data access: {described}"
            );
            assert_eq!(
                rollups::counts(conn, &d).unwrap(),
                raw::counts_from_contracts(conn, &filter).unwrap(),
                "summary counts: {described}"
            );
            assert_eq!(
                rollups::top_suppliers(conn, &d, 7).unwrap(),
                raw::top_suppliers_from_contracts(conn, &filter, 7).unwrap(),
                "top suppliers: {described}"
            );
            assert_eq!(
                rollups::footprint(conn, &d).unwrap(),
                raw::footprint_from_contracts(conn, &filter).unwrap(),
                "footprint: {described}"
            );
            assert_eq!(
                rollups::contracts_by_source(conn, &d).unwrap(),
                raw::contracts_by_source_from_contracts(conn, &filter).unwrap(),
                "contracts by source: {described}"
            );
        }
        if let Some(d) = Shortcut::BoroughQuarter.narrowing(&filter) {
            for unit in ["quarter", "year"] {
                assert_eq!(
                    rollups::expiry_timeline(conn, &d, unit).unwrap(),
                    raw::expiry_timeline_from_contracts(conn, &filter, unit).unwrap(),
                    "expiry timeline by {unit}: {described}"
                );
            }
        }
        if let Some(d) = Shortcut::AreaEndDates.narrowing(&filter) {
            assert_eq!(
                rollups::totals_by_area(conn, &d).unwrap(),
                raw::totals_by_area_from_contracts(conn, &filter).unwrap(),
                "totals by area: {described}"
            );
        }
        if let Some(d) = Shortcut::AreaSupplierBorough.narrowing(&filter) {
            assert_eq!(
                rollups::suppliers_by_area(conn, &d).unwrap(),
                raw::suppliers_by_area_from_contracts(conn, &filter).unwrap(),
                "market share: {described}"
            );
        }
    }
}

/// Service-area rows whose copy of their contract's values is stale.
fn stale_copies(conn: &mut PgConnection) -> Vec<String> {
    ids(
        conn,
        "SELECT csa.contract_id::text AS id FROM contract_service_areas csa \
         JOIN contracts c ON c.id = csa.contract_id \
         WHERE (csa.end_date, csa.borough_id, csa.annual_value_gbp) \
         IS DISTINCT FROM (c.end_date, c.borough_id, c.annual_value_gbp)",
    )
}

/// Each rollup's totals (base plus deltas) as text, to compare with a rebuild.
fn totals(conn: &mut PgConnection) -> Vec<String> {
    [
        ("rollup_borough_supplier", "borough_id, supplier_id"),
        (
            "rollup_borough_system",
            "borough_id, supplier_id, system_id",
        ),
        ("rollup_borough_quarter", "borough_id, quarter"),
        (
            "rollup_area_supplier_borough",
            "service_area_id, supplier_id, borough_id",
        ),
        (
            "rollup_borough_supplier_source",
            "borough_id, supplier_id, source",
        ),
    ]
    .iter()
    .flat_map(|(table, key)| {
        ids(
            conn,
            &format!(
                "SELECT ({key}, sum(contracts))::text AS id \
                 FROM (SELECT * FROM {table} UNION ALL SELECT * FROM {table}_delta) u \
                 GROUP BY {key} HAVING sum(contracts) <> 0 ORDER BY 1"
            ),
        )
    })
    .collect()
}

#[actix_web::test]
async fn rollups_answer_as_the_contracts_do_after_random_writes() {
    let app = TestApp::new();
    let mut conn = app.conn();
    assert_rollups_agree(&mut conn, "as seeded");

    let mut rng = ChaCha8Rng::seed_from_u64(7);
    random_writes(&mut conn, &mut rng, 150);
    assert_rollups_agree(&mut conn, "after writes, before compaction");

    rollups::compact(&mut conn).unwrap();
    let delta_rows = ids(
        &mut conn,
        "SELECT ((SELECT count(*) FROM rollup_borough_supplier_delta) \
         + (SELECT count(*) FROM rollup_area_supplier_borough_delta) \
         + (SELECT count(*) FROM rollup_borough_supplier_source_delta))::text AS id",
    );
    assert_eq!(delta_rows, vec!["0"], "compaction empties the deltas");
    assert_rollups_agree(&mut conn, "after compaction");

    random_writes(&mut conn, &mut rng, 100);
    assert_rollups_agree(&mut conn, "after more writes");

    // Renaming keys cascades into the contracts and their areas; the totals follow.
    conn.batch_execute(
        "UPDATE boroughs SET id = 'camden-renamed' WHERE id = 'camden'; \
         UPDATE suppliers SET id = 'civica-renamed' WHERE id = 'civica'; \
         UPDATE service_areas SET id = 'parking-renamed' WHERE id = 'parking'",
    )
    .unwrap();
    assert_rollups_agree(&mut conn, "after renames");

    assert_eq!(stale_copies(&mut conn), Vec::<String>::new());
    let before = totals(&mut conn);
    rollups::rebuild(&mut conn).unwrap();
    assert_eq!(totals(&mut conn), before, "a rebuild changes no total");
}

#[actix_web::test]
async fn writes_through_the_api_move_the_insights() {
    let app = TestApp::new();
    let admin = app.key("admin", None);
    let get = |uri: &'static str| {
        let app = &app;
        async move { app.get(uri).await.json() }
    };
    let before = get("/api/v1/insights/summary").await;
    let created = app
        .send(
            "POST",
            "/api/v1/contracts",
            Some(&admin),
            Some(&json!({
                "borough_id": "camden",
                "supplier_id": "civica",
                "title": "Parking permits",
                "service_area_ids": ["parking"],
                "source": "manual"
            })),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let after = get("/api/v1/insights/summary").await;
    assert_eq!(
        after["contracts"].as_i64().unwrap(),
        before["contracts"].as_i64().unwrap() + 1
    );
    let id = created.json()["id"].as_i64().unwrap();
    let deleted = app
        .send(
            "DELETE",
            &format!("/api/v1/contracts/{id}"),
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    assert_eq!(get("/api/v1/insights/summary").await, before);
}
