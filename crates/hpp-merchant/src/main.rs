//! `hpp-merchant`: the reference merchant service. Flags and environment variables:
//! `hpp-merchant --help`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::process::ExitCode;

use clap::Parser as _;
use hpp_merchant::cli::Cli;
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hpp-merchant: {error}");
            ExitCode::FAILURE
        }
    }
}
