//! Helpers shared by every write: row locks and reference counts.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The tables whose ids are numbers (the others' are text).
const NUMBERED: &[&str] = &["contracts", "tenders", "api_keys", "watches", "sync_runs"];

/// Locks the row of `table` with id `id` until the transaction ends; false if there is none.
/// `table` is one of this crate's table names, never caller input. A numbered table's row is
/// found through its key's index (comparing `id::text` would read the whole table: 180 to
/// 300 ms a write at a million contracts).
pub fn lock_row(conn: &mut PgConnection, table: &'static str, id: &str) -> QueryResult<bool> {
    let query = |condition: &str| {
        diesel::sql_query(format!(
            "SELECT 1::bigint AS count FROM {table} WHERE {condition} FOR UPDATE"
        ))
    };
    let locked: Vec<Count> = if NUMBERED.contains(&table) {
        match id.parse::<i64>() {
            Ok(number) => query("id = $1").bind::<BigInt, _>(number).load(conn)?,
            Err(_) => Vec::new(),
        }
    } else {
        query("id = $1").bind::<Text, _>(id).load(conn)?
    };
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
