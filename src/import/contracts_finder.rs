//! Contracts Finder search exports (CSV): one row per notice, any buyer in the country, with the
//! suppliers of an award packed into one column as
//! `[Name|Address|Ref type|Ref Number|Is SME|Is VCSE][...]`.
//!
//! Each awarded supplier of a London authority's technology notice becomes a contract, keyed on
//! `contracts-finder:{borough}:{notice identifier}`, with `:{supplier}` added when the notice has
//! several suppliers. With several suppliers the notice's value is theirs together, so no value
//! is stored.

use super::classify::{cpv_codes, Signals};
use super::columns::{Column, Columns};
use super::draft::{open_data, procurement_route, Context, Draft, Parsed, Provided, RowCheck};
use super::normalize;
use super::register::sorted;
use super::report::SkipReason;
use super::source::{self, FileError};
use super::suppliers::SupplierFacts;
use crate::models::NewContract;

pub const COLUMNS: &[Column] = &[
    Column::new("notice_identifier", &["Notice Identifier"]).required(),
    Column::new("buyer", &["Organisation Name"]).required(),
    Column::new("title", &["Title"]).required(),
    Column::new("cpv", &["Cpv Codes", "CPV Codes"]),
    Column::new("links", &["Links"]),
    Column::new("notice_start_date", &["Start Date"]),
    Column::new("notice_end_date", &["End Date"]),
    Column::new("awarded_value", &["Awarded Value"]),
    Column::new(
        "suppliers",
        &[
            "Supplier [Name|Address|Ref type|Ref Number|Is SME|Is VCSE]",
            "Supplier",
        ],
    )
    .or_like(|k| k.starts_with("suppliername"))
    .required(),
    Column::new("start_date", &["Contract start date"]),
    Column::new("end_date", &["Contract end date"]),
    Column::new("procedure", &["OJEU Procedure Type", "Procedure Type"]),
];

/// One supplier of the packed column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardedSupplier {
    pub name: String,
    pub facts: SupplierFacts,
}

/// Unpacks `[Name|Address|Ref type|Ref Number|Is SME|Is VCSE][...]`. Addresses may themselves
/// hold `|`: the name is the first field and the last four are the reference and flags.
pub fn unpack_suppliers(cell: &str) -> Vec<AwardedSupplier> {
    let cell = cell.trim();
    let inner = cell
        .strip_prefix('[')
        .map(|c| c.strip_suffix(']').unwrap_or(c))
        .unwrap_or(cell);
    inner
        .split("][")
        .filter_map(|entry| {
            let fields: Vec<&str> = entry.split('|').map(str::trim).collect();
            let name = fields.first().copied().unwrap_or_default();
            if name.is_empty() {
                return None;
            }
            let mut facts = SupplierFacts::default();
            if fields.len() >= 6 {
                let n = fields.len();
                if fields[n - 4] == "COMPANIES_HOUSE" {
                    facts.companies_house_number = SupplierFacts::companies_house(fields[n - 3]);
                }
                facts.sme = match fields[n - 2] {
                    "Yes" => Some(true),
                    "No" => Some(false),
                    _ => None,
                };
            }
            Some(AwardedSupplier {
                name: name.to_owned(),
                facts,
            })
        })
        .collect()
}

