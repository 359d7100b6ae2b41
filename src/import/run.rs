//! Importing one file: read it, plan every contract against the database, and write the plan in
//! one transaction with its change-log entries, or nothing at all.
//!
//! The plan: a contract whose `(source, borough, source_reference)` is new is created; one that exists
//! is updated when the fields the format provides differ from the stored ones, and otherwise
//! left alone (`unchanged`: no write, no version bump, no change-log entry). Any error in any
//! row, or in the file, means nothing is written. A dry run reads and plans in a read-only
//! transaction and stops there.

use std::collections::{BTreeMap, HashMap};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::Value;

use super::authorities::Authorities;
use super::classify::Catalogue;
use super::draft::{same_contract, Context, Draft, Parsed, TenderDraft};
use super::report::{
    Action, ContractOutcome, ImportReport, Outcome, RowIssue, SkipReason, MAX_LISTED,
};
use super::suppliers::SupplierIndex;
use super::{contracts_finder, normalize, ocds, register, store, survey, Format, Options};
use crate::changelog::{self, Actor, Resource};
use crate::forms::MAX_TEXT;
use crate::models::{NewContract, NewSupplier, NewTender};
use crate::queries::contracts::{self as contract_queries, ContractWrite};
use crate::queries::suppliers::{self as supplier_queries, SupplierWrite};
use crate::queries::tenders as tender_queries;
use crate::representations::{self as wire, Contract};

/// Hears how far an import has got (a progress bar on a terminal; nothing over HTTP).
pub trait Progress {
    /// A new stage of `total` steps (0 when the total is not known).
    fn stage(&self, _name: &str, _total: usize) {}
    fn advance(&self, _steps: usize) {}
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {}

/// Why a transaction stopped.
enum Stop {
    /// The file or a row is in error: the report says why.
    Failed,
    Error(ImportError),
}

/// Why an import could not run at all (errors in the data go in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The borough the caller named is not one of the 33.
    #[error("unknown borough {0:?}; see /api/v1/boroughs")]
    UnknownBorough(String),
    /// A record the import itself wrote could not be read back.
    #[error("{0}")]
    Vanished(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<diesel::result::Error> for Stop {
    fn from(error: diesel::result::Error) -> Self {
        Stop::Error(error.into())
    }
}

impl From<ImportError> for Stop {
    fn from(error: ImportError) -> Self {
        Stop::Error(error)
    }
}

/// What to do with one draft.
enum Plan {
    Create,
    Update { id: i64, contract: Box<NewContract> },
    Unchanged,
}

/// What to do with one tender.
enum TenderPlan {
    Create(TenderDraft),
    Update { id: i64, draft: TenderDraft },
    Unchanged,
}

/// Imports one file (or, with `options.dry_run`, checks it). Errors in the data are in the
/// report; `Err` is for the request itself (an unknown borough: 400) and for the database.
pub fn run(
    conn: &mut PgConnection,
    options: &Options,
    bytes: &[u8],
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::new(
        options.format,
        options.file_name.clone(),
        None,
        options.dry_run,
        options.all,
    );
    let result = if options.dry_run {
        conn.build_transaction()
            .read_only()
            .run(|conn| import(conn, options, bytes, actor, progress, &mut report))
    } else {
        conn.transaction(|conn| import(conn, options, bytes, actor, progress, &mut report))
    };
    match result {
        Ok(()) | Err(Stop::Failed) => Ok(report),
        Err(Stop::Error(error)) => Err(error),
    }
}

fn import(
    conn: &mut PgConnection,
    options: &Options,
    bytes: &[u8],
    actor: &Actor,
    progress: &dyn Progress,
    report: &mut ImportReport,
) -> Result<(), Stop> {
    // Imports run a hundred similar batch queries over rows the transaction has just written,
    // whose statistics are stale: JIT compiling each costs more than running it.
    diesel::sql_query("SET LOCAL jit = off").execute(conn)?;
    if !options.dry_run {
        // No other write may give a new supplier's name to another supplier meanwhile.
        supplier_queries::lock_aliases(conn)?;
    }
    let authorities = Authorities::load(conn)?;
    let borough = match &options.borough {
        Some(given) => Some(
            authorities
                .resolve(given)
                .ok_or_else(|| ImportError::UnknownBorough(given.clone()))?
                .to_owned(),
        ),
        None => None,
    };
    report.borough_id = borough.clone();
    let mut ctx = Context {
        options,
        borough,
        authorities,
        suppliers: SupplierIndex::load(conn)?,
        catalogue: Catalogue::load(conn)?,
    };
    progress.stage("reading", 0);
    let parsed = match options.format {
        Format::Survey => survey::read(bytes, &mut ctx),
        Format::ContractsRegister => register::read(bytes, &mut ctx),
        Format::ContractsFinderCsv => contracts_finder::read(bytes, &mut ctx),
        Format::Ocds => ocds::read(bytes, &mut ctx),
    };
    let mut parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            *report = report.clone().file_failed(error);
            return Err(Stop::Failed);
        }
    };
    clean_texts(&mut parsed, &ctx.suppliers.new);
    if !hold_to_limits(&mut parsed, &ctx.suppliers.new, options.limits) {
        // Past the caller's bound on records nothing more is worth doing: no look-ups, no plan.
        report_reading(report, &mut parsed, &ctx);
        report.outcome = Outcome::Failed;
        return Err(Stop::Failed);
    }
    let drafts = unique(&mut parsed);
    let source = options.format.source();
    // References are unique within a borough: another borough's contract never answers for one.
    let keys: Vec<(&str, &str)> = drafts
        .iter()
        .map(|d| (d.contract.borough_id.as_str(), d.source_reference()))
        .collect();
    let stored = store::existing(conn, source.as_str(), &keys)?;

