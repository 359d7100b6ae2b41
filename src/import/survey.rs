//! The City Tools survey template (CSV): one row per system a borough uses, with the borough's
//! own assessment of it. `citytools import --template survey` prints the template.
//!
//! Contracts are keyed on `{borough}:{reference}` when the row has a reference, otherwise on
//! `{borough}:{system}` (the system's id, or its name as a slug), or `{borough}:{supplier}:{title}`
//! when no system is named.

use super::columns::{Column, Columns};
use super::draft::{choice, Context, Draft, Parsed, Provided, RowCheck};
use super::normalize;
use super::report::SkipReason;
use super::source::{self, FileError};
use super::suppliers::SupplierFacts;
use crate::models::{DataAccess, Hosting, NewContract, ProcurementRoute, Source};

/// The template's columns, in order.
pub const COLUMNS: &[Column] = &[
    Column::new(
        "borough",
        &["borough", "borough_id", "council", "authority"],
    )
    .required(),
    Column::new(
        "service_areas",
        &["service_areas", "service_area", "service_area_ids"],
    ),
    Column::new("system", &["system", "system_name", "system_id", "product"]).required(),
    Column::new(
        "supplier",
        &["supplier", "supplier_name", "supplier_id", "vendor"],
    )
    .required(),
    Column::new("contract_title", &["contract_title", "title", "contract"]),
    Column::new("start_date", &["start_date", "contract_start_date"]),
    Column::new("end_date", &["end_date", "contract_end_date"]),
    Column::new(
        "max_end_date",
        &[
            "max_end_date",
            "end_date_with_extensions",
            "maximum_end_date",
        ],
    ),
    Column::new("annual_value_gbp", &["annual_value_gbp", "annual_value"]),
    Column::new("total_value_gbp", &["total_value_gbp", "total_value"]),
    Column::new("hosting", &["hosting"]),
    Column::new("procurement_route", &["procurement_route"]),
    Column::new("framework_name", &["framework_name", "framework"]),
    Column::new("data_access", &["data_access"]),
    Column::new("satisfaction", &["satisfaction"]),
    Column::new("value_for_money", &["value_for_money"]),
    Column::new("support_confidence", &["support_confidence"]),
    Column::new("development_confidence", &["development_confidence"]),
    Column::new("notes", &["notes", "comments"]),
    Column::new("reference", &["reference", "source_reference", "ref"]),
];

/// The `reference` that marks the template's example row, which imports skip.
pub const EXAMPLE_REFERENCE: &str = "example";

/// The template: the header row and one example row (skipped on import).
pub fn template() -> String {
    let example = [
        "Camden",
        "council-tax|business-rates|housing-benefit",
        "Civica OpenRevenues",
        "Civica",
        "Revenues and benefits system licence and support",
        "2024-04-01",
        "2029-03-31",
        "2031-03-31",
        "185000.00",
        "925000.00",
        "supplier_hosted",
        "framework",
        "G-Cloud 14",
        "included",
        "4",
        "3",
        "4",
        "2",
        "Example row: replace it with your own rows (a row whose reference is \"example\" is skipped)",
        EXAMPLE_REFERENCE,
    ];
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(COLUMNS.iter().map(|c| c.field))
        .and_then(|_| writer.write_record(example))
        .expect("writing to memory");
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("UTF-8")
}

/// Reads a survey file.
pub fn read(bytes: &[u8], ctx: &mut Context) -> Result<Parsed, FileError> {
    let table = source::csv_table(bytes)?;
    let columns = Columns::find(&table.headers, COLUMNS)?;
    let provided = Provided {
        system: true,
        start_date: columns.has("start_date"),
        end_date: columns.has("end_date"),
        max_end_date: columns.has("max_end_date"),
        annual_value: columns.has("annual_value_gbp"),
        total_value: columns.has("total_value_gbp"),
        hosting: columns.has("hosting"),
        procurement_route: columns.has("procurement_route"),
        framework_name: columns.has("framework_name"),
        data_access: columns.has("data_access"),
        source_url: false,
        satisfaction: columns.has("satisfaction"),
        value_for_money: columns.has("value_for_money"),
        support_confidence: columns.has("support_confidence"),
        development_confidence: columns.has("development_confidence"),
        notes: columns.has("notes"),
    };
    let mut parsed = Parsed::for_table(table.rows.len(), columns.used.clone());
    for (row, record) in &table.rows {
        let cell = |field: &str| columns.get(record, field);
        if cell("reference").eq_ignore_ascii_case(EXAMPLE_REFERENCE) {
            parsed.skip(SkipReason::TemplateExample);
            continue;
        }
        let mut check = RowCheck::new(*row);
        let draft = read_row(&columns, record, &mut check, ctx, provided);
        parsed.add(check, draft.into_iter().collect());
    }
    Ok(parsed)
}

