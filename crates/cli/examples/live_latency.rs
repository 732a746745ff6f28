//! Live latency benchmark: append → SSE delivery.
//!
//! Starts a release `clawscope serve` on a fresh store and fresh data dirs, opens N
//! clients on `GET /api/v1/stream`, then appends to a transcript at a steady rate the
//! way the writer of that source does, and measures the time from the start of each
//! append to its arrival at every client (one monotonic clock: the appender and the
//! clients live in this process).
//!
//! Sources:
//! - `jsonl`: OpenClaw legacy layout, `agents/main/sessions/<id>.jsonl` + `sessions.json`;
//!   every line is one open-append-close (as `fs.appendFileSync` does).
//! - `sqlite`: OpenClaw ≥ 2026.7 per-agent store `agents/main/agent/openclaw-agent.sqlite`
//!   with the schema of the 2026.9.6 fixture, WAL, `synchronous=NORMAL`, foreign keys on;
//!   every line is one transaction: rows in `transcript_events`,
//!   `transcript_event_identities` and `session_transcript_active_events`, the index
//!   state and `session_windows.transcript_updated_at`.
//! - `claude`: Claude Code `projects/-p/<session>.jsonl` (assistant lines with usage).
//!
//! ```text
//! cargo build --release -p clawscope --example live_latency
//! target/release/examples/live_latency --source jsonl --clients 500 --rate 50 --seconds 20
//! ```
//!
//! Prints one table row (source, clients, events, p50, p90, p99, max, missed, dupes) on
//! stdout and details (worst client, first/last client per event, append cost, server
//! CPU, writer rounds when the server logs them at trace level) on stderr.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream as StdTcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use rusqlite::{params, Connection, OpenFlags};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Every appended entry id starts with this (36 characters with the 12-digit index,
/// so the OpenClaw parser keeps it verbatim: `oc:<sessionId>:<entryId>`).
const MARKER: &str = "1a7e1a7e-0000-4000-8000-";
const SESSION_KEY: &str = "agent:main:main";
const TARGET_P99_MS: f64 = 50.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Source {
    /// OpenClaw legacy JSONL transcript.
    Jsonl,
    /// OpenClaw per-agent SQLite store.
    Sqlite,
    /// Claude Code JSONL transcript.
    Claude,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Jsonl => "jsonl",
            Source::Sqlite => "sqlite",
            Source::Claude => "claude",
        }
    }
}

/// Append → SSE delivery latency of `clawscope serve`.
#[derive(Debug, Parser)]
#[command(name = "live_latency")]
struct Opts {
    /// Appended lines per second.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Measured seconds (after the warm-up).
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Warm-up seconds of appends that are not measured.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Connected SSE clients.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// What to append to.
    #[arg(long, value_enum, default_value_t = Source::Jsonl)]
    source: Source,
    /// The clawscope binary.
    #[arg(long, default_value = "target/release/clawscope")]
    bin: PathBuf,
    /// Stream filter (`type=` of /api/v1/stream), e.g. `event`; default: everything.
    #[arg(long, value_name = "TYPES")]
    filter: Option<String>,
    /// Seconds to wait for outstanding deliveries after the last append.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Threads of the clients' runtime (the server needs the other cores).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// JSONL: rewrite sessions.json (tmp + rename) every N lines; 0 = never.
    #[arg(long, default_value_t = 0)]
    meta_every: u64,
    /// The server's stderr goes here (set CLAWSCOPE_LOG=clawscope_live=trace to get
    /// per-round timings, summarised at the end).
    #[arg(long, value_name = "FILE")]
    server_log: Option<PathBuf>,
    /// Write `n,append_unix_us,first_arrival_latency_us` per measured entry here.
    #[arg(long, value_name = "FILE")]
    append_log: Option<PathBuf>,
    /// OpenClaw agent database whose schema the SQLite source copies.
    #[arg(long, value_name = "FILE", default_value = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/openclaw-2026.9.6/sqlite-layout/home/.openclaw/agents/main/agent/openclaw-agent.sqlite"
    ))]
    schema_db: PathBuf,
    /// Keep the temp dir (store, data dirs, server log).
    #[arg(long)]
    keep: bool,
    /// Do not print the table header.
    #[arg(long)]
    no_header: bool,
}