    let mut plans = Vec::with_capacity(drafts.len());
    for draft in &drafts {
        let key = (
            draft.contract.borough_id.clone(),
            draft.source_reference().to_owned(),
        );
        let plan = match stored.get(&key) {
            None => Plan::Create,
            Some(stored) => {
                let before = stored.as_new();
                let after = draft.provided.overlay(&before, &draft.contract);
                if same_contract(&before, &after)
                    && stored.service_area_ids == draft.service_area_ids
                {
                    Plan::Unchanged
                } else {
                    Plan::Update {
                        id: stored.contract.id,
                        contract: Box::new(after),
                    }
                }
            }
        };
        plans.push(plan);
    }

    let tender_plans = plan_tenders(conn, std::mem::take(&mut parsed.tenders))?;
    for plan in &tender_plans {
        match plan {
            TenderPlan::Create(_) => report.tenders.created += 1,
            TenderPlan::Update { .. } => report.tenders.updated += 1,
            TenderPlan::Unchanged => report.tenders.unchanged += 1,
        }
    }

    report_reading(report, &mut parsed, &ctx);
    for plan in &plans {
        match plan {
            Plan::Create => report.created += 1,
            Plan::Update { .. } => report.updated += 1,
            Plan::Unchanged => report.unchanged += 1,
        }
    }
    if report.failed > 0 {
        report.outcome = Outcome::Failed;
        list_contracts(report, &drafts, &plans, &[]);
        return Err(Stop::Failed);
    }
    if options.dry_run {
        report.outcome = Outcome::Checked;
        list_contracts(report, &drafts, &plans, &[]);
        return Ok(());
    }

    let written = write(conn, &ctx, &drafts, &plans, actor, progress)?;
    write_tenders(conn, &tender_plans, actor)?;
    report.outcome = Outcome::Imported;
    list_contracts(report, &drafts, &plans, &written);
    Ok(())
}

/// Plans each tender against the stored one of its process: created when new, updated when its
/// values or areas differ, else unchanged. An award whose tender is not in the file completes a
/// stored tender that is still planned or active, and otherwise does nothing.
fn plan_tenders(
    conn: &mut PgConnection,
    drafts: Vec<TenderDraft>,
) -> Result<Vec<TenderPlan>, Stop> {
    let ocids: Vec<&str> = drafts.iter().map(|d| d.tender.ocid.as_str()).collect();
    let stored = tender_queries::by_ocid(conn, &ocids)?;
    let mut plans = Vec::with_capacity(drafts.len());
    for mut draft in drafts {
        let Some((tender, areas)) = stored.get(&draft.tender.ocid) else {
            if !draft.completes_only {
                plans.push(TenderPlan::Create(draft));
            }
            continue;
        };
        // Pages are not in date order: a release older than the stored values is news no more.
        if let (Some(read), Some(stored)) = (draft.tender.released_at, tender.form.released_at) {
            if read < stored && !draft.completes_only {
                plans.push(TenderPlan::Unchanged);
                continue;
            }
        }
        if draft.completes_only {
            if !matches!(tender.form.status.as_str(), "planned" | "active") {
                continue;
            }
            draft.tender = NewTender {
                status: "complete".to_owned(),
                ..tender.form.clone()
            };
            draft.service_area_ids = areas.clone();
        }
        // A later release that restates the same values is no change (`released_at` aside).
        let same = NewTender {
            released_at: tender.form.released_at,
            ..draft.tender.clone()
        } == tender.form;
        plans.push(if same && *areas == draft.service_area_ids {
            TenderPlan::Unchanged
        } else {
            TenderPlan::Update {
                id: tender.id,
                draft,
            }
        });
    }
    Ok(plans)
}

