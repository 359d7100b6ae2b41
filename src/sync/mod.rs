//! `citytools sync`: reading a public source page by page into contracts, through the same OCDS
//! importer as `citytools import`, so a synced release makes the contract an imported one would.
//!
//! Each page is one transaction: the importer's writes, the run's counts and its position
//! commit together, so a run stopped half way keeps the pages it committed and the next run
//! continues from the page after them. The page transaction sets `citytools.sync_run_id` and
//! `citytools.retrieved_at`, from which a trigger stamps the contracts it writes (see the
//! `sync_runs` migration): the importer itself knows nothing of syncing.

pub mod background;
pub mod client;
pub mod contracts_finder;
pub mod find_a_tender;
pub mod search;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::changelog::Actor;
use crate::import::{self, Format, ImportReport, Options};
use crate::queries::sync_runs as runs;
use client::{Client, ClientSettings};
use search::SourceApi;

/// The sources `citytools sync` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceName {
    /// Contracts Finder's OCDS search (awards of contracts over £12,000 in England).
    ContractsFinder,
    /// Find a Tender's OCDS release packages (procurements above the UK thresholds).
    FindATender,
}

impl SourceName {
    /// Where the source's search is and what its parameters are called.
    pub fn api(self) -> &'static SourceApi {
        match self {
            SourceName::ContractsFinder => &contracts_finder::API,
            SourceName::FindATender => &find_a_tender::API,
        }
    }

    /// The name stored in `sync_runs.source`.
    pub fn as_str(self) -> &'static str {
        self.api().name
    }

    /// Every source, in the order they are listed.
    pub const ALL: [SourceName; 2] = [SourceName::ContractsFinder, SourceName::FindATender];

    /// The source of that name (`contracts-finder`, `find-a-tender`), if there is one.
    pub fn from_name(name: &str) -> Option<SourceName> {
        SourceName::ALL
            .into_iter()
            .find(|source| source.as_str() == name)
    }

    /// The source's address: `explicit` (`--base-url`), else its environment variable, else
    /// the public service.
    pub fn base_url(self, explicit: Option<&str>) -> String {
        let api = self.api();
        explicit
            .map(str::to_owned)
            .or_else(|| std::env::var(api.base_url_variable).ok())
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| api.default_base_url.to_owned())
    }
}

/// Read a public source's new releases into contracts, page by page, continuing where the last
/// run ended. Exits non-zero when the source keeps failing, saying what was kept.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The source: contracts-finder or find-a-tender.
    pub source: SourceName,
    /// Read releases published (Contracts Finder) or updated (Find a Tender) from this date
    /// (YYYY-MM-DD) or time (RFC 3339) instead of continuing from the stored position.
    #[arg(long)]
    pub since: Option<String>,
    /// Read releases published or updated up to this date or time (default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// The source's address, for a mirror (default: CITYTOOLS_CONTRACTS_FINDER_URL or
    /// CITYTOOLS_FIND_A_TENDER_URL, else the public service).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Read and report what would change, writing nothing (not even the position).
    #[arg(long)]
    pub dry_run: bool,
    /// Print a summary as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

/// How far back a first run reads when there is neither `--since` nor a stored position.
const FIRST_RUN_DAYS: i64 = 30;

/// Releases read and what became of them: of one page, or summed over a run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    /// Releases read.
    pub releases: usize,
    /// Contracts created (in a dry run, that would be).
    pub added: usize,
    /// Contracts whose stored values changed.
    pub updated: usize,
    /// Contracts read again with the values stored.
    pub unchanged: usize,
    /// Records left out: not London, not technology, no supplier yet, repeats.
    pub skipped: usize,
    /// Tenders created (in a dry run, that would be).
    pub tenders_added: usize,
    /// Tenders whose stored values changed (amendments; an award completes its tender).
    pub tenders_updated: usize,
    /// Tenders read again with the values stored.
    pub tenders_unchanged: usize,
}

impl Counts {
    /// A page's counts: its releases, and what the importer reported of it.
    fn of_page(releases: usize, report: &ImportReport) -> Counts {
        Counts {
            releases,
            added: report.created,
            updated: report.updated,
            unchanged: report.unchanged,
            skipped: report.skipped,
            tenders_added: report.tenders.created,
            tenders_updated: report.tenders.updated,
            tenders_unchanged: report.tenders.unchanged,
        }
    }
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, page: Counts) {
        self.releases += page.releases;
        self.added += page.added;
        self.updated += page.updated;
        self.unchanged += page.unchanged;
        self.skipped += page.skipped;
        self.tenders_added += page.tenders_added;
        self.tenders_updated += page.tenders_updated;
        self.tenders_unchanged += page.tenders_unchanged;
    }
}

