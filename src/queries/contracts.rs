//! Contracts: the filter of DESIGN.md as one boxed query, reused by list, count and CSV export.

use std::collections::BTreeSet;

use bigdecimal::BigDecimal;
use chrono::NaiveDate;
use diesel::dsl::count_star;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Integer, Json, Nullable, Text};

use super::fixed::{fixed, fixed_with_text, Fixed};
use super::{contains_pattern, fold_case, for_each_row, missing, FieldError, QueryError};
use crate::db::reference;
use crate::db::schema::{boroughs, contract_service_areas, contracts, service_areas, systems};
use crate::models::{
    Contract, ContractServiceArea, DataAccess, Hosting, NewContract, ProcurementRoute, Source,
};

/// A contract's filters as the caller gave them: ids unresolved, service-area groups unexpanded.
#[derive(Debug, Clone, Default)]
pub struct ContractCriteria {
    /// Borough slugs or GSS codes.
    pub borough: Vec<String>,
    /// Suppliers holding the contract.
    pub supplier: Vec<String>,
    /// Suppliers whose product (system) the contract is for: the maker, where `supplier` is
    /// the holder (a reseller or integrator, say).
    pub vendor: Vec<String>,
    pub system: Vec<String>,
    /// Service areas or groups; a group matches every area under it.
    pub service_area: Vec<String>,
    pub ends_after: Option<NaiveDate>,
    pub ends_before: Option<NaiveDate>,
    pub active_on: Option<NaiveDate>,
    pub hosting: Vec<Hosting>,
    pub procurement_route: Vec<ProcurementRoute>,
    pub data_access: Vec<DataAccess>,
    pub source: Vec<Source>,
    pub min_annual_value: Option<BigDecimal>,
    pub max_annual_value: Option<BigDecimal>,
    /// Words that must each appear in the title, the system's name, the supplier's name or
    /// the name of one of the contract's service areas.
    pub words: Vec<String>,
    /// The record a nested list sits under (`/boroughs/{id}/contracts`, ...).
    pub within: Option<Within>,
}

/// The parent of a nested contract list, by its (already resolved) id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Within {
    Borough(String),
    Supplier(String),
    System(String),
}

/// Filters checked against the database: every id exists, groups expanded to their areas.
/// Only [`ContractCriteria::resolve`] makes one, so a filter never names a missing record.
#[derive(Debug, Clone)]
pub struct ContractFilter {
    criteria: ContractCriteria,
    borough_ids: Vec<String>,
    service_area_ids: Vec<String>,
}

impl ContractCriteria {
    /// Checks every id against the database and expands service-area groups.
    /// Unknown values are a 400 that names each of them.
    pub fn resolve(mut self, conn: &mut PgConnection) -> Result<ContractFilter, QueryError> {
        let mut errors = Vec::new();
        for ids in [
            &mut self.borough,
            &mut self.supplier,
            &mut self.vendor,
            &mut self.system,
            &mut self.service_area,
        ] {
            fold_case(ids);
        }

        let borough_ids = resolve_boroughs(conn, &self.borough, &mut errors)?;

        check_suppliers_exist(conn, &self.supplier, &mut errors)?;
        check_exist(conn, "vendor", "suppliers", &self.vendor, &mut errors)?;
        check_exist(conn, "system", "systems", &self.system, &mut errors)?;
        let service_area_ids =
            expand_service_areas(conn, "service_area", &self.service_area, &mut errors)?;

        if let (Some(after), Some(before)) = (self.ends_after, self.ends_before) {
            if after > before {
                errors.push(FieldError::new(
                    "ends_before",
                    format!("ends_before ({before}) is earlier than ends_after ({after})"),
                ));
            }
        }
        if let (Some(min), Some(max)) = (&self.min_annual_value, &self.max_annual_value) {
            if min > max {
                errors.push(FieldError::new(
                    "max_annual_value",
                    format!("max_annual_value ({max}) is less than min_annual_value ({min})"),
                ));
            }
        }

        if !errors.is_empty() {
            return Err(QueryError::InvalidFilter(errors));
        }
        Ok(ContractFilter {
            criteria: self,
            borough_ids,
            service_area_ids,
        })
    }
}

