//! OCDS 1.1: a contract as a release, and release packages written a release at a time, so a
//! package of every contract never has to be held in memory. Assessment fields are never read.

use std::collections::HashMap;
use std::io::{self, Write};

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::{is_illustrative, ILLUSTRATIVE_NOTE};
use crate::models::{Borough, ServiceArea, Supplier};
use crate::queries::contracts::ContractRecord;

/// The licence of exported OCDS packages: the Open Government Licence v3.0, under which UK
/// public bodies publish open data.
pub const OCDS_LICENSE: &str =
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/";
/// The publisher named in exported OCDS packages.
pub const OCDS_PUBLISHER: &str = "City Tools: London";
/// The classification scheme of service areas given as OCDS item classifications.
pub const SERVICE_AREA_SCHEME: &str = "x_citytools_service_area";
/// The identifier scheme of ONS GSS codes (`E09000007`) given as buyers' additional identifiers.
pub const GSS_SCHEME: &str = "x_ons_gss";
/// The org-id.guide scheme of Companies House numbers.
pub const COMPANIES_HOUSE_SCHEME: &str = "GB-COH";

/// An OCDS 1.1 release package of every matching contract (`format=ocds`). It is streamed, so
/// `publishedDate` comes last. It validates against the OCDS 1.1 release-package schema except
/// when no contract matches: `releases` is then empty, where the schema asks for at least one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsReleasePackage {
    /// This package's address: the request's URL.
    #[schema(
        format = "uri",
        example = "https://api.example/api/v1/contracts?borough=camden&format=ocds"
    )]
    pub uri: String,
    /// The OCDS version.
    #[schema(example = "1.1")]
    pub version: &'static str,
    /// The publisher of the data.
    pub publisher: OcdsPublisher,
    /// The data's licence.
    #[schema(
        format = "uri",
        example = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    )]
    pub license: &'static str,
    /// One release per contract.
    pub releases: Vec<OcdsRelease>,
    /// When the newest of the contracts last changed (now, when none matches).
    #[schema(format = DateTime)]
    pub published_date: String,
}

/// The publisher of an OCDS package.
#[derive(Debug, Serialize, ToSchema)]
pub struct OcdsPublisher {
    /// The publisher's name.
    #[schema(example = "City Tools: London")]
    pub name: &'static str,
}

/// An OCDS release: everything known about one contract.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsRelease {
    /// The contracting process: the configured prefix and the contract's id.
    #[schema(example = "ocds-citytools-42")]
    pub ocid: String,
    /// This release: the contract's id and version, so it changes whenever the contract does.
    #[schema(example = "42-3")]
    pub id: String,
    /// When the contract last changed.
    #[schema(format = DateTime)]
    pub date: String,
    /// Always `award` and `contract`.
    pub tag: Vec<&'static str>,
    /// Always `tender`, the only value OCDS 1.1 allows.
    pub initiation_type: &'static str,
    /// The language of the text: `en`.
    pub language: &'static str,
    /// The buyer (the borough) and the supplier.
    pub parties: Vec<OcdsParty>,
    /// The borough.
    pub buyer: OcdsReference,
    /// The award of the contract to its supplier.
    pub awards: Vec<OcdsAward>,
    /// The contract.
    pub contracts: Vec<OcdsContract>,
}

/// An organisation taking part: the buyer or the supplier.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsParty {
    /// `borough-<id>` for buyers; `GB-COH-<number>` for suppliers with a Companies House
    /// number, else `supplier-<id>`.
    #[schema(example = "borough-camden")]
    pub id: String,
    /// The organisation's name.
    #[schema(example = "London Borough of Camden")]
    pub name: String,
    /// The supplier's Companies House number, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier: Option<OcdsIdentifier>,
    /// The buyer's ONS GSS code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_identifiers: Vec<OcdsIdentifier>,
    /// `buyer` or `supplier`.
    pub roles: Vec<&'static str>,
}

