//! `hpp-merchant`: the reference merchant service. Flags and environment variables:
//! `hpp-merchant --help`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use hpp_merchant::cli::{Cli, Command, SessionsArgs};
use hpp_store::{Store, StoreOptions};
use tracing_subscriber::EnvFilter;

async fn run(cli: Cli) -> Result<(), String> {
    // Listened for before binding: a signal once the service answers stops it cleanly.
    let stop = hpp_shutdown::stop_signal(|error| {
        tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C only");
    });
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", cli.listen))?;
    let merchant = hpp_merchant::serve(cli.config(), listener)
        .await
        .map_err(|error| error.to_string())?;
    stop.await;
    tracing::info!("stopping: finishing the requests and work under way");
    merchant.shutdown().await;
    Ok(())
}

/// `hpp-merchant sessions`: reads the store, writes nothing.
async fn sessions(args: SessionsArgs) -> Result<(), String> {
    let options = StoreOptions {
        create: false,
        max_connections: 1,
        ..StoreOptions::default()
    };
    let store = Store::connect_with(&args.database_url, options)
        .await
        .map_err(|error| format!("the database {}: {error}", args.database_url))?;
    let listed = hpp_merchant::report::session_orders(&store)
        .await
        .map_err(|error| format!("the database {}: {error}", args.database_url))?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        listed
            .iter()
            .try_for_each(|session| writeln!(out, "{}", session.json()))
    } else {
        write!(out, "{}", hpp_merchant::report::table(&listed))
    };
    match written {
        Ok(()) => Ok(()),
        // A closed pipe (| head) is the reader's choice, not an error.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(format!("writing the list: {error}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hpp-merchant: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let done = match cli.command.clone() {
        Some(Command::Sessions(args)) => runtime.block_on(sessions(args)),
        None => runtime.block_on(run(cli)),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hpp-merchant: {error}");
            ExitCode::FAILURE
        }
    }
}
