//! `citytools`: serve the API, migrate, seed, print the OpenAPI document.

use std::process::ExitCode;

use actix_web::HttpServer;
use clap::{Parser, Subcommand};

use citytools::app::{build_app, openapi_json};
use citytools::config::Settings;
use citytools::db::{self, Database};
use citytools::seed;

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
    Seed,
    /// Print the OpenAPI document (regenerate openapi/openapi.json with this).
    Openapi,
}

fn main() -> ExitCode {
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

fn run(command: Command) -> Result<(), String> {
    if let Command::Openapi = command {
        print!("{}", openapi_json());
        return Ok(());
    }
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let database = Database::open(&settings).map_err(|e| e.to_string())?;
    let mut conn = database.connect().map_err(|e| e.to_string())?;
    match command {
        Command::Migrate => {
            let applied = db::migrate(&mut conn).map_err(|e| e.to_string())?;
            eprintln!("applied {applied} migration(s)");
        }
        Command::Seed => {
            db::migrate(&mut conn).map_err(|e| e.to_string())?;
            let report = seed::load(&mut conn).map_err(|e| e.to_string())?;
            eprintln!("{report}");
        }
        Command::Serve => {
            db::prepare(&mut conn).map_err(|e| e.to_string())?;
            drop(conn);
            actix_web::rt::System::new()
                .block_on(serve(&settings, &database))
                .map_err(|e| format!("serving on {} failed: {e}", settings.bind))?;
        }
        Command::Openapi => unreachable!("handled above"),
    }
    // Dropping the database stops the private cluster, if one was started.
    drop(database);
    Ok(())
}

async fn serve(settings: &Settings, database: &Database) -> std::io::Result<()> {
    let pool = db::pool(&database.url, settings.pool_size).map_err(std::io::Error::other)?;
    let server = HttpServer::new(move || build_app(pool.clone()))
        .bind(&settings.bind)?
        .shutdown_timeout(30);
    for addr in server.addrs() {
        log::info!("City Tools API listening on http://{addr} (docs at http://{addr}/docs/)");
    }
    // Ctrl-C and SIGTERM stop the server gracefully; the private cluster stops after it.
    server.run().await
}
