//! What an import did, or would do: the same report on the command line (`--json`) and over HTTP.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use utoipa::ToSchema;

use super::columns::ColumnUse;
use super::source::FileError;
use super::suppliers::NewSupplier;
use super::Format;

/// Longest list of errors, warnings or contracts a report carries; the counts cover the rest.
pub const MAX_LISTED: usize = 1000;

/// Why a record was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[schema(as = ImportSkipReason)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The buyer is not one of the 33 London authorities.
    BuyerOutsideLondon,
    /// No IT CPV code, no known system or software supplier, no IT words (kept with `all`).
    NotTechnology,
    /// Nothing placed the contract in a service area (only with `all`).
    NoServiceArea,
    /// No supplier has been awarded the contract (OCDS tender and planning notices are kept as
    /// tenders instead).
    NoSupplier,
    /// Another borough's contract, when the import is for one borough.
    OtherBorough,
    /// The survey template's example row.
    TemplateExample,
    /// The same contract as an earlier row, with the same values.
    Duplicate,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::BuyerOutsideLondon => "the buyer is not one of the 33 London authorities",
            SkipReason::NotTechnology => {
                "not technology: no IT CPV code, known system, software supplier or IT wording"
            }
            SkipReason::NoServiceArea => "no service area could be found for it",
            SkipReason::NoSupplier => {
                "no supplier awarded (OCDS tender and planning notices are kept as tenders)"
            }
            SkipReason::OtherBorough => "another borough's contract",
            SkipReason::TemplateExample => "the template's example row",
            SkipReason::Duplicate => "a repeat of an earlier row",
        }
    }
}

/// How many records were skipped for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportSkipCount)]
pub struct SkipCount {
    pub reason: SkipReason,
    #[schema(example = "the buyer is not one of the 33 London authorities")]
    pub description: String,
    #[schema(example = 971)]
    pub count: usize,
}

/// A problem with one value of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportIssue)]
pub struct RowIssue {
    /// The row as a spreadsheet numbers it (the header is row 1), or the release's position in
    /// an OCDS package (from 1); null for the file as a whole.
    #[schema(example = 12)]
    pub row: Option<usize>,
    /// The column or field at fault.
    #[schema(example = "end_date")]
    pub field: String,
    /// The value as the file has it.
    #[schema(example = "31/02/2024")]
    pub value: Option<String>,
    #[schema(
        example = "\"31/02/2024\" is not a date: use 2024-03-31, 31/03/2024, 31-Mar-24 or 31 March 2024"
    )]
    pub message: String,
}

impl RowIssue {
    pub fn new(row: usize, field: &str, value: &str, message: impl Into<String>) -> RowIssue {
        RowIssue {
            row: Some(row),
            field: field.to_owned(),
            value: (!value.is_empty()).then(|| value.to_owned()),
            message: message.into(),
        }
    }
}

/// How one imported contract fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportAction)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    Updated,
}

/// A contract the import created or updated (or would, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportedContract)]
pub struct ContractOutcome {
    pub row: usize,
    pub action: Action,
    /// The contract's id; null for a contract a dry run would create.
    pub id: Option<i64>,
    #[schema(example = "contracts-finder:greenwich:RBG001-DN479909-00029959")]
    pub source_reference: String,
}

/// What an import did to tenders (OCDS tender and planning notices).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportTenderCounts)]
pub struct TenderCounts {
    /// Tenders created.
    pub created: usize,
    /// Tenders whose stored values changed (an amendment, an award that completes one).
    pub updated: usize,
    /// Tenders already stored with the same values.
    pub unchanged: usize,
}

/// The result of the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ImportOutcome)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything was written, in one transaction.
    Imported,
    /// A dry run that found no error: importing the file would do what the report says.
    Checked,
    /// The file or some rows are in error: nothing was written.
    Failed,
}

/// What an import of one file did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    pub format: Format,
    /// The file's name, when known.
    pub file: Option<String>,
    /// The borough the import was for, if one was given.
    pub borough_id: Option<String>,
    pub dry_run: bool,
    /// Whether contracts that are not technology were kept.
    pub all: bool,
    pub outcome: Outcome,
    /// Rows read: CSV rows (blank rows aside) or OCDS releases.
    #[schema(example = 1000)]
    pub read: usize,
    /// What the rows make once merged: the same as `read` for CSV; an OCDS package's distinct
    /// `ocid`s (several releases of one contracting process merge into one record).
    pub records: usize,
    /// Contracts created (a record with several suppliers gives one contract for each).
    pub created: usize,
    /// Contracts whose stored values changed.
    pub updated: usize,
    /// Contracts already stored with the same values: nothing written for them.
    pub unchanged: usize,
    /// Records left out, with the reasons in `skipped_by_reason`.
    pub skipped: usize,
    /// Tenders created, updated and unchanged (OCDS only; zero for other formats).
    pub tenders: TenderCounts,
    /// Records with at least one error.
    pub failed: usize,
    pub skipped_by_reason: Vec<SkipCount>,
    /// Suppliers that match no existing name or alias, created by the import.
    pub new_suppliers: Vec<NewSupplier>,
    /// Which header each field was read from.
    pub columns: Vec<ColumnUse>,
    /// Why the whole file could not be read, if it could not.
    pub file_error: Option<FileError>,
    /// Every problem that stops the import, row by row (at most 1,000 listed).
    pub errors: Vec<RowIssue>,
    /// Things worth checking that did not stop the import (at most 1,000 listed).
    pub warnings: Vec<RowIssue>,
    /// Contracts created or updated (at most 1,000 listed).
    pub contracts: Vec<ContractOutcome>,
    /// Whether `errors`, `warnings` or `contracts` were cut at 1,000 entries.
    pub truncated: bool,
}