/// The slugs of the boroughs named in `asked` (slugs or GSS codes, any case for the codes);
/// an error on `borough` for each that names none.
pub(crate) fn resolve_boroughs(
    conn: &mut PgConnection,
    asked: &[String],
    errors: &mut Vec<FieldError>,
) -> Result<Vec<String>, QueryError> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(slugs) = reference::catalogue(conn)?.and_then(|known| known.boroughs(asked)) {
        return Ok(slugs);
    }
    let upper: Vec<String> = asked.iter().map(|b| b.to_uppercase()).collect();
    let found: Vec<(String, String)> = boroughs::table
        .filter(
            boroughs::id
                .eq_any(asked)
                .or(boroughs::gss_code.eq_any(&upper)),
        )
        .select((boroughs::id, boroughs::gss_code))
        .load(conn)?;
    let known: BTreeSet<String> = found
        .iter()
        .flat_map(|(id, gss)| [id.clone(), gss.clone()])
        .collect();
    let unknown: Vec<&String> = asked
        .iter()
        .filter(|value| !known.contains(*value) && !known.contains(&value.to_uppercase()))
        .collect();
    if !unknown.is_empty() {
        let slugs = super::writes::ids_of(conn, "boroughs")?;
        for value in unknown {
            errors.push(FieldError::new(
                "borough",
                super::unknown_id("borough", value, &slugs),
            ));
        }
    }
    Ok(found.into_iter().map(|(id, _)| id).collect())
}

/// Adds an error on `field` for each value in `asked` that is no id of `table` (one of this
/// crate's), suggesting the closest ids there are. Ids the reference cache holds are taken as
/// known without asking the database.
pub(crate) fn check_exist(
    conn: &mut PgConnection,
    field: &str,
    table: &'static str,
    asked: &[String],
    errors: &mut Vec<FieldError>,
) -> Result<(), QueryError> {
    if asked.is_empty() || reference::catalogue(conn)?.is_some_and(|known| known.has(table, asked))
    {
        return Ok(());
    }
    let found: BTreeSet<String> = super::writes::existing_ids(conn, table, asked)?
        .into_iter()
        .collect();
    let unknown = missing(asked, &found);
    if !unknown.is_empty() {
        let known = super::writes::ids_of(conn, table)?;
        let what = field.replace('_', " ");
        for value in unknown {
            errors.push(FieldError::new(
                field,
                super::unknown_id(&what, value, &known),
            ));
        }
    }
    Ok(())
}

/// Adds an error on `supplier` for each supplier id in `asked` that is not in the catalogue.
pub(crate) fn check_suppliers_exist(
    conn: &mut PgConnection,
    asked: &[String],
    errors: &mut Vec<FieldError>,
) -> Result<(), QueryError> {
    check_exist(conn, "supplier", "suppliers", asked, errors)
}

/// The areas named in `asked`, with every area under each named group; errors for unknown ids.
pub(crate) fn expand_service_areas(
    conn: &mut PgConnection,
    field: &str,
    asked: &[String],
    errors: &mut Vec<FieldError>,
) -> Result<Vec<String>, QueryError> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(areas) = reference::catalogue(conn)?.and_then(|known| known.service_areas(asked)) {
        return Ok(areas);
    }
    let matched: Vec<(String, Option<String>)> = service_areas::table
        .filter(
            service_areas::id
                .eq_any(asked)
                .or(service_areas::parent_id.eq_any(asked)),
        )
        .select((service_areas::id, service_areas::parent_id))
        .load(conn)?;
    let found: BTreeSet<String> = matched
        .iter()
        .filter(|(id, _)| asked.contains(id))
        .map(|(id, _)| id.clone())
        .collect();
    let unknown = missing(asked, &found);
    if !unknown.is_empty() {
        let known = super::writes::ids_of(conn, "service_areas")?;
        for value in unknown {
            errors.push(FieldError::new(
                field,
                super::unknown_id("service area", value, &known),
            ));
        }
    }
    Ok(matched.into_iter().map(|(id, _)| id).collect())
}

super::sort_keys! {
    /// What a contract list can be sorted by.
    ContractSortKey {
        EndDate => "end_date",
        StartDate => "start_date",
        AnnualValue => "annual_value_gbp",
        Borough => "borough",
        Supplier => "supplier",
    }
}

/// A contract with what a listing shows beside it, loaded in one query.
#[derive(Debug, Clone, Queryable)]
pub struct ContractRecord {
    pub contract: Contract,
    pub service_area_ids: Vec<String>,
    pub borough_name: String,
    pub supplier_name: String,
    pub system_name: Option<String>,
}

/// A [`ContractRecord`] with the count of matches beside it.
#[derive(Queryable)]
struct CountedRecord {
    contract: Contract,
    service_area_ids: Vec<String>,
    borough_name: String,
    supplier_name: String,
    system_name: Option<String>,
    counted: i64,
}

impl CountedRecord {
    fn record(self) -> ContractRecord {
        ContractRecord {
            contract: self.contract,
            service_area_ids: self.service_area_ids,
            borough_name: self.borough_name,
            supplier_name: self.supplier_name,
            system_name: self.system_name,
        }
    }
}

impl ContractSortKey {
    /// Whether contracts may lack a value of this key (they sort last, either way).
    pub fn is_nullable(self) -> bool {
        self.is_null().is_some()
    }

