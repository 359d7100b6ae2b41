//! Tenders: what London authorities are buying now, each with its incumbents (the borough's
//! current contracts in the same service areas) and the contracts it became.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Text};

use super::contracts::{check_suppliers_exist, expand_service_areas, resolve_boroughs};
use super::list::{Keyset, ListFilter, SortOrder};
use super::{contains_pattern, for_each_row, FieldError, QueryError};
use crate::db::schema::{tender_service_areas, tenders};
use crate::models::{NewTender, Tender, TenderServiceArea};

super::sort_keys! {
    /// What a tender list can be sorted by.
    TenderSortKey {
        ClosingDate => "closing_date",
        PublishedDate => "published_date",
        Value => "value_gbp",
        Title => "title",
    }
}

/// The statuses a tender can have, as stored.
pub const STATUSES: &[&str] = &[
    "planned",
    "active",
    "complete",
    "cancelled",
    "unsuccessful",
    "withdrawn",
];

/// The statuses in which a tender still takes bids (or will).
const OPEN_STATUSES: &[&str] = &["planned", "active"];

/// A tender's filters as the caller gave them.
#[derive(Debug, Clone, Default)]
pub struct TenderCriteria {
    /// Borough slugs or GSS codes.
    pub borough: Vec<String>,
    /// Service areas or groups; a group matches every area under it.
    pub service_area: Vec<String>,
    /// Tenders where one of these suppliers holds an incumbent contract.
    pub supplier: Vec<String>,
    pub closes_after: Option<NaiveDate>,
    pub closes_before: Option<NaiveDate>,
    /// Only tenders still taking bids: planned or active, closing today or later.
    pub open_on: Option<NaiveDate>,
    pub status: Vec<String>,
    /// Words that must each appear in the title or the description.
    pub words: Vec<String>,
}

/// Tender filters checked against the database.
#[derive(Debug, Clone)]
pub struct TenderFilter {
    criteria: TenderCriteria,
    borough_ids: Vec<String>,
    service_area_ids: Vec<String>,
}

/// A tender with what it shows beside it, loaded in one query.
#[derive(Debug, Clone, Queryable)]
pub struct TenderRecord {
    pub tender: Tender,
    pub borough_name: String,
    pub service_area_ids: Vec<String>,
    /// The contracts of the same process (its award), by id.
    pub awarded_contract_ids: Vec<i64>,
    /// The incumbents as a JSON array of objects (see `representations::tender::Incumbent`).
    pub incumbents: serde_json::Value,
}

type Boxed<'a, ST> = tenders::BoxedQuery<'a, Pg, ST>;

/// Contracts current today: no end date known, or ending today or later.
const CURRENT: &str = "(c.end_date IS NULL OR c.end_date >= CURRENT_DATE)";

/// Contracts in the tender's borough and one of its service areas, other than those the
/// tender itself became.
const INCUMBENT: &str = "c.borough_id = tenders.borough_id \
     AND split_part(c.source_reference, ':', 1) IS DISTINCT FROM tenders.ocid \
     AND EXISTS (SELECT 1 FROM contract_service_areas ca \
                 JOIN tender_service_areas ta ON ta.service_area_id = ca.service_area_id \
                 WHERE ta.tender_id = tenders.id AND ca.contract_id = c.id)";

type RecordSelection = (
    diesel::helper_types::AsSelect<Tender, Pg>,
    diesel::expression::SqlLiteral<Text>,
    diesel::expression::SqlLiteral<Array<Text>>,
    diesel::expression::SqlLiteral<Array<BigInt>>,
    diesel::expression::SqlLiteral<Jsonb>,
);