/// What one page gave.
#[derive(Debug, Clone, Serialize)]
pub struct PageSummary {
    /// From 1, in the order read.
    pub page: usize,
    /// The page's address.
    pub url: String,
    /// What it held and what became of it.
    #[serde(flatten)]
    pub counts: Counts,
    /// Whether its transaction committed (false in a dry run and for a page in error).
    pub committed: bool,
    /// Requests it took.
    pub tries: u32,
    /// Milliseconds spent pausing and waiting before retries.
    pub waited_ms: u64,
    /// Milliseconds spent on requests.
    pub fetch_ms: u64,
    /// Milliseconds spent importing.
    pub import_ms: u64,
    /// What went wrong on the tries before the good one.
    pub retried: Vec<String>,
}

/// What a sync did: printed by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct SyncSummary {
    /// The source's name, as `sync_runs.source` has it.
    pub source: &'static str,
    /// The `sync_runs` row; null in a dry run.
    pub run_id: Option<i64>,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The first page requested.
    pub started_from: String,
    /// Pages read and imported (committed, unless a dry run).
    pub pages: usize,
    /// What its pages held and what became of it, over every page.
    #[serde(flatten)]
    pub counts: Counts,
    /// Milliseconds spent pausing and waiting before retries, over every page.
    pub waited_ms: u64,
    /// Milliseconds spent on requests and importing.
    pub working_ms: u64,
    /// Milliseconds from the first request to the end.
    pub elapsed_ms: u64,
    /// Where the next run starts (what was stored, or in a dry run what would be).
    pub position: Option<String>,
    /// The page the run stopped at, when it stopped before the end.
    pub stopped_at: Option<String>,
    /// Why it stopped before the end; null when it read to the end.
    pub error: Option<String>,
    /// Every failed try, retried or not.
    pub errors: Vec<String>,
    /// What each page gave, in order.
    pub per_page: Vec<PageSummary>,
}

/// Why a page's transaction did not commit.
enum PageError {
    Database(diesel::result::Error),
    Import(import::run::ImportError),
    /// The importer found errors in the page's releases.
    Rejected(Box<ImportReport>),
}

impl From<diesel::result::Error> for PageError {
    fn from(error: diesel::result::Error) -> Self {
        PageError::Database(error)
    }
}

/// A date (`YYYY-MM-DD`, the start of that day in UTC) or an RFC 3339 time.
fn parse_time(option: &str, value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(value.trim()) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map(|day| day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        .map_err(|_| format!("{option} {value:?} is not a date (2024-03-31) or an RFC 3339 time"))
}

fn is_url(position: &str) -> bool {
    position.starts_with("http://") || position.starts_with("https://")
}

/// Shows progress: a spinner on a terminal, a line a page otherwise, or (in the background,
/// where a page's line is noise beside the service's requests) a debug log line.
enum Shown {
    Bar(ProgressBar),
    Lines,
    Logged,
}

impl Shown {
    fn new() -> Shown {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("template"));
            bar.enable_steady_tick(Duration::from_millis(120));
            Shown::Bar(bar)
        } else {
            Shown::Lines
        }
    }

    fn say(&self, message: String) {
        match self {
            Shown::Bar(bar) => bar.set_message(message),
            Shown::Lines => eprintln!("{message}"),
            Shown::Logged => log::debug!("{message}"),
        }
    }

    /// Whether to stop before the next page: only the background sync is ever asked to.
    fn stopping(&self) -> bool {
        matches!(self, Shown::Logged) && background::is_stopping()
    }

    fn done(&self) {
        if let Shown::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// Runs `citytools sync`; Ok(false) when the source kept failing (the summary says where).
pub fn run(conn: &mut PgConnection, args: &SyncArgs) -> Result<bool, String> {
    let settings = ClientSettings::from_env()?;
    let base = args.source.base_url(args.base_url.as_deref());
    let summary = sync(conn, args, &base, settings)?;
    eprintln!("{}", describe(&summary));
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&summary).map_err(|e| e.to_string())?
        );
    }
    Ok(summary.error.is_none())
}