impl ImportReport {
    pub fn new(
        format: Format,
        file: Option<String>,
        borough_id: Option<String>,
        dry_run: bool,
        all: bool,
    ) -> ImportReport {
        ImportReport {
            format,
            file,
            borough_id,
            dry_run,
            all,
            outcome: Outcome::Failed,
            read: 0,
            records: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            skipped: 0,
            tenders: TenderCounts::default(),
            failed: 0,
            skipped_by_reason: Vec::new(),
            new_suppliers: Vec::new(),
            columns: Vec::new(),
            file_error: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            contracts: Vec::new(),
            truncated: false,
        }
    }

    /// A report of a file that could not be read at all.
    pub fn file_failed(mut self, error: FileError) -> ImportReport {
        self.outcome = Outcome::Failed;
        self.errors = vec![RowIssue {
            row: None,
            field: "file".to_owned(),
            value: None,
            message: error.message.clone(),
        }];
        self.file_error = Some(error);
        self
    }

    pub fn skip_counts(&mut self, counts: &BTreeMap<SkipReason, usize>) {
        self.skipped = counts.values().sum();
        self.skipped_by_reason = counts
            .iter()
            .map(|(reason, count)| SkipCount {
                reason: *reason,
                description: reason.describe().to_owned(),
                count: *count,
            })
            .collect();
    }

    /// Whether nothing went wrong.
    pub fn succeeded(&self) -> bool {
        self.outcome != Outcome::Failed
    }

    /// The skipped count for one reason.
    pub fn skipped_for(&self, reason: SkipReason) -> usize {
        self.skipped_by_reason
            .iter()
            .find(|s| s.reason == reason)
            .map_or(0, |s| s.count)
    }

    /// One line saying what happened, for people.
    pub fn headline(&self) -> String {
        let what = match (self.outcome, self.dry_run) {
            (Outcome::Imported, _) => "imported",
            (Outcome::Checked, _) => "checked (dry run, nothing written)",
            (Outcome::Failed, true) => "FAILED the dry run",
            (Outcome::Failed, false) => "FAILED: nothing written",
        };
        format!("{}: {what}", self.file.as_deref().unwrap_or("the file"))
    }
}

impl fmt::Display for ImportReport {
    /// The summary printed after a command-line import.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.headline())?;
        if let Some(error) = &self.file_error {
            return writeln!(f, "  {error}");
        }
        let would = if self.dry_run { "would be " } else { "" };
        writeln!(
            f,
            "  {} rows read ({} records): {} {would}created, {} {would}updated, {} unchanged, {} skipped, {} failed",
            self.read, self.records, self.created, self.updated, self.unchanged, self.skipped, self.failed
        )?;
        let tenders = &self.tenders;
        if tenders.created + tenders.updated + tenders.unchanged > 0 {
            writeln!(
                f,
                "  tenders: {} {would}created, {} {would}updated, {} unchanged",
                tenders.created, tenders.updated, tenders.unchanged
            )?;
        }
        for skip in &self.skipped_by_reason {
            writeln!(f, "  skipped {:>6}  {}", skip.count, skip.description)?;
        }
        if !self.new_suppliers.is_empty() {
            writeln!(f, "  new suppliers ({}):", self.new_suppliers.len())?;
            for supplier in self.new_suppliers.iter().take(20) {
                writeln!(
                    f,
                    "    {} ({}), row {}",
                    supplier.name, supplier.id, supplier.row
                )?;
            }
            if self.new_suppliers.len() > 20 {
                writeln!(
                    f,
                    "    ... and {} more (see --json)",
                    self.new_suppliers.len() - 20
                )?;
            }
        }
        let issue = |f: &mut fmt::Formatter<'_>, kind: &str, issue: &RowIssue| {
            let row = issue
                .row
                .map(|r| format!("row {r}"))
                .unwrap_or_else(|| "file".into());
            let value = issue
                .value
                .as_deref()
                .map(|v| format!(" = {v:?}"))
                .unwrap_or_default();
            writeln!(
                f,
                "  {kind} {row}, {}{value}: {}",
                issue.field, issue.message
            )
        };
        for error in self.errors.iter().take(50) {
            issue(f, "error", error)?;
        }
        if self.errors.len() > 50 || self.failed > self.errors.len() {
            writeln!(f, "  ... more errors (see --json)")?;
        }
        for warning in self.warnings.iter().take(20) {
            issue(f, "warning", warning)?;
        }
        if self.warnings.len() > 20 {
            writeln!(
                f,
                "  ... {} warnings in all (see --json)",
                self.warnings.len()
            )?;
        }
        Ok(())
    }
}
