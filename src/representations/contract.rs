//! A contract as the API shows it (assessment fields only for callers with a key), and its
//! current representation.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::models::{DataAccess, Hosting, ProcurementRoute, Source};
use crate::queries::contracts::{self, ContractRecord};

/// A borough's own view of a contract, from the survey. Shown only to callers with an API key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assessment {
    /// Satisfaction with the system, 1 (very poor) to 5 (very good).
    #[schema(minimum = 1, maximum = 5, example = 4)]
    pub satisfaction: Option<i16>,
    /// Value for money, 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 3)]
    pub value_for_money: Option<i16>,
    /// Confidence in supporting the system in house, 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 4)]
    pub support_confidence: Option<i16>,
    /// Confidence in developing the system in house, 1 to 5.
    #[schema(minimum = 1, maximum = 5, example = 2)]
    pub development_confidence: Option<i16>,
    /// Free-text remarks from the borough.
    pub notes: Option<String>,
}

/// Fields that only callers with an API key see.
pub const ASSESSMENT_FIELDS: &[&str] = &[
    "satisfaction",
    "value_for_money",
    "support_confidence",
    "development_confidence",
    "notes",
];

/// A contract: one borough's use of one system (or service) from one supplier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contract {
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = "camden")]
    pub borough_id: String,
    #[schema(example = "Camden")]
    pub borough_name: String,
    /// Who holds the contract: may be a reseller, not the system's vendor.
    #[schema(example = "civica")]
    pub supplier_id: String,
    #[schema(example = "Civica")]
    pub supplier_name: String,
    #[schema(example = "civica-openrevenues")]
    pub system_id: Option<String>,
    #[schema(example = "Civica OpenRevenues")]
    pub system_name: Option<String>,
    /// The service areas the contract covers (never groups).
    #[schema(example = json!(["council-tax", "business-rates"]))]
    pub service_area_ids: Vec<String>,
    #[schema(example = "Revenues and benefits system licence, support and maintenance")]
    pub title: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// The end date with every extension option taken (OCDS `maxExtentDate`).
    pub max_end_date: Option<NaiveDate>,
    /// Pounds and pence per year, as an exact decimal string.
    #[schema(example = "125000.00", pattern = r"^\d+\.\d{2}$")]
    pub annual_value_gbp: Option<String>,
    /// Pounds and pence over the whole contract, as an exact decimal string.
    #[schema(example = "625000.00", pattern = r"^\d+\.\d{2}$")]
    pub total_value_gbp: Option<String>,
    #[schema(value_type = Hosting)]
    pub hosting: String,
    #[schema(value_type = ProcurementRoute)]
    pub procurement_route: String,
    /// The framework used, when procurement_route is `framework`.
    #[schema(example = "G-Cloud 14")]
    pub framework_name: Option<String>,
    #[schema(value_type = DataAccess)]
    pub data_access: String,
    #[schema(value_type = Source)]
    pub source: String,
    /// The record's identifier in its source.
    #[schema(example = "ILL-0042")]
    pub source_reference: Option<String>,
    pub source_url: Option<String>,
    /// When `citytools sync` read the values stored from a public source (Contracts Finder or
    /// Find a Tender); null when no sync wrote them (seeded, surveyed, imported from a file or
    /// written through the API). A later sync that finds the same values leaves it as it is.
    pub retrieved_at: Option<DateTime<Utc>>,
    /// The sync run that wrote the values stored; null when no sync wrote them.
    #[schema(example = json!(null))]
    pub sync_run_id: Option<i64>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes on every write.
    #[schema(example = 1)]
    pub version: i32,
}

/// Money as an exact string with pence: always two decimal places (`"0.00"`, never `"0"`),
/// never in exponent notation.
pub fn money(value: Option<bigdecimal::BigDecimal>) -> Option<String> {
    value.map(|v| {
        // The digits of the amount in pence; `BigDecimal`'s own Display drops the scale of zero.
        let (pence, _) = v
            .with_scale_round(2, bigdecimal::RoundingMode::HalfEven)
            .into_bigint_and_exponent();
        let sign = if pence.sign() == bigdecimal::num_bigint::Sign::Minus {
            "-"
        } else {
            ""
        };
        let digits = format!("{:0>3}", pence.magnitude());
        let (pounds, pence) = digits.split_at(digits.len() - 2);
        format!("{sign}{pounds}.{pence}")
    })
}

/// A contract as a CSV row: its fields, and the names of its service areas beside their ids.
#[derive(Debug, Serialize)]
pub struct ContractRow {
    #[serde(flatten)]
    pub contract: Contract,
    /// In the order of `service_area_ids`.
    pub service_area_names: Vec<String>,
}