/// People's summary of a run, for standard error.
fn describe(summary: &SyncSummary) -> String {
    let would = if summary.dry_run { "would be " } else { "" };
    let mut text = format!(
        "{} sync{}: {} pages, {} releases: contracts {} {would}added, {} {would}updated, {} unchanged; tenders {} {would}added, {} {would}updated, {} unchanged; {} skipped; {:.1} s waiting, {:.1} s working",
        summary.source,
        if summary.dry_run { " (dry run, nothing written)" } else { "" },
        summary.pages,
        summary.counts.releases,
        summary.counts.added,
        summary.counts.updated,
        summary.counts.unchanged,
        summary.counts.tenders_added,
        summary.counts.tenders_updated,
        summary.counts.tenders_unchanged,
        summary.counts.skipped,
        summary.waited_ms as f64 / 1000.0,
        summary.working_ms as f64 / 1000.0,
    );
    if let Some(error) = &summary.error {
        let kept = summary.per_page.iter().filter(|p| p.committed).count();
        text.push_str(&format!(
            "\nstopped at page {} ({}): {error}\n{}",
            summary.pages + 1,
            summary.stopped_at.as_deref().unwrap_or("?"),
            if summary.dry_run {
                "nothing was written (dry run)".to_owned()
            } else if kept == 0 {
                "no page was committed; the stored position is as it was".to_owned()
            } else {
                format!(
                    "pages 1-{kept} were committed and stay; the next sync without --since continues from page {}",
                    kept + 1
                )
            }
        ));
    }
    text
}

/// What `citytools sync {source}` without options does, for the background sync of `serve`:
/// from the stored position to now, at the address and with the client settings the
/// environment gives, progress logged rather than printed.
pub fn from_stored_position(
    conn: &mut PgConnection,
    source: SourceName,
) -> Result<SyncSummary, String> {
    let settings = ClientSettings::from_env()?;
    let args = SyncArgs {
        source,
        since: None,
        until: None,
        base_url: None,
        dry_run: false,
        json: false,
    };
    sync_showing(conn, &args, &source.base_url(None), settings, Shown::Logged)
}

/// Reads the source from where `args` or the stored position say, page by page.
pub fn sync(
    conn: &mut PgConnection,
    args: &SyncArgs,
    base: &str,
    settings: ClientSettings,
) -> Result<SyncSummary, String> {
    sync_showing(conn, args, base, settings, Shown::new())
}

