//! Helpers shared by every write: row locks and reference counts.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Locks the row of `table` with text id `id` until the transaction ends; false if there is none.
/// `table` is one of this crate's table names, never caller input.
pub fn lock_row(conn: &mut PgConnection, table: &'static str, id: &str) -> QueryResult<bool> {
    let locked: Vec<Count> = diesel::sql_query(format!(
        "SELECT 1::bigint AS count FROM {table} WHERE id::text = $1 FOR UPDATE"
    ))
    .bind::<Text, _>(id)
    .load(conn)?;
    Ok(!locked.is_empty())
}

/// How many rows of `table` have `column = id`. Both names are this crate's, never caller input.
pub fn count_referencing(
    conn: &mut PgConnection,
    table: &'static str,
    column: &'static str,
    id: &str,
) -> QueryResult<i64> {
    let counted: Count = diesel::sql_query(format!(
        "SELECT count(*) AS count FROM {table} WHERE {column}::text = $1"
    ))
    .bind::<Text, _>(id)
    .get_result(conn)?;
    Ok(counted.count)
}

/// A 409 detail naming what still refers to a record, or None when nothing does.
pub fn still_referenced(
    conn: &mut PgConnection,
    what: &str,
    id: &str,
    references: &[(&'static str, &'static str, &'static str)],
) -> QueryResult<Option<String>> {
    let mut found = Vec::new();
    for (table, column, label) in references {
        let count = count_referencing(conn, table, column, id)?;
        if count > 0 {
            found.push(format!("{count} {label}"));
        }
    }
    Ok((!found.is_empty()).then(|| {
        format!(
            "{what} {id:?} is still referenced by {}; delete or reassign them first",
            found.join(" and ")
        )
    }))
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Every id of `table` (one of this crate's), for suggesting the one a caller meant.
pub fn ids_of(conn: &mut PgConnection, table: &'static str) -> QueryResult<Vec<String>> {
    let ids: Vec<Id> =
        diesel::sql_query(format!("SELECT id::text AS id FROM {table}")).load(conn)?;
    Ok(ids.into_iter().map(|row| row.id).collect())
}

/// Which of `asked` are ids of `table` (one of this crate's).
pub fn existing_ids(
    conn: &mut PgConnection,
    table: &'static str,
    asked: &[String],
) -> QueryResult<Vec<String>> {
    let ids: Vec<Id> = diesel::sql_query(format!(
        "SELECT id::text AS id FROM {table} WHERE id::text = ANY($1)"
    ))
    .bind::<diesel::sql_types::Array<Text>, _>(asked)
    .load(conn)?;
    Ok(ids.into_iter().map(|row| row.id).collect())
}
