//! A contract as written with `POST`, `PUT` and `PATCH`: its form and its checks.

use diesel::PgConnection;

use super::{Fields, FormError};
use crate::models::{DataAccess, Hosting, NewContract, ProcurementRoute, Source};
use crate::queries::contracts::{self as query, ContractWrite};

super::form! {
    /// A contract as written with `POST`, `PUT` and `PATCH`. Read-only fields (`id`, names,
    /// timestamps, `version`) may be sent back as read and are ignored; any other field is an error.
    #[schema(example = json!({
        "borough_id": "camden",
        "supplier_id": "civica",
        "system_id": "civica-openrevenues",
        "service_area_ids": ["council-tax", "business-rates"],
        "title": "Revenues and benefits system licence, support and maintenance",
        "start_date": "2024-04-01",
        "end_date": "2029-03-31",
        "max_end_date": "2031-03-31",
        "annual_value_gbp": "185000.00",
        "total_value_gbp": "925000.00",
        "hosting": "supplier_hosted",
        "procurement_route": "framework",
        "framework_name": "G-Cloud 14",
        "data_access": "included",
        "source": "manual",
        "satisfaction": 4,
        "value_for_money": 3,
        "support_confidence": 4,
        "development_confidence": 2,
        "notes": "Renewal under review with neighbouring boroughs."
    }))]
    ContractInput, "a contract", patch ContractPatch {
        /// The borough, by slug or GSS code. A borough key writes its own borough's contracts only.
        #[schema(value_type = String)]
        borough_id,
        /// The supplier holding the contract.
        #[schema(value_type = String)]
        supplier_id,
        #[schema(value_type = Option<String>)]
        system_id,
        /// One or more service areas (areas, not groups).
        #[schema(value_type = Vec<String>)]
        service_area_ids,
        #[schema(value_type = String)]
        title,
        #[schema(value_type = Option<NaiveDate>)]
        start_date,
        /// On or after start_date.
        #[schema(value_type = Option<NaiveDate>)]
        end_date,
        /// On or after end_date.
        #[schema(value_type = Option<NaiveDate>)]
        max_end_date,
        /// Pounds, at most two decimal places, not negative: "185000.00" or 185000.
        #[schema(value_type = Option<MoneyInput>, example = "185000.00")]
        annual_value_gbp,
        /// Pounds over the whole contract, as annual_value_gbp.
        #[schema(value_type = Option<MoneyInput>, example = "925000.00")]
        total_value_gbp,
        /// Default `unknown`.
        #[schema(value_type = Option<Hosting>)]
        hosting,
        /// Default `unknown`.
        #[schema(value_type = Option<ProcurementRoute>)]
        procurement_route,
        #[schema(value_type = Option<String>)]
        framework_name,
        /// Default `unknown`.
        #[schema(value_type = Option<DataAccess>)]
        data_access,
        /// Default `manual`.
        #[schema(value_type = Option<Source>)]
        source,
        #[schema(value_type = Option<String>)]
        source_reference,
        /// An http or https URL.
        #[schema(value_type = Option<String>)]
        source_url,
        #[schema(value_type = Option<i16>, minimum = 1, maximum = 5)]
        satisfaction,
        #[schema(value_type = Option<i16>, minimum = 1, maximum = 5)]
        value_for_money,
        #[schema(value_type = Option<i16>, minimum = 1, maximum = 5)]
        support_confidence,
        #[schema(value_type = Option<i16>, minimum = 1, maximum = 5)]
        development_confidence,
        #[schema(value_type = Option<String>)]
        notes,
    }
}

/// An amount of money as written: a string of pounds with at most two decimal places
/// (`"185000.00"`, `"185000"`), or a JSON number (`185000`); never negative.
pub struct MoneyInput;

impl utoipa::PartialSchema for MoneyInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^\d+(\.\d{1,2})?$"))
                    .examples([serde_json::json!("185000.00")]),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .minimum(Some(0))
                    .maximum(Some(999_999_999_999.99)),
            )
            .description(Some(
                "Pounds: a string with at most two decimal places, or a number; not negative, \
                 at most 999999999999.99.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for MoneyInput {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("MoneyInput")
    }
}