    /// `<key> IS NULL`, for the keys a contract may lack.
    fn is_null(self) -> Option<Box<dyn BoxableExpression<contracts::table, Pg, SqlType = Bool>>> {
        match self {
            ContractSortKey::EndDate => Some(Box::new(contracts::end_date.is_null())),
            ContractSortKey::StartDate => Some(Box::new(contracts::start_date.is_null())),
            ContractSortKey::AnnualValue => Some(Box::new(contracts::annual_value_gbp.is_null())),
            ContractSortKey::Borough | ContractSortKey::Supplier => None,
        }
    }

    /// The contract's value of this key.
    pub fn value_of(self, contract: &Contract) -> SortValue {
        match self {
            ContractSortKey::EndDate => contract
                .form
                .end_date
                .map_or(SortValue::Null, SortValue::Date),
            ContractSortKey::StartDate => contract
                .form
                .start_date
                .map_or(SortValue::Null, SortValue::Date),
            ContractSortKey::AnnualValue => contract
                .form
                .annual_value_gbp
                .clone()
                .map_or(SortValue::Null, SortValue::Money),
            ContractSortKey::Borough => SortValue::Text(contract.form.borough_id.clone()),
            ContractSortKey::Supplier => SortValue::Text(contract.form.supplier_id.clone()),
        }
    }
}

/// A contract's value of a sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// No value (sorts last), or no sort key at all (id order).
    Null,
    /// An end or start date.
    Date(NaiveDate),
    /// An annual value in pounds.
    Money(BigDecimal),
    /// A borough's or supplier's id.
    Text(String),
}

/// A place in a sorted list: just after the contract with this sort value and id.
#[derive(Debug, Clone, PartialEq)]
pub struct SortPosition {
    /// That contract's value of the sort key.
    pub value: SortValue,
    /// That contract's id.
    pub id: i64,
}

/// The number of matching contracts, and whether it was counted or estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    /// How many contracts match.
    pub value: i64,
    /// False when `value` is PostgreSQL's estimate.
    pub exact: bool,
}

/// Orders `$query` by `$column`, ascending or descending, keeping the rows that come after
/// (`$value`, `$id`) in that order then by id: a range on the column, which an index serves,
/// and a tie-break on id among rows with the same value. Rows without a value fall outside the
/// range, so the order needs no `NULLS LAST`.
macro_rules! after_value {
    ($query:expr, $column:expr, $value:expr, $id:expr, $descending:expr) => {{
        let (value, id) = ($value, $id);
        if $descending {
            $query
                .filter($column.le(value.clone()))
                .filter($column.lt(value).or(contracts::id.gt(id)))
                .order($column.desc())
        } else {
            $query
                .filter($column.ge(value.clone()))
                .filter($column.gt(value).or(contracts::id.gt(id)))
                .order($column.asc())
        }
    }};
}

/// `SELECT count(*) FROM (<query>) AS matching`.
#[derive(Debug, Clone, Copy, QueryId)]
struct CountRows<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for CountRows<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT count(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") AS matching");
        Ok(())
    }
}

impl<Q> Query for CountRows<Q> {
    type SqlType = BigInt;
}

impl<Q> RunQueryDsl<PgConnection> for CountRows<Q> {}

/// `EXPLAIN (FORMAT JSON) <query>`: the plan, with the planner's row estimates, without running it.
#[derive(Debug, Clone, Copy, QueryId)]
struct ExplainJson<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for ExplainJson<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN (FORMAT JSON) ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> Query for ExplainJson<Q> {
    type SqlType = Json;
}

impl<Q> RunQueryDsl<PgConnection> for ExplainJson<Q> {}

/// `(SELECT count(*) FROM (<query> LIMIT <cap>) AS matching)`: how many rows `query` has,
/// counting at most `cap`, as a column of another statement (PostgreSQL runs it once).
struct CappedCount<'a> {
    query: Boxed<'a, Integer>,
    cap: i64,
}

impl Expression for CappedCount<'_> {
    type SqlType = BigInt;
}

impl QueryFragment<Pg> for CappedCount<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("(SELECT count(*) FROM (");
        QueryFragment::<Pg>::walk_ast(&self.query, out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, i64>(&self.cap)?;
        out.push_sql(") AS matching)");
        Ok(())
    }
}

impl QueryId for CappedCount<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> diesel::SelectableExpression<QS> for CappedCount<'_> {}

impl<QS> diesel::AppearsOnTable<QS> for CappedCount<'_> {}

impl<GB> diesel::expression::ValidGrouping<GB> for CappedCount<'_> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

type Boxed<'a, ST> = contracts::BoxedQuery<'a, Pg, ST>;

