//! A system as written with `POST`, `PUT` and `PATCH`: its form and its checks.

use diesel::PgConnection;

use super::{Fields, FormError};
use crate::models;
use crate::queries::contracts::{check_areas, check_reference};
use crate::queries::systems::SystemWrite;

super::form! {
    /// A system as written with `POST`, `PUT` and `PATCH` (admin keys only). Read-only fields
    /// (timestamps, `version`) may be sent back as read and are ignored.
    #[schema(example = json!({
        "id": "civica-openrevenues",
        "name": "Civica OpenRevenues",
        "supplier_id": "civica",
        "service_area_ids": ["council-tax", "business-rates", "housing-benefit"],
        "description": "Revenues and benefits system for council tax, business rates and housing benefit administration."
    }))]
    SystemInput, "a system", patch SystemPatch, replacement SystemReplacement "a system" {
        /// Slug; required when creating, and fixed afterwards.
        #[schema(value_type = String)]
        id,
        #[schema(value_type = String)]
        name,
        /// The vendor of the product.
        #[schema(value_type = String)]
        supplier_id,
        /// One or more service areas (areas, not groups); replaces the whole set.
        #[schema(value_type = Vec<String>)]
        service_area_ids,
        #[schema(value_type = Option<String>)]
        description,
    }
}

const READ_ONLY: &[&str] = &["created_at", "updated_at", "version"];

/// Reads and checks a system body: every failing field in one 422.
pub fn check(conn: &mut PgConnection, form: SystemInput) -> Result<SystemWrite, FormError> {
    let mut f = Fields::new(form.unknown, READ_ONLY);
    let id = f.required_slug("id", form.id);
    let name = f.required_text("name", form.name);
    let supplier_id = f.required_slug("supplier_id", form.supplier_id);
    let service_area_ids = f.slug_list("service_area_ids", form.service_area_ids, true);
    let description = f.optional_text("description", form.description);
    if let Some(id) = &supplier_id {
        check_reference(
            conn,
            "suppliers",
            "supplier_id",
            "supplier",
            id,
            &mut f.errors,
        )?;
    }
    check_areas(conn, "service_area_ids", &service_area_ids, &mut f.errors)?;
    f.finish()?;
    let missing = || FormError::Missing("a checked system field is missing");
    Ok(SystemWrite {
        system: models::NewSystem {
            id: id.ok_or_else(missing)?,
            name: name.ok_or_else(missing)?,
            supplier_id: supplier_id.ok_or_else(missing)?,
            description,
        },
        service_area_ids,
    })
}
