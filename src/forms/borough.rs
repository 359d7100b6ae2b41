//! A borough as written with `POST`, `PUT` and `PATCH`: its form and its checks.

use super::{Fields, FormError};
use crate::models::{self, BoroughKind};

super::form! {
    /// A borough as written with `POST`, `PUT` and `PATCH` (admin keys only). Read-only fields
    /// (timestamps, `version`) may be sent back as read and are ignored.
    #[schema(example = json!({
        "id": "camden",
        "gss_code": "E09000007",
        "name": "Camden",
        "official_name": "London Borough of Camden",
        "kind": "london_borough",
        "inner_london_statutory": true,
        "inner_london_ons": true,
        "surveyed": true,
        "website": "https://www.camden.gov.uk"
    }))]
    BoroughInput, "a borough", patch BoroughPatch, replacement BoroughReplacement "a borough" {
        /// Slug; required when creating, and fixed afterwards.
        #[schema(value_type = String)]
        id,
        /// Unique ONS GSS code, such as E09000007.
        #[schema(value_type = String)]
        gss_code,
        #[schema(value_type = String)]
        name,
        #[schema(value_type = String)]
        official_name,
        #[schema(value_type = BoroughKind)]
        kind,
        #[schema(value_type = bool)]
        inner_london_statutory,
        #[schema(value_type = bool)]
        inner_london_ons,
        /// Set when the borough answered the City Tools survey (default false). Seeded values are
        /// invented (they mark the boroughs the illustrative contracts rate), so set it from
        /// the borough's own answer, not from them.
        #[schema(value_type = Option<bool>)]
        surveyed,
        /// An http or https URL.
        #[schema(value_type = Option<String>)]
        website,
    }
}

const READ_ONLY: &[&str] = &["created_at", "updated_at", "version"];

pub fn check(form: BoroughInput) -> Result<models::NewBorough, FormError> {
    let mut f = Fields::new(form.unknown, READ_ONLY);
    let id = f.required_slug("id", form.id);
    let gss_code = f
        .required_text("gss_code", form.gss_code)
        .map(|code| code.to_uppercase());
    if let Some(code) = &gss_code {
        let valid = code.len() == 9
            && code.starts_with(['E', 'N', 'S', 'W'])
            && code[1..].bytes().all(|b| b.is_ascii_digit());
        if !valid {
            f.error(
                "gss_code",
                format!("{code:?} is not a GSS code such as E09000007"),
            );
        }
    }
    let name = f.required_text("name", form.name);
    let official_name = f.required_text("official_name", form.official_name);
    let kind = f.choice::<BoroughKind>("kind", form.kind, None);
    let inner_london_statutory =
        f.required_bool("inner_london_statutory", form.inner_london_statutory);
    let inner_london_ons = f.required_bool("inner_london_ons", form.inner_london_ons);
    let surveyed = f.optional_bool("surveyed", form.surveyed).unwrap_or(false);
    let website = f.optional_url("website", form.website);
    f.finish()?;
    let missing = || FormError::Missing("a checked borough field is missing");
    Ok(models::NewBorough {
        id: id.ok_or_else(missing)?,
        gss_code: gss_code.ok_or_else(missing)?,
        name: name.ok_or_else(missing)?,
        official_name: official_name.ok_or_else(missing)?,
        kind: kind.ok_or_else(missing)?.as_str().to_owned(),
        inner_london_statutory: inner_london_statutory.ok_or_else(missing)?,
        inner_london_ons: inner_london_ons.ok_or_else(missing)?,
        surveyed,
        website,
    })
}
