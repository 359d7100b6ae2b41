//! Bringing outside data in: the City Tools survey, council contract registers, Contracts Finder
//! CSV exports and OCDS release packages, each read by its own module into contracts that the
//! runner (`run`) plans against the database and writes in one transaction per file.
//!
//! Shared pieces: reading files (`source`), header matching (`columns`), dates, money, supplier
//! names (`normalize`, `suppliers`), London authorities (`authorities`), classification into
//! service areas (`classify`) and the report.

pub mod authorities;
pub mod classify;
pub mod cli;
pub mod columns;
pub mod contracts_finder;
pub mod dates;
pub mod draft;
pub mod money;
pub use crate::normalize;
pub mod ocds;
pub mod register;
pub mod report;
pub mod run;
pub mod source;
mod store;
pub mod suppliers;
pub mod survey;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use report::ImportReport;
pub use run::{run, Progress};

/// The kinds of file the importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ImportFormat)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The City Tools survey template (CSV), one row per system a borough uses.
    Survey,
    /// A Local Government Transparency Code contract register (CSV), as a council publishes it.
    ContractsRegister,
    /// A Contracts Finder search export (CSV).
    ContractsFinderCsv,
    /// An OCDS release or record package (JSON) from Contracts Finder or Find a Tender.
    Ocds,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &[
        "survey",
        "contracts-register",
        "contracts-finder-csv",
        "ocds",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Survey => "survey",
            Format::ContractsRegister => "contracts-register",
            Format::ContractsFinderCsv => "contracts-finder-csv",
            Format::Ocds => "ocds",
        }
    }

    /// The `source` of the contracts this format brings in.
    pub fn source(self) -> crate::models::Source {
        match self {
            Format::Survey => crate::models::Source::Survey,
            _ => crate::models::Source::OpenData,
        }
    }

    /// Whether a borough's own key may import this format (its survey and its register).
    pub fn is_borough_data(self) -> bool {
        matches!(self, Format::Survey | Format::ContractsRegister)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "survey" => Ok(Format::Survey),
            "contracts-register" | "register" => Ok(Format::ContractsRegister),
            "contracts-finder-csv" => Ok(Format::ContractsFinderCsv),
            "ocds" => Ok(Format::Ocds),
            _ => Err(format!(
                "unknown format {value:?}; expected one of {}",
                Format::NAMES.join(", ")
            )),
        }
    }
}

/// How to import one file.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    /// The borough the file is about: required for registers; a survey's rows must all be its;
    /// from Contracts Finder and OCDS files, only its contracts are imported.
    pub borough: Option<String>,
    /// Plan and report, write nothing.
    pub dry_run: bool,
    /// Keep contracts that are not technology.
    pub all: bool,
    /// The file's name, for the report and the change log.
    pub file_name: Option<String>,
    /// What the caller may bring in at once (none for admins and the command line).
    pub limits: Limits,
}

/// What one import may bring in: records read, and suppliers added to the shared catalogue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_records: Option<usize>,
    pub max_new_suppliers: Option<usize>,
}

impl Limits {
    /// A borough key's: a council's register or survey is a few thousand rows, and the shared
    /// catalogue grows by review (an admin's import or write), not by any one borough's file.
    pub const BOROUGH: Limits = Limits {
        max_records: Some(20_000),
        max_new_suppliers: Some(50),
    };
}