/// Writes the tenders' plan with its change-log entries.
fn write_tenders(conn: &mut PgConnection, plans: &[TenderPlan], actor: &Actor) -> Result<(), Stop> {
    let creates: Vec<(&NewTender, &[String])> = plans
        .iter()
        .filter_map(|plan| match plan {
            TenderPlan::Create(draft) => Some((&draft.tender, draft.service_area_ids.as_slice())),
            _ => None,
        })
        .collect();
    let created = tender_queries::insert(conn, &creates)?;
    let mut logged: Vec<(i64, Option<Value>)> = created.into_iter().map(|id| (id, None)).collect();
    for plan in plans {
        if let TenderPlan::Update { id, draft } = plan {
            let before = tender_representation(conn, *id)?;
            tender_queries::update(conn, *id, &draft.tender, &draft.service_area_ids)?;
            logged.push((*id, Some(before)));
        }
    }
    let mut entries = Vec::with_capacity(logged.len());
    for (id, before) in logged {
        entries.push(changelog::Entry {
            resource: Resource::Tenders,
            resource_id: id.to_string(),
            before,
            after: Some(tender_representation(conn, id)?),
        });
    }
    changelog::record_many(conn, actor, &entries)?;
    Ok(())
}

/// The current representation of a tender the import has written.
fn tender_representation(conn: &mut PgConnection, id: i64) -> Result<Value, ImportError> {
    wire::tender::current(conn, id)?.ok_or_else(|| vanished("tender", &id.to_string()))
}

/// Every text the file gives, as stored: NFC, without control, bidirectional or zero-width
/// characters (which could make a title or name display as another), as the API stores text;
/// a text longer than the API takes is an error of its row, as it would be through the API.
fn clean_texts(parsed: &mut Parsed, new_suppliers: &[super::suppliers::NewSupplier]) {
    fn clean(text: &mut String) {
        if let std::borrow::Cow::Owned(cleaned) = normalize::clean_text(text) {
            *text = cleaned;
        }
    }
    let mut too_long: Vec<(usize, &'static str, String)> = Vec::new();
    let mut check = |row: usize, field: &'static str, text: &str| {
        if text.chars().count() > MAX_TEXT {
            too_long.push((row, field, text.chars().take(100).collect::<String>() + "…"));
        }
    };
    for draft in &mut parsed.drafts {
        let contract = &mut draft.contract;
        clean(&mut contract.title);
        check(draft.row, "title", &contract.title);
        for (field, text) in [
            ("framework_name", &mut contract.framework_name),
            ("notes", &mut contract.notes),
            ("reference", &mut contract.source_reference),
            ("source_url", &mut contract.source_url),
        ] {
            if let Some(text) = text {
                clean(text);
                check(draft.row, field, text);
            }
        }
    }
    for draft in &mut parsed.tenders {
        clean(&mut draft.tender.title);
        check(draft.row, "title", &draft.tender.title);
        if let Some(description) = &mut draft.tender.description {
            clean(description);
        }
    }
    for supplier in new_suppliers {
        check(supplier.row, "supplier", &supplier.name);
    }
    for (row, field, shown) in too_long {
        parsed.failed += 1;
        parsed.errors.push(RowIssue::new(
            row,
            field,
            &shown,
            format!("is longer than {MAX_TEXT} characters"),
        ));
    }
}