/// An organisation's identifier in a register.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsIdentifier {
    /// The register: `GB-COH` (Companies House) or `x_ons_gss` (ONS GSS codes).
    #[schema(example = "x_ons_gss")]
    pub scheme: &'static str,
    /// The identifier in that register.
    #[schema(example = "E09000007")]
    pub id: String,
    /// The organisation's legal name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_name: Option<String>,
}

/// A reference to a party of the release.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsReference {
    /// The party's id in `parties`.
    #[schema(example = "borough-camden")]
    pub id: String,
    /// The party's name.
    #[schema(example = "London Borough of Camden")]
    pub name: String,
}

/// The award of a contract to its supplier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsAward {
    /// The contract's id.
    #[schema(example = "42")]
    pub id: String,
    /// Always `active`: the award was made.
    pub status: &'static str,
    /// The supplier holding the contract.
    pub suppliers: Vec<OcdsReference>,
}

/// A contract, in OCDS terms.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsContract {
    /// The contract's id.
    #[schema(example = "42")]
    pub id: String,
    /// The award's id (the contract's id).
    #[serde(rename = "awardID")]
    #[schema(example = "42")]
    pub award_id: String,
    /// The contract's title.
    pub title: String,
    /// Said of illustrative contracts: they are not real.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `pending` before the start date, `terminated` after the end date, else `active`.
    #[schema(example = "active")]
    pub status: &'static str,
    /// Start, end and latest end with every extension taken.
    pub period: OcdsPeriod,
    /// The total value, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<OcdsValue>,
    /// One item per service area the contract covers.
    pub items: Vec<OcdsItem>,
}

/// A contract's period. Dates are given as times: the start of the first day and the end of the
/// last one, in UTC.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OcdsPeriod {
    /// The start date, at 00:00:00Z.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, example = "2022-04-01T00:00:00Z")]
    pub start_date: Option<String>,
    /// The end date, at 23:59:59Z.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, example = "2027-03-31T23:59:59Z")]
    pub end_date: Option<String>,
    /// The end date with every extension option taken, at 23:59:59Z.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, example = "2029-03-31T23:59:59Z")]
    pub max_extent_date: Option<String>,
}

/// An amount of money.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsValue {
    /// Pounds and pence, written exactly as the stored decimal.
    #[schema(value_type = f64, example = 625000.00)]
    pub amount: Box<RawValue>,
    /// Always `GBP`.
    pub currency: &'static str,
}

/// What a contract covers: one of its service areas.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsItem {
    /// The service area's id.
    #[schema(example = "council-tax")]
    pub id: String,
    /// The service area's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The service area as a classification.
    pub classification: OcdsClassification,
}

/// A service area as an OCDS item classification.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OcdsClassification {
    /// Always `x_citytools_service_area`.
    pub scheme: &'static str,
    /// The service area's id.
    #[schema(example = "council-tax")]
    pub id: String,
    /// The service area's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The service area's address in the API.
    #[schema(format = "uri")]
    pub uri: String,
}

/// A borough as an OCDS buyer.
#[derive(Debug, Clone)]
struct BuyerFacts {
    gss_code: String,
    official_name: String,
}

/// What an OCDS release needs beside the contract: where the API is, the ocid prefix, today's
/// date (for contract statuses) and the registers of boroughs, suppliers and service areas.
#[derive(Debug, Clone)]
pub struct OcdsContext {
    ocid_prefix: String,
    origin: String,
    today: NaiveDate,
    boroughs: HashMap<String, BuyerFacts>,
    /// Companies House numbers by supplier id.
    companies: HashMap<String, String>,
    /// Service-area names by id.
    service_areas: HashMap<String, String>,
}

impl OcdsContext {
    /// A context without registers: parties get the names on the contract and no identifiers.
    pub fn new(ocid_prefix: &str, origin: &str, today: NaiveDate) -> OcdsContext {
        OcdsContext {
            ocid_prefix: ocid_prefix.to_owned(),
            origin: origin.to_owned(),
            today,
            boroughs: HashMap::new(),
            companies: HashMap::new(),
            service_areas: HashMap::new(),
        }
    }

