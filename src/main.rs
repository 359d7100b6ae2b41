//! `citytools`: serve the API, migrate, seed, print the OpenAPI document, import and sync.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use citytools::app::{openapi_json, startup};
use citytools::config::Settings;
use citytools::db::{self, Database};
use citytools::models::Role;
use citytools::{auth, import, purge, queries, seed, sync};

/// City Tools API: London's local-government technology estate as an open JSON API.
///
/// Without DATABASE_URL, a private PostgreSQL cluster is created under CITYTOOLS_DATA_DIR
/// (default .citytools/) and started and stopped with the command.
#[derive(Debug, Parser)]
#[command(name = "citytools", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default): migrates, seeds an empty database, listens on CITYTOOLS_BIND.
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Load the seed data, adding whatever is missing (existing rows are left as they are).
    Seed {
        /// Also generate a synthetic UK-scale dataset for benchmarks (replacing an earlier one).
        #[arg(long)]
        synthetic: bool,
        /// With --synthetic: authorities in all, London's 33 included.
        #[arg(long, default_value_t = 400, requires = "synthetic")]
        authorities: u32,
        /// With --synthetic: contracts to generate.
        #[arg(long, default_value_t = 1_000_000, requires = "synthetic")]
        contracts: u64,
        /// With --synthetic: the random seed; the same seed gives the same data.
        #[arg(long, default_value_t = 42, requires = "synthetic")]
        seed: u64,
        /// Load the authorities, service areas, suppliers and systems but not the illustrative
        /// (invented) contracts.
        #[arg(long)]
        no_sample_data: bool,
    },
    /// Delete every contract of one source, each deletion logged in the change log.
    Purge {
        /// The source to delete; only `illustrative` (the invented contracts) may be purged.
        #[arg(long)]
        source: String,
        /// Count what would be deleted and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also print the summary as JSON on standard output.
        #[arg(long)]
        json: bool,
    },
    /// Print the OpenAPI document (regenerate openapi/openapi.json with this).
    Openapi,
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Import contracts: the survey, council contract registers, Contracts Finder and OCDS.
    Import(import::cli::ImportArgs),
    /// Read a public source's new releases into contracts (contracts-finder, find-a-tender), page by page.
    Sync(sync::SyncArgs),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print it once, alone on the last line of standard output.
    Create {
        /// admin (every write), borough (its own borough's contracts) or reader (reads assessments).
        #[arg(long)]
        role: Role,
        /// The borough a `borough` key writes for, by slug or GSS code.
        #[arg(long)]
        borough: Option<String>,
        /// A label saying who holds the key, such as "Camden digital team".
        #[arg(long)]
        name: String,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by id; requests with it are refused from then on.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: i64,
    },
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// glibc gives a thread that allocates while the others hold their arenas an arena of its own,
/// and keeps what is freed there for that arena: with a blocking thread per import or export,
/// the service's memory grew by a request's peak for each thread that had served one (twelve
/// refused 20,001-row imports in a row: 43 to 155 MiB). Two arenas, one per core of the
/// machines it is sized for, keep freed memory for whichever thread asks next.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it runs before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn run(command: Command) -> Result<(), String> {
    if let Command::Openapi = command {
        print!("{}", openapi_json());
        return Ok(());
    }
    if let Command::Import(args) = &command {
        if let Some(template) = args.template() {
            print!("{}", template?);
            return Ok(());
        }
    }
    // Refused before any database is opened, so that a typo touches nothing.
    if let Command::Purge { source, .. } = &command {
        purge::purgeable(source).map_err(|e| e.to_string())?;
    }
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let database = Database::open(settings.database_url.as_deref(), &settings.data_dir)
        .map_err(|e| e.to_string())?;
    let mut conn = database.connect().map_err(|e| e.to_string())?;
    match command {
        Command::Migrate => {
            let applied = db::migrate(&mut conn).map_err(|e| e.to_string())?;
            eprintln!("applied {applied} migration(s)");
        }
        Command::Seed {
            synthetic,
            authorities,
            contracts,
            seed,
            no_sample_data,
        } => {
            db::migrate(&mut conn).map_err(|e| e.to_string())?;
            let report = seed::load_with(&mut conn, !no_sample_data).map_err(|e| e.to_string())?;
            eprintln!("{report}");
            if synthetic {
                if authorities > 100_000 || contracts > 100_000_000 {
                    return Err(
                        "--authorities is at most 100000 and --contracts at most 100000000".into(),
                    );
                }
                let options = citytools::synthetic::SyntheticOptions {
                    authorities,
                    contracts,
                    seed,
                };
                eprintln!("generating {contracts} synthetic contracts over {authorities} authorities (seed {seed})");
                let report = citytools::synthetic::generate(&mut conn, options)
                    .map_err(|e| e.to_string())?;
                eprintln!("{report}");
            }
        }
        Command::Serve => {
            startup::prepare_with(&mut conn, settings.sample_data).map_err(|e| e.to_string())?;
            drop(conn);
            actix_web::rt::System::new()
                .block_on(startup::serve(&settings, &database))
                .map_err(|e| format!("serving on {} failed: {e}", settings.bind))?;
        }
        Command::Keys(command) => run_keys(&mut conn, command)?,
        Command::Purge {
            source,
            dry_run,
            json,
        } => {
            let source = purge::purgeable(&source).map_err(|e| e.to_string())?;
            db::migrate(&mut conn).map_err(|e| e.to_string())?;
            let report = purge::purge(&mut conn, source, dry_run).map_err(|e| e.to_string())?;
            eprintln!("{report}");
            if json {
                println!("{}", serde_json::json!(report));
            }
        }
        Command::Import(args) => {
            startup::prepare_with(&mut conn, settings.sample_data).map_err(|e| e.to_string())?;
            if !import::cli::run(&mut conn, &args)? {
                return Err("some files failed and wrote nothing; fix the rows listed above and run the import again".into());
            }
        }
        Command::Sync(args) => {
            startup::prepare_with(&mut conn, settings.sample_data).map_err(|e| e.to_string())?;
            if !sync::run(&mut conn, &args)? {
                return Err("the sync stopped before the end of the source (see above); run it again to continue".into());
            }
        }
        Command::Openapi => unreachable!("handled above"),
    }
    // Dropping the database stops the private cluster, if one was started.
    drop(database);
    Ok(())
}

