//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// clawscope: what your OpenClaw agents and Claude Code sessions cost, and what they did.
///
/// Data is discovered automatically ($OPENCLAW_STATE_DIR, ~/.openclaw, ~/.clawdbot,
/// ~/.moltbot; $CLAUDE_CONFIG_DIR, ~/.config/claude, ~/.claude) and imported
/// incrementally into an embedded store, so reports after the first are instant.
#[derive(Debug, Parser)]
#[command(
    name = "clawscope",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// OpenClaw state dir to read (repeatable). Giving any --openclaw-dir or --claude-dir
    /// turns auto-discovery off.
    #[arg(long = "openclaw-dir", value_name = "DIR", global = true)]
    pub openclaw_dirs: Vec<PathBuf>,
    /// Claude Code config dir to read, the one holding `projects/` (repeatable).
    #[arg(long = "claude-dir", value_name = "DIR", global = true)]
    pub claude_dirs: Vec<PathBuf>,
    /// Store file (default: the platform data dir, e.g. ~/.local/share/clawscope/clawscope.db).
    #[arg(long, value_name = "FILE", env = "CLAWSCOPE_STORE", global = true)]
    pub store: Option<PathBuf>,
    /// Config file (default: the platform config dir, e.g. ~/.config/clawscope/config.toml).
    #[arg(long, value_name = "FILE", env = "CLAWSCOPE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// More log output (-v info, -vv debug). Logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// No progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the store up to date with everything the sources wrote since last time.
    Import(ImportArgs),
    /// Usage and cost reports.
    Report(ReportArgs),
    /// Today / this week / this month at a glance, active sessions, last activity.
    Status(StatusArgs),
    /// List sessions (filter, sort, top N by cost).
    Sessions(SessionsArgs),
    /// One session's timeline: turns, thinking, tool calls with results and durations,
    /// errors, sub-agents.
    Show(ShowArgs),
    /// Full-text search over message text.
    Search(SearchArgs),
    /// Cost spikes against a rolling baseline, expensive sessions, hourly burn.
    Anomalies(AnomalyArgs),
    /// Serve the JSON API and the live feed, following the sources as they are written
    /// (file changes, the gateway WebSocket, the native event stream), and receive
    /// OpenTelemetry (OTLP) traces, metrics and logs.
    Serve(ServeArgs),
    /// Traces received over OTLP: a listing, or one trace as a span tree with its logs.
    Traces(TracesArgs),
    /// Follow a running `clawscope serve`: a live, colored feed of events.
    Tail(TailArgs),
    /// A one-line live status (sessions active / hung / errored, gateway, last event).
    Watch(WatchArgs),
    /// Alerts: list, acknowledge, silence, see the rules, send a test notification,
    /// and pause or resume an agent through the gateway.
    Alerts(AlertsArgs),
    /// Print shell completions.
    Completions {
        /// Shell.
        shell: clap_complete::Shell,
    },
}

/// Which systems to read.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum SourceArg {
    #[default]
    All,
    Openclaw,
    Claude,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Only this source.
    #[arg(long, value_enum, default_value_t)]
    pub source: SourceArg,
    /// Reader threads (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the import report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Time window and output options shared by reports.
#[derive(Debug, Args, Clone)]
pub struct Window {
    /// Start (YYYY-MM-DD, YYYYMMDD or RFC 3339), inclusive, in --timezone.
    #[arg(long)]
    pub since: Option<String>,
    /// End (YYYY-MM-DD, YYYYMMDD or RFC 3339), inclusive for dates, in --timezone.
    #[arg(long)]
    pub until: Option<String>,
    /// IANA time zone for grouping and dates (default: config, then the system zone).
    #[arg(long, short = 'z')]
    pub timezone: Option<String>,
    /// Only this source.
    #[arg(long, value_enum, default_value_t)]
    pub source: SourceArg,
    /// Print JSON: {"rows":[...],"totals":{...}}.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV.
    #[arg(long)]
    pub csv: bool,
    /// Scan the sources into a throw-away scratch store (memory, spilling to an unnamed
    /// temporary file) without touching the store.
    #[arg(long)]
    pub no_db: bool,
    /// Do not import before reporting (report what the store holds).
    #[arg(long, conflicts_with = "no_db")]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportKind {
    Daily,
    Weekly,
    Monthly,
    Session,
    Model,
    Project,
    Agent,
    Blocks,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which report.
    #[arg(value_enum)]
    pub kind: ReportKind,
    #[command(flatten)]
    pub window: Window,
    /// Per-model rows under each period (table output).
    #[arg(long)]
    pub breakdown: bool,
    /// Block length in hours (blocks report only; default 5).
    #[arg(long, value_name = "HOURS", value_parser = clap::value_parser!(u32).range(1..=168))]
    pub session_length: Option<u32>,
}

