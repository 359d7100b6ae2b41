use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::boroughs;

/// One London authority.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = boroughs, check_for_backend(diesel::pg::Pg))]
pub struct Borough {
    pub id: String,
    pub gss_code: String,
    pub name: String,
    pub official_name: String,
    pub kind: String,
    pub inner_london_statutory: bool,
    pub inner_london_ons: bool,
    pub surveyed: bool,
    pub website: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = boroughs)]
pub struct NewBorough {
    pub id: String,
    pub gss_code: String,
    pub name: String,
    pub official_name: String,
    pub kind: String,
    pub inner_london_statutory: bool,
    pub inner_london_ons: bool,
    pub surveyed: bool,
    #[diesel(treat_none_as_null = true)]
    pub website: Option<String>,
}
