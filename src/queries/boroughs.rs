//! Boroughs: filters, lookup by slug or GSS code.

use diesel::pg::Pg;
use diesel::prelude::*;

use super::contains_pattern;
use crate::db::schema::boroughs;
use crate::models::{Borough, BoroughKind, NewBorough};

super::sort_keys! {
    /// What a borough list can be sorted by.
    BoroughSortKey { Name => "name", GssCode => "gss_code", Id => "id" }
}

/// Borough filters.
#[derive(Debug, Clone, Default)]
pub struct BoroughFilter {
    pub kind: Vec<BoroughKind>,
    pub inner_london_statutory: Option<bool>,
    pub inner_london_ons: Option<bool>,
    pub surveyed: Option<bool>,
    /// Words that must each appear in the name or official name.
    pub words: Vec<String>,
}

type Boxed<'a, ST> = boroughs::BoxedQuery<'a, Pg, ST>;

impl BoroughFilter {
    fn apply<'a, ST: 'a>(&'a self, mut query: Boxed<'a, ST>) -> Boxed<'a, ST> {
        if !self.kind.is_empty() {
            query = query.filter(boroughs::kind.eq_any(self.kind.iter().map(|k| k.as_str())));
        }
        if let Some(inner) = self.inner_london_statutory {
            query = query.filter(boroughs::inner_london_statutory.eq(inner));
        }
        if let Some(inner) = self.inner_london_ons {
            query = query.filter(boroughs::inner_london_ons.eq(inner));
        }
        if let Some(surveyed) = self.surveyed {
            query = query.filter(boroughs::surveyed.eq(surveyed));
        }
        for word in &self.words {
            let pattern = contains_pattern(word);
            query = query.filter(
                boroughs::name
                    .ilike(pattern.clone())
                    .or(boroughs::official_name.ilike(pattern)),
            );
        }
        query
    }
}

super::list::catalogue_list!(
    BoroughFilter,
    boroughs,
    Borough,
    Borough::as_select(),
    BoroughSortKey { Name => name, GssCode => gss_code, Id => id },
    id: |row| row.id,
    value: |row, key| match key {
        BoroughSortKey::Name => row.name.clone(),
        BoroughSortKey::GssCode => row.gss_code.clone(),
        BoroughSortKey::Id => row.id.clone(),
    },
);

/// A borough by slug or by GSS code (in any case).
pub fn find(conn: &mut PgConnection, id_or_gss: &str) -> QueryResult<Option<Borough>> {
    boroughs::table
        .filter(
            boroughs::id
                .eq(id_or_gss)
                .or(boroughs::gss_code.eq(id_or_gss.to_uppercase())),
        )
        .select(Borough::as_select())
        .first(conn)
        .optional()
}

/// Inserts a borough.
pub fn insert(conn: &mut PgConnection, borough: &NewBorough) -> QueryResult<()> {
    diesel::insert_into(boroughs::table)
        .values(borough)
        .execute(conn)?;
    Ok(())
}

/// Replaces a borough's fields (its id stays).
pub fn update(conn: &mut PgConnection, id: &str, borough: &NewBorough) -> QueryResult<()> {
    diesel::update(boroughs::table.find(id))
        .set(borough)
        .execute(conn)?;
    Ok(())
}

/// What still refers to a borough, as a 409 detail.
pub fn references(conn: &mut PgConnection, id: &str) -> QueryResult<Option<String>> {
    super::writes::still_referenced(
        conn,
        "borough",
        id,
        &[
            ("contracts", "borough_id", "contracts"),
            ("api_keys", "borough_id", "API keys"),
        ],
    )
}

pub fn delete(conn: &mut PgConnection, id: &str) -> QueryResult<()> {
    diesel::delete(boroughs::table.find(id)).execute(conn)?;
    Ok(())
}