/// Options of commands that show the store as it is now: no time window, no CSV.
#[derive(Debug, Args, Clone)]
pub struct Now {
    /// IANA time zone for dates and times (default: config, then the system zone).
    #[arg(long, short = 'z')]
    pub timezone: Option<String>,
    /// Only this source.
    #[arg(long, value_enum, default_value_t)]
    pub source: SourceArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Scan the sources into a throw-away scratch store (memory, spilling to an unnamed
    /// temporary file) without touching the store.
    #[arg(long)]
    pub no_db: bool,
    /// Do not import first (show what the store holds).
    #[arg(long, conflicts_with = "no_db")]
    pub offline: bool,
}

impl Now {
    /// The same options as a window with no bounds.
    pub fn window(&self) -> Window {
        Window {
            since: None,
            until: None,
            timezone: self.timezone.clone(),
            source: self.source,
            json: self.json,
            csv: false,
            no_db: self.no_db,
            offline: self.offline,
        }
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub now: Now,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    pub window: Window,
    /// The N most expensive sessions (instead of the most recent).
    #[arg(long, value_name = "N", conflicts_with = "limit",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub top: Option<u64>,
    /// Rows to show, most recent activity first (0: all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only this agent.
    #[arg(long)]
    pub agent: Option<String>,
    /// Session key or label contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only sub-agents of this session key.
    #[arg(long)]
    pub parent: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session key (or a unique part of it, or a session id).
    pub session: String,
    #[command(flatten)]
    pub now: Now,
    /// Show full tool arguments and results.
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct TracesArgs {
    /// Show this trace (32 hex digits) as a span tree instead of listing traces.
    pub trace_id: Option<String>,
    /// Only traces from this service (`service.name`).
    #[arg(long)]
    pub service: Option<String>,
    /// Root span name contains this text.
    #[arg(long)]
    pub name: Option<String>,
    /// Only traces at least this long (milliseconds).
    #[arg(long, value_name = "MS")]
    pub min_ms: Option<f64>,
    /// Only traces with an error span.
    #[arg(long)]
    pub errors: bool,
    /// Only traces linked to this session key.
    #[arg(long)]
    pub session: Option<String>,
    /// Started at or after (YYYY-MM-DD, YYYYMMDD or RFC 3339, in --timezone).
    #[arg(long)]
    pub since: Option<String>,
    /// Started before (same forms).
    #[arg(long)]
    pub until: Option<String>,
    /// IANA time zone for times shown and given (default: config, then the system zone).
    #[arg(long, short = 'z')]
    pub timezone: Option<String>,
    /// Rows to list.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// With a trace id: show span attributes too.
    #[arg(long)]
    pub full: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find (all must match).
    pub text: Vec<String>,
    /// Most hits to show, newest first.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    #[command(flatten)]
    pub window: Window,
}

#[derive(Debug, Args)]
pub struct AnomalyArgs {
    #[command(flatten)]
    pub window: Window,
    /// Hourly cost above this multiple of the trailing 24 h average is a spike.
    #[arg(long, default_value_t = 2.0, value_parser = non_negative)]
    pub spike_factor: f64,
    /// A session costing more than this (USD) is flagged.
    #[arg(long, default_value_t = 5.0, value_parser = non_negative)]
    pub session_usd: f64,
    /// An hour costing more than this (USD) is flagged as burn.
    #[arg(long, default_value_t = 3.0, value_parser = non_negative)]
    pub hourly_usd: f64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (IP:PORT, or localhost:PORT). Anything but loopback
    /// requires --token.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:3200", value_parser = listen_addr)]
    pub listen: std::net::SocketAddr,
    /// Bearer token required on every request (env CLAWSCOPE_TOKEN).
    #[arg(long, env = "CLAWSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Seconds between full rescans of the sources. Changes are picked up at once
    /// through file-change events; the rescan is the fallback for file systems
    /// without them.
    #[arg(
        long,
        visible_alias = "refresh",
        value_name = "SECS",
        default_value_t = 30
    )]
    pub rescan: u64,
    /// Gateway WebSocket to follow live (default: ws://127.0.0.1:<gateway.port> from
    /// the discovered openclaw.json).
    #[arg(long, value_name = "URL")]
    pub gateway: Option<String>,
    /// Token for the gateway (default: gateway.auth.token from openclaw.json).
    #[arg(
        long,
        env = "OPENCLAW_GATEWAY_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub gateway_token: Option<String>,
    /// Do not connect to the gateway WebSocket.
    #[arg(long, conflicts_with = "gateway")]
    pub no_gateway: bool,
    /// Let the dashboard act on the gateway (cron toggle and run-now): the gateway
    /// connection then asks for write and admin scopes. Alert rules that pause agents
    /// or message a chat channel turn this on by themselves. Actions need --token.
    #[arg(long)]
    pub gateway_actions: bool,
    /// Unix socket for native event-stream producers (newline-delimited JSON
    /// envelopes; default: clawscope/events.sock in the runtime dir).
    #[arg(long, value_name = "PATH")]
    pub event_socket: Option<PathBuf>,
    /// Do not open the event socket.
    #[arg(long, conflicts_with = "event_socket")]
    pub no_event_socket: bool,
    /// Also accept event-stream producers on this loopback TCP address.
    #[arg(long, value_name = "ADDR:PORT", value_parser = listen_addr)]
    pub event_tcp: Option<std::net::SocketAddr>,
    /// A working session with no progress for this many seconds is reported hung.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub hung_after: u64,
    /// Concurrent live-feed clients at most.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_stream_clients: usize,
    /// Live-feed connections are closed after this many seconds (clients resume
    /// with Last-Event-ID).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub max_stream_age: u64,
    #[command(flatten)]
    pub otlp: OtlpArgs,
}

/// The OTLP receiver of `serve`.
#[derive(Debug, Args)]
#[command(next_help_heading = "OTLP receiver")]
pub struct OtlpArgs {
    /// OTLP/HTTP address (POST /v1/traces, /v1/metrics, /v1/logs; protobuf or JSON,
    /// gzip) [default: 127.0.0.1:4318, skipped with a warning when taken]. Anything
    /// but loopback requires a token.
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "no_otlp_http", value_parser = listen_addr)]
    pub otlp_http: Option<std::net::SocketAddr>,
    /// Do not open the OTLP/HTTP receiver.
    #[arg(long)]
    pub no_otlp_http: bool,
    /// OTLP/gRPC address (trace, metrics and logs services; gzip) [default:
    /// 127.0.0.1:4317, skipped with a warning when taken].
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "no_otlp_grpc", value_parser = listen_addr)]
    pub otlp_grpc: Option<std::net::SocketAddr>,
    /// Do not open the OTLP/gRPC receiver.
    #[arg(long)]
    pub no_otlp_grpc: bool,
    /// Token OTLP exporters must send as `Authorization: Bearer <token>` (env
    /// CLAWSCOPE_OTLP_TOKEN; default: the API --token, if any).
    #[arg(
        long,
        env = "CLAWSCOPE_OTLP_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub otlp_token: Option<String>,
    /// Also accept the token in this header (for exporters that can only set
    /// custom headers, e.g. `x-api-key`).
    #[arg(long, value_name = "NAME")]
    pub otlp_token_header: Option<String>,
    /// Largest OTLP request body in bytes, after gzip decompression.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub otlp_max_body: usize,
    /// Days to keep raw spans, metric points and OTLP logs (0 keeps them forever).
    /// Trace summaries and hourly metric rollups are kept regardless.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub telemetry_retention_days: u32,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// clawscope server to follow.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3200")]
    pub server: String,
    /// Bearer token of the server (env CLAWSCOPE_TOKEN).
    #[arg(long, env = "CLAWSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Only this session.
    #[arg(long)]
    pub session: Option<String>,
    /// Only this agent.
    #[arg(long)]
    pub agent: Option<String>,
    /// Only these types (comma-separated; `tool.*` prefixes; `live`, `session`).
    #[arg(long = "type", value_name = "TYPES")]
    pub kinds: Option<String>,
    /// Start after this event sequence (replays stored events after it first).
    #[arg(long, value_name = "SEQ")]
    pub since_seq: Option<i64>,
    /// Hide streaming deltas (thinking, assistant text, command output).
    #[arg(long)]
    pub no_deltas: bool,
    /// Print raw JSON lines instead of the colored feed.
    #[arg(long)]
    pub json: bool,
    /// Color: auto, always, never.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorArg,
}

