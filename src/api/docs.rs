//! Parameter and response sets shared by the operations' OpenAPI descriptions, so that each
//! `#[utoipa::path]` lists only what is particular to it:
//! `params(ReadId<Suppliers>), responses(GetResponses<Suppliers>)`.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses};

use crate::error::PROBLEM_JSON;

/// What a record of a resource is called in the API's descriptions.
pub trait Named {
    /// The singular, as in "No such service area".
    const WHAT: &'static str;
    /// The `id` path parameter's description.
    const ID: &'static str;
    /// An example id for reads; None for none.
    const ID_EXAMPLE: Option<&'static str>;
    /// An example id for writes.
    const WRITE_ID_EXAMPLE: Option<&'static str> = Self::ID_EXAMPLE;
    /// Whether ids are integers rather than slugs.
    const NUMERIC_ID: bool = false;
    /// The wire type's schema name, as responses refer to it.
    fn schema_name() -> String;
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
    /// A change's or deletion's 412 when `If-Match` no longer holds, and 428 without it.
    Stale {
        412 => "If-Match is stale; nothing was changed",
        428 => "No If-Match: send the ETag of the record as last read, or *",
    }
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

/// The `id` path parameter of `R`, with `example`.
fn id_parameter<R: Named>(example: Option<&'static str>) -> Parameter {
    let schema = if R::NUMERIC_ID {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
    } else {
        ObjectBuilder::new().schema_type(Type::String)
    };
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .description(Some(R::ID))
        .required(Required::True)
        .schema(Some(schema))
        .example(example.map(Into::into))
        .build()
}

/// The `If-Match` header every change or deletion needs; `what` is "change" or "deletion".
fn if_match(what: &str) -> Parameter {
    ParameterBuilder::new()
        .name("If-Match")
        .parameter_in(ParameterIn::Header)
        .description(Some(format!(
            "The ETag the {what} is based on (from a GET of the record), or `*` for whatever \
             is there; 412 when it is no longer current, 428 when absent"
        )))
        .required(Required::True)
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::new(Type::String))
                .examples(["\"3f2a9c0d1e\"", "*"]),
        ))
        .build()
}

/// The `id` of the record of `R` a read is about.
pub struct ReadId<R>(PhantomData<R>);

impl<R: Named> IntoParams for ReadId<R> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![id_parameter::<R>(R::ID_EXAMPLE)]
    }
}

/// The `id` of the record of `R` a change is about, and `If-Match`.
pub struct ChangeId<R>(PhantomData<R>);

impl<R: Named> IntoParams for ChangeId<R> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![id_parameter::<R>(R::WRITE_ID_EXAMPLE), if_match("change")]
    }
}

/// The `id` of the record of `R` a deletion is about, and `If-Match`.
pub struct DeleteId<R>(PhantomData<R>);

impl<R: Named> IntoParams for DeleteId<R> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![id_parameter::<R>(R::WRITE_ID_EXAMPLE), if_match("deletion")]
    }
}

/// A JSON response with `R`'s representation and its `ETag` (described by `etag`), and any
/// further headers.
fn representation<R: Named>(description: &str, etag: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .header("ETag", string_header(etag))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(R::schema_name())))
                .build(),
        )
}

fn string_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String).build())
        .description(Some(description))
        .build()
}

/// What `GET` of one record of `R` answers.
pub struct GetResponses<R>(PhantomData<R>);

impl<R: Named> IntoResponses for GetResponses<R> {
    fn responses() -> Set {
        let mut responses = set([(
            200,
            representation::<R>(
                &format!("The {}", R::WHAT),
                "Changes whenever the representation changes",
            ),
        )]);
        responses.extend(NotModified::responses());
        responses.extend(ReadErrors::responses());
        responses.extend(UnexpectedQuery::responses());
        responses.extend(Missing::<R>::responses());
        responses
    }
}

/// What `POST` of a new record of `R` answers besides its 403 and 409.
pub struct CreateResponses<R>(PhantomData<R>);

impl<R: Named> IntoResponses for CreateResponses<R> {
    fn responses() -> Set {
        let address = format!("The {}'s address", R::WHAT);
        let created = representation::<R>("Created", "The new representation's ETag")
            .header("Location", string_header(&address));
        let mut responses = set([(201, created)]);
        responses.extend(BodyWriteErrors::responses());
        responses.extend(Invalid::responses());
        responses
    }
}

/// What `PUT` (`replaced`) or `PATCH` of a record of `R` answers besides its 403 and 409.
pub struct ChangeResponses<R, const REPLACE: bool>(PhantomData<R>);

impl<R: Named, const REPLACE: bool> IntoResponses for ChangeResponses<R, REPLACE> {
    fn responses() -> Set {
        let description = if REPLACE { "Replaced" } else { "Updated" };
        let mut responses = set([(
            200,
            representation::<R>(description, "The new representation's ETag"),
        )]);
        responses.extend(BodyWriteErrors::responses());
        responses.extend(Missing::<R>::responses());
        responses.extend(Stale::responses());
        responses.extend(Invalid::responses());
        responses
    }
}

/// What `PUT` of a record of `R` answers besides its 403 and 409.
pub type ReplaceResponses<R> = ChangeResponses<R, true>;
/// What `PATCH` of a record of `R` answers besides its 403 and 409.
pub type UpdateResponses<R> = ChangeResponses<R, false>;

/// What `DELETE` of a record of `R` answers besides its 403 and 409.
pub struct DeleteResponses<R>(PhantomData<R>);

impl<R: Named> IntoResponses for DeleteResponses<R> {
    fn responses() -> Set {
        let mut responses = set([(204, ResponseBuilder::new().description("Deleted"))]);
        responses.extend(WriteErrors::responses());
        responses.extend(UnexpectedQuery::responses());
        responses.extend(Missing::<R>::responses());
        responses.extend(Stale::responses());
        responses
    }
}

/// What a list of the contracts within one record of `R` (a borough, supplier or system)
/// answers.
pub struct NestedContractResponses<R>(PhantomData<R>);

impl<R: Named> IntoResponses for NestedContractResponses<R> {
    fn responses() -> Set {
        let page = ResponseBuilder::new()
            .description(format!(
                "A page of the {}'s contracts, or all of them as CSV or (`format=ocds`) as an \
                 OCDS release package",
                R::WHAT
            ))
            .header(
                "Link",
                string_header(
                    "RFC 8288 links: by page number `first`, `prev`, `next` and `last` (no `last` \
                     when `meta.total_exact` is false); in cursor mode `first` (`cursor=`) and \
                     `next`",
                ),
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ContractListBody")))
                    .build(),
            )
            .content(
                "text/csv",
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            );
        let mut responses = set([(200, page)]);
        responses.extend(ReadErrors::responses());
        responses.extend(BadQuery::responses());
        responses.extend(Missing::<R>::responses());
        responses
    }
}