/// What reading the file found, in the report.
fn report_reading(report: &mut ImportReport, parsed: &mut Parsed, ctx: &Context) {
    report.read = parsed.read;
    report.records = parsed.records;
    report.columns = parsed.columns.clone();
    report.failed = parsed.failed;
    report.skip_counts(&parsed.skipped);
    report.truncated = parsed.errors.len() > MAX_LISTED || parsed.warnings.len() > MAX_LISTED;
    parsed.errors.truncate(MAX_LISTED);
    parsed.warnings.truncate(MAX_LISTED);
    report.errors = std::mem::take(&mut parsed.errors);
    report.warnings = std::mem::take(&mut parsed.warnings);
    report.new_suppliers = ctx.suppliers.new.clone();
}

/// Records beyond the caller's limits fail the file: too many records read, or too many
/// suppliers new to the shared catalogue. False when there are more records than the caller
/// may import.
fn hold_to_limits(
    parsed: &mut Parsed,
    new_suppliers: &[super::suppliers::NewSupplier],
    limits: super::Limits,
) -> bool {
    let mut within = true;
    if let Some(max) = limits.max_records.filter(|max| parsed.records > *max) {
        within = false;
        parsed.failed += 1;
        parsed.errors.push(RowIssue {
            row: None,
            field: "file".into(),
            value: None,
            message: format!(
                "the file holds {} records; a borough key imports at most {max} at once: split \
                 the file, or ask an admin to import it",
                parsed.records
            ),
        });
    }
    if let Some(max) = limits
        .max_new_suppliers
        .filter(|max| new_suppliers.len() > *max)
    {
        parsed.failed += 1;
        parsed.errors.push(RowIssue {
            row: None,
            field: "supplier".into(),
            value: None,
            message: format!(
                "the file would add {} suppliers to the shared catalogue; a borough key adds at \
                 most {max} at once (the rest wait for an admin): use the names the catalogue \
                 knows (GET /api/v1/suppliers?q=...), or ask an admin to add them",
                new_suppliers.len()
            ),
        });
    }
    within
}

/// Drafts with a reference seen before are dropped: skipped when they repeat the earlier row,
/// an error when they contradict it.
fn unique(parsed: &mut Parsed) -> Vec<Draft> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<Draft> = Vec::with_capacity(parsed.drafts.len());
    let mut duplicates: BTreeMap<SkipReason, usize> = BTreeMap::new();
    for draft in std::mem::take(&mut parsed.drafts) {
        match seen.get(draft.source_reference()) {
            None => {
                seen.insert(draft.source_reference().to_owned(), kept.len());
                kept.push(draft);
            }
            Some(&first) => {
                let earlier = &kept[first];
                if same_contract(&earlier.contract, &draft.contract)
                    && earlier.service_area_ids == draft.service_area_ids
                {
                    *duplicates.entry(SkipReason::Duplicate).or_default() += 1;
                } else {
                    parsed.failed += 1;
                    parsed.errors.push(RowIssue::new(
                        draft.row,
                        "reference",
                        draft.source_reference(),
                        format!(
                            "row {} is the same contract (the same reference, supplier or system) with other values; \
                             give each row its own reference",
                            earlier.row
                        ),
                    ));
                }
            }
        }
    }
    for (reason, count) in duplicates {
        *parsed.skipped.entry(reason).or_default() += count;
    }
    kept
}

fn list_contracts(
    report: &mut ImportReport,
    drafts: &[Draft],
    plans: &[Plan],
    ids: &[Option<i64>],
) {
    let mut listed = Vec::new();
    for (i, (draft, plan)) in drafts.iter().zip(plans).enumerate() {
        let (action, id) = match plan {
            Plan::Create => (Action::Created, ids.get(i).copied().flatten()),
            Plan::Update { id, .. } => (Action::Updated, Some(*id)),
            Plan::Unchanged => continue,
        };
        if listed.len() == MAX_LISTED {
            report.truncated = true;
            break;
        }
        listed.push(ContractOutcome {
            row: draft.row,
            action,
            id,
            source_reference: draft.source_reference().to_owned(),
        });
    }
    report.contracts = listed;
}