impl ContractFilter {
    /// Applies the filter to any query over the contracts table.
    pub(crate) fn apply<'a, ST: 'a>(&'a self, mut query: Boxed<'a, ST>) -> Boxed<'a, ST> {
        let c = &self.criteria;
        match &c.within {
            Some(Within::Borough(id)) => query = query.filter(contracts::borough_id.eq(id)),
            Some(Within::Supplier(id)) => query = query.filter(contracts::supplier_id.eq(id)),
            Some(Within::System(id)) => query = query.filter(contracts::system_id.eq(id)),
            None => {}
        }
        // One value is compared with `=`, not `= ANY(array)`: PostgreSQL 15 can read an index
        // such as (borough_id, id) in id order only for `=`, which keeps first pages short.
        if !c.borough.is_empty() {
            query = match self.borough_ids.as_slice() {
                [one] => query.filter(contracts::borough_id.eq(one)),
                many => query.filter(contracts::borough_id.eq_any(many)),
            };
        }
        if !c.supplier.is_empty() {
            query = match c.supplier.as_slice() {
                [one] => query.filter(contracts::supplier_id.eq(one)),
                many => query.filter(contracts::supplier_id.eq_any(many)),
            };
        }
        if !c.vendor.is_empty() {
            let made_by = systems::table
                .filter(systems::supplier_id.eq_any(&c.vendor))
                .select(systems::id.nullable());
            query = query.filter(contracts::system_id.eq_any(made_by));
        }
        if !c.system.is_empty() {
            query = match c.system.as_slice() {
                [one] => query.filter(contracts::system_id.eq(one)),
                many => query.filter(contracts::system_id.eq_any(many)),
            };
        }
        if !c.service_area.is_empty() {
            let linked = contract_service_areas::table
                .select(contract_service_areas::contract_id)
                .into_boxed();
            let mut linked = match self.service_area_ids.as_slice() {
                [one] => linked.filter(contract_service_areas::service_area_id.eq(one)),
                many => linked.filter(contract_service_areas::service_area_id.eq_any(many)),
            };
            // The area rows carry their contract's borough: narrowing them by it too lets one
            // index (area, borough, contract) give just the matching contracts.
            if !c.borough.is_empty() {
                linked = match self.borough_ids.as_slice() {
                    [one] => linked.filter(contract_service_areas::borough_id.eq(one)),
                    many => linked.filter(contract_service_areas::borough_id.eq_any(many)),
                };
            }
            if let Some(Within::Borough(id)) = &c.within {
                linked = linked.filter(contract_service_areas::borough_id.eq(id));
            }
            query = query.filter(contracts::id.eq_any(linked));
        }
        if let Some(after) = c.ends_after {
            query = query.filter(contracts::end_date.ge(after));
        }
        if let Some(before) = c.ends_before {
            query = query.filter(contracts::end_date.le(before));
        }
        if let Some(day) = c.active_on {
            query = query
                .filter(contracts::start_date.le(day))
                .filter(contracts::end_date.ge(day));
        }
        if !c.hosting.is_empty() {
            query = match c.hosting.as_slice() {
                [one] => query.filter(contracts::hosting.eq(one.as_str())),
                many => query.filter(contracts::hosting.eq_any(many.iter().map(|v| v.as_str()))),
            };
        }
        if !c.procurement_route.is_empty() {
            query = match c.procurement_route.as_slice() {
                [one] => query.filter(contracts::procurement_route.eq(one.as_str())),
                many => query
                    .filter(contracts::procurement_route.eq_any(many.iter().map(|v| v.as_str()))),
            };
        }
        if !c.data_access.is_empty() {
            query = match c.data_access.as_slice() {
                [one] => query.filter(contracts::data_access.eq(one.as_str())),
                many => {
                    query.filter(contracts::data_access.eq_any(many.iter().map(|v| v.as_str())))
                }
            };
        }
        if !c.source.is_empty() {
            query = match c.source.as_slice() {
                [one] => query.filter(contracts::source.eq(one.as_str())),
                many => query.filter(contracts::source.eq_any(many.iter().map(|v| v.as_str()))),
            };
        }
        if let Some(min) = &c.min_annual_value {
            query = query.filter(contracts::annual_value_gbp.ge(min));
        }
        if let Some(max) = &c.max_annual_value {
            query = query.filter(contracts::annual_value_gbp.le(max));
        }
        for word in &c.words {
            // ARRAY(...) makes the name lookups run once, so the three arms can be a BitmapOr
            // of the title's trigram index and the supplier and system indexes.
            query = query.filter(fixed_with_text(
                &[
                    "(contracts.title ILIKE ",
                    " OR contracts.supplier_id = ANY(ARRAY(SELECT s.id FROM suppliers s WHERE s.name ILIKE ",
                    ")) OR contracts.system_id = ANY(ARRAY(SELECT y.id FROM systems y WHERE y.name ILIKE ",
                    ")) OR contracts.id = ANY(ARRAY(SELECT csa.contract_id FROM contract_service_areas csa \
                     WHERE csa.service_area_id = ANY(ARRAY(SELECT a.id FROM service_areas a WHERE a.name ILIKE ",
                    ")))))",
                ],
                contains_pattern(word),
            ));
        }
        query
    }

    /// The ids of the matching contracts, as a subquery for aggregates over related tables.
    pub fn ids(&self) -> Boxed<'_, diesel::sql_types::BigInt> {
        self.apply(contracts::table.select(contracts::id).into_boxed())
    }

    /// Whether the filter selects every contract.
    /// Which of `ids` the filter matches.
    pub fn matching(&self, conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<i64>> {
        self.ids().filter(contracts::id.eq_any(ids)).load(conn)
    }

    /// The matching contracts whose end date falls from `from` to `to`, with that end date.
    pub fn ending_between(
        &self,
        conn: &mut PgConnection,
        from: NaiveDate,
        to: NaiveDate,
    ) -> QueryResult<Vec<i64>> {
        self.ids()
            .filter(contracts::end_date.between(from, to))
            .load(conn)
    }

    pub fn is_unfiltered(&self) -> bool {
        self.dimensions() == Some(Dimensions::default())
    }

    /// The service areas the filter names (groups expanded), or None when it names none.
    pub fn service_areas(&self) -> Option<&[String]> {
        (!self.criteria.service_area.is_empty()).then_some(self.service_area_ids.as_slice())
    }

    /// How many contracts match.
    pub fn count(&self, conn: &mut PgConnection) -> QueryResult<i64> {
        self.apply(contracts::table.select(count_star()).into_boxed())
            .get_result(conn)
    }

    /// How many contracts match, counting at most `cap` of them (every one when `cap` is None).
    /// When `cap` rows match, counting stops and the total is PostgreSQL's estimate for the
    /// filter, but never less than `cap`: an exact count of a broad filter over a million
    /// contracts reads every one of them, the estimate reads none.
    pub fn total(&self, conn: &mut PgConnection, cap: Option<i64>) -> QueryResult<Total> {
        let Some(cap) = cap else {
            return Ok(Total {
                value: self.count(conn)?,
                exact: true,
            });
        };
        let matching = self.matching_rows().limit(cap);
        let counted: i64 = CountRows(matching).get_result(conn)?;
        self.total_of(conn, counted, cap)
    }

    /// The total for `counted` matches counted up to `cap`: exact below the cap, PostgreSQL's
    /// estimate (never less than `counted`) at it.
    fn total_of(&self, conn: &mut PgConnection, counted: i64, cap: i64) -> QueryResult<Total> {
        if counted < cap {
            return Ok(Total {
                value: counted,
                exact: true,
            });
        }
        let plan: serde_json::Value = ExplainJson(self.matching_rows()).get_result(conn)?;
        let estimate = plan[0]["Plan"]["Plan Rows"].as_f64().unwrap_or(0.0);
        Ok(Total {
            // Plan Rows is a float; a count fits an i64 with room to spare.
            value: (estimate.round() as i64).max(counted),
            exact: false,
        })
    }

    /// `SELECT 1` for each matching contract: what a count reads.
    fn matching_rows(&self) -> Boxed<'_, Integer> {
        self.apply(contracts::table.select(fixed::<Integer>("1")).into_boxed())
    }

    /// One page of matching contracts by number, and the total, in one statement: the count
    /// (up to `cap`, as [`ContractFilter::total`] counts) is a column of the page's rows. When
    /// the page is empty there is no row to carry it, and the total is read on its own.
    pub fn page_with_total(
        &self,
        conn: &mut PgConnection,
        sort: Option<(ContractSortKey, bool)>,
        offset: i64,
        limit: i64,
        cap: Option<i64>,
    ) -> QueryResult<(Vec<ContractRecord>, Total)> {
        let Some(cap) = cap else {
            let records = self.page(conn, sort, offset, limit)?;
            return Ok((records, self.total(conn, None)?));
        };
        let (contract, areas, borough, supplier, system) = record_selection();
        let counted = CappedCount {
            query: self.matching_rows(),
            cap,
        };
        let selection = (contract, areas, borough, supplier, system, counted);
        let query = self.apply(contracts::table.select(selection).into_boxed());
        let rows: Vec<CountedRecord> = self
            .in_order(query, sort)
            .offset(offset)
            .limit(limit)
            .load(conn)?;
        let Some(counted) = rows.first().map(|row| row.counted) else {
            return Ok((Vec::new(), self.total(conn, Some(cap))?));
        };
        let total = self.total_of(conn, counted, cap)?;
        Ok((rows.into_iter().map(CountedRecord::record).collect(), total))
    }

    /// The matching contracts in the requested order, then by id.
    fn records<'a>(
        &'a self,
        sort: Option<(ContractSortKey, bool)>,
    ) -> Boxed<'a, <RecordSelection as Expression>::SqlType> {
        let query = self.apply(contracts::table.select(record_selection()).into_boxed());
        self.in_order(query, sort)
    }

    /// `query` in `sort` order, then by id; the optional keys put their NULLs last.
    fn in_order<'a, ST: 'a>(
        &self,
        mut query: Boxed<'a, ST>,
        sort: Option<(ContractSortKey, bool)>,
    ) -> Boxed<'a, ST> {
        if let Some((key, descending)) = sort {
            // Either direction of one column; the optional columns put their NULLs last.
            macro_rules! by {
                ($column:expr) => {
                    if descending {
                        query.order($column.desc())
                    } else {
                        query.order($column.asc())
                    }
                };
                ($column:expr, nulls_last) => {
                    if descending {
                        query.order($column.desc().nulls_last())
                    } else {
                        query.order($column.asc().nulls_last())
                    }
                };
            }
            query = match key {
                ContractSortKey::EndDate => by!(contracts::end_date, nulls_last),
                ContractSortKey::StartDate => by!(contracts::start_date, nulls_last),
                ContractSortKey::AnnualValue => by!(contracts::annual_value_gbp, nulls_last),
                ContractSortKey::Borough => by!(contracts::borough_id),
                ContractSortKey::Supplier => by!(contracts::supplier_id),
            };
        }
        query.then_order_by(contracts::id.asc())
    }

    /// One page of matching contracts.
    pub fn page(
        &self,
        conn: &mut PgConnection,
        sort: Option<(ContractSortKey, bool)>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<ContractRecord>> {
        self.records(sort).offset(offset).limit(limit).load(conn)
    }

    /// One page in keyset order: up to `limit` matching contracts that come after `after` in
    /// the order of `sort`, then id (the first page when `after` is None). Unlike an offset, the
    /// start is found through an index, so a deep page costs what an early one does.
    pub fn page_after(
        &self,
        conn: &mut PgConnection,
        sort: Option<(ContractSortKey, bool)>,
        after: Option<&SortPosition>,
        limit: i64,
    ) -> QueryResult<Vec<ContractRecord>> {
        let Some(after) = after else {
            return self.page(conn, sort, 0, limit);
        };
        let Some((key, descending)) = sort else {
            return self
                .records(None)
                .filter(contracts::id.gt(after.id))
                .limit(limit)
                .load(conn);
        };
        let mut rows = match after.value {
            SortValue::Null => Vec::new(),
            _ => self
                .with_value(key, descending, after)?
                .limit(limit)
                .load(conn)?,
        };
        let room = limit - rows.len() as i64;
        if room > 0 && key.is_nullable() {
            let after_id = (after.value == SortValue::Null).then_some(after.id);
            rows.extend(self.without_value(key, after_id).limit(room).load(conn)?);
        }
        Ok(rows)
    }

    /// The matching contracts that have a value of `key` and come after `after`, in the key's
    /// order then by id.
    ///
    /// Read apart from the contracts without a value, which sort last either way: so `DESC`
    /// needs no `NULLS LAST`, and a backward scan of the key's ascending index can serve it.
    fn with_value<'a>(
        &'a self,
        key: ContractSortKey,
        descending: bool,
        after: &SortPosition,
    ) -> QueryResult<Boxed<'a, <RecordSelection as Expression>::SqlType>> {
        let query = self.apply(contracts::table.select(record_selection()).into_boxed());
        let id = after.id;
        let query = match (key, &after.value) {
            (ContractSortKey::EndDate, SortValue::Date(v)) => {
                after_value!(query, contracts::end_date, *v, id, descending)
            }
            (ContractSortKey::StartDate, SortValue::Date(v)) => {
                after_value!(query, contracts::start_date, *v, id, descending)
            }
            (ContractSortKey::AnnualValue, SortValue::Money(v)) => {
                after_value!(
                    query,
                    contracts::annual_value_gbp,
                    v.clone(),
                    id,
                    descending
                )
            }
            (ContractSortKey::Borough, SortValue::Text(v)) => {
                after_value!(query, contracts::borough_id, v.clone(), id, descending)
            }
            (ContractSortKey::Supplier, SortValue::Text(v)) => {
                after_value!(query, contracts::supplier_id, v.clone(), id, descending)
            }
            (key, value) => {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!("{value:?} cannot be a position in a list sorted by {key:?}").into(),
                ))
            }
        };
        Ok(query.then_order_by(contracts::id.asc()))
    }

    /// The matching contracts without a value of `key`, by id; only those after id `after_id`
    /// when given.
    fn without_value(
        &self,
        key: ContractSortKey,
        after_id: Option<i64>,
    ) -> Boxed<'_, <RecordSelection as Expression>::SqlType> {
        let mut query = self
            .apply(contracts::table.select(record_selection()).into_boxed())
            .order(contracts::id.asc());
        if let Some(is_null) = key.is_null() {
            query = query.filter(is_null);
        }
        if let Some(id) = after_id {
            query = query.filter(contracts::id.gt(id));
        }
        query
    }

    /// Every matching contract, row by row, without holding the whole result in memory.
    pub fn for_each(
        &self,
        conn: &mut PgConnection,
        sort: Option<(ContractSortKey, bool)>,
        each: impl FnMut(ContractRecord) -> bool,
    ) -> QueryResult<()> {
        for_each_row(conn, self.records(sort), each)
    }
}