fn read_row(
    columns: &Columns,
    record: &csv::StringRecord,
    check: &mut RowCheck,
    ctx: &mut Context,
    provided: Provided,
) -> Option<Draft> {
    let cell = |field: &str| columns.get(record, field);
    let borough = match check.required("borough", cell("borough")) {
        Some(given) => match ctx.authorities.resolve(given) {
            Some(id) => Some(id.to_owned()),
            None => {
                check.error("borough", given, "not one of the 33 London authorities (give its id, such as camden, its GSS code or its name)");
                None
            }
        },
        None => None,
    };
    if let (Some(found), Some(wanted)) = (&borough, &ctx.borough) {
        if found != wanted {
            check.error(
                "borough",
                cell("borough"),
                format!("this import is for {wanted} only; the row is {found}'s"),
            );
        }
    }

    let system_text = cell("system");
    let system_id = ctx.catalogue.system(system_text).map(str::to_owned);
    if system_id.is_none() && !system_text.is_empty() {
        check.warn(
            "system",
            system_text,
            "not a system in the catalogue (see /api/v1/systems); the contract is stored without a system",
        );
    }
    let system = system_id
        .as_deref()
        .and_then(|id| ctx.catalogue.system_details(id))
        .map(|(vendor, areas)| (vendor.to_owned(), areas.to_vec()));

    let supplier_text = cell("supplier");
    let supplier_id = if supplier_text.is_empty() {
        match &system {
            Some((vendor, _)) => Some(vendor.clone()),
            None => {
                check.error(
                    "supplier",
                    "",
                    "is required when the system is not one of the catalogue's",
                );
                None
            }
        }
    } else {
        match ctx
            .suppliers
            .resolve(supplier_text, &SupplierFacts::default(), check.row)
        {
            Some(matched) => Some(matched.id),
            None => {
                check.error("supplier", supplier_text, "has no letters or digits");
                None
            }
        }
    };

    let title = match cell("contract_title") {
        "" if !system_text.is_empty() => Some(system_text.to_owned()),
        "" => {
            check.error("contract_title", "", "is required when no system is named");
            None
        }
        title => Some(title.to_owned()),
    };

    let mut areas = Vec::new();
    for given in cell("service_areas")
        .split(['|', ';', ','])
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        match ctx.catalogue.area(given) {
            Some(id) => areas.push(id.to_owned()),
            None if ctx.catalogue.is_group(given) => check.error(
                "service_areas",
                given,
                "is a group of service areas; name the areas under it (see /api/v1/service-areas)",
            ),
            None => check.error(
                "service_areas",
                given,
                "not a service area (see /api/v1/service-areas for ids and names)",
            ),
        }
    }
    if areas.is_empty() && check.errors.iter().all(|e| e.field != "service_areas") {
        if let Some((_, system_areas)) = &system {
            areas = system_areas.clone();
        } else {
            let found = ctx.catalogue.classify(&super::classify::Signals {
                title: title.as_deref().unwrap_or_default(),
                supplier_id: supplier_id.as_deref(),
                supplier_is_software: supplier_id
                    .as_deref()
                    .is_some_and(|s| ctx.suppliers.is_software(s)),
                ..Default::default()
            });
            areas = found.areas;
        }
        if areas.is_empty() {
            check.error(
                "service_areas",
                "",
                "name at least one service area (see /api/v1/service-areas)",
            );
        }
    }
    areas.sort();
    areas.dedup();

    let (start, end, max_end) = check.contract_dates(cell);
    let annual = check.money("annual_value_gbp", cell("annual_value_gbp"));
    let total = check.money("total_value_gbp", cell("total_value_gbp"));
    let hosting = closed::<Hosting>(check, "hosting", cell("hosting"), Hosting::NAMES);
    let route = closed::<ProcurementRoute>(
        check,
        "procurement_route",
        cell("procurement_route"),
        ProcurementRoute::NAMES,
    );
    let data_access =
        closed::<DataAccess>(check, "data_access", cell("data_access"), DataAccess::NAMES);
    let mut rating = |field: &str| {
        let text = cell(field);
        if text.is_empty() {
            return None;
        }
        match text.parse::<f64>() {
            Ok(value) if value.fract() == 0.0 && (1.0..=5.0).contains(&value) => Some(value as i16),
            _ => {
                check.error(field, text, "expected a whole number from 1 to 5");
                None
            }
        }
    };
    let satisfaction = rating("satisfaction");
    let value_for_money = rating("value_for_money");
    let support_confidence = rating("support_confidence");
    let development_confidence = rating("development_confidence");
    let text = |field: &str| Some(cell(field).to_owned()).filter(|t| !t.is_empty());

    let borough = borough?;
    let supplier_id = supplier_id?;
    let title = title?;
    let reference = match cell("reference") {
        "" => match (&system_id, normalize::slug(system_text)) {
            (Some(id), _) => format!("{borough}:{id}"),
            (None, slug) if !slug.is_empty() => format!("{borough}:{slug}"),
            _ => format!("{borough}:{supplier_id}:{}", normalize::slug(&title)),
        },
        reference => format!("{borough}:{reference}"),
    };
    if !check.errors.is_empty() {
        return None;
    }
    Some(Draft {
        row: check.row,
        contract: NewContract {
            borough_id: borough,
            supplier_id,
            system_id,
            title,
            start_date: start,
            end_date: end,
            max_end_date: max_end,
            annual_value_gbp: annual,
            total_value_gbp: total,
            hosting: hosting?.as_str().to_owned(),
            procurement_route: route?.as_str().to_owned(),
            framework_name: text("framework_name"),
            data_access: data_access?.as_str().to_owned(),
            source: Source::Survey.as_str().to_owned(),
            source_reference: Some(reference),
            source_url: None,
            satisfaction,
            value_for_money,
            support_confidence,
            development_confidence,
            notes: text("notes"),
        },
        service_area_ids: areas,
        provided,
    })
}

/// A closed-set cell: blank is `unknown`; anything else must be one of `names` (any case).
fn closed<T: std::str::FromStr>(
    check: &mut RowCheck,
    field: &str,
    text: &str,
    names: &[&str],
) -> Option<T> {
    let text = if text.is_empty() { "unknown" } else { text };
    let value = choice::<T>(text);
    if value.is_none() {
        check.error(field, text, format!("expected one of {}", names.join(", ")));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_every_column_and_an_example() {
        let template = template();
        let mut reader = csv::Reader::from_reader(template.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(headers.len(), COLUMNS.len());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get(COLUMNS.len() - 1), Some(EXAMPLE_REFERENCE));
    }
}
