//! `cluster-bootstrap`: the setup script of the `integration-cluster` nextest profile — every
//! test process shares one cluster (one API server), each with a controller manager of its own.
//!
//! As a setup script (no arguments) it runs `ds-bootstrap` (PostgreSQL, Redis, DataStorage),
//! then takes the cluster of `FIXTURES_KUBECONFIG` (its current context) or, without it, starts
//! the project's standalone `apiserver` (garbage collection and namespace deletion on) as a
//! supervised daemon; checks the cluster, installs `crds/` with server-side apply, waits until
//! each CRD is Established, registers the run's clean-up with the supervisor and exports the
//! fixture's cluster-mode variables. `cleanup` is that clean-up: it deletes the namespaces a
//! label selector matches (and, when asked, CRDs).

mod check;
mod cleanup;
mod serve;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cluster-bootstrap",
    about = "nextest setup script of the integration-cluster profile (run it through `cargo nextest run --profile integration-cluster`)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Deletes the namespaces matching a label selector (a run's or a test process's), then the
    /// named CRDs; what the supervisors run when a test process or the run ends.
    #[command(alias = "delete-namespaces")]
    Cleanup(cleanup::Args),
    /// Serves the standalone API server (the cluster when `FIXTURES_KUBECONFIG` is unset) until
    /// SIGTERM or SIGINT; the setup script starts it as a daemon of the run.
    ServeApiserver(serve::Args),
    /// Checks a cluster as the setup script does (reachable, version, discovery, permissions)
    /// without changing it.
    Check {
        /// The kubeconfig.
        #[arg(long)]
        kubeconfig: PathBuf,
        /// Its context (default: the current one).
        #[arg(long)]
        context: Option<String>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        None => setup::run(),
        Some(Command::Cleanup(args)) => cleanup::run(&args),
        Some(Command::ServeApiserver(args)) => serve::run(&args),
        Some(Command::Check {
            kubeconfig,
            context,
        }) => check::run_standalone(&kubeconfig, context.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster-bootstrap: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
