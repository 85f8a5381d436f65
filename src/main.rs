//! `fixring`: the command-line face of the engine.
//!
//! Subcommands live one per module under `cli/`; `check-config` validates a settings file
//! and prints what the engine would run.

mod cli;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(args) => cli::check_config::run(&args),
    }
}