fn record_selection() -> RecordSelection {
    (
        Tender::as_select(),
        sql::<Text>("(SELECT b.name FROM boroughs b WHERE b.id = tenders.borough_id)"),
        sql::<Array<Text>>(
            "ARRAY(SELECT t.service_area_id FROM tender_service_areas t \
             WHERE t.tender_id = tenders.id ORDER BY 1)",
        ),
        sql::<Array<BigInt>>(
            "ARRAY(SELECT c.id FROM contracts c WHERE c.source = 'open_data' \
             AND split_part(c.source_reference, ':', 1) = tenders.ocid \
             AND c.borough_id = tenders.borough_id ORDER BY 1)",
        ),
        sql::<Jsonb>(&format!(
            "COALESCE((SELECT jsonb_agg(jsonb_build_object(\
                 'id', c.id, 'supplier_id', c.supplier_id, 'supplier_name', s.name, \
                 'system_id', c.system_id, 'end_date', c.end_date, 'source', c.source) \
               ORDER BY c.end_date NULLS LAST, c.id) \
             FROM contracts c JOIN suppliers s ON s.id = c.supplier_id \
             WHERE {CURRENT} AND {INCUMBENT}), '[]'::jsonb)"
        )),
    )
}

impl TenderCriteria {
    /// Checks every id against the database and expands service-area groups.
    pub fn resolve(mut self, conn: &mut PgConnection) -> Result<TenderFilter, QueryError> {
        let mut errors = Vec::new();
        super::fold_case(&mut self.borough);
        super::fold_case(&mut self.service_area);
        super::fold_case(&mut self.supplier);
        let borough_ids = resolve_boroughs(conn, &self.borough, &mut errors)?;
        let service_area_ids =
            expand_service_areas(conn, "service_area", &self.service_area, &mut errors)?;
        check_suppliers_exist(conn, &self.supplier, &mut errors)?;
        for status in &self.status {
            if !STATUSES.contains(&status.as_str()) {
                errors.push(FieldError::new(
                    "status",
                    format!(
                        "unknown status {status:?}; expected one of {}",
                        STATUSES.join(", ")
                    ),
                ));
            }
        }
        if let (Some(after), Some(before)) = (self.closes_after, self.closes_before) {
            if after > before {
                errors.push(FieldError::new(
                    "closes_before",
                    format!("closes_before ({before}) is earlier than closes_after ({after})"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(QueryError::InvalidFilter(errors));
        }
        Ok(TenderFilter {
            criteria: self,
            borough_ids,
            service_area_ids,
        })
    }
}

/// What a sort key orders by, as SQL over `tenders`: missing values last either way.
fn order_expression(key: TenderSortKey, descending: bool) -> (&'static str, &'static str) {
    match (key, descending) {
        (TenderSortKey::ClosingDate, false) => {
            ("COALESCE(tenders.closing_date, 'infinity'::date)", "date")
        }
        (TenderSortKey::ClosingDate, true) => {
            ("COALESCE(tenders.closing_date, '-infinity'::date)", "date")
        }
        (TenderSortKey::PublishedDate, false) => {
            ("COALESCE(tenders.published_date, 'infinity'::date)", "date")
        }
        (TenderSortKey::PublishedDate, true) => (
            "COALESCE(tenders.published_date, '-infinity'::date)",
            "date",
        ),
        (TenderSortKey::Value, false) => (
            "COALESCE(tenders.value_gbp::numeric, 'Infinity'::numeric)",
            "numeric",
        ),
        (TenderSortKey::Value, true) => (
            "COALESCE(tenders.value_gbp::numeric, '-Infinity'::numeric)",
            "numeric",
        ),
        (TenderSortKey::Title, _) => ("tenders.title", "text"),
    }
}

/// The value a row has under `order_expression(key, descending)`, as text.
fn sort_value(tender: &Tender, key: TenderSortKey, descending: bool) -> String {
    let missing = if descending { "-infinity" } else { "infinity" };
    let form = &tender.form;
    match key {
        TenderSortKey::ClosingDate => form
            .closing_date
            .map_or_else(|| missing.to_owned(), |d| d.to_string()),
        TenderSortKey::PublishedDate => form
            .published_date
            .map_or_else(|| missing.to_owned(), |d| d.to_string()),
        TenderSortKey::Value => form
            .value_gbp
            .as_ref()
            .map_or_else(|| missing.to_owned(), |v| v.to_string()),
        TenderSortKey::Title => form.title.clone(),
    }
}

impl TenderFilter {
    fn apply<'a, ST: 'a>(&'a self, mut query: Boxed<'a, ST>) -> Boxed<'a, ST> {
        let c = &self.criteria;
        if !c.borough.is_empty() {
            query = query.filter(tenders::borough_id.eq_any(&self.borough_ids));
        }
        if !c.service_area.is_empty() {
            query = query.filter(
                tenders::id.eq_any(
                    tender_service_areas::table
                        .filter(
                            tender_service_areas::service_area_id.eq_any(&self.service_area_ids),
                        )
                        .select(tender_service_areas::tender_id),
                ),
            );
        }
        if !c.supplier.is_empty() {
            query = query.filter(
                sql::<Bool>(&format!(
                    "EXISTS (SELECT 1 FROM contracts c WHERE {CURRENT} AND {INCUMBENT} \
                     AND c.supplier_id = ANY("
                ))
                .bind::<Array<Text>, _>(&c.supplier)
                .sql("))"),
            );
        }
        if let Some(after) = c.closes_after {
            query = query.filter(tenders::closing_date.ge(after));
        }
        if let Some(before) = c.closes_before {
            query = query.filter(tenders::closing_date.le(before));
        }
        if let Some(today) = c.open_on {
            query = query
                .filter(tenders::closing_date.ge(today))
                .filter(tenders::status.eq_any(OPEN_STATUSES));
        }
        if !c.status.is_empty() {
            query = query.filter(tenders::status.eq_any(&c.status));
        }
        for word in &c.words {
            let pattern = contains_pattern(word);
            query = query.filter(
                tenders::title
                    .ilike(pattern.clone())
                    .or(tenders::description.ilike(pattern)),
            );
        }
        query
    }

    /// Which of `ids` the filter matches.
    pub fn matching(&self, conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
        self.apply(tenders::table.select(tenders::id).into_boxed())
            .filter(tenders::id.eq_any(ids))
            .load(conn)
    }

    fn ordered(&self, sort: SortOrder<TenderSortKey>) -> Boxed<'_, RecordSelectionType> {
        let query = self.apply(tenders::table.select(record_selection()).into_boxed());
        let query = match sort {
            None => query,
            Some((key, descending)) => {
                let (expression, _) = order_expression(key, descending);
                let direction = if descending { "DESC" } else { "ASC" };
                query.order(sql::<Text>(&format!("{expression} {direction}")))
            }
        };
        query.then_order_by(tenders::id.asc())
    }
}

type RecordSelectionType = <RecordSelection as diesel::Expression>::SqlType;

impl ListFilter for TenderFilter {
    type Row = TenderRecord;
    type SortKey = TenderSortKey;

    fn count(&self, conn: &mut PgConnection) -> QueryResult<i64> {
        self.apply(
            tenders::table
                .select(diesel::dsl::count_star())
                .into_boxed(),
        )
        .get_result(conn)
    }

    fn page(
        &self,
        conn: &mut PgConnection,
        sort: SortOrder<TenderSortKey>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<TenderRecord>> {
        self.ordered(sort).offset(offset).limit(limit).load(conn)
    }

    fn page_after(
        &self,
        conn: &mut PgConnection,
        sort: SortOrder<TenderSortKey>,
        after: Option<&Keyset>,
        limit: i64,
    ) -> QueryResult<Vec<TenderRecord>> {
        let mut query = self.ordered(sort);
        if let Some(after) = after {
            let id: i64 = after.id.parse().unwrap_or(i64::MAX);
            query = match sort {
                None => query.filter(tenders::id.gt(id)),
                Some((key, descending)) => {
                    let (expression, kind) = order_expression(key, descending);
                    let beyond = if descending { "<" } else { ">" };
                    query.filter(
                        sql::<Bool>(&format!("({expression} {beyond} CAST("))
                            .bind::<Text, _>(after.value.clone())
                            .sql(&format!(" AS {kind}) OR ({expression} = CAST("))
                            .bind::<Text, _>(after.value.clone())
                            .sql(&format!(" AS {kind}) AND tenders.id > "))
                            .bind::<BigInt, _>(id)
                            .sql("))"),
                    )
                }
            };
        }
        query.limit(limit).load(conn)
    }

    fn for_each(
        &self,
        conn: &mut PgConnection,
        sort: SortOrder<TenderSortKey>,
        each: &mut dyn FnMut(TenderRecord) -> bool,
    ) -> QueryResult<()> {
        for_each_row(conn, self.ordered(sort), each)
    }

    fn keyset(row: &TenderRecord, sort: SortOrder<TenderSortKey>) -> Keyset {
        let id = row.tender.id.to_string();
        let value = match sort {
            None => id.clone(),
            Some((key, descending)) => sort_value(&row.tender, key, descending),
        };
        Keyset { value, id }
    }

    fn accepts(keyset: &Keyset, sort: SortOrder<TenderSortKey>) -> bool {
        if keyset.id.parse::<i64>().is_err() {
            return false;
        }
        let value = keyset.value.as_str();
        match sort {
            None => value.parse::<i64>().is_ok(),
            Some((TenderSortKey::ClosingDate | TenderSortKey::PublishedDate, _)) => {
                matches!(value, "infinity" | "-infinity")
                    || NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
            }
            Some((TenderSortKey::Value, _)) => {
                matches!(value, "infinity" | "-infinity")
                    || value.parse::<bigdecimal::BigDecimal>().is_ok()
            }
            Some((TenderSortKey::Title, _)) => true,
        }
    }
}

/// One tender by id.
pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<TenderRecord>> {
    tenders::table
        .filter(tenders::id.eq(id))
        .select(record_selection())
        .first(conn)
        .optional()
}

/// The stored tenders of these processes, by ocid, each with its service areas.
pub fn by_ocid(
    conn: &mut PgConnection,
    ocids: &[&str],
) -> QueryResult<HashMap<String, (Tender, Vec<String>)>> {
    let mut found: HashMap<String, (Tender, Vec<String>)> = HashMap::new();
    for chunk in ocids.chunks(10_000) {
        let rows: Vec<(Tender, Vec<String>)> = tenders::table
            .filter(tenders::ocid.eq_any(chunk))
            .select((
                Tender::as_select(),
                sql::<Array<Text>>(
                    "ARRAY(SELECT t.service_area_id FROM tender_service_areas t \
                     WHERE t.tender_id = tenders.id ORDER BY 1)",
                ),
            ))
            .load(conn)?;
        for (tender, areas) in rows {
            found.insert(tender.form.ocid.clone(), (tender, areas));
        }
    }
    Ok(found)
}

/// Inserts tenders with their service areas; returns their ids, in the order given.
pub fn insert(conn: &mut PgConnection, rows: &[(&NewTender, &[String])]) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(1000) {
        let values: Vec<&NewTender> = chunk.iter().map(|(t, _)| *t).collect();
        let inserted: Vec<(i64, String)> = diesel::insert_into(tenders::table)
            .values(values)
            .returning((tenders::id, tenders::ocid))
            .get_results(conn)?;
        let by_ocid: HashMap<String, i64> = inserted.into_iter().map(|(id, o)| (o, id)).collect();
        let mut links = Vec::new();
        for (tender, areas) in chunk {
            let id = by_ocid[&tender.ocid];
            ids.push(id);
            links.extend(areas.iter().map(|area| TenderServiceArea {
                tender_id: id,
                service_area_id: area.clone(),
            }));
        }
        diesel::insert_into(tender_service_areas::table)
            .values(links)
            .execute(conn)?;
    }
    Ok(ids)
}

/// Replaces tender `id`'s values and service areas.
pub fn update(
    conn: &mut PgConnection,
    id: i64,
    tender: &NewTender,
    areas: &[String],
) -> QueryResult<()> {
    diesel::update(tenders::table.find(id))
        .set(tender)
        .execute(conn)?;
    diesel::delete(tender_service_areas::table.filter(tender_service_areas::tender_id.eq(id)))
        .execute(conn)?;
    let links: Vec<TenderServiceArea> = areas
        .iter()
        .map(|area| TenderServiceArea {
            tender_id: id,
            service_area_id: area.clone(),
        })
        .collect();
    diesel::insert_into(tender_service_areas::table)
        .values(links)
        .execute(conn)?;
    Ok(())
}