fn iso(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn entry_id(n: u64) -> String {
    format!("{MARKER}{n:012}")
}

/// A pseudo-UUID that is not one of ours.
fn other_id(tag: u32, n: u64) -> String {
    format!("{tag:08x}-0000-4000-8000-{n:012x}")
}

// ---------------------------------------------------------------------------
// Appenders

trait Appender: Send {
    /// Append entry `n`.
    fn append(&mut self, n: u64) -> Result<()>;
}

/// One OpenClaw transcript entry: user and assistant messages in turn.
fn oc_line(n: u64, now: SystemTime) -> String {
    let id = entry_id(n);
    let parent = if n == 0 {
        other_id(1, 1)
    } else {
        entry_id(n - 1)
    };
    let ts = iso(now);
    let ms = unix_ms(now);
    let msg = if n & 1 == 0 {
        json!({
            "role": "user",
            "content": format!("latency probe {n}: what is the capital of France?"),
            "timestamp": ms,
            "idempotencyKey": format!("{}:user", other_id(2, n)),
            "__openclaw": {"senderIsOwner": true},
        })
    } else {
        json!({
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Simple question; no tools needed.", "thinkingSignature": "reasoning_content"},
                {"type": "text", "text": format!("Paris. (reply {n})")},
            ],
            "api": "anthropic-messages",
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "usage": {
                "input": 2226 + n, "output": 47, "cacheRead": 1024, "cacheWrite": 0,
                "reasoningTokens": 8, "totalTokens": 3297 + n,
            },
            "stopReason": "stop",
            "timestamp": ms,
            "responseId": format!("msg_{}", other_id(3, n)),
            "__openclaw": {"runId": other_id(4, n / 2)},
        })
    };
    json!({"type": "message", "id": id, "parentId": parent, "timestamp": ts, "message": msg})
        .to_string()
}

fn oc_header(session_id: &str, now: SystemTime) -> [String; 2] {
    [
        json!({"type": "session", "version": 4, "id": session_id, "timestamp": iso(now), "cwd": "/home/dev/project"}).to_string(),
        json!({"type": "model_change", "provider": "anthropic", "modelId": "claude-sonnet-4-5",
               "id": other_id(1, 0), "parentId": null, "timestamp": iso(now)})
        .to_string(),
    ]
}

fn session_entry(session_id: &str, now: SystemTime) -> serde_json::Value {
    json!({
        "sessionId": session_id,
        "updatedAt": unix_ms(now),
        "sessionStartedAt": unix_ms(now),
        "chatType": "direct",
        "modelProvider": "anthropic",
        "model": "claude-sonnet-4-5",
        "contextTokens": 200000,
    })
}

/// Append `line` + newline in one write, opening and closing the file each time.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?
        .write_all(&buf)
}

struct JsonlAppender {
    dir: PathBuf,
    transcript: PathBuf,
    session_id: String,
    meta_every: u64,
    /// Lines appended since sessions.json was last written.
    since_index: u64,
}

impl JsonlAppender {
    fn create(oc: &Path, meta_every: u64) -> Result<JsonlAppender> {
        let dir = oc.join("agents/main/sessions");
        std::fs::create_dir_all(&dir)?;
        let session_id = other_id(0x5e55, 1);
        let a = JsonlAppender {
            transcript: dir.join(format!("{session_id}.jsonl")),
            dir,
            session_id,
            meta_every,
            since_index: 0,
        };
        let now = SystemTime::now();
        a.write_index(now)?;
        for line in oc_header(&a.session_id, now) {
            append_line(&a.transcript, &line)?;
        }
        Ok(a)
    }

    /// `sessions.json` the way the gateway saves it: a temp file renamed over it.
    fn write_index(&self, now: SystemTime) -> Result<()> {
        let index = json!({ SESSION_KEY: session_entry(&self.session_id, now) });
        let tmp = self
            .dir
            .join(format!("sessions.json.{}.tmp", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&index)?)?;
        std::fs::rename(&tmp, self.dir.join("sessions.json"))?;
        Ok(())
    }
}

impl Appender for JsonlAppender {
    fn append(&mut self, n: u64) -> Result<()> {
        let now = SystemTime::now();
        append_line(&self.transcript, &oc_line(n, now))?;
        if self.meta_every > 0 {
            self.since_index += 1;
            if self.since_index == self.meta_every {
                self.since_index = 0;
                self.write_index(now)?;
            }
        }
        Ok(())
    }
}

