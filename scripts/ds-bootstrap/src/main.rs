//! `ds-bootstrap`: the nextest setup script that starts PostgreSQL, Redis and DataStorage once
//! per test run and exports their addresses; re-executed as `ds-bootstrap datastorage ...` it
//! is the DataStorage daemon itself, which also serves the HolmesGPT-API mock (`HAPI_URL`).

mod daemon;
mod nextest;
mod reuse;
mod setup;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ds-bootstrap",
    about = "nextest setup script: starts PostgreSQL, Redis and DataStorage once per run (run it through `cargo nextest run --profile integration`)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs DataStorage in the foreground (the setup script starts this as its daemon).
    Datastorage(daemon::DaemonArgs),
    /// Stops the warm infrastructure that DS_REUSE=1 keeps for this configuration.
    StopWarm,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        None => setup::run(),
        Some(Command::Datastorage(args)) => daemon::run(args),
        Some(Command::StopWarm) => setup::stop_warm(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}`: the whole cause chain on one line, no backtrace noise in nextest's output.
            eprintln!("ds-bootstrap: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
