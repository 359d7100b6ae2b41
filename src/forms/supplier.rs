//! A supplier as written with `POST`, `PUT` and `PATCH`: its form and its checks.

use diesel::PgConnection;

use super::{Fields, FormError};
use crate::models;
use crate::normalize;
use crate::queries::suppliers::{self as query, SupplierWrite};

super::form! {
    /// A supplier as written with `POST`, `PUT` and `PATCH` (admin keys only). Read-only fields
    /// (timestamps, `version`) may be sent back as read and are ignored.
    #[schema(example = json!({
        "id": "liquidlogic",
        "name": "Liquidlogic",
        "aliases": ["Liquidlogic Ltd", "Liquidlogic Limited", "Liquid Logic"],
        "companies_house_number": "04006349",
        "website": "https://www.liquidlogic.co.uk",
        "sme": false
    }))]
    SupplierInput, "a supplier", patch SupplierPatch, replacement SupplierReplacement "a supplier" {
        /// Slug; required when creating, and fixed afterwards.
        #[schema(value_type = String)]
        id,
        #[schema(value_type = String)]
        name,
        /// Other spellings of the name; the whole set is replaced (absent or null means none). An
        /// alias that normalizes (case, punctuation, legal suffix) to another supplier's alias is a
        /// 409; one that normalizes to an earlier alias in the list is dropped.
        #[schema(value_type = Option<Vec<String>>)]
        aliases,
        /// Eight letters or digits, such as 04006349; stored upper-case.
        #[schema(value_type = Option<String>)]
        companies_house_number,
        /// An http or https URL.
        #[schema(value_type = Option<String>)]
        website,
        /// Whether the supplier is a small or medium-sized enterprise; null when not known.
        #[schema(value_type = Option<bool>)]
        sme,
    }
}

const READ_ONLY: &[&str] = &["created_at", "updated_at", "version"];

/// Reads and checks a supplier body: every failing field in one 422, then a 409 for an alias
/// that already belongs to another supplier. `one_per_form` drops an alias that normalizes like
/// an earlier one; it is off when a merge patch leaves the stored aliases as they are.
pub fn check(
    conn: &mut PgConnection,
    form: SupplierInput,
    one_per_form: bool,
) -> Result<SupplierWrite, FormError> {
    let mut f = Fields::new(form.unknown, READ_ONLY);
    let id = f.required_slug("id", form.id);
    let name = f.required_text("name", form.name);
    let given_aliases = f.text_list("aliases", form.aliases);
    let companies_house_number = f
        .optional_text("companies_house_number", form.companies_house_number)
        .map(|number| number.to_uppercase());
    if let Some(number) = &companies_house_number {
        let valid = number.len() == 8
            && number
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid {
            f.error(
                "companies_house_number",
                format!("{number:?} is not a Companies House number: eight letters or digits, such as 04006349"),
            );
        }
    }
    let website = f.optional_url("website", form.website);
    let sme = f.optional_bool("sme", form.sme);

    // One alias per normalized form: the first spelling given is kept.
    let mut aliases: Vec<(String, String)> = Vec::with_capacity(given_aliases.len());
    for alias in given_aliases {
        let normalized = normalize::supplier_name(&alias);
        if normalized.is_empty() {
            f.error("aliases", format!("{alias:?} has no letters or digits"));
        } else if !one_per_form || !aliases.iter().any(|(_, seen)| *seen == normalized) {
            aliases.push((alias, normalized));
        }
    }
    f.finish()?;
    let missing = || FormError::Missing("a checked supplier field is missing");
    let id = id.ok_or_else(missing)?;

    query::lock_aliases(conn)?;
    for (alias, normalized) in &aliases {
        if let Some((owner, spelling)) = query::alias_owner(conn, &id, alias, normalized)? {
            let matching = if spelling == *alias {
                String::new()
            } else {
                format!(" as {spelling:?} (the same name once case, punctuation and legal suffixes are ignored)")
            };
            return Err(FormError::Conflict(format!(
                "alias {alias:?} already belongs to supplier {owner:?}{matching}; remove it there first"
            )));
        }
    }
    Ok(SupplierWrite {
        supplier: models::NewSupplier {
            id: id.clone(),
            name: name.ok_or_else(missing)?,
            companies_house_number,
            website,
            sme,
        },
        aliases: aliases
            .into_iter()
            .map(|(alias, normalized)| models::SupplierAlias {
                supplier_id: id.clone(),
                alias,
                normalized,
            })
            .collect(),
    })
}