struct ClaudeAppender {
    transcript: PathBuf,
    session_id: String,
}

impl ClaudeAppender {
    fn create(cc: &Path) -> Result<ClaudeAppender> {
        let dir = cc.join("projects/-p");
        std::fs::create_dir_all(&dir)?;
        let session_id = other_id(0xc1a0, 1);
        Ok(ClaudeAppender {
            transcript: dir.join(format!("{session_id}.jsonl")),
            session_id,
        })
    }
}

impl Appender for ClaudeAppender {
    fn append(&mut self, n: u64) -> Result<()> {
        let now = SystemTime::now();
        let line = json!({
            "parentUuid": other_id(6, n),
            "isSidechain": false,
            "userType": "external",
            "cwd": "/p",
            "sessionId": self.session_id,
            "version": "2.0.14",
            "gitBranch": "main",
            "type": "assistant",
            "uuid": other_id(7, n),
            "timestamp": iso(now),
            "requestId": format!("req_{n:012}"),
            "message": {
                "id": format!("msg_{}", entry_id(n)),
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "text", "text": format!("Paris. (reply {n})")}],
                "stop_reason": "end_turn",
                "usage": {
                    "input_tokens": 12 + n, "output_tokens": 47,
                    "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20480,
                },
            },
        });
        append_line(&self.transcript, &line.to_string())?;
        Ok(())
    }
}

struct SqliteAppender {
    conn: Connection,
    session_id: String,
    /// Transcript rows written so far (the next `seq`).
    rows: i64,
    messages: i64,
}

