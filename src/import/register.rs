//! Local Government Transparency Code contract registers (CSV), as councils publish them: the
//! headers vary ("Supplier Name", "Supplier", "Vendor"; "End Date", "Contract End Date", "Expiry
//! Date"; ...), and so do dates and money. The borough is given with the import.
//!
//! Contracts are keyed on `register:{borough}:{reference}:{supplier}` when the register has a
//! reference column (a reference is often shared by the several suppliers of one contract), and
//! otherwise on `register:{borough}:{hash}`, a hash of the supplier, title and start date.

use sha2::{Digest, Sha256};

use super::classify::{cpv_codes, Signals};
use super::columns::{key, missing_columns, Column, Columns};
use super::draft::{open_data, procurement_route, Context, Draft, Parsed, Provided, RowCheck};
use super::normalize;
use super::source::{self, FileError, FileErrorKind};
use super::suppliers::SupplierFacts;
use crate::models::{NewContract, ProcurementRoute};

fn has_any(key: &str, words: &[&str]) -> bool {
    words.iter().any(|w| key.contains(w))
}

/// The columns a register may have; a header matches a name exactly (case and punctuation
/// aside), or else the column's rule.
pub const COLUMNS: &[Column] = &[
    Column::new(
        "reference",
        &[
            "Reference",
            "Contract Reference",
            "Contract Ref",
            "Reference Number",
            "Ref",
            "Ref No",
            "Contract ID",
            "Contract Number",
            "Contract No",
            "Unique Reference",
            "Contract Reference Number",
            "Our Reference",
            "Internal Reference",
        ],
    )
    .or_like(|k| {
        (k.contains("ref") || k.ends_with("id"))
            && k.contains("contract")
            && !has_any(k, &["supplier", "vat", "company"])
    }),
    Column::new(
        "title",
        &[
            "Title",
            "Contract Title",
            "Contract Name",
            "Title of Agreement",
            "Subject",
            "Contract",
            "Name of Contract",
            "Agreement Title",
            "Project Title",
        ],
    )
    .or_like(|k| k.contains("title")),
    Column::new(
        "description",
        &[
            "Description",
            "Contract Description",
            "Description of Goods and Services",
            "Description of Contract",
            "Details",
            "Purpose",
            "Goods and Services",
        ],
    )
    .or_like(|k| k.contains("description")),
    Column::new(
        "supplier",
        &[
            "Supplier Name",
            "Supplier",
            "Vendor",
            "Vendor Name",
            "Contractor",
            "Contractor Name",
            "Provider",
            "Provider Name",
            "Supplier(s)",
            "Awarded To",
            "Name of Supplier",
            "Supplier Trading Name",
        ],
    )
    .or_like(|k| {
        has_any(k, &["supplier", "vendor", "contractor", "provider"])
            && !has_any(
                k,
                &[
                    "number",
                    "id",
                    "ref",
                    "code",
                    "postcode",
                    "address",
                    "sme",
                    "vat",
                    "type",
                    "status",
                    "charity",
                    "registration",
                    "company",
                    "contact",
                    "email",
                    "phone",
                    "vcse",
                    "size",
                ],
            )
    }),
    Column::new(
        "companies_house_number",
        &[
            "Companies House Number",
            "Company Number",
            "Company Registration Number",
            "Supplier Company Number",
            "Registered Company Number",
            "Supplier Companies House Number",
            "Company Reg No",
        ],
    )
    .or_like(|k| k.contains("compan") && has_any(k, &["number", "no", "reg"])),
    Column::new(
        "sme",
        &[
            "SME",
            "Is SME",
            "SME Status",
            "Supplier SME",
            "SME Supplier",
            "Small or Medium Enterprise",
        ],
    )
    .or_like(|k| k.starts_with("sme") || k.contains("issme") || k.contains("smeflag")),
    Column::new(
        "start_date",
        &[
            "Start Date",
            "Contract Start Date",
            "Commencement Date",
            "Start",
            "Contract Start",
            "Date of Commencement",
            "Effective Date",
        ],
    )
    .or_like(|k| has_any(k, &["start", "commence"])),
    Column::new(
        "max_end_date",
        &[
            "Max End Date",
            "Maximum End Date",
            "End Date Including Extensions",
            "Latest End Date",
            "Extended End Date",
            "Final End Date",
            "Expiry Date Including Extensions",
            "End Date with Extensions",
            "Maximum Expiry Date",
            "Latest Possible End Date",
        ],
    )
    .or_like(|k| {
        has_any(k, &["end", "expir"])
            && has_any(k, &["extension", "max", "latest", "final", "includ"])
    }),
    Column::new(
        "end_date",
        &[
            "End Date",
            "Contract End Date",
            "Expiry Date",
            "End",
            "Contract End",
            "Contract Expiry Date",
            "Expiry",
            "Contract Expiry",
            "Termination Date",
        ],
    )
    .or_like(|k| {
        has_any(k, &["enddate", "expir"])
            && !has_any(
                k,
                &[
                    "extension",
                    "max",
                    "latest",
                    "final",
                    "includ",
                    "notice",
                    "review",
                ],
            )
    }),
    Column::new(
        "annual_value",
        &[
            "Annual Value",
            "Annual Contract Value",
            "Value Per Annum",
            "Estimated Annual Value",
            "Yearly Value",
            "Annual Spend",
            "Value per Year",
        ],
    )
    .or_like(|k| {
        has_any(k, &["value", "spend", "cost", "amount"])
            && has_any(k, &["annual", "perannum", "yearly", "peryear"])
    }),
    Column::new(
        "total_value",
        &[
            "Value",
            "Total Contract Value",
            "Estimated Value",
            "Contract Value",
            "Total Value",
            "Estimated Total Value",
            "Estimated Contract Value",
            "Value of Contract",
            "Whole Life Value",
            "Total Estimated Value",
            "Lifetime Value",
        ],
    )
    .or_like(|k| {
        k.contains("value") && !has_any(k, &["annual", "perannum", "yearly", "vatamount"])
    }),
    Column::new("cpv", &["CPV", "CPV Code", "CPV Codes", "CPV Code(s)"])
        .or_like(|k| k.contains("cpv")),
    Column::new(
        "procurement_route",
        &[
            "Procurement Route",
            "Procurement Procedure",
            "Procedure",
            "Route to Market",
            "Procurement Method",
            "Procurement Type",
            "Procedure Type",
            "Award Procedure",
        ],
    )
    .or_like(|k| has_any(k, &["procedure", "route"])),
    Column::new(
        "framework_name",
        &[
            "Framework",
            "Framework Name",
            "Framework Agreement",
            "Framework Used",
        ],
    )
    .or_like(|k| k.contains("framework")),
    Column::new(
        "category",
        &[
            "Category",
            "Department",
            "Directorate",
            "Service Area",
            "Service",
            "Contract Category",
            "Procurement Category",
            "Business Unit",
            "Responsible Department",
            "Commodity",
        ],
    )
    .or_like(|k| has_any(k, &["category", "department", "directorate", "commodity"])),
    Column::new("system", &["System", "System Name", "Product", "Software"]),
    Column::new(
        "source_url",
        &["URL", "Link", "Contract URL", "Web Link", "Notice URL"],
    ),
];