/// Writes the plan: new suppliers, then contracts, then the change log (last, so that the
/// change-log lock, which every other write waits for, is held as briefly as possible). Returns
/// the id of each draft's contract.
fn write(
    conn: &mut PgConnection,
    ctx: &Context,
    drafts: &[Draft],
    plans: &[Plan],
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<Vec<Option<i64>>, Stop> {
    for supplier in &ctx.suppliers.new {
        supplier_queries::insert(
            conn,
            &SupplierWrite {
                supplier: NewSupplier {
                    id: supplier.id.clone(),
                    name: supplier.name.clone(),
                    companies_house_number: supplier.facts.companies_house_number.clone(),
                    website: None,
                    sme: supplier.facts.sme,
                },
                aliases: Vec::new(),
            },
        )?;
    }

    let creates: Vec<(usize, &Draft)> = drafts
        .iter()
        .zip(plans)
        .enumerate()
        .filter(|(_, (_, plan))| matches!(plan, Plan::Create))
        .map(|(i, (draft, _))| (i, draft))
        .collect();
    let updates = plans.len()
        - creates.len()
        - plans
            .iter()
            .filter(|p| matches!(p, Plan::Unchanged))
            .count();
    progress.stage("writing", creates.len() + updates);
    let rows: Vec<(&NewContract, &[String])> = creates
        .iter()
        .map(|(_, d)| (&d.contract, d.service_area_ids.as_slice()))
        .collect();
    let created = store::insert(conn, &rows, |n| progress.advance(n))?;
    let mut ids: Vec<Option<i64>> = vec![None; drafts.len()];
    for ((i, _), id) in creates.iter().zip(&created) {
        ids[*i] = Some(*id);
    }

    let mut changed: Vec<(i64, Value, Value)> = Vec::with_capacity(updates);
    for (draft, plan) in drafts.iter().zip(plans) {
        if let Plan::Update { id, contract } = plan {
            let before = contract_representation(conn, *id)?;
            contract_queries::update(
                conn,
                *id,
                &ContractWrite {
                    contract: (**contract).clone(),
                    service_area_ids: draft.service_area_ids.clone(),
                },
            )?;
            let after = contract_representation(conn, *id)?;
            changed.push((*id, before, after));
            progress.advance(1);
        }
    }

    progress.stage(
        "logging changes",
        ctx.suppliers.new.len() + created.len() + changed.len(),
    );
    let mut suppliers = Vec::with_capacity(ctx.suppliers.new.len());
    for supplier in &ctx.suppliers.new {
        let after = wire::supplier::current(conn, &supplier.id)?
            .ok_or_else(|| vanished("supplier", &supplier.id))?;
        suppliers.push(changelog::Entry {
            resource: Resource::Suppliers,
            resource_id: supplier.id.clone(),
            before: None,
            after: Some(after),
        });
    }
    changelog::record_many(conn, actor, &suppliers)?;
    progress.advance(suppliers.len());
    // The new contracts read back and logged a batch at a time, so that memory holds one
    // batch's representations, not the file's.
    for batch in created.chunks(LOG_BATCH) {
        let mut records = contract_queries::find_many(conn, batch)?;
        let entries = batch
            .iter()
            .map(|id| {
                let record = records
                    .remove(id)
                    .ok_or_else(|| vanished("contract", &id.to_string()))?;
                Ok(changelog::Entry {
                    resource: Resource::Contracts,
                    resource_id: id.to_string(),
                    before: None,
                    after: Some(wire::to_json(&Contract::view(record, true))),
                })
            })
            .collect::<Result<Vec<_>, ImportError>>()?;
        changelog::record_many(conn, actor, &entries)?;
        progress.advance(batch.len());
    }
    let updated: Vec<changelog::Entry> = changed
        .into_iter()
        .map(|(id, before, after)| changelog::Entry {
            resource: Resource::Contracts,
            resource_id: id.to_string(),
            before: Some(before),
            after: Some(after),
        })
        .collect();
    changelog::record_many(conn, actor, &updated)?;
    progress.advance(updated.len());
    Ok(ids)
}

/// Contracts read back and logged per statement pair.
const LOG_BATCH: usize = 1000;

/// The current representation of a contract the import holds locked.
fn contract_representation(conn: &mut PgConnection, id: i64) -> Result<Value, ImportError> {
    wire::contract::current(conn, id)?.ok_or_else(|| vanished("contract", &id.to_string()))
}

fn vanished(what: &str, id: &str) -> ImportError {
    ImportError::Vanished(format!("{what} {id} vanished during its import"))
}