/// The fixture's schema: tables (virtual ones create their own shadow tables), views,
/// indexes, triggers, in creation order within each kind; and its user_version.
fn copy_schema(from: &Path, to: &Connection) -> Result<()> {
    let path = from.to_string_lossy();
    let uri = format!(
        "file:{}?mode=ro&immutable=1",
        path.replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23")
    );
    let src = Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .with_context(|| format!("cannot open the schema database {}", from.display()))?;
    let shadow: HashSet<String> = src
        .prepare("SELECT name FROM pragma_table_list WHERE type = 'shadow'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let ddl: Vec<(String, String)> = src
        .prepare(
            "SELECT name, sql FROM sqlite_master
             WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
             ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'view' THEN 1 WHEN 'index' THEN 2 ELSE 3 END, rowid",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if !ddl.iter().any(|(n, _)| n == "transcript_events") {
        bail!("{} has no transcript_events table", from.display());
    }
    let version: i64 = src.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tx = to.unchecked_transaction()?;
    for (name, sql) in ddl.iter().filter(|(n, _)| !shadow.contains(n)) {
        tx.execute_batch(sql)
            .with_context(|| format!("schema of {name}"))?;
    }
    tx.pragma_update(None, "user_version", version)?;
    tx.commit()?;
    Ok(())
}

impl SqliteAppender {
    fn create(oc: &Path, schema_db: &Path) -> Result<SqliteAppender> {
        let dir = oc.join("agents/main/agent");
        std::fs::create_dir_all(&dir)?;
        let conn = Connection::open(dir.join("openclaw-agent.sqlite"))?;
        // The gateway's connection setup (busy timeout, incremental auto-vacuum on a
        // fresh file, WAL with its checkpoint policy, synchronous NORMAL, foreign keys).
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" {
            bail!("could not enable WAL (journal_mode={mode})");
        }
        conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
        conn.pragma_update(None, "journal_size_limit", 67_108_864)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        copy_schema(schema_db, &conn)?;
        let session_id = other_id(0xdb5e, 1);
        let now = SystemTime::now();
        let ms = unix_ms(now);
        let tx = conn.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO schema_meta (meta_key, role, schema_version, agent_id, app_version, created_at, updated_at)
             VALUES ('primary', 'agent', 23, 'main', '2026.9.6', ?1, ?1)",
            [ms],
        )?;
        tx.execute(
            "INSERT INTO session_nodes (session_key, current_session_id, entry_json, entry_valid,
                 updated_at, status, created_at, created_via, last_interaction_at, last_activity_at)
             VALUES (?1, ?2, ?3, 1, ?4, 'running', ?4, 'run', ?4, ?4)",
            params![
                SESSION_KEY,
                session_id,
                session_entry(&session_id, now).to_string(),
                ms
            ],
        )?;
        tx.execute(
            "INSERT INTO session_windows (session_id, session_key, reason, session_scope, created_at,
                 updated_at, started_at, status, chat_type, model_provider, model, agent_harness_id)
             VALUES (?1, ?2, 'initial', 'shared-main', ?3, ?3, ?3, 'running', 'direct', 'anthropic',
                 'claude-sonnet-4-5', 'openclaw')",
            params![session_id, SESSION_KEY, ms],
        )?;
        tx.commit()?;
        let mut a = SqliteAppender {
            conn,
            session_id,
            rows: 0,
            messages: 0,
        };
        let [session, model] = oc_header(&a.session_id, now);
        a.insert(&session, &a.session_id.clone(), "session", None, false)?;
        a.insert(&model, &other_id(1, 0), "model_change", None, false)?;
        Ok(a)
    }

    /// One transcript row in one transaction, with the bookkeeping the gateway does.
    fn insert(
        &mut self,
        line: &str,
        event_id: &str,
        kind: &str,
        parent: Option<&str>,
        message: bool,
    ) -> Result<()> {
        let ms = unix_ms(SystemTime::now());
        let seq = self.rows;
        let tx = self.conn.unchecked_transaction()?;
        tx.prepare_cached(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_utf8_bytes)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![self.session_id, seq, line, ms, line.len() as i64])?;
        tx.prepare_cached(
            "INSERT INTO transcript_event_identities (session_id, event_id, seq, event_type, parent_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![self.session_id, event_id, seq, kind, parent, ms])?;
        if seq > 0 {
            tx.prepare_cached(
                "INSERT INTO session_transcript_active_events
                     (session_id, active_position, event_seq, message_position, context_eligible)
                 VALUES (?1, ?2, ?3, ?4, 1)",
            )?
            .execute(params![
                self.session_id,
                seq - 1,
                seq,
                message.then_some(self.messages)
            ])?;
        }
        let messages = self.messages + i64::from(message);
        tx.prepare_cached(
            "INSERT INTO session_transcript_index_state
                 (session_id, indexed_seq, leaf_event_id, needs_rebuild, active_event_count,
                  active_message_count, updated_at)
             VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)
             ON CONFLICT (session_id) DO UPDATE SET indexed_seq = excluded.indexed_seq,
                 leaf_event_id = excluded.leaf_event_id, active_event_count = excluded.active_event_count,
                 active_message_count = excluded.active_message_count, updated_at = excluded.updated_at",
        )?
        .execute(params![self.session_id, seq, event_id, seq, messages, ms])?;
        tx.prepare_cached(
            "UPDATE session_windows SET transcript_updated_at = ?2, transcript_observed_at = ?2,
                 updated_at = ?2 WHERE session_id = ?1",
        )?
        .execute(params![self.session_id, ms])?;
        tx.commit()?;
        self.rows += 1;
        self.messages = messages;
        Ok(())
    }
}

impl Appender for SqliteAppender {
    fn append(&mut self, n: u64) -> Result<()> {
        let line = oc_line(n, SystemTime::now());
        let parent = if n == 0 {
            other_id(1, 1)
        } else {
            entry_id(n - 1)
        };
        self.insert(&line, &entry_id(n), "message", Some(&parent), true)
    }
}

// ---------------------------------------------------------------------------
// The server

struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A blocking GET of `/api/v1/health`; true on a 200.
fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut s) = StdTcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /api/v1/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn start_server(o: &Opts, tmp: &Path, log: PathBuf) -> Result<Server> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut cmd = Command::new(&o.bin);
    cmd.env("HOME", tmp.join("home"))
        .env("TZ", "UTC")
        .env_remove("OPENCLAW_STATE_DIR")
        .env_remove("CLAUDE_CONFIG_DIR")
        .env_remove("CLAWSCOPE_CONFIG")
        .env_remove("CLAWSCOPE_STORE")
        .env_remove("CLAWSCOPE_TOKEN")
        .arg("--no-progress")
        .arg("--store")
        .arg(tmp.join("store.db"))
        .arg("--openclaw-dir")
        .arg(tmp.join("oc"));
    if o.source == Source::Claude {
        cmd.arg("--claude-dir").arg(tmp.join("cc"));
    }
    cmd.args(["serve", "--no-gateway", "--no-event-socket", "--listen"])
        .arg(addr.to_string())
        .arg("--max-stream-clients")
        .arg((o.clients + 16).max(1024).to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", o.bin.display()))?;
    let mut server = Server { child, addr, log };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "clawscope serve exited ({status}):\n{}",
                log_tail(&server.log)
            );
        }
        if healthy(addr) {
            return Ok(server);
        }
        if Instant::now() > deadline {
            bail!(
                "clawscope serve did not answer on {addr} within 30 s:\n{}",
                log_tail(&server.log)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The 1-minute load average (other work on the machine skews the figures).
fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// utime + stime of a process, in clock ticks (100 Hz on Linux).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

// ---------------------------------------------------------------------------
// SSE clients

struct Shared {
    /// Clients that got the response head (they are subscribed).
    ready: AtomicUsize,
    /// Deliveries of our entries, all clients together.
    delivered: AtomicU64,
}

#[derive(Default)]
struct ClientOut {
    /// (entry index, arrival) in arrival order.
    arrivals: Vec<(u32, Instant)>,
    error: Option<String>,
}

/// The entry index in an SSE `data:` line of an `event` message: the value of its
/// `"id":"…"` key holds MARKER followed by 12 digits.
fn entry_index(data: &[u8]) -> Option<u32> {
    const KEY: &[u8] = b"\"id\":\"";
    let at = data.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let value = &data[at..];
    let end = value.iter().position(|&b| b == b'"')?;
    let value = &value[..end];
    let m = MARKER.as_bytes();
    let from = value.windows(m.len()).position(|w| w == m)? + m.len();
    let digits = value.get(from..from + 12)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// HTTP/1.1 chunked body + SSE lines, incrementally.
#[derive(Default)]
struct StreamParser {
    head_done: bool,
    chunked: bool,
    /// Bytes left in the current chunk.
    left: usize,
    /// CRLF bytes still to skip after a chunk.
    skip: usize,
    done: bool,
    raw: Vec<u8>,
    line: Vec<u8>,
    /// The current SSE message's `event:` name is `event`.
    is_event: bool,
}

impl StreamParser {
    /// Feed bytes; calls `hit(index)` for every entry of ours. Err on a bad response.
    fn feed(&mut self, bytes: &[u8], hit: &mut impl FnMut(u32)) -> Result<(), String> {
        self.raw.extend_from_slice(bytes);
        let mut pos = 0;
        if !self.head_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return Ok(());
            };
            let head = String::from_utf8_lossy(&self.raw[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                return Err(head.lines().next().unwrap_or("").to_string());
            }
            self.chunked = head.contains("transfer-encoding: chunked");
            self.head_done = true;
            pos = end + 4;
        }
        while pos < self.raw.len() && !self.done {
            if !self.chunked {
                let body = self.raw[pos..].to_vec();
                self.sse(&body, hit);
                pos = self.raw.len();
            } else if self.skip > 0 {
                let n = self.skip.min(self.raw.len() - pos);
                self.skip -= n;
                pos += n;
            } else if self.left == 0 {
                let Some(eol) = self.raw[pos..].windows(2).position(|w| w == b"\r\n") else {
                    break;
                };
                let size_line = String::from_utf8_lossy(&self.raw[pos..pos + eol]).to_string();
                let hex = size_line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(hex, 16)
                    .map_err(|_| format!("bad chunk size {size_line:?}"))?;
                pos += eol + 2;
                if size == 0 {
                    self.done = true;
                } else {
                    self.left = size;
                }
            } else {
                let n = self.left.min(self.raw.len() - pos);
                let body = self.raw[pos..pos + n].to_vec();
                self.sse(&body, hit);
                self.left -= n;
                pos += n;
                if self.left == 0 {
                    self.skip = 2;
                }
            }
        }
        self.raw.drain(..pos);
        Ok(())
    }

    fn sse(&mut self, body: &[u8], hit: &mut impl FnMut(u32)) {
        let mut rest = body;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..nl]);
            rest = &rest[nl + 1..];
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.is_empty() {
                self.is_event = false;
            } else if let Some(name) = line.strip_prefix(b"event:") {
                self.is_event = name.trim_ascii() == b"event";
            } else if let Some(data) = line.strip_prefix(b"data:") {
                if self.is_event {
                    if let Some(i) = entry_index(data) {
                        hit(i);
                    }
                }
            }
            line.clear();
            self.line = line;
        }
        self.line.extend_from_slice(rest);
    }
}

