//! What every catalogue list shares: a filter read as a count, a page by offset, a page after a
//! keyset position, or every row one at a time; and the one macro that writes those four reads
//! for a table.

use diesel::PgConnection;
use diesel::QueryResult;

/// Where a keyset page starts: after the record with this sort value and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    /// The last record's value of the sort key; its id again when the list is in id order.
    pub value: String,
    /// The last record's id.
    pub id: String,
}

/// A sort key as the `sort` parameter names it.
pub trait SortKeyName {
    /// The key's name, without the `-` of descending order.
    fn name(self) -> &'static str;
}

/// A sort: the key, and whether it is descending. None is id order.
pub type SortOrder<K> = Option<(K, bool)>;

/// A filtered list of one table.
pub trait ListFilter: Send + 'static {
    /// One record of the list.
    type Row: Send + 'static;
    /// What the list can be sorted by.
    type SortKey: SortKeyName + Copy + Send + 'static;

    /// How many records match.
    fn count(&self, conn: &mut PgConnection) -> QueryResult<i64>;

    /// `limit` records from `offset`, in `sort` order then by id.
    fn page(
        &self,
        conn: &mut PgConnection,
        sort: SortOrder<Self::SortKey>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<Vec<Self::Row>>;

    /// `limit` records after `after` (from the start when None), in `sort` order then by id.
    fn page_after(
        &self,
        conn: &mut PgConnection,
        sort: SortOrder<Self::SortKey>,
        after: Option<&Keyset>,
        limit: i64,
    ) -> QueryResult<Vec<Self::Row>>;

    /// Feeds every matching record to `each`, one at a time; stops when it returns false.
    fn for_each(
        &self,
        conn: &mut PgConnection,
        sort: SortOrder<Self::SortKey>,
        each: &mut dyn FnMut(Self::Row) -> bool,
    ) -> QueryResult<()>;

    /// Where a page that ends with `row` stops, for the cursor of the next.
    fn keyset(row: &Self::Row, sort: SortOrder<Self::SortKey>) -> Keyset;

    /// Whether `keyset` is one that [`ListFilter::keyset`] could have made for `sort` (a cursor
    /// from elsewhere is refused before it reaches the database).
    fn accepts(_keyset: &Keyset, _sort: SortOrder<Self::SortKey>) -> bool {
        true
    }
}

/// The SQL condition "after `after`" for a list ordered by `column` (ascending, or descending
/// when `descending`) and then by `id` ascending. Both columns are text; their names come from
/// this crate, never from a request.
pub fn after_condition<T: 'static>(
    column: &'static str,
    id: &'static str,
    descending: bool,
    after: &Keyset,
) -> Box<dyn diesel::BoxableExpression<T, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let beyond = if descending { "<" } else { ">" };
    let condition = sql::<Bool>(&format!("({column} {beyond} "))
        .bind::<Text, _>(after.value.clone())
        .sql(&format!(" OR ({column} = "))
        .bind::<Text, _>(after.value.clone())
        .sql(&format!(" AND {id} > "))
        .bind::<Text, _>(after.id.clone())
        .sql("))");
    Box::new(condition)
}

/// Implements [`ListFilter`] for `$filter`, a filter with an
/// `apply(&self, boxed query) -> boxed query` method over `$table`, selecting `$selection`
/// (rows of `$row`), sortable by the text columns named for each key.
macro_rules! catalogue_list {
    (
        $filter:ty, $table:ident, $row:ty, $selection:expr,
        $key:ident { $($variant:ident => $column:ident),+ $(,)? },
        id: |$id_row:ident| $id:expr,
        value: |$value_row:ident, $value_key:ident| $value:expr $(,)?
    ) => {
        /// The filter's query in `sort` order, then by id.
        macro_rules! ordered {
            ($self:expr, $sort:expr) => {{
                use diesel::prelude::*;
                let query = $self.apply($table::table.select($selection).into_boxed());
                let query = match $sort {
                    None => query,
                    $(
                        Some(($key::$variant, false)) => query.order($table::$column.asc()),
                        Some(($key::$variant, true)) => query.order($table::$column.desc()),
                    )+
                };
                query.then_order_by($table::id.asc())
            }};
        }

        impl $crate::queries::list::ListFilter for $filter {
            type Row = $row;
            type SortKey = $key;

            fn count(&self, conn: &mut diesel::PgConnection) -> diesel::QueryResult<i64> {
                use diesel::prelude::*;
                self.apply($table::table.select(diesel::dsl::count_star()).into_boxed())
                    .get_result(conn)
            }

            fn page(
                &self,
                conn: &mut diesel::PgConnection,
                sort: $crate::queries::list::SortOrder<$key>,
                offset: i64,
                limit: i64,
            ) -> diesel::QueryResult<Vec<$row>> {
                use diesel::prelude::*;
                ordered!(self, sort).offset(offset).limit(limit).load(conn)
            }

            fn page_after(
                &self,
                conn: &mut diesel::PgConnection,
                sort: $crate::queries::list::SortOrder<$key>,
                after: Option<&$crate::queries::list::Keyset>,
                limit: i64,
            ) -> diesel::QueryResult<Vec<$row>> {
                use diesel::prelude::*;
                let mut query = ordered!(self, sort);
                if let Some(after) = after {
                    let (column, descending) = match sort {
                        None => (concat!(stringify!($table), ".id"), false),
                        $(Some(($key::$variant, descending)) => {
                            (concat!(stringify!($table), ".", stringify!($column)), descending)
                        })+
                    };
                    query = query.filter($crate::queries::list::after_condition(
                        column,
                        concat!(stringify!($table), ".id"),
                        descending,
                        after,
                    ));
                }
                query.limit(limit).load(conn)
            }

            fn for_each(
                &self,
                conn: &mut diesel::PgConnection,
                sort: $crate::queries::list::SortOrder<$key>,
                each: &mut dyn FnMut($row) -> bool,
            ) -> diesel::QueryResult<()> {
                $crate::queries::for_each_row(conn, ordered!(self, sort), each)
            }

            fn keyset(
                $id_row: &$row,
                sort: $crate::queries::list::SortOrder<$key>,
            ) -> $crate::queries::list::Keyset {
                let id: String = $id.clone();
                let value = match sort {
                    None => id.clone(),
                    Some(($value_key, _)) => {
                        let $value_row = $id_row;
                        $value
                    }
                };
                $crate::queries::list::Keyset { value, id }
            }
        }
    };
}
pub(crate) use catalogue_list;