pub fn read(bytes: &[u8], ctx: &mut Context) -> Result<Parsed, FileError> {
    let table = source::csv_table(bytes)?;
    let columns = Columns::find(&table.headers, COLUMNS)?;
    let provided = Provided {
        start_date: true,
        end_date: true,
        total_value: true,
        procurement_route: columns.has("procedure"),
        source_url: columns.has("links"),
        ..Provided::default()
    };
    let mut parsed = Parsed::for_table(table.rows.len(), columns.used.clone());
    for (row, record) in &table.rows {
        let cell = |field: &str| columns.get(record, field);
        let Some(borough) = ctx.authorities.by_name(cell("buyer")).map(str::to_owned) else {
            parsed.skip(SkipReason::BuyerOutsideLondon);
            continue;
        };
        if ctx.borough.as_ref().is_some_and(|b| *b != borough) {
            parsed.skip(SkipReason::OtherBorough);
            continue;
        }
        let suppliers = unpack_suppliers(cell("suppliers"));
        if suppliers.is_empty() {
            parsed.skip(SkipReason::NoSupplier);
            continue;
        }
        let title = cell("title");
        let cpv = cpv_codes(cell("cpv"));
        let known: Vec<Option<String>> = suppliers
            .iter()
            .map(|s| ctx.suppliers.find(&s.name, &s.facts).map(str::to_owned))
            .collect();
        let software = known
            .iter()
            .flatten()
            .any(|id| ctx.suppliers.is_software(id));
        let first_known = known.iter().flatten().next().map(String::as_str);
        let class = ctx.catalogue.classify(&Signals {
            title,
            cpv: &cpv,
            supplier_id: first_known,
            supplier_is_software: software,
            ..Signals::default()
        });
        if let Some(reason) = ctx.rejects(&class) {
            parsed.skip(reason);
            continue;
        }

        let mut check = RowCheck::new(*row);
        let notice = check.required("notice_identifier", cell("notice_identifier"));
        let title = check.required("title", title);
        // The contract's own dates; the notice's when the export leaves those out.
        let (start_field, end_field) = (
            if cell("start_date").is_empty() {
                "notice_start_date"
            } else {
                "start_date"
            },
            if cell("end_date").is_empty() {
                "notice_end_date"
            } else {
                "end_date"
            },
        );
        let (start_text, end_text) = (cell(start_field), cell(end_field));
        let start = check.date(start_field, start_text);
        let end = check.date(end_field, end_text);
        check.date_order(start, end, None, [start_field, end_field, ""]);
        let value = check.money("awarded_value", cell("awarded_value"));
        let route = procurement_route(cell("procedure"));
        let url = cell("links")
            .split_whitespace()
            .find(|link| link.starts_with("https://") || link.starts_with("http://"))
            .map(str::to_owned);
        let several = suppliers.len() > 1;
        let mut drafts = Vec::new();
        for supplier in &suppliers {
            let Some(matched) = ctx.suppliers.resolve(&supplier.name, &supplier.facts, *row) else {
                check.error(
                    "suppliers",
                    &supplier.name,
                    "a supplier name has no letters or digits",
                );
                continue;
            };
            let (Some(notice), Some(title)) = (notice, title) else {
                continue;
            };
            let mut reference = format!("contracts-finder:{borough}:{notice}");
            if several {
                reference.push(':');
                reference.push_str(&normalize::slug(&normalize::supplier_name(&supplier.name)));
            }
            drafts.push(Draft {
                row: *row,
                contract: NewContract {
                    system_id: class.system_id.clone(),
                    start_date: start,
                    end_date: end,
                    total_value_gbp: if several { None } else { value.clone() },
                    source_url: url.clone(),
                    ..open_data(borough.clone(), matched.id, title, route, reference)
                },
                service_area_ids: sorted(class.areas.clone()),
                provided: Provided {
                    system: class.system_id.is_some(),
                    ..provided
                },
            });
        }
        parsed.add(check, drafts);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_suppliers_unpack() {
        let cell = "[Secure Healthcare Ltd|Suite One, \nGrand Station|NONE||No|No][ONE HOUSING GROUP LIMITED|100 Chalk Farm Road|COMPANIES_HOUSE|2340210|No|No]";
        let suppliers = unpack_suppliers(cell);
        assert_eq!(suppliers.len(), 2);
        assert_eq!(suppliers[0].name, "Secure Healthcare Ltd");
        assert_eq!(suppliers[0].facts.sme, Some(false));
        assert_eq!(
            suppliers[1].facts.companies_house_number.as_deref(),
            Some("02340210")
        );
    }

    #[test]
    fn pipes_in_addresses_are_kept_out_of_the_flags() {
        let cell = "[WILLIAMS LEA|10 EASTBOURNE TERRACE |  |  | LONDON W2 6LG|NONE||Yes|No]";
        let suppliers = unpack_suppliers(cell);
        assert_eq!(suppliers[0].name, "WILLIAMS LEA");
        assert_eq!(suppliers[0].facts.sme, Some(true));
    }
}
