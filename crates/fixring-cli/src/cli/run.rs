//! `fixring run`: the engine from a settings file, until SIGINT or SIGTERM.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use fixring::core::Event;
use fixring::core::codec::Message;
use fixring::core::config::{Role, Settings};
use fixring::{Application, Context, Echo, Engine, LatencyStats, Percentiles, Reflect};

use crate::json::event_json;

/// How events are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EventFormat {
    /// One JSON object per line on stdout.
    Json,
    /// One readable line per event on stderr.
    Text,
}

/// The application the engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AppKind {
    /// Accept messages and do nothing with them.
    None,
    /// Answer every NewOrderSingle with an ExecutionReport.
    Echo,
    /// Send back every NewOrderSingle, SecurityDefinition and Email, and answer any other
    /// application message with a BusinessMessageReject, as QuickFIX's acceptance
    /// application does (for certification tests and QuickFIX's acceptance scripts).
    Reflect,
}

/// Arguments of `fixring run`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The QuickFIX-style settings file.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: PathBuf,
    /// Print every event in this format.
    #[arg(long, value_enum, default_value = "text")]
    events: EventFormat,
    /// The application to run.
    #[arg(long, value_enum, default_value = "none")]
    app: AppKind,
    /// Print the loops' latency percentiles (inbound and outbound paths) on stderr every
    /// SECONDS seconds.
    #[arg(long, value_name = "SECONDS")]
    stats: Option<u64>,
}

/// The command line's application: prints events, and answers messages when asked.
#[derive(Clone)]
struct CliApp {
    events: EventFormat,
    answer: Answer,
}

/// What the command line's application does with application messages.
#[derive(Clone)]
enum Answer {
    Nothing,
    Echo(Echo),
    Reflect(Reflect),
}

impl Application for CliApp {
    fn on_event(&mut self, event: &Event) {
        match self.events {
            EventFormat::Json => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", event_json(event));
                let _ = out.flush();
            }
            EventFormat::Text => {
                eprintln!("{event}");
            }
        }
    }

    fn on_logon(&mut self, session: &fixring::core::SessionId) {
        if let Answer::Reflect(reflect) = &mut self.answer {
            reflect.on_logon(session);
        }
    }

    fn on_app_message(&mut self, ctx: &mut Context<'_, '_>, msg: &Message<'_>) {
        match &mut self.answer {
            Answer::Nothing => {}
            Answer::Echo(echo) => echo.on_app_message(ctx, msg),
            Answer::Reflect(reflect) => reflect.on_app_message(ctx, msg),
        }
    }
}

pub(crate) fn run(args: &Args) -> ExitCode {
    // Block the stop signals before any loop thread exists, so that only sigwait sees them.
    let signals = match crate::cli::signals::StopSignals::block() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("fixring: cannot set up signal handling: {error}");
            return ExitCode::FAILURE;
        }
    };
    let answer = match args.app {
        AppKind::None => Answer::Nothing,
        AppKind::Echo => Answer::Echo(Echo::default()),
        AppKind::Reflect => Answer::Reflect(Reflect::default()),
    };
    let app = CliApp {
        events: args.events,
        answer,
    };
    let Some(settings) = crate::cli::check_config::load(&args.config) else {
        return ExitCode::from(2);
    };
    let mut engine = Engine::new(settings, app);
    if let Err(error) = engine.start() {
        eprintln!("fixring: {error}");
        return ExitCode::FAILURE;
    }
    let backends: Vec<_> = engine.backends().iter().map(|b| b.as_str()).collect();
    tracing::info!(backends = ?backends, "fixring running");
    eprint!(
        "{}",
        announcement(engine.settings(), &engine.listen_addrs())
    );
    let signal = match args.stats.filter(|&secs| secs > 0) {
        None => signals.wait(),
        Some(secs) => loop {
            if let Some(signal) = signals.wait_timeout(Duration::from_secs(secs)) {
                break signal;
            }
            print_stats(&engine.latency());
        },
    };
    tracing::info!(signal, "stopping");
    engine.stop();
    match engine.wait() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fixring: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What a started engine listens on and connects to, for the person who started it: one line
/// per listening address with the sessions it takes, and one per initiator session with its
/// hosts in the order they are tried.
fn announcement(settings: &Settings, listening: &[SocketAddr]) -> String {
    let mut out = String::new();
    for addr in listening {
        let sessions: Vec<String> = settings
            .sessions
            .iter()
            .filter(|s| matches!(&s.role, Role::Acceptor(a) if a.accept_port == addr.port()))
            .map(|s| match s.template {
                true => format!("{} (AcceptorTemplate)", s.id),
                false => s.id.to_string(),
            })
            .collect();
        let _ = write!(out, "fixring: listening on {addr}");
        if !sessions.is_empty() {
            let _ = write!(out, " for {}", sessions.join(", "));
        }
        out.push('\n');
    }
    for session in &settings.sessions {
        if let Role::Initiator(initiator) = &session.role {
            let hosts: Vec<String> = initiator
                .hosts
                .iter()
                .map(|h| format!("{}:{}", h.host, h.port))
                .collect();
            let _ = writeln!(
                out,
                "fixring: {} connects to {}",
                session.id,
                hosts.join(", then ")
            );
        }
    }
    out
}

/// One line per path: count and percentiles in microseconds.
fn print_stats(stats: &LatencyStats) {
    for (name, histogram) in [("inbound", stats.inbound()), ("outbound", stats.outbound())] {
        let p = Percentiles::of(histogram);
        let us = |ns: u64| ns as f64 / 1_000.0;
        eprintln!(
            "fixring {name:<8} count={} p50={:.1}us p90={:.1}us p99={:.1}us p99.9={:.1}us p99.99={:.1}us max={:.1}us",
            p.count,
            us(p.p50),
            us(p.p90),
            us(p.p99),
            us(p.p999),
            us(p.p9999),
            us(p.max)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_names_listeners_and_initiators() {
        let text = "[SESSION]\nConnectionType=acceptor\nBeginString=FIX.4.4\nSenderCompID=ACC\n\
                    TargetCompID=INIT\nSocketAcceptPort=5001\nHeartBtInt=30\n\
                    [SESSION]\nConnectionType=initiator\nBeginString=FIX.4.4\nSenderCompID=A\n\
                    TargetCompID=B\nSocketConnectHost=10.0.0.1\nSocketConnectPort=6001\n\
                    SocketConnectHost1=10.0.0.2\nSocketConnectPort1=6002\nHeartBtInt=30\n";
        let settings = Settings::parse(text, None).unwrap();
        let addr: SocketAddr = "0.0.0.0:5001".parse().unwrap();
        assert_eq!(
            announcement(&settings, &[addr]),
            "fixring: listening on 0.0.0.0:5001 for FIX.4.4:ACC->INIT\n\
             fixring: FIX.4.4:A->B connects to 10.0.0.1:6001, then 10.0.0.2:6002\n"
        );
    }
}