    /// Registers a borough: its buyer gets the official name and the GSS code.
    pub fn add_borough(&mut self, borough: Borough) {
        let facts = BuyerFacts {
            gss_code: borough.gss_code,
            official_name: borough.official_name,
        };
        self.boroughs.insert(borough.id, facts);
    }

    /// Registers a supplier: one with a Companies House number is identified by it.
    pub fn add_supplier(&mut self, supplier: Supplier) {
        if let Some(number) = supplier.companies_house_number {
            self.companies.insert(supplier.id, number);
        }
    }

    /// Registers a service area: its items get its name.
    pub fn add_service_area(&mut self, area: ServiceArea) {
        self.service_areas.insert(area.id, area.name);
    }

    /// The release of one contract. Assessment fields are never read.
    pub fn release(&self, record: &ContractRecord) -> OcdsRelease {
        let contract = &record.contract;
        let id = contract.id.to_string();
        let borough = self.boroughs.get(&contract.form.borough_id);
        let buyer = OcdsReference {
            id: format!("borough-{}", contract.form.borough_id),
            name: borough.map_or_else(|| record.borough_name.clone(), |b| b.official_name.clone()),
        };
        let company = self.companies.get(&contract.form.supplier_id);
        let supplier = OcdsReference {
            id: match company {
                Some(number) => format!("{COMPANIES_HOUSE_SCHEME}-{number}"),
                None => format!("supplier-{}", contract.form.supplier_id),
            },
            name: record.supplier_name.clone(),
        };
        let parties = vec![
            OcdsParty {
                id: buyer.id.clone(),
                name: buyer.name.clone(),
                identifier: None,
                additional_identifiers: borough
                    .map(|b| OcdsIdentifier {
                        scheme: GSS_SCHEME,
                        id: b.gss_code.clone(),
                        legal_name: Some(b.official_name.clone()),
                    })
                    .into_iter()
                    .collect(),
                roles: vec!["buyer"],
            },
            OcdsParty {
                id: supplier.id.clone(),
                name: supplier.name.clone(),
                identifier: company.map(|number| OcdsIdentifier {
                    scheme: COMPANIES_HOUSE_SCHEME,
                    id: number.clone(),
                    legal_name: None,
                }),
                additional_identifiers: Vec::new(),
                roles: vec!["supplier"],
            },
        ];
        OcdsRelease {
            ocid: format!("{}-{id}", self.ocid_prefix),
            id: format!("{id}-{}", contract.version),
            date: timestamp(contract.updated_at),
            tag: vec!["award", "contract"],
            initiation_type: "tender",
            language: "en",
            parties,
            buyer,
            awards: vec![OcdsAward {
                id: id.clone(),
                status: "active",
                suppliers: vec![supplier],
            }],
            contracts: vec![self.contract(record, id)],
        }
    }

    /// The contract of a release, with its period, value and service areas.
    fn contract(&self, record: &ContractRecord, id: String) -> OcdsContract {
        let contract = &record.contract;
        let items = record
            .service_area_ids
            .iter()
            .map(|area| {
                let name = self.service_areas.get(area).cloned();
                OcdsItem {
                    id: area.clone(),
                    description: name.clone(),
                    classification: OcdsClassification {
                        scheme: SERVICE_AREA_SCHEME,
                        id: area.clone(),
                        description: name,
                        uri: format!("{}/api/v1/service-areas/{area}", self.origin),
                    },
                }
            })
            .collect();
        OcdsContract {
            award_id: id.clone(),
            id,
            title: contract.form.title.clone(),
            description: is_illustrative(contract).then(|| ILLUSTRATIVE_NOTE.to_owned()),
            status: contract_status(contract.form.start_date, contract.form.end_date, self.today),
            period: OcdsPeriod {
                start_date: contract.form.start_date.map(start_of_day),
                end_date: contract.form.end_date.map(end_of_day),
                max_extent_date: contract.form.max_end_date.map(end_of_day),
            },
            value: contract
                .form
                .total_value_gbp
                .as_ref()
                .map(pounds)
                .map(|amount| OcdsValue {
                    amount,
                    currency: "GBP",
                }),
            items,
        }
    }
}

