//! SQL written into the crate, as diesel expressions that can be prepared once per connection.
//!
//! Diesel's own `sql()` literal marks every statement that holds one as unsafe to keep
//! prepared (the text could come from anywhere), so each run is parsed and planned afresh.
//! The fragments here are `&'static str`s of this crate and bound parameters only, so the
//! statements they appear in keep their prepared form in the connection's statement cache.

use std::marker::PhantomData;

use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::expression::{TypedExpressionType, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::QueryResult;

/// A fixed SQL expression of type `ST`.
#[derive(Debug)]
pub struct Fixed<ST> {
    sql: &'static str,
    sql_type: PhantomData<ST>,
}

// Derives would ask `ST: Clone`; the marker holds no `ST`.
impl<ST> Clone for Fixed<ST> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<ST> Copy for Fixed<ST> {}

/// `sql` as an expression of type `ST`.
pub const fn fixed<ST>(sql: &'static str) -> Fixed<ST> {
    Fixed {
        sql,
        sql_type: PhantomData,
    }
}

impl<ST: TypedExpressionType> Expression for Fixed<ST> {
    type SqlType = ST;
}

impl<ST> QueryFragment<Pg> for Fixed<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<ST> QueryId for Fixed<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: TypedExpressionType, QS> SelectableExpression<QS> for Fixed<ST> {}

impl<ST: TypedExpressionType, QS> AppearsOnTable<QS> for Fixed<ST> {}

impl<ST, GB> ValidGrouping<GB> for Fixed<ST> {
    type IsAggregate = is_aggregate::Never;
}

/// `(<before> $1 <between> $1 ... <after>)`: fixed SQL around one text parameter, bound once
/// for each gap between the fixed parts.
#[derive(Debug, Clone)]
pub struct FixedWithText {
    parts: &'static [&'static str],
    value: String,
}

/// The fixed `parts` with `value` bound between each two of them.
pub fn fixed_with_text(parts: &'static [&'static str], value: String) -> FixedWithText {
    FixedWithText { parts, value }
}

impl Expression for FixedWithText {
    type SqlType = Bool;
}

impl QueryFragment<Pg> for FixedWithText {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.push_bind_param::<Text, String>(&self.value)?;
            }
            out.push_sql(part);
        }
        Ok(())
    }
}

impl QueryId for FixedWithText {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> SelectableExpression<QS> for FixedWithText {}

impl<QS> AppearsOnTable<QS> for FixedWithText {}

impl<GB> ValidGrouping<GB> for FixedWithText {
    type IsAggregate = is_aggregate::Never;
}