const READ_ONLY: &[&str] = &[
    "id",
    "borough_name",
    "supplier_name",
    "system_name",
    "created_at",
    "updated_at",
    "version",
    // Provenance: only `citytools sync` sets it.
    "retrieved_at",
    "sync_run_id",
];

/// Reads and checks a contract body: every failing field in one 422.
pub fn check(conn: &mut PgConnection, form: ContractInput) -> Result<ContractWrite, FormError> {
    let mut f = Fields::new(form.unknown, READ_ONLY);
    let borough = f.required_text("borough_id", form.borough_id);
    let supplier_id = f.required_slug("supplier_id", form.supplier_id);
    let system_id = f.optional_slug("system_id", form.system_id);
    let service_area_ids = f.slug_list("service_area_ids", form.service_area_ids, true);
    let title = f.required_text("title", form.title);
    let start_date = f.optional_date("start_date", form.start_date);
    let end_date = f.optional_date("end_date", form.end_date);
    let max_end_date = f.optional_date("max_end_date", form.max_end_date);
    let annual_value_gbp = f.optional_money("annual_value_gbp", form.annual_value_gbp);
    let total_value_gbp = f.optional_money("total_value_gbp", form.total_value_gbp);
    let hosting = f.choice("hosting", form.hosting, Some(Hosting::Unknown));
    let procurement_route = f.choice(
        "procurement_route",
        form.procurement_route,
        Some(ProcurementRoute::Unknown),
    );
    let framework_name = f.optional_text("framework_name", form.framework_name);
    let data_access = f.choice("data_access", form.data_access, Some(DataAccess::Unknown));
    let source = f.choice("source", form.source, Some(Source::Manual));
    let source_reference = f.optional_text("source_reference", form.source_reference);
    let source_url = f.optional_url("source_url", form.source_url);
    let satisfaction = f.optional_rating("satisfaction", form.satisfaction);
    let value_for_money = f.optional_rating("value_for_money", form.value_for_money);
    let support_confidence = f.optional_rating("support_confidence", form.support_confidence);
    let development_confidence =
        f.optional_rating("development_confidence", form.development_confidence);
    let notes = f.optional_text("notes", form.notes);

    if let (Some(start), Some(end)) = (start_date, end_date) {
        if end < start {
            f.error("end_date", format!("{end} is before start_date {start}"));
        }
    }
    if let (Some(end), Some(max_end)) = (end_date, max_end_date) {
        if max_end < end {
            f.error(
                "max_end_date",
                format!("{max_end} is before end_date {end}"),
            );
        }
    } else if let (Some(start), Some(max_end)) = (start_date, max_end_date) {
        if max_end < start {
            f.error(
                "max_end_date",
                format!("{max_end} is before start_date {start}"),
            );
        }
    }
    let borough_id = match &borough {
        Some(given) => {
            let slug = query::borough_slug(conn, given)?;
            if slug.is_none() {
                f.error("borough_id", format!("unknown borough {given:?}"));
            }
            slug
        }
        None => None,
    };
    if let Some(id) = &supplier_id {
        query::check_reference(
            conn,
            "suppliers",
            "supplier_id",
            "supplier",
            id,
            &mut f.errors,
        )?;
    }
    if let Some(id) = &system_id {
        query::check_reference(conn, "systems", "system_id", "system", id, &mut f.errors)?;
    }
    query::check_areas(conn, "service_area_ids", &service_area_ids, &mut f.errors)?;
    f.finish()?;

    // Every field parsed when finish() found no error.
    let missing = || FormError::Missing("a checked contract field is missing");
    Ok(ContractWrite {
        contract: NewContract {
            borough_id: borough_id.ok_or_else(missing)?,
            supplier_id: supplier_id.ok_or_else(missing)?,
            system_id,
            title: title.ok_or_else(missing)?,
            start_date,
            end_date,
            max_end_date,
            annual_value_gbp,
            total_value_gbp,
            hosting: hosting.ok_or_else(missing)?.as_str().to_owned(),
            procurement_route: procurement_route.ok_or_else(missing)?.as_str().to_owned(),
            framework_name,
            data_access: data_access.ok_or_else(missing)?.as_str().to_owned(),
            source: source.ok_or_else(missing)?.as_str().to_owned(),
            source_reference,
            source_url,
            satisfaction,
            value_for_money,
            support_confidence,
            development_confidence,
            notes,
        },
        service_area_ids,
    })
}