pub(crate) type RecordSelection = (
    diesel::helper_types::AsSelect<Contract, Pg>,
    Fixed<Array<Text>>,
    Fixed<Text>,
    Fixed<Text>,
    Fixed<Nullable<Text>>,
);

/// What a listing shows of a contract: the row, its service areas and the names beside it.
pub(crate) fn record_selection() -> RecordSelection {
    (
        Contract::as_select(),
        fixed(
            "ARRAY(SELECT csa.service_area_id FROM contract_service_areas csa \
             WHERE csa.contract_id = contracts.id ORDER BY 1)",
        ),
        fixed("(SELECT b.name FROM boroughs b WHERE b.id = contracts.borough_id)"),
        fixed("(SELECT s.name FROM suppliers s WHERE s.id = contracts.supplier_id)"),
        fixed("(SELECT y.name FROM systems y WHERE y.id = contracts.system_id)"),
    )
}

/// One contract by id.
pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<Option<ContractRecord>> {
    contracts::table
        .filter(contracts::id.eq(id))
        .select(record_selection())
        .first(conn)
        .optional()
}

/// Contracts by id, read a batch of ids at a time; ids with no contract are left out.
pub fn find_many(
    conn: &mut PgConnection,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, ContractRecord>> {
    /// Ids per `= ANY($1)` lookup.
    const BATCH: usize = 1000;
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        let rows: Vec<ContractRecord> = contracts::table
            .filter(contracts::id.eq_any(chunk))
            .select(record_selection())
            .load(conn)?;
        found.extend(rows.into_iter().map(|r| (r.contract.id, r)));
    }
    Ok(found)
}

