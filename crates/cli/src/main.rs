//! The clawscope binary.
#![forbid(unsafe_code)]

mod args;
mod commands;
mod config;
mod context;
mod gateway;
mod render;

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser};

use args::{Cli, Command};
use context::Ctx;

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLAWSCOPE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(*shell, &mut Cli::command(), "clawscope", &mut out);
        return Ok(());
    }
    match &cli.command {
        Command::Tail(a) => return commands::tail::run(a, &mut out),
        Command::Watch(a) => return commands::watch::run(a, &mut out),
        _ => {}
    }
    let ctx = Ctx::new(&cli.global)?;
    match &cli.command {
        Command::Import(a) => commands::import::run(&ctx, a, &mut out)?,
        Command::Report(a) => commands::report::run(&ctx, a, &mut out)?,
        Command::Status(a) => commands::status::run(&ctx, a, &mut out)?,
        Command::Sessions(a) => commands::sessions::list(&ctx, a, &mut out)?,
        Command::Show(a) => commands::show::run(&ctx, a, &mut out)?,
        Command::Search(a) => commands::sessions::search(&ctx, a, &mut out)?,
        Command::Anomalies(a) => commands::sessions::anomalies(&ctx, a, &mut out)?,
        Command::Traces(a) => commands::traces::run(&ctx, a, &mut out)?,
        Command::Alerts(a) => commands::alerts::run(&ctx, a, &mut out)?,
        Command::Serve(a) => {
            drop(out);
            return commands::serve::run(ctx, a);
        }
        Command::Completions { .. } | Command::Tail(_) | Command::Watch(_) => {}
    }
    out.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`| head`) is not an error worth a message.
            let closed = std::io::ErrorKind::BrokenPipe;
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == closed)
                    || c.downcast_ref::<serde_json::Error>()
                        .is_some_and(|j| j.io_error_kind() == Some(closed))
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
