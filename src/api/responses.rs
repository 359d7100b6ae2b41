//! Response sets shared by the operations' OpenAPI descriptions, so that each `#[utoipa::path]`
//! lists only what is particular to it: `responses((status = 200, ...), ReadErrors, Missing<Suppliers>)`.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::IntoResponses;

use crate::error::PROBLEM_JSON;

/// What a record of a resource is called in the API's descriptions.
pub trait Named {
    /// The singular, as in "No such service area".
    const WHAT: &'static str;
}

/// A problem+json response with `description`.
fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

type Set = BTreeMap<String, RefOr<Response>>;

fn set<const N: usize>(responses: [(u16, ResponseBuilder); N]) -> Set {
    responses
        .into_iter()
        .map(|(status, response)| (status.to_string(), RefOr::T(response.build())))
        .collect()
}

/// Declares a response set of fixed problem responses.
macro_rules! problem_set {
    ($(#[$doc:meta])* $name:ident { $($status:literal => $description:literal),+ $(,)? }) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> Set {
                set([$(($status, problem($description))),+])
            }
        }
    };
}

problem_set! {
    /// What any read may answer besides its own: a bad key (401) or no database (503).
    ReadErrors {
        401 => "A malformed, unknown or revoked key",
        503 => "The database is unavailable",
    }
}

problem_set! {
    /// A list's 400: an unknown parameter or a bad value.
    BadQuery { 400 => "An unknown parameter or a malformed or unknown value" }
}

problem_set! {
    /// The 400 of an operation that takes no query parameters.
    UnexpectedQuery { 400 => "A query parameter was given" }
}

problem_set! {
    /// A write's 412 when `If-Match` no longer holds.
    Stale { 412 => "If-Match is stale; nothing was changed" }
}

problem_set! {
    /// A write's 422, with every invalid field.
    Invalid { 422 => "Invalid fields, all listed in `errors`" }
}

problem_set! {
    /// The 403 of writes that only admin keys may make.
    AdminOnly { 403 => "Not an admin key" }
}

/// The responses of a write with a JSON body besides its own: not JSON (400), no or a bad key
/// (401), too large (413), too many writes (429) and no database (503).
pub struct BodyWriteErrors;

impl IntoResponses for BodyWriteErrors {
    fn responses() -> Set {
        let mut responses = set([
            (400, problem("The body is not JSON")),
            (413, problem("The body is larger than the service accepts")),
        ]);
        responses.extend(WriteErrors::responses());
        responses
    }
}

/// The responses of any write besides its own: no or a bad key (401), too many writes (429)
/// and no database (503).
pub struct WriteErrors;

impl IntoResponses for WriteErrors {
    fn responses() -> Set {
        let retry_after = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String).build())
            .description(Some("Seconds to wait before writing again"))
            .build();
        set([
            (
                401,
                problem("No key, or a malformed, unknown or revoked one"),
            ),
            (
                429,
                problem(
                    "Too many writes from this key or address; retry after `Retry-After` seconds",
                )
                .header("Retry-After", retry_after),
            ),
            (503, problem("The database is unavailable")),
        ])
    }
}

/// The 404 of an operation on one record of `R`.
pub struct Missing<R>(PhantomData<R>);

impl<R: Named> IntoResponses for Missing<R> {
    fn responses() -> Set {
        set([(404, problem(&format!("No such {}", R::WHAT)))])
    }
}

/// The 304 of a read with `If-None-Match`.
pub struct NotModified;

impl IntoResponses for NotModified {
    fn responses() -> Set {
        set([(
            304,
            ResponseBuilder::new().description("Unchanged since the ETag in If-None-Match"),
        )])
    }
}