/// An amount as a JSON number with exactly two decimal places, written from the stored decimal
/// without passing through a float.
fn pounds(amount: &BigDecimal) -> Box<RawValue> {
    let text = crate::representations::money(Some(amount.clone())).unwrap_or_default();
    RawValue::from_string(text).expect("pounds and pence are a JSON number")
}

/// OCDS contract status on `today`.
fn contract_status(
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    today: NaiveDate,
) -> &'static str {
    match (start, end) {
        (Some(start), _) if start > today => "pending",
        (_, Some(end)) if end < today => "terminated",
        _ => "active",
    }
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn start_of_day(day: NaiveDate) -> String {
    format!("{day}T00:00:00Z")
}

fn end_of_day(day: NaiveDate) -> String {
    format!("{day}T23:59:59Z")
}

/// Writes an [`OcdsReleasePackage`] a release at a time.
pub struct PackageWriter {
    releases: usize,
    newest: Option<DateTime<Utc>>,
}

impl PackageWriter {
    /// Writes everything before the first release.
    pub fn begin(out: &mut impl Write, uri: &str) -> io::Result<PackageWriter> {
        #[derive(Serialize)]
        struct Head<'a> {
            uri: &'a str,
            version: &'static str,
            publisher: OcdsPublisher,
            license: &'static str,
        }
        let mut head = serde_json::to_vec(&Head {
            uri,
            version: "1.1",
            publisher: OcdsPublisher {
                name: OCDS_PUBLISHER,
            },
            license: OCDS_LICENSE,
        })?;
        // Reopen the object to add the releases to it.
        head.pop();
        out.write_all(&head)?;
        out.write_all(b",\"releases\":[")?;
        Ok(PackageWriter {
            releases: 0,
            newest: None,
        })
    }

    /// Writes one release, of a contract last changed at `updated_at`.
    pub fn release(
        &mut self,
        out: &mut impl Write,
        release: &OcdsRelease,
        updated_at: DateTime<Utc>,
    ) -> io::Result<()> {
        if self.releases > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, release)?;
        self.releases += 1;
        self.newest = self.newest.max(Some(updated_at));
        Ok(())
    }

    /// Writes the publication date and closes the package.
    pub fn finish(self, out: &mut impl Write) -> io::Result<()> {
        let published = timestamp(self.newest.unwrap_or_else(Utc::now));
        write!(out, "],\"publishedDate\":\"{published}\"}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixtures::{day, record};
    use std::str::FromStr;

    #[test]
    fn ocid_takes_the_prefix_given() {
        let context = OcdsContext::new("ocds-a1b2c3", "https://api.example", day("2026-01-01"));
        let release = context.release(&record("Licence"));
        assert_eq!(release.ocid, "ocds-a1b2c3-42");
        assert_eq!(release.id, "42-3");
        assert_eq!(
            release.contracts[0].items[1].classification.uri,
            "https://api.example/api/v1/service-areas/council-tax"
        );
    }

    #[test]
    fn release_carries_exact_money_and_no_assessment() {
        let context = OcdsContext::new("ocds-x", "http://h", day("2026-01-01"));
        let json = serde_json::to_string(&context.release(&record("Licence"))).unwrap();
        assert!(json.contains(r#""value":{"amount":625000.50,"currency":"GBP"}"#));
        assert!(!json.contains("secret remark"));
        assert!(!json.contains("satisfaction"));
    }

    #[test]
    fn amounts_have_two_decimal_places_and_round_half_to_even() {
        let cases = [
            ("0", "0.00"),
            ("0.05", "0.05"),
            ("-12.3", "-12.30"),
            ("1.005", "1.00"),
            ("1.015", "1.02"),
            ("1e3", "1000.00"),
        ];
        for (stored, written) in cases {
            let amount = BigDecimal::from_str(stored).unwrap();
            assert_eq!(pounds(&amount).get(), written, "{stored}");
        }
    }

    #[test]
    fn registers_name_and_identify_the_parties() {
        let mut context = OcdsContext::new("ocds-x", "http://h", day("2026-01-01"));
        let record = record("Licence");
        let bare = context.release(&record);
        assert_eq!(bare.buyer.name, "Camden");
        assert_eq!(bare.awards[0].suppliers[0].id, "supplier-civica");
        assert_eq!(bare.contracts[0].items[0].description, None);

        let at = record.contract.updated_at;
        context.add_borough(Borough {
            id: "camden".into(),
            gss_code: "E09000007".into(),
            name: "Camden".into(),
            official_name: "London Borough of Camden".into(),
            kind: "london_borough".into(),
            inner_london_statutory: true,
            inner_london_ons: true,
            surveyed: true,
            website: None,
            created_at: at,
            updated_at: at,
            version: 1,
        });
        context.add_supplier(Supplier {
            id: "civica".into(),
            name: "Civica".into(),
            companies_house_number: Some("01628868".into()),
            website: None,
            sme: Some(false),
            created_at: at,
            updated_at: at,
            version: 1,
        });
        context.add_service_area(ServiceArea {
            id: "council-tax".into(),
            name: "Council tax".into(),
            parent_id: Some("revenues".into()),
            description: None,
            created_at: at,
            updated_at: at,
            version: 1,
        });
        let release = context.release(&record);
        assert_eq!(release.buyer.name, "London Borough of Camden");
        let buyer = &release.parties[0].additional_identifiers[0];
        assert_eq!((buyer.scheme, buyer.id.as_str()), (GSS_SCHEME, "E09000007"));
        assert_eq!(release.awards[0].suppliers[0].id, "GB-COH-01628868");
        assert_eq!(
            release.parties[1]
                .identifier
                .as_ref()
                .map(|i| i.id.as_str()),
            Some("01628868")
        );
        let items = &release.contracts[0].items;
        assert_eq!(
            items[0].description, None,
            "business-rates is not registered"
        );
        assert_eq!(items[1].description.as_deref(), Some("Council tax"));
    }

    #[test]
    fn illustrative_contracts_say_so() {
        let context = OcdsContext::new("ocds-x", "http://h", day("2026-01-01"));
        let mut record = record("Licence");
        assert_eq!(context.release(&record).contracts[0].description, None);
        record.contract.form.source = "illustrative".into();
        assert_eq!(
            context.release(&record).contracts[0].description.as_deref(),
            Some(ILLUSTRATIVE_NOTE)
        );
    }

    #[test]
    fn contract_status_follows_the_dates() {
        let today = day("2026-06-01");
        let (start, end) = (Some(day("2025-01-01")), Some(day("2027-01-01")));
        assert_eq!(contract_status(start, end, today), "active");
        assert_eq!(
            contract_status(start, Some(day("2026-05-31")), today),
            "terminated"
        );
        assert_eq!(
            contract_status(Some(day("2026-06-02")), end, today),
            "pending"
        );
        assert_eq!(contract_status(None, None, today), "active");
    }

    #[test]
    fn streamed_package_matches_its_documented_shape() {
        let context = OcdsContext::new("ocds-x", "http://h", day("2026-01-01"));
        let record = record("Licence");
        let release = context.release(&record);
        let mut out = Vec::new();
        let mut writer = PackageWriter::begin(&mut out, "http://h/api/v1/contracts").unwrap();
        writer
            .release(&mut out, &release, record.contract.updated_at)
            .unwrap();
        writer.finish(&mut out).unwrap();
        let streamed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let documented = serde_json::to_value(OcdsReleasePackage {
            uri: "http://h/api/v1/contracts".into(),
            version: "1.1",
            publisher: OcdsPublisher {
                name: OCDS_PUBLISHER,
            },
            license: OCDS_LICENSE,
            releases: vec![release],
            published_date: "2025-03-01T12:00:00Z".into(),
        })
        .unwrap();
        assert_eq!(streamed, documented);
    }

    #[test]
    fn an_empty_package_is_still_json() {
        let mut out = Vec::new();
        let writer = PackageWriter::begin(&mut out, "http://h").unwrap();
        writer.finish(&mut out).unwrap();
        let package: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(package["releases"], serde_json::json!([]));
        assert_eq!(package["version"], "1.1");
        assert!(package["publishedDate"].is_string());
    }
}
