//! `fixring`: the command-line face of the engine.
//!
//! Subcommands live one per module under `cli/`; `check-config` validates a settings file
//! and prints what the engine would run; `run` runs it; `bench` measures round-trip latency
//! with the harness in `bench/`. `json` writes events and bench reports as JSON. All of it
//! drives the engine through the `fixring` library's public API.

mod bench;
mod cli;
mod json;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A FIX-protocol connection engine for Linux.
#[derive(Debug, Parser)]
#[command(name = "fixring", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Parse a QuickFIX-style settings file, print its sessions and report every error.
    CheckConfig(cli::check_config::Args),
    /// Run the engine from a settings file until SIGINT or SIGTERM, which stop it gracefully.
    Run(cli::run::Args),
    /// Measure NewOrderSingle -> ExecutionReport round trips against a raw-socket baseline.
    Bench(Box<cli::bench::Args>),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => cli::check_config::run(&args),
        Command::Run(args) => cli::run::run(&args),
        Command::Bench(args) => cli::bench::run(&args),
    }
}
