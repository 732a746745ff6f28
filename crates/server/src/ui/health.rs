//! `/health`: the host (disk, memory, load), the gateway (version, uptime,
//! reachability) and clawscope itself (store size, newest event, event rates, feed
//! clients).

use std::path::Path;
use std::time::Instant;

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::chrome::Chrome;
use super::overview::gateway_lines;
use super::rows::Metric;
use super::{fmt, render};
use crate::AppState;

const HOUR_MS: i64 = 3_600_000;

#[derive(Template)]
#[template(path = "health.html")]
pub struct HealthPage {
    pub chrome: Chrome,
    pub metrics: Vec<Metric>,
    pub host: Vec<(String, String)>,
    pub gateway: Vec<(String, String)>,
    pub me: Vec<(String, String)>,
}

fn meminfo() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

fn disk(path: &Path) -> Option<(u64, u64)> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some((s.f_blocks * s.f_frsize, s.f_bavail * s.f_frsize))
}

fn bytes(n: u64) -> String {
    let f = n as f64;
    if n >= 1 << 30 {
        format!("{:.1} GiB", f / (1u64 << 30) as f64)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", f / (1u64 << 20) as f64)
    } else {
        format!("{:.0} KiB", f / 1024.0)
    }
}

fn host_lines(store_dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        let parts: Vec<&str> = l.split_whitespace().take(3).collect();
        out.push(("Load (1, 5, 15 min)".into(), parts.join(" ")));
    }
    out.push((
        "CPUs".into(),
        std::thread::available_parallelism()
            .map(|n| n.to_string())
            .unwrap_or_default(),
    ));
    if let Some((total, avail)) = meminfo() {
        out.push((
            "Memory".into(),
            format!("{} free of {}", bytes(avail), bytes(total)),
        ));
    }
    if let Some((total, avail)) = disk(store_dir) {
        out.push((
            "Disk (store)".into(),
            format!(
                "{} free of {} ({} used)",
                bytes(avail),
                bytes(total),
                fmt::pct(1.0 - avail as f64 / total.max(1) as f64)
            ),
        ));
    }
    out
}

/// `GET /health`.
pub async fn page(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let chrome = Chrome::new(&st, &headers, "health", "Health").live("type=session");
    let gateway = st.gateway.as_ref().map(|f| f());
    let clients = st.bus.as_ref().map(|b| b.clients());
    let feed_seq = st.bus.as_ref().map(|b| b.last_seq());
    let started_ms = st.started_ms;
    let store_dir = st
        .ui
        .store_path
        .as_ref()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| ".".into());
    let tz = st.ui.tz;
    let r = st
        .read(move |s| {
            let now = chrono::Utc::now().timestamp_millis();
            let stats = s.stats()?;
            let hour = s.activity(now - HOUR_MS, None)?;
            let (turns, tools, errors) = hour.iter().fold((0, 0, 0), |a, b| {
                (a.0 + b.turns, a.1 + b.tool_calls, a.2 + b.errors)
            });
            let metrics = vec![
                Metric::count("store-events", "Events stored", stats.events, String::new()),
                Metric::count("store-sessions", "Sessions", stats.sessions, String::new()),
                Metric::count(
                    "store-bytes",
                    "Store size (bytes)",
                    stats.size_bytes,
                    bytes(stats.size_bytes),
                ),
                Metric::count(
                    "turns-last-hour",
                    "Model turns, last hour",
                    turns,
                    format!("{tools} tool calls, {errors} errors"),
                ),
            ];
            let mut me = vec![
                ("Version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
                (
                    "Up since".to_string(),
                    format!(
                        "{} ({})",
                        fmt::datetime(started_ms, tz),
                        fmt::ago(started_ms, now)
                    ),
                ),
                (
                    "Schema version".to_string(),
                    stats.schema_version.to_string(),
                ),
                (
                    "Newest event".to_string(),
                    stats
                        .last_event_ms
                        .map(|t| format!("{} ({})", fmt::datetime(t, tz), fmt::ago(t, now)))
                        .unwrap_or_else(|| "none yet".into()),
                ),
            ];
            if let Some(seq) = feed_seq {
                me.push(("Live feed sequence".into(), fmt::int(seq.max(0) as u64)));
            }
            if let Some(c) = clients {
                me.push(("Live feed clients".into(), c.to_string()));
            }
            Ok(HealthPage {
                chrome,
                metrics,
                host: host_lines(&store_dir),
                gateway: gateway_lines(gateway.as_ref(), now),
                me,
            })
        })
        .await;
    render::page(r, started)
}