/// A register's SME column as a flag: "Yes", "Y", "SME", "True" or "No", "N", "Large", "False".
fn sme_flag(text: &str) -> Option<bool> {
    match key(text).as_str() {
        "yes" | "y" | "sme" | "true" | "1" | "small" | "medium" | "micro" => Some(true),
        "no" | "n" | "false" | "0" | "large" | "nonsme" => Some(false),
        _ => None,
    }
}

/// Reads a council's contract register for `ctx.borough`.
pub fn read(bytes: &[u8], ctx: &mut Context) -> Result<Parsed, FileError> {
    let table = source::csv_table(bytes)?;
    let columns = Columns::find(&table.headers, COLUMNS)?;
    let borough = ctx.borough.clone().ok_or_else(|| {
        FileError::new(
            FileErrorKind::Invalid,
            "a contract register needs the borough it belongs to (--borough, or borough= over HTTP)",
        )
    })?;
    if !columns.has("supplier") || !(columns.has("title") || columns.has("description")) {
        let mut missing = Vec::new();
        if !columns.has("supplier") {
            missing.push("supplier (a column named \"Supplier Name\", \"Supplier\", \"Vendor\", \"Contractor\" or \"Provider\")");
        }
        if !(columns.has("title") || columns.has("description")) {
            missing.push("title (a column named \"Title\", \"Contract Title\", \"Contract Name\" or \"Description\")");
        }
        return Err(missing_columns(&missing, &table.headers));
    }
    let provided = Provided {
        system: false,
        start_date: columns.has("start_date"),
        end_date: columns.has("end_date"),
        max_end_date: columns.has("max_end_date"),
        annual_value: columns.has("annual_value"),
        total_value: columns.has("total_value"),
        procurement_route: columns.has("procurement_route") || columns.has("framework_name"),
        framework_name: columns.has("framework_name"),
        source_url: columns.has("source_url"),
        ..Provided::default()
    };
    let mut parsed = Parsed::for_table(table.rows.len(), columns.used.clone());
    for (row, record) in &table.rows {
        let cell = |field: &str| columns.get(record, field);
        let title = match cell("title") {
            "" => cell("description"),
            title => title,
        };
        let supplier_name = cell("supplier");
        let facts = SupplierFacts {
            companies_house_number: SupplierFacts::companies_house(cell("companies_house_number")),
            sme: sme_flag(cell("sme")),
        };
        let known = ctx.suppliers.find(supplier_name, &facts).map(str::to_owned);
        let cpv = cpv_codes(cell("cpv"));
        let context = format!("{} {}", cell("category"), cell("system"));
        let named_system = ctx.catalogue.system(cell("system")).map(str::to_owned);
        let class = ctx.catalogue.classify(&Signals {
            title,
            context: &context,
            cpv: &cpv,
            supplier_id: known.as_deref(),
            supplier_is_software: known
                .as_deref()
                .is_some_and(|id| ctx.suppliers.is_software(id)),
            system_id: named_system.as_deref(),
        });
        if let Some(reason) = ctx.rejects(&class) {
            parsed.skip(reason);
            continue;
        }
        let mut check = RowCheck::new(*row);
        let title = check.required(
            if columns.has("title") {
                "title"
            } else {
                "description"
            },
            title,
        );
        let supplier = check.required("supplier", supplier_name).and_then(|name| {
            match ctx.suppliers.resolve(name, &facts, *row) {
                Some(matched) => Some(matched.id),
                None => {
                    check.error("supplier", name, "has no letters or digits");
                    None
                }
            }
        });
        let (start, end, max_end) = check.contract_dates(cell);
        let annual = check.money("annual_value", cell("annual_value"));
        let total = check.money("total_value", cell("total_value"));
        let framework = Some(cell("framework_name").to_owned()).filter(|f| !f.is_empty());
        let route = match procurement_route(cell("procurement_route")) {
            ProcurementRoute::Unknown if framework.is_some() => ProcurementRoute::Framework,
            route => route,
        };
        let url = match cell("source_url") {
            "" => None,
            text => check.url("source_url", text),
        };
        let (Some(title), Some(supplier_id)) = (title, supplier) else {
            parsed.add(check, Vec::new());
            continue;
        };
        let reference = match cell("reference") {
            "" => {
                let mut hash = Sha256::new();
                for part in [
                    normalize::supplier_name(supplier_name),
                    normalize::words(title),
                    start.map(|d| d.to_string()).unwrap_or_default(),
                ] {
                    hash.update(part.as_bytes());
                    hash.update([0]);
                }
                format!("register:{borough}:{}", &hex::encode(hash.finalize())[..16])
            }
            reference => format!(
                "register:{borough}:{reference}:{}",
                normalize::slug(&normalize::supplier_name(supplier_name))
            ),
        };
        let draft = Draft {
            row: *row,
            contract: NewContract {
                system_id: class.system_id.clone(),
                start_date: start,
                end_date: end,
                max_end_date: max_end,
                annual_value_gbp: annual,
                total_value_gbp: total,
                framework_name: framework,
                source_url: url,
                ..open_data(borough.clone(), supplier_id, title, route, reference)
            },
            service_area_ids: sorted(class.areas),
            provided: Provided {
                system: class.system_id.is_some(),
                ..provided
            },
        };
        parsed.add(check, vec![draft]);
    }
    Ok(parsed)
}

/// Service areas in a stable order.
pub fn sorted(mut areas: Vec<String>) -> Vec<String> {
    areas.sort();
    areas.dedup();
    areas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_real_registers_match() {
        let headers: Vec<String> = [
            "Contract Ref",
            "Title of Agreement",
            "Vendor",
            "Supplier Company Number",
            "Commencement Date",
            "Expiry Date",
            "Expiry Date Including Extensions",
            "Estimated Annual Value",
            "Total Contract Value (£)",
            "Department",
            "SME Status",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        let columns = Columns::find(&headers, COLUMNS).unwrap();
        let fields: Vec<&str> = columns.used.iter().map(|u| u.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "reference",
                "title",
                "supplier",
                "companies_house_number",
                "start_date",
                "end_date",
                "max_end_date",
                "annual_value",
                "total_value",
                "category",
                "sme"
            ]
        );
    }

    #[test]
    fn sme_flags() {
        assert_eq!(sme_flag("Yes"), Some(true));
        assert_eq!(sme_flag("Non-SME"), Some(false));
        assert_eq!(sme_flag(""), None);
    }
}
