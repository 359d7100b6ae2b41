//! Contracts and tables in other formats: CSV, XLSX, OCDS 1.1 release packages and RFC 5545
//! calendars. Encoders only: they write query rows and models to any `io::Write`, and know
//! nothing of HTTP or of where the rows come from.

pub mod atom;
pub mod csv;
pub mod ical;
pub mod ocds;
pub mod xlsx;

use crate::models::Contract;

/// Said of every contract with `source = illustrative`, so that none passes for real data.
pub const ILLUSTRATIVE_NOTE: &str =
    "Illustrative: generated for demonstration; not survey data and not a real contract.";

/// Whether a contract was generated for demonstration rather than surveyed.
fn is_illustrative(contract: &Contract) -> bool {
    contract.form.source == "illustrative"
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A contract record for the encoders' tests.

    use std::str::FromStr;

    use bigdecimal::BigDecimal;
    use chrono::{DateTime, NaiveDate, Utc};

    use crate::models::{Contract, NewContract};
    use crate::queries::contracts::ContractRecord;

    /// A date written as `YYYY-MM-DD`.
    pub fn day(text: &str) -> NaiveDate {
        NaiveDate::from_str(text).unwrap()
    }

    /// Contract 42 (version 3), Camden's Civica licence, with assessment fields and notes that
    /// no export may show.
    pub fn record(title: &str) -> ContractRecord {
        let at = DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        ContractRecord {
            contract: Contract {
                id: 42,
                form: NewContract {
                    borough_id: "camden".into(),
                    supplier_id: "civica".into(),
                    system_id: Some("civica-openrevenues".into()),
                    title: title.into(),
                    start_date: Some(day("2022-04-01")),
                    end_date: Some(day("2027-03-31")),
                    max_end_date: Some(day("2029-03-31")),
                    annual_value_gbp: Some(BigDecimal::from_str("125000.10").unwrap()),
                    total_value_gbp: Some(BigDecimal::from_str("625000.5").unwrap()),
                    hosting: "saas".into(),
                    procurement_route: "framework".into(),
                    framework_name: None,
                    data_access: "included".into(),
                    source: "survey".into(),
                    source_reference: None,
                    source_url: None,
                    satisfaction: Some(2),
                    value_for_money: Some(1),
                    support_confidence: None,
                    development_confidence: None,
                    notes: Some("secret remark".into()),
                },
                created_at: at,
                updated_at: at,
                version: 3,
                retrieved_at: None,
                sync_run_id: None,
            },
            service_area_ids: vec!["business-rates".into(), "council-tax".into()],
            borough_name: "Camden".into(),
            supplier_name: "Civica".into(),
            system_name: Some("Civica OpenRevenues".into()),
        }
    }
}