fn run_keys(conn: &mut diesel::PgConnection, command: KeysCommand) -> Result<(), String> {
    db::migrate(conn).map_err(|e| e.to_string())?;
    match command {
        KeysCommand::Create {
            role,
            borough,
            name,
        } => {
            let borough_id = match (role, borough) {
                (Role::Borough, Some(borough)) => Some(
                    queries::contracts::borough_slug(conn, &borough)
                        .map_err(|e| e.to_string())?
                        .ok_or_else(|| {
                            format!("there is no borough {borough:?}; see /api/v1/boroughs")
                        })?,
                ),
                (Role::Borough, None) => {
                    return Err("a borough key needs --borough <slug or GSS code>".into())
                }
                (_, Some(_)) => return Err("--borough is only for --role borough".into()),
                (_, None) => None,
            };
            let name = name.trim();
            if name.is_empty() {
                return Err("--name must say who holds the key".into());
            }
            let key = auth::generate_key();
            let id = queries::keys::create(conn, &key, name, role.as_str(), borough_id.as_deref())
                .map_err(|e| e.to_string())?;
            eprintln!(
                "created {role} key {id} for {name}{}; it is shown once, below:",
                borough_id
                    .map(|b| format!(" (borough {b})"))
                    .unwrap_or_default()
            );
            println!("{}", key.key);
        }
        KeysCommand::List => {
            let keys = queries::keys::list(conn).map_err(|e| e.to_string())?;
            println!("id\trole\tborough\tprefix\tcreated\tlast used\trevoked\tname");
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".into())
            };
            for key in keys {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.role,
                    key.borough_id.as_deref().unwrap_or("-"),
                    key.prefix,
                    time(Some(key.created_at)),
                    time(key.last_used_at),
                    time(key.revoked_at),
                    key.name
                );
            }
        }
        KeysCommand::Revoke { id } => {
            if queries::keys::revoke(conn, id).map_err(|e| e.to_string())? {
                eprintln!("revoked key {id}");
            } else {
                return Err(format!(
                    "there is no unrevoked key {id}; see `citytools keys list`"
                ));
            }
        }
    }
    Ok(())
}
