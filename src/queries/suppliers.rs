//! Suppliers with their aliases.

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use super::contains_pattern;
use super::contracts::expand_service_areas;
use super::QueryError;
use crate::db::schema::{supplier_aliases, suppliers, system_service_areas, systems};
use crate::models::{NewSupplier, Supplier, SupplierAlias};

super::sort_keys! {
    /// What a supplier list can be sorted by.
    SupplierSortKey { Name => "name", Id => "id" }
}

/// Supplier filters.
#[derive(Debug, Clone, Default)]
pub struct SupplierCriteria {
    pub sme: Option<bool>,
    /// Suppliers with a system in these service areas (a group means every area under it).
    pub service_area: Vec<String>,
    /// Words that must each appear in the name or an alias.
    pub words: Vec<String>,
}

/// Supplier filters with service-area groups expanded.
#[derive(Debug, Clone)]
pub struct SupplierFilter {
    criteria: SupplierCriteria,
    service_area_ids: Vec<String>,
}

/// A supplier and its aliases.
#[derive(Debug, Clone, Queryable)]
pub struct SupplierRecord {
    pub supplier: Supplier,
    pub aliases: Vec<String>,
}

type Boxed<'a, ST> = suppliers::BoxedQuery<'a, Pg, ST>;

type RecordSelection = (
    diesel::helper_types::AsSelect<Supplier, Pg>,
    diesel::expression::SqlLiteral<Array<Text>>,
);

fn record_selection() -> RecordSelection {
    (
        Supplier::as_select(),
        sql::<Array<Text>>(
            "ARRAY(SELECT a.alias FROM supplier_aliases a WHERE a.supplier_id = suppliers.id ORDER BY 1)",
        ),
    )
}

impl SupplierCriteria {
    pub fn resolve(mut self, conn: &mut PgConnection) -> Result<SupplierFilter, QueryError> {
        let mut errors = Vec::new();
        super::fold_case(&mut self.service_area);
        let service_area_ids =
            expand_service_areas(conn, "service_area", &self.service_area, &mut errors)?;
        if !errors.is_empty() {
            return Err(QueryError::InvalidFilter(errors));
        }
        Ok(SupplierFilter {
            criteria: self,
            service_area_ids,
        })
    }
}

impl SupplierFilter {
    fn apply<'a, ST: 'a>(&'a self, mut query: Boxed<'a, ST>) -> Boxed<'a, ST> {
        let c = &self.criteria;
        if let Some(sme) = c.sme {
            query = query.filter(suppliers::sme.eq(sme));
        }
        if !c.service_area.is_empty() {
            query = query.filter(
                suppliers::id.eq_any(
                    systems::table
                        .inner_join(system_service_areas::table)
                        .filter(
                            system_service_areas::service_area_id.eq_any(&self.service_area_ids),
                        )
                        .select(systems::supplier_id),
                ),
            );
        }
        for word in &c.words {
            let pattern = contains_pattern(word);
            query = query.filter(
                suppliers::name
                    .ilike(pattern.clone())
                    .or(suppliers::id.eq_any(
                        supplier_aliases::table
                            .filter(supplier_aliases::alias.ilike(pattern))
                            .select(supplier_aliases::supplier_id),
                    )),
            );
        }
        query
    }
}

super::list::catalogue_list!(
    SupplierFilter,
    suppliers,
    SupplierRecord,
    record_selection(),
    SupplierSortKey { Name => name, Id => id },
    id: |row| row.supplier.id,
    value: |row, key| match key {
        SupplierSortKey::Name => row.supplier.name.clone(),
        SupplierSortKey::Id => row.supplier.id.clone(),
    },
);

/// One supplier by id, with its aliases.
pub fn find(conn: &mut PgConnection, id: &str) -> QueryResult<Option<SupplierRecord>> {
    suppliers::table
        .filter(suppliers::id.eq(id))
        .select(record_selection())
        .first(conn)
        .optional()
}

/// A supplier as written: its row and its whole set of aliases.
#[derive(Debug, Clone)]
pub struct SupplierWrite {
    pub supplier: NewSupplier,
    pub aliases: Vec<SupplierAlias>,
}

/// Held until commit by every supplier write, so two writes cannot both give the same
/// normalized alias to different suppliers.
const ALIAS_LOCK: i64 = 0x0061_6c69_6173_6573; // "aliases"

/// Waits for the alias lock, held until the transaction ends.
pub fn lock_aliases(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<BigInt, _>(ALIAS_LOCK)
        .execute(conn)?;
    Ok(())
}

/// An alias of a supplier other than `id` whose normalized form is `normalized` (the spelling
/// `alias` itself when there is one): its supplier's id and its spelling.
pub fn alias_owner(
    conn: &mut PgConnection,
    id: &str,
    alias: &str,
    normalized: &str,
) -> QueryResult<Option<(String, String)>> {
    supplier_aliases::table
        .filter(supplier_aliases::normalized.eq(normalized))
        .filter(supplier_aliases::supplier_id.ne(id))
        .select((supplier_aliases::supplier_id, supplier_aliases::alias))
        .order((
            supplier_aliases::alias.ne(alias),
            supplier_aliases::supplier_id,
            supplier_aliases::alias,
        ))
        .first(conn)
        .optional()
}

fn replace_aliases(
    conn: &mut PgConnection,
    id: &str,
    aliases: &[SupplierAlias],
) -> QueryResult<()> {
    diesel::delete(supplier_aliases::table.filter(supplier_aliases::supplier_id.eq(id)))
        .execute(conn)?;
    diesel::insert_into(supplier_aliases::table)
        .values(aliases)
        .execute(conn)?;
    Ok(())
}

/// Inserts a supplier with its aliases.
pub fn insert(conn: &mut PgConnection, write: &SupplierWrite) -> QueryResult<()> {
    diesel::insert_into(suppliers::table)
        .values(&write.supplier)
        .execute(conn)?;
    replace_aliases(conn, &write.supplier.id, &write.aliases)
}

/// Replaces a supplier's fields and its whole set of aliases (its id stays).
pub fn update(conn: &mut PgConnection, id: &str, write: &SupplierWrite) -> QueryResult<()> {
    diesel::update(suppliers::table.find(id))
        .set(&write.supplier)
        .execute(conn)?;
    replace_aliases(conn, id, &write.aliases)
}

/// What still refers to a supplier, as a 409 detail.
pub fn references(conn: &mut PgConnection, id: &str) -> QueryResult<Option<String>> {
    super::writes::still_referenced(
        conn,
        "supplier",
        id,
        &[
            ("systems", "supplier_id", "systems"),
            ("contracts", "supplier_id", "contracts"),
        ],
    )
}

/// Deletes a supplier (its aliases go with it).
pub fn delete(conn: &mut PgConnection, id: &str) -> QueryResult<()> {
    diesel::delete(suppliers::table.find(id)).execute(conn)?;
    Ok(())
}
