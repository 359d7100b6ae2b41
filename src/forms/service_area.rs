//! A service area or group as written with `POST`, `PUT` and `PATCH`: its form and its checks.

use diesel::PgConnection;

use super::{Fields, FormError};
use crate::models;
use crate::queries::service_areas as query;

super::form! {
    /// A service area or group as written with `POST`, `PUT` and `PATCH` (admin keys only).
    /// Read-only fields (timestamps, `version`) may be sent back as read and are ignored.
    #[schema(example = json!({
        "id": "adult-social-care",
        "name": "Adult social care",
        "parent_id": "social-care-and-health",
        "description": "Case management for adult social care assessments, care planning, safeguarding and reviews."
    }))]
    ServiceAreaInput, "a service area", patch ServiceAreaPatch, replacement ServiceAreaReplacement "a service area or group" {
        /// Slug; required when creating, and fixed afterwards.
        #[schema(value_type = String)]
        id,
        #[schema(value_type = String)]
        name,
        /// The group the area belongs to, which must itself be a group; null or absent for a group.
        /// A group with areas under it cannot be given a parent, and an area that systems or
        /// contracts are tagged with cannot become a group.
        #[schema(value_type = Option<String>)]
        parent_id,
        #[schema(value_type = Option<String>)]
        description,
    }
}

const READ_ONLY: &[&str] = &["created_at", "updated_at", "version"];

/// Reads and checks a service-area body: every failing field in one 422. `existing` when the
/// body replaces a stored record, whose areas under it and tags are then checked too.
pub fn check(
    conn: &mut PgConnection,
    form: ServiceAreaInput,
    existing: bool,
) -> Result<models::NewServiceArea, FormError> {
    let mut f = Fields::new(form.unknown, READ_ONLY);
    let id = f.required_slug("id", form.id);
    let name = f.required_text("name", form.name);
    let parent_id = f.optional_slug("parent_id", form.parent_id);
    let description = f.optional_text("description", form.description);

    if let Some(parent) = &parent_id {
        if id.as_ref() == Some(parent) {
            f.error("parent_id", "a service area cannot be its own parent");
        } else {
            match query::find(conn, parent)? {
                None => f.error("parent_id", format!("unknown service area {parent:?}")),
                Some(found) if found.parent_id.is_some() => f.error(
                    "parent_id",
                    format!("{parent:?} is an area, not a group; an area's parent must be a group"),
                ),
                Some(_) => {}
            }
        }
    }
    let parent_ok = !f.errors.iter().any(|e| e.field == "parent_id");
    if let (true, true, Some(id)) = (existing, parent_ok, &id) {
        if parent_id.is_some() {
            let under = query::children(conn, id)?;
            if under > 0 {
                f.error(
                    "parent_id",
                    format!("{id:?} is a group with {under} service areas under it and cannot have a parent"),
                );
            }
        } else {
            let (systems, contracts) = query::tagged(conn, id)?;
            if systems + contracts > 0 {
                f.error(
                    "parent_id",
                    format!(
                        "{id:?} cannot become a group while {systems} systems and {contracts} \
                         contracts are tagged with it; tag them with other areas first"
                    ),
                );
            }
        }
    }
    f.finish()?;
    let missing = || FormError::Missing("a checked service area field is missing");
    Ok(models::NewServiceArea {
        id: id.ok_or_else(missing)?,
        name: name.ok_or_else(missing)?,
        parent_id,
        description,
    })
}