async fn write_all(s: &TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn client(
    addr: SocketAddr,
    path: String,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    capacity: usize,
) -> ClientOut {
    let mut out = ClientOut {
        arrivals: Vec::with_capacity(capacity),
        error: None,
    };
    let s = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(format!("connect: {e}"));
            return out;
        }
    };
    let _ = s.set_nodelay(true);
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    );
    if let Err(e) = write_all(&s, req.as_bytes()).await {
        out.error = Some(format!("request: {e}"));
        return out;
    }
    let mut parser = StreamParser::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut ready = false;
    loop {
        tokio::select! {
            r = s.readable() => {
                if let Err(e) = r {
                    out.error = Some(format!("read: {e}"));
                    break;
                }
            }
            _ = stop.changed() => break,
        }
        let n = match s.try_read(&mut buf) {
            Ok(0) => {
                out.error = Some("server closed the stream".into());
                break;
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                out.error = Some(format!("read: {e}"));
                break;
            }
        };
        let now = Instant::now();
        let arrivals = &mut out.arrivals;
        let mut hits = 0;
        let fed = parser.feed(&buf[..n], &mut |i| {
            arrivals.push((i, now));
            hits += 1;
        });
        if let Err(e) = fed {
            out.error = Some(format!("bad response: {e}"));
            break;
        }
        if hits > 0 {
            shared.delivered.fetch_add(hits, Ordering::Relaxed);
        }
        if !ready && parser.head_done {
            ready = true;
            shared.ready.fetch_add(1, Ordering::Relaxed);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Figures

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sort(v: &mut [f64]) {
    v.sort_by(|a, b| a.total_cmp(b));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(label: &str, mut v: Vec<f64>) -> String {
    sort(&mut v);
    format!(
        "{label}: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2} ms (n={})",
        pct(&v, 50.0),
        pct(&v, 90.0),
        pct(&v, 99.0),
        v.last().copied().unwrap_or(f64::NAN),
        v.len()
    )
}

/// `text` without ANSI colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `ms=` values of the writer's `live round` trace lines.
fn writer_rounds(log: &Path) -> Vec<f64> {
    let text = strip_ansi(&std::fs::read_to_string(log).unwrap_or_default());
    text.lines()
        .filter(|l| l.contains("live round"))
        .filter_map(|l| {
            let at = l.find("ms=")? + 3;
            let v: String = l[at..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
                .collect();
            v.parse().ok()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Appending

/// CPU ticks of the server and of this process at the start and end of the measured
/// window, and the window's wall time.
struct CpuWindow {
    server: (Option<u64>, Option<u64>),
    bench: (Option<u64>, Option<u64>),
    wall: Duration,
}

/// What the appender did.
struct Run {
    /// Start instant of every append.
    starts: Vec<Instant>,
    /// Wall-clock time of every append (to line up with server logs).
    walls: Vec<SystemTime>,
    /// Duration of every append (ms).
    costs: Vec<f64>,
    /// Appends that started more than 5 ms after their slot.
    late: u64,
    cpu: CpuWindow,
}

/// Append entries `0..total` at `rate` per second on fixed deadlines; the measured
/// window starts at entry `warm`.
fn append_steadily(
    appender: &mut dyn Appender,
    total: u64,
    warm: u64,
    rate: f64,
    server: u32,
) -> Result<Run> {
    let me = std::process::id();
    let mut run = Run {
        starts: Vec::with_capacity(total as usize),
        walls: Vec::with_capacity(total as usize),
        costs: Vec::with_capacity(total as usize),
        late: 0,
        cpu: CpuWindow {
            server: (None, None),
            bench: (None, None),
            wall: Duration::ZERO,
        },
    };
    let mut window = Instant::now();
    let t0 = Instant::now() + Duration::from_millis(20);
    for n in 0..total {
        let due = t0 + Duration::from_secs_f64(n as f64 / rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        } else if now - due > Duration::from_millis(5) {
            run.late += 1;
        }
        if n == warm {
            run.cpu.server.0 = cpu_ticks(server);
            run.cpu.bench.0 = cpu_ticks(me);
            window = Instant::now();
        }
        let start = Instant::now();
        run.walls.push(SystemTime::now());
        appender.append(n)?;
        run.costs.push(ms(start.elapsed()));
        run.starts.push(start);
    }
    run.cpu.server.1 = cpu_ticks(server);
    run.cpu.bench.1 = cpu_ticks(me);
    run.cpu.wall = window.elapsed();
    Ok(run)
}

// ---------------------------------------------------------------------------

fn main() -> Result<()> {
    let o = Opts::parse();
    if o.rate <= 0.0 || o.seconds <= 0.0 || o.clients == 0 {
        bail!("--rate, --seconds and --clients must be positive");
    }
    let tmp = tempfile::Builder::new()
        .prefix("clawscope-live.")
        .tempdir()?;
    let root = tmp.path().to_path_buf();
    for d in ["home", "oc", "cc"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    // The data dirs exist before the server starts, so it watches them from the start.
    let mut appender: Box<dyn Appender> = match o.source {
        Source::Jsonl => Box::new(JsonlAppender::create(&root.join("oc"), o.meta_every)?),
        Source::Sqlite => Box::new(SqliteAppender::create(&root.join("oc"), &o.schema_db)?),
        Source::Claude => Box::new(ClaudeAppender::create(&root.join("cc"))?),
    };
    let log = o
        .server_log
        .clone()
        .unwrap_or_else(|| root.join("server.log"));
    let load_before = load_avg();
    let server = start_server(&o, &root, log)?;
    let pid = server.child.id();

    let warm = (o.warmup * o.rate).round() as u64;
    let total = warm + (o.seconds * o.rate).round() as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.client_threads.max(1))
        .enable_all()
        .build()?;
    let shared = Arc::new(Shared {
        ready: AtomicUsize::new(0),
        delivered: AtomicU64::new(0),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let path = match &o.filter {
        Some(f) => format!("/api/v1/stream?type={f}"),
        None => "/api/v1/stream".to_string(),
    };
    let tasks: Vec<_> = (0..o.clients)
        .map(|_| {
            rt.spawn(client(
                server.addr,
                path.clone(),
                shared.clone(),
                stop_rx.clone(),
                total as usize + 16,
            ))
        })
        .collect();
    let t = Instant::now();
    while shared.ready.load(Ordering::Relaxed) < o.clients {
        if t.elapsed() > Duration::from_secs(30) {
            bail!(
                "only {} of {} clients connected within 30 s",
                shared.ready.load(Ordering::Relaxed),
                o.clients
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "[{} x{}] {} clients subscribed in {:.0} ms; appending {} entries at {}/s ({} warm-up)",
        o.source.name(),
        o.clients,
        o.clients,
        ms(t.elapsed()),
        total,
        o.rate,
        warm
    );

    // The appender: its own thread, steady deadlines.
    let rate = o.rate;
    let run = std::thread::Builder::new()
        .name("appender".into())
        .spawn(move || append_steadily(appender.as_mut(), total, warm, rate, pid))?
        .join()
        .map_err(|_| anyhow::anyhow!("appender panicked"))??;
    let Run {
        starts,
        walls,
        costs,
        late,
        cpu,
    } = run;

    // Drain: every client gets every entry, or the drain time runs out.
    let want = o.clients as u64 * total;
    let t = Instant::now();
    while shared.delivered.load(Ordering::Relaxed) < want
        && t.elapsed() < Duration::from_secs_f64(o.drain)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    // A little longer, for duplicates.
    std::thread::sleep(Duration::from_millis(200));
    let _ = stop_tx.send(true);
    let outs: Vec<ClientOut> = rt.block_on(async {
        let mut v = Vec::with_capacity(tasks.len());
        for t in tasks {
            v.push(t.await.unwrap_or_default());
        }
        v
    });
    drop(rt);
    let server_exit = {
        let mut s = server;
        let alive = s.child.try_wait().ok().flatten().is_none();
        let log = s.log.clone();
        drop(s);
        (alive, log)
    };

    // Figures.
    let measured = warm as usize..total as usize;
    let n_measured = measured.len();
    let mut all = Vec::with_capacity(n_measured * o.clients);
    let mut first = vec![f64::INFINITY; total as usize];
    let mut last = vec![f64::NEG_INFINITY; total as usize];
    let mut worst_client_p99 = 0.0f64;
    let (mut missed, mut dupes, mut errors) = (0u64, 0u64, Vec::new());
    for (c, out) in outs.iter().enumerate() {
        if let Some(e) = &out.error {
            errors.push(format!("client {c}: {e}"));
        }
        let mut seen = vec![false; total as usize];
        let mut mine = Vec::with_capacity(n_measured);
        for &(i, at) in &out.arrivals {
            let i = i as usize;
            if i >= total as usize {
                continue;
            }
            if seen[i] {
                dupes += 1;
                continue;
            }
            seen[i] = true;
            if measured.contains(&i) {
                let l = ms(at.saturating_duration_since(starts[i]));
                mine.push(l);
                first[i] = first[i].min(l);
                last[i] = last[i].max(l);
            }
        }
        missed += seen[measured.clone()].iter().filter(|s| !**s).count() as u64;
        sort(&mut mine);
        worst_client_p99 = worst_client_p99.max(pct(&mine, 99.0));
        all.extend(mine);
    }
    sort(&mut all);
    let p99 = pct(&all, 99.0);
    let ok = p99 <= TARGET_P99_MS && missed == 0 && dupes == 0 && errors.is_empty();
    if !o.no_header {
        println!(
            "{:<7} {:>7} {:>6} {:>11} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6}  p99<=50ms",
            "source",
            "clients",
            "events",
            "deliveries",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "missed",
            "dupes"
        );
    }
    println!(
        "{:<7} {:>7} {:>6} {:>11} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7} {:>6}  {}",
        o.source.name(),
        o.clients,
        n_measured,
        all.len(),
        pct(&all, 50.0),
        pct(&all, 90.0),
        p99,
        all.last().copied().unwrap_or(f64::NAN),
        missed,
        dupes,
        if ok { "ok" } else { "MISSED" }
    );

    let firsts: Vec<f64> = measured
        .clone()
        .map(|i| first[i])
        .filter(|v| v.is_finite())
        .collect();
    let lasts: Vec<f64> = measured
        .clone()
        .map(|i| last[i])
        .filter(|v| v.is_finite())
        .collect();
    let tag = format!("[{} x{}]", o.source.name(), o.clients);
    eprintln!("{tag} worst client's p99: {worst_client_p99:.2} ms");
    eprintln!("{tag} {}", summary("first client per event", firsts));
    if o.clients > 1 {
        eprintln!("{tag} {}", summary("last client per event ", lasts));
    }
    eprintln!(
        "{tag} {}",
        summary(
            "append cost (write/commit)",
            costs[measured.clone()].to_vec()
        )
    );
    if late > 0 {
        eprintln!("{tag} {late} appends started > 5 ms after their slot");
    }
    if let ((Some(a), Some(b)), (Some(c), Some(d))) = (cpu.server, cpu.bench) {
        let secs = cpu.wall.as_secs_f64();
        let share = |t: u64| t as f64 / 100.0 / secs * 100.0;
        eprintln!(
            "{tag} CPU over the measured window (% of one core): server {:.0}%, this process {:.0}% \
             ({} cores; load average {load_before} before, {} after)",
            share(b - a),
            share(d - c),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_avg()
        );
    }
    let rounds = writer_rounds(&server_exit.1);
    if !rounds.is_empty() {
        eprintln!("{tag} {}", summary("writer rounds (whole run)", rounds));
    }
    for e in errors.iter().take(5) {
        eprintln!("{tag} {e}");
    }
    if errors.len() > 5 {
        eprintln!("{tag} ... {} client errors in all", errors.len());
    }
    if !server_exit.0 {
        eprintln!(
            "{tag} the server exited during the run:\n{}",
            log_tail(&server_exit.1)
        );
    }
    if let Some(path) = &o.append_log {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(f, "n,append_unix_us,first_client_latency_us,append_cost_us")?;
        for i in measured {
            let wall = walls[i]
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros())
                .unwrap_or(0);
            let lat = if first[i].is_finite() {
                format!("{:.0}", first[i] * 1e3)
            } else {
                String::new()
            };
            writeln!(f, "{i},{wall},{lat},{:.0}", costs[i] * 1e3)?;
        }
    }
    if o.keep {
        let kept = tmp.keep();
        eprintln!("{tag} kept {}", kept.display());
    }
    Ok(())
}