/// [`sync`], showing progress as `shown` says.
fn sync_showing(
    conn: &mut PgConnection,
    args: &SyncArgs,
    base: &str,
    settings: ClientSettings,
    shown: Shown,
) -> Result<SyncSummary, String> {
    let api = args.source.api();
    let source = api.name;
    let until = match &args.until {
        Some(until) => parse_time("--until", until)?,
        None => Utc::now(),
    };
    let since = args
        .since
        .as_deref()
        .map(|since| parse_time("--since", since))
        .transpose()?;
    // Where to start: a search from a time, or a page of an earlier run's search (whose window
    // ends where it ends; a new search then reads on from there to `until`).
    let (first, mut then_search_from) = match since {
        Some(since) => (search::search_url(api, base, since, until), None),
        None => match runs::stored_position(conn, source).map_err(|e| e.to_string())? {
            Some(position) if is_url(&position) => {
                let reached = search::window_end(api, &position);
                (position, reached.filter(|t| *t < until))
            }
            Some(position) => {
                let from = parse_time("the stored position", &position)?;
                (search::search_url(api, base, from, until), None)
            }
            None => (
                search::search_url(
                    api,
                    base,
                    until - chrono::Duration::days(FIRST_RUN_DAYS),
                    until,
                ),
                None,
            ),
        },
    };
    if let Some(since) = since {
        if since >= until {
            return Err(format!(
                "--since ({since}) must be before --until ({until})"
            ));
        }
    }

    let run_id = if args.dry_run {
        None
    } else {
        Some(runs::start(conn, source).map_err(|e| e.to_string())?)
    };
    let actor = Actor {
        kind: "import",
        key_id: None,
        name: match run_id {
            Some(id) => format!("citytools sync {source} (run {id})"),
            None => format!("citytools sync {source} (dry run)"),
        },
    };

    let started = Instant::now();
    let mut summary = SyncSummary {
        source,
        run_id,
        dry_run: args.dry_run,
        started_from: first.clone(),
        pages: 0,
        counts: Counts::default(),
        waited_ms: 0,
        working_ms: 0,
        elapsed_ms: 0,
        position: None,
        stopped_at: None,
        error: None,
        errors: Vec::new(),
        per_page: Vec::new(),
    };
    let mut client = Client::new(settings);
    let mut url = first;
    // A `links.next` back to a page already read would go round for ever.
    let mut read = std::collections::HashSet::new();
    loop {
        if !read.insert(url.clone()) {
            summary.error = Some(format!(
                "links.next leads back to a page already read ({url}); stopping"
            ));
            summary.stopped_at = Some(url);
            break;
        }
        if shown.stopping() {
            summary.error = Some(
                "the service stopped before the end of the source; the next sync continues from here"
                    .into(),
            );
            summary.stopped_at = Some(url);
            break;
        }
        let number = summary.pages + 1;
        shown.say(format!("{source}: page {number}: {url}"));
        let page = match client.page(&url) {
            Ok(page) => page,
            Err(failure) => {
                summary.waited_ms += failure.waited.as_millis() as u64;
                summary.error = Some(format!(
                    "the source failed {} time(s): {}",
                    failure.attempts.len(),
                    failure.attempts.last().map_or("", String::as_str)
                ));
                summary.errors.extend(failure.attempts);
                summary.stopped_at = Some(url);
                break;
            }
        };
        let retrieved_at = Utc::now();
        let next = search::next_page(&page.json);
        // Where the next run starts once this page is committed.
        let position = match &next {
            Some(next) => next.clone(),
            None => then_search_from
                .or_else(|| search::window_end(api, &url))
                .unwrap_or(until)
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        };
        let options = Options {
            format: Format::Ocds,
            borough: None,
            dry_run: args.dry_run,
            all: false,
            file_name: Some(format!("{source} page {number}")),
            limits: import::Limits::default(),
        };
        let importing = Instant::now();
        let outcome = match run_id {
            None => import::run(conn, &options, &page.utf8, &actor, &import::run::Silent)
                .map_err(PageError::Import)
                .and_then(|report| {
                    if report.succeeded() {
                        Ok(report)
                    } else {
                        Err(PageError::Rejected(Box::new(report)))
                    }
                }),
            Some(run_id) => conn.transaction(|conn| {
                runs::stamp_writes(conn, run_id, retrieved_at)?;
                let report = import::run(conn, &options, &page.utf8, &actor, &import::run::Silent)
                    .map_err(PageError::Import)?;
                if !report.succeeded() {
                    return Err(PageError::Rejected(Box::new(report)));
                }
                let page = runs::PageCounts {
                    added: report.created,
                    updated: report.updated,
                    unchanged: report.unchanged,
                    skipped: report.skipped,
                    tenders_added: report.tenders.created,
                    tenders_updated: report.tenders.updated,
                };
                runs::add_page(conn, run_id, page, &position)?;
                Ok(report)
            }),
        };
        let import_ms = importing.elapsed().as_millis() as u64;
        summary.waited_ms += page.waited.as_millis() as u64;
        summary.working_ms += page.fetching.as_millis() as u64 + import_ms;
        summary.errors.extend(page.retried.iter().cloned());
        let report = match outcome {
            Ok(report) => report,
            Err(error) => {
                let why = match error {
                    PageError::Database(e) => format!("the database: {e}"),
                    PageError::Import(e) => format!("the import: {e}"),
                    PageError::Rejected(report) => {
                        format!("the page's releases are in error, nothing of it was written:\n{report}")
                    }
                };
                summary.error = Some(why.clone());
                summary.errors.push(why);
                summary.stopped_at = Some(url);
                break;
            }
        };
        let releases = search::releases(&page.json);
        let counts = Counts::of_page(releases, &report);
        summary.pages += 1;
        summary.counts += counts;
        summary.position = Some(position);
        summary.per_page.push(PageSummary {
            page: number,
            url: url.clone(),
            counts,
            committed: run_id.is_some(),
            tries: page.tries,
            waited_ms: page.waited.as_millis() as u64,
            fetch_ms: page.fetching.as_millis() as u64,
            import_ms,
            retried: page.retried,
        });
        shown.say(format!(
            "{source}: page {number}: {releases} releases, contracts {} added, {} updated, {} unchanged; tenders {} added, {} updated; {} skipped",
            report.created, report.updated, report.unchanged, report.tenders.created, report.tenders.updated, report.skipped
        ));
        url = match next {
            Some(next) => next,
            // A resumed search read to its end: read on from where it ended.
            None => match then_search_from.take() {
                Some(from) => search::search_url(api, base, from, until),
                None => break,
            },
        };
    }
    shown.done();
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    if let Some(run_id) = run_id {
        runs::finish(conn, run_id, summary.error.as_deref()).map_err(|e| e.to_string())?;
    }
    Ok(summary)
}