/// A contract as written: its row and its service areas.
#[derive(Debug, Clone)]
pub struct ContractWrite {
    pub contract: NewContract,
    pub service_area_ids: Vec<String>,
}

/// The borough's slug for a slug or GSS code, if there is such a borough.
pub fn borough_slug(conn: &mut PgConnection, id_or_gss: &str) -> QueryResult<Option<String>> {
    boroughs::table
        .filter(
            boroughs::id
                .eq(id_or_gss)
                .or(boroughs::gss_code.eq(id_or_gss.to_uppercase())),
        )
        .select(boroughs::id)
        .first(conn)
        .optional()
}

/// Adds an error for every service area in `ids` that does not exist or is a group.
pub fn check_areas(
    conn: &mut PgConnection,
    field: &str,
    ids: &[String],
    errors: &mut Vec<FieldError>,
) -> QueryResult<()> {
    let found: Vec<(String, Option<String>)> = service_areas::table
        .filter(service_areas::id.eq_any(ids))
        .select((service_areas::id, service_areas::parent_id))
        .load(conn)?;
    for id in ids {
        match found.iter().find(|(found_id, _)| found_id == id) {
            None => errors.push(FieldError::new(
                field,
                format!("unknown service area {id:?}"),
            )),
            Some((_, None)) => errors.push(FieldError::new(
                field,
                format!("{id:?} is a group of service areas; name the areas under it instead"),
            )),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Adds an error when `id` names no row of `table` (one of this crate's tables).
pub fn check_reference(
    conn: &mut PgConnection,
    table: &'static str,
    field: &str,
    what: &str,
    id: &str,
    errors: &mut Vec<FieldError>,
) -> QueryResult<()> {
    if super::writes::count_referencing(conn, table, "id", id)? == 0 {
        errors.push(FieldError::new(field, format!("unknown {what} {id:?}")));
    }
    Ok(())
}

fn replace_areas(conn: &mut PgConnection, id: i64, areas: &[String]) -> QueryResult<()> {
    diesel::delete(
        contract_service_areas::table.filter(contract_service_areas::contract_id.eq(id)),
    )
    .execute(conn)?;
    let links: Vec<ContractServiceArea> = areas
        .iter()
        .map(|area| ContractServiceArea {
            contract_id: id,
            service_area_id: area.clone(),
        })
        .collect();
    diesel::insert_into(contract_service_areas::table)
        .values(&links)
        .execute(conn)?;
    Ok(())
}

/// Inserts a contract with its service areas; returns its id.
pub fn insert(conn: &mut PgConnection, write: &ContractWrite) -> QueryResult<i64> {
    let id = diesel::insert_into(contracts::table)
        .values(&write.contract)
        .returning(contracts::id)
        .get_result(conn)?;
    replace_areas(conn, id, &write.service_area_ids)?;
    Ok(id)
}

/// Replaces a contract's fields and service areas.
pub fn update(conn: &mut PgConnection, id: i64, write: &ContractWrite) -> QueryResult<()> {
    diesel::update(contracts::table.find(id))
        .set(&write.contract)
        .execute(conn)?;
    replace_areas(conn, id, &write.service_area_ids)
}

/// Deletes a contract (its service-area links go with it).
pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<()> {
    diesel::delete(contracts::table.find(id)).execute(conn)?;
    Ok(())
}

/// What a filter narrows the contracts by, when it narrows them only by borough, supplier,
/// system and service area: the keys of the insight rollups. `None` in a field: not narrowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dimensions {
    pub boroughs: Option<Vec<String>>,
    pub suppliers: Option<Vec<String>>,
    pub systems: Option<Vec<String>>,
    /// Areas, groups expanded.
    pub service_areas: Option<Vec<String>>,
}

impl ContractFilter {
    /// The filter as [`Dimensions`], or `None` when it also narrows by anything else (dates,
    /// values, kinds, words). Destructured in full, so that a new filter cannot be forgotten.
    pub fn dimensions(&self) -> Option<Dimensions> {
        let ContractCriteria {
            borough,
            supplier,
            vendor,
            system,
            service_area,
            ends_after,
            ends_before,
            active_on,
            hosting,
            procurement_route,
            data_access,
            source,
            min_annual_value,
            max_annual_value,
            words,
            within,
        } = &self.criteria;
        let narrows_otherwise = !vendor.is_empty()
            || ends_after.is_some()
            || ends_before.is_some()
            || active_on.is_some()
            || !hosting.is_empty()
            || !procurement_route.is_empty()
            || !data_access.is_empty()
            || !source.is_empty()
            || min_annual_value.is_some()
            || max_annual_value.is_some()
            || !words.is_empty();
        if narrows_otherwise {
            return None;
        }
        let mut dimensions = Dimensions {
            boroughs: (!borough.is_empty()).then(|| self.borough_ids.clone()),
            suppliers: (!supplier.is_empty()).then(|| supplier.clone()),
            systems: (!system.is_empty()).then(|| system.clone()),
            service_areas: (!service_area.is_empty()).then(|| self.service_area_ids.clone()),
        };
        // A nested view narrows to its parent, within whatever the filter names.
        let within_one = |named: Option<Vec<String>>, id: &String| match named {
            Some(ids) => Some(ids.into_iter().filter(|named| named == id).collect()),
            None => Some(vec![id.clone()]),
        };
        match within {
            None => {}
            Some(Within::Borough(id)) => {
                dimensions.boroughs = within_one(dimensions.boroughs.take(), id)
            }
            Some(Within::Supplier(id)) => {
                dimensions.suppliers = within_one(dimensions.suppliers.take(), id)
            }
            Some(Within::System(id)) => {
                dimensions.systems = within_one(dimensions.systems.take(), id)
            }
        }
        Some(dimensions)
    }
}

impl ContractFilter {
    /// The end-date window (`ends_after`, `ends_before`) and the [`Dimensions`], when the
    /// filter narrows by nothing else.
    pub fn end_window(&self) -> Option<(Option<NaiveDate>, Option<NaiveDate>, Dimensions)> {
        let mut rest = self.clone();
        rest.criteria.ends_after = None;
        rest.criteria.ends_before = None;
        rest.dimensions().map(|dimensions| {
            (
                self.criteria.ends_after,
                self.criteria.ends_before,
                dimensions,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::list::SortKeyName;

    #[test]
    fn every_sort_key_is_named_as_sort_parses_it() {
        for key in [
            ContractSortKey::EndDate,
            ContractSortKey::StartDate,
            ContractSortKey::AnnualValue,
            ContractSortKey::Borough,
            ContractSortKey::Supplier,
        ] {
            assert_eq!(key.name().parse::<ContractSortKey>(), Ok(key));
        }
    }
}