/// When to color output.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// clawscope server to follow.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3200")]
    pub server: String,
    /// Bearer token of the server (env CLAWSCOPE_TOKEN).
    #[arg(long, env = "CLAWSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print one status line and exit.
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: Option<AlertsCommand>,
    /// Output JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Firing alerts (the default), or history with --all.
    List {
        /// Resolved ones too, newest first.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One alert with its notification deliveries.
    Show {
        /// Alert id.
        id: i64,
    },
    /// Acknowledge an alert.
    Ack {
        /// Alert id.
        id: i64,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Silence notifications for a while (by rule, scope, or both; neither = all).
    Silence {
        /// Rule id (`budget_day`).
        #[arg(long)]
        rule: Option<String>,
        /// Scope, exact or a prefix ending in `*` (`agent:main`, `session:*`).
        #[arg(long)]
        scope: Option<String>,
        /// How long: `30m`, `2h`, `1d` (at most 90 days).
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Silences in force.
    Silences,
    /// Remove a silence.
    Unsilence {
        /// Silence id.
        id: i64,
    },
    /// The rules in force (built-in, config file, API edits).
    Rules,
    /// Forget the API's edit of a rule (the config file and built-in apply again).
    ResetRule {
        /// Rule id.
        id: String,
    },
    /// Send a test notification of a rule through its channels now and print what
    /// each channel answered.
    Test {
        /// Rule id.
        rule: String,
        /// Only this channel.
        #[arg(long)]
        channel: Option<String>,
    },
    /// Pause an agent through the gateway now (`agent:<id>`, or `gateway` for all).
    Pause {
        /// Target.
        target: String,
        /// Gateway WebSocket URL (default: from openclaw.json).
        #[arg(long, value_name = "URL")]
        gateway: Option<String>,
        /// Gateway token (default: from openclaw.json).
        #[arg(long, env = "OPENCLAW_GATEWAY_TOKEN", hide_env_values = true)]
        gateway_token: Option<String>,
    },
    /// Resume a paused agent through the gateway now; it stays resumed until the
    /// alert that paused it resolves.
    Resume {
        /// Target (`agent:<id>` or `gateway`).
        target: String,
        /// Gateway WebSocket URL (default: from openclaw.json).
        #[arg(long, value_name = "URL")]
        gateway: Option<String>,
        /// Gateway token (default: from openclaw.json).
        #[arg(long, env = "OPENCLAW_GATEWAY_TOKEN", hide_env_values = true)]
        gateway_token: Option<String>,
    },
    /// Pause and resume actions taken.
    Actions,
}

/// A finite number, zero or more (thresholds and factors).
fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(_) => Err("must be a finite number, 0 or more".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// An address to listen on: `IP:PORT` (`[v6]:PORT`), or `localhost:PORT` for 127.0.0.1.
/// Other host names are not resolved: which address they mean is not certain.
fn listen_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    match s.rsplit_once(':') {
        Some((_, p)) if p.parse::<u16>().is_err() => Err(format!("{p:?} is not a port (0-65535)")),
        Some((host, p)) if host.eq_ignore_ascii_case("localhost") => {
            let port = p.parse::<u16>().map_err(|e| e.to_string())?;
            Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        }
        _ => Err(
            "expected IP:PORT such as 127.0.0.1:3200, [::1]:3200 or localhost:3200 \
                  (other host names are not resolved)"
                .into(),
        ),
    }
}