impl Contract {
    /// The contract as a CSV row, its service areas named from `names` (an id without a name
    /// stands for itself).
    pub fn row(self, names: &std::collections::HashMap<String, String>) -> ContractRow {
        let service_area_names = self
            .service_area_ids
            .iter()
            .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
            .collect();
        ContractRow {
            contract: self,
            service_area_names,
        }
    }

    /// The contract as a caller sees it: assessment fields only for callers with a key.
    pub fn view(record: ContractRecord, sees_assessments: bool) -> Contract {
        let c = record.contract;
        let assessment = sees_assessments.then_some(Assessment {
            satisfaction: c.form.satisfaction,
            value_for_money: c.form.value_for_money,
            support_confidence: c.form.support_confidence,
            development_confidence: c.form.development_confidence,
            notes: c.form.notes,
        });
        Contract {
            id: c.id,
            borough_id: c.form.borough_id,
            borough_name: record.borough_name,
            supplier_id: c.form.supplier_id,
            supplier_name: record.supplier_name,
            system_id: c.form.system_id,
            system_name: record.system_name,
            service_area_ids: record.service_area_ids,
            title: c.form.title,
            start_date: c.form.start_date,
            end_date: c.form.end_date,
            max_end_date: c.form.max_end_date,
            annual_value_gbp: money(c.form.annual_value_gbp),
            total_value_gbp: money(c.form.total_value_gbp),
            hosting: c.form.hosting,
            procurement_route: c.form.procurement_route,
            framework_name: c.form.framework_name,
            data_access: c.form.data_access,
            source: c.form.source,
            source_reference: c.form.source_reference,
            source_url: c.form.source_url,
            retrieved_at: c.retrieved_at,
            sync_run_id: c.sync_run_id,
            assessment,
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }

    /// CSV columns, in order, for a caller who may or may not see assessments.
    pub fn csv_columns(sees_assessments: bool) -> Vec<&'static str> {
        const COLUMNS: &[&str] = &[
            "id",
            "borough_id",
            "borough_name",
            "supplier_id",
            "supplier_name",
            "system_id",
            "system_name",
            "service_area_ids",
            "service_area_names",
            "title",
            "start_date",
            "end_date",
            "max_end_date",
            "annual_value_gbp",
            "total_value_gbp",
            "hosting",
            "procurement_route",
            "framework_name",
            "data_access",
            "source",
            "source_reference",
            "source_url",
            "created_at",
            "updated_at",
            "version",
            // Last, so that a caller with a key gets the anonymous columns in the same places
            // with these after them: a sheet built without a key keeps working with one.
            "satisfaction",
            "value_for_money",
            "support_confidence",
            "development_confidence",
            "notes",
        ];
        COLUMNS
            .iter()
            .copied()
            .filter(|c| sees_assessments || !ASSESSMENT_FIELDS.contains(c))
            .collect()
    }
}

/// The current representation of contract `id` (assessments included), as writes return it and
/// the change log keeps it; None when there is no such contract.
pub fn current(conn: &mut PgConnection, id: i64) -> QueryResult<Option<serde_json::Value>> {
    Ok(contracts::find(conn, id)?.map(|record| super::to_json(&Contract::view(record, true))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn a_keyed_callers_csv_columns_are_the_anonymous_ones_then_the_assessments() {
        let anonymous = Contract::csv_columns(false);
        let keyed = Contract::csv_columns(true);
        assert_eq!(&keyed[..anonymous.len()], &anonymous[..]);
        assert_eq!(&keyed[anonymous.len()..], ASSESSMENT_FIELDS);
    }

    fn shown(text: &str) -> String {
        money(Some(bigdecimal::BigDecimal::from_str(text).unwrap())).unwrap()
    }

    #[test]
    fn money_always_has_pence() {
        assert_eq!(shown("0"), "0.00");
        assert_eq!(shown("0.00"), "0.00");
        assert_eq!(shown("0.5"), "0.50");
        assert_eq!(shown("0.01"), "0.01");
        assert_eq!(shown("7"), "7.00");
        assert_eq!(shown("125000"), "125000.00");
        assert_eq!(shown("1234.565"), "1234.56");
        assert_eq!(shown("999999999999.99"), "999999999999.99");
        assert_eq!(shown("100000000000000000000"), "100000000000000000000.00");
        assert_eq!(shown("-12.3"), "-12.30");
        assert_eq!(money(None), None);
    }
}
