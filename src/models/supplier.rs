use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{supplier_aliases, suppliers};

/// A company that sells software or services to boroughs.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = suppliers, check_for_backend(diesel::pg::Pg))]
pub struct Supplier {
    pub id: String,
    pub name: String,
    pub companies_house_number: Option<String>,
    pub website: Option<String>,
    pub sme: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = suppliers)]
pub struct NewSupplier {
    pub id: String,
    pub name: String,
    #[diesel(treat_none_as_null = true)]
    pub companies_house_number: Option<String>,
    #[diesel(treat_none_as_null = true)]
    pub website: Option<String>,
    #[diesel(treat_none_as_null = true)]
    pub sme: Option<bool>,
}

/// Another spelling of a supplier's name, as seen in source data.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = supplier_aliases, check_for_backend(diesel::pg::Pg))]
pub struct SupplierAlias {
    pub supplier_id: String,
    pub alias: String,
    pub normalized: String,
}
