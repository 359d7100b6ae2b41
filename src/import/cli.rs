//! `citytools import`: each file in its own transaction, a progress bar when standard error is
//! a terminal, a summary per file on standard error and, with `--json`, each report as one line
//! of JSON on standard output.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::PgConnection;
use indicatif::{ProgressBar, ProgressStyle};

use super::run::{Progress, Silent};
use super::{survey, Format, Options};
use crate::changelog::Actor;

/// Import contracts from the City Tools survey, council contract registers, Contracts Finder
/// CSV exports or OCDS packages. Each file is one transaction: a single bad row means nothing
/// from that file is written. Exits non-zero when any row fails.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The files' format: survey, contracts-register, contracts-finder-csv or ocds.
    #[arg(long, required_unless_present = "template")]
    pub format: Option<Format>,
    /// A register's borough (slug, GSS code or name; required for registers). A survey's rows
    /// must then all be this borough's; from Contracts Finder and OCDS files, only this
    /// borough's contracts are imported.
    #[arg(long)]
    pub borough: Option<String>,
    /// Check the files and report what would change, writing nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep contracts that are not technology (buyers outside London are still skipped).
    #[arg(long)]
    pub all: bool,
    /// Also print each file's report as one line of JSON on standard output.
    #[arg(long)]
    pub json: bool,
    /// Print the template of a format (`survey`) on standard output, and import nothing.
    #[arg(long, value_name = "FORMAT", conflicts_with_all = ["format", "files"])]
    pub template: Option<String>,
    /// The files to import (`-` for standard input).
    #[arg(required_unless_present = "template")]
    pub files: Vec<PathBuf>,
}

impl ImportArgs {
    /// The template asked for with `--template`, if any.
    pub fn template(&self) -> Option<Result<String, String>> {
        self.template.as_deref().map(|format| match format {
            "survey" => Ok(survey::template()),
            other => Err(format!(
                "there is a template for the survey only (`--template survey`), not for {other:?}"
            )),
        })
    }
}

/// A progress bar on standard error.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn stage(&self, name: &str, total: usize) {
        self.0.set_message(name.to_owned());
        if total == 0 {
            self.0
                .set_style(ProgressStyle::with_template("{spinner} {msg}").expect("template"));
            self.0.enable_steady_tick(Duration::from_millis(120));
        } else {
            self.0.disable_steady_tick();
            self.0.set_style(
                ProgressStyle::with_template("{msg:16} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
                    .expect("template")
                    .progress_chars("=> "),
            );
            self.0.set_position(0);
            self.0.set_length(total as u64);
        }
    }

    fn advance(&self, steps: usize) {
        self.0.inc(steps as u64);
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Imports every file; Ok(false) when any of them failed (and so wrote nothing).
pub fn run(conn: &mut PgConnection, args: &ImportArgs) -> Result<bool, String> {
    let format = args
        .format
        .ok_or("--format is required: survey, contracts-register, contracts-finder-csv or ocds")?;
    if format == Format::ContractsRegister && args.borough.is_none() {
        return Err("a contract register needs --borough <slug, GSS code or name>".into());
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown user".into());
    let mut all_succeeded = true;
    for path in &args.files {
        let bytes = read(path)?;
        let name = if path.as_os_str() == "-" {
            "standard input".to_owned()
        } else {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        };
        let options = Options {
            format,
            borough: args.borough.clone(),
            dry_run: args.dry_run,
            all: args.all,
            file_name: Some(name.clone()),
            limits: super::Limits::default(),
        };
        let actor = Actor {
            kind: "import",
            key_id: None,
            name: format!("citytools import {name} ({user})"),
        };
        let started = Instant::now();
        let report = if std::io::stderr().is_terminal() {
            let bar = Bar(ProgressBar::new(0));
            let report = super::run(conn, &options, &bytes, &actor, &bar);
            bar.0.finish_and_clear();
            report
        } else {
            super::run(conn, &options, &bytes, &actor, &Silent)
        }
        .map_err(|e| format!("{name}: {e}"))?;
        let seconds = started.elapsed().as_secs_f64();
        eprint!("{report}");
        eprintln!(
            "  {:.2} s, {:.0} rows/s",
            seconds,
            report.read as f64 / seconds.max(1e-9)
        );
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&report).map_err(|e| e.to_string())?
            );
        }
        all_succeeded &= report.succeeded();
    }
    Ok(all_succeeded)
}
