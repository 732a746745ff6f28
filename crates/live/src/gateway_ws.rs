//! The OpenClaw gateway WebSocket client (protocol v4): wait for `connect.challenge`,
//! send `connect` with the shared token, then read `event` frames and answer
//! `res` frames of the RPCs it sends. Reconnects with capped exponential backoff,
//! so a gateway restart or a wrong token never turns into a crash or a busy loop.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use clawscope_core::live::gateway::map_event;
use clawscope_core::live::LiveOutput;
use clawscope_core::redact::mask;
use clawscope_core::SessionMeta;

use crate::gateway_rpc::{refuse, Calls, InFlight};
use crate::now_ms;
use crate::writer::Work;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `ws://127.0.0.1:18789`.
    pub url: String,
    /// The gateway's shared token (`gateway.auth.token` / `OPENCLAW_GATEWAY_TOKEN`).
    pub token: Option<String>,
    /// How often the read RPCs are repeated while connected.
    pub poll_every: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// Operator scopes asked for at connect: read only by default; write actions
    /// (cron toggle and run-now, auto-pause, channel messages) need more.
    pub scopes: Vec<String>,
}

impl GatewayConfig {
    /// Defaults for `url` and `token`.
    pub fn new(url: String, token: Option<String>) -> GatewayConfig {
        GatewayConfig {
            url,
            token,
            poll_every: Duration::from_secs(60),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(10),
            scopes: vec!["operator.read".into()],
        }
    }
}

/// The client's state, served by the API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GatewayStatus {
    /// `connecting`, `connected`, `unauthorized`, `down`.
    pub state: String,
    /// The URL.
    pub url: String,
    /// Gateway version from `hello-ok`.
    pub server_version: Option<String>,
    /// When the current connection was made (epoch ms).
    pub connected_since_ms: Option<i64>,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// Connections made so far.
    pub connects: u64,
    /// Failed attempts in a row.
    pub failures: u32,
    /// Event frames received.
    pub events: u64,
    /// When the newest frame of any kind (event, tick, answer) arrived (epoch ms).
    pub last_frame_ms: Option<i64>,
    /// Since when the current state holds (epoch ms).
    pub state_since_ms: Option<i64>,
    /// The scopes the gateway granted.
    pub scopes: Vec<String>,
    /// Latest result of each read RPC (secrets masked).
    pub rpc: BTreeMap<String, Value>,
}

/// Shared, readable status.
pub type SharedStatus = Arc<RwLock<GatewayStatus>>;

/// The RPCs read on connect and every `poll_every`. (Not `config.get`: its answer is
/// the whole gateway config, and with the action scopes it may carry more than the
/// status page should ever hold.)
pub const READ_RPCS: [(&str, &str); 7] = [
    ("health", "{}"),
    ("status", "{}"),
    ("sessions.list", r#"{"limit":500}"#),
    ("cron.list", "{}"),
    ("cron.status", "{}"),
    ("cron.runs", "{}"),
    ("usage.cost", "{}"),
];

/// Why one connection ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The gateway refused the token.
    #[error("gateway refused the connection: {0} (check gateway.auth.token in openclaw.json or OPENCLAW_GATEWAY_TOKEN)")]
    Unauthorized(String),
    /// Transport or protocol failure.
    #[error("{0}")]
    Transport(String),
}

fn set(status: &SharedStatus, f: impl FnOnce(&mut GatewayStatus)) {
    if let Ok(mut s) = status.write() {
        f(&mut s);
    }
}

/// Run the client forever (until `tx`'s writer is gone). `calls` are sent on the
/// connection while it is up and refused at once while it is not.
pub async fn run(
    cfg: GatewayConfig,
    tx: mpsc::Sender<Work>,
    status: SharedStatus,
    mut calls: Calls,
) {
    set(&status, |s| {
        s.url = cfg.url.clone();
        s.state = "connecting".into();
        s.state_since_ms = Some(now_ms());
    });
    let mut delay = cfg.backoff_min;
    loop {
        let mut inflight = InFlight::default();
        let res = connection(&cfg, &tx, &status, &mut calls, &mut inflight).await;
        inflight.fail_all("the gateway connection closed before it answered");
        if tx.is_closed() {
            return;
        }
        let connected = matches!(res, Ok(true));
        let (state, err) = match res {
            Ok(_) => ("down", "connection closed".to_string()),
            Err(e @ SessionError::Unauthorized(_)) => ("unauthorized", e.to_string()),
            Err(e) => ("down", e.to_string()),
        };
        if connected {
            delay = cfg.backoff_min;
        }
        tracing::warn!(url = %cfg.url, error = %err, retry_in_ms = delay.as_millis() as u64, "gateway connection");
        set(&status, |s| {
            if s.state != state {
                s.state_since_ms = Some(now_ms());
            }
            s.state = state.into();
            s.last_error = Some(err);
            s.connected_since_ms = None;
            s.failures = if connected { 0 } else { s.failures + 1 };
        });
        // Jitter keeps many clients from reconnecting in step.
        let jitter = Duration::from_millis((now_ms() % 250) as u64);
        let pause = tokio::time::sleep(delay + jitter);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                _ = &mut pause => break,
                c = calls.recv() => match c {
                    Some(c) => refuse(c, "the gateway is not connected"),
                    None => pause.as_mut().await,
                },
            }
        }
        delay = (delay * 2).min(cfg.backoff_max);
    }
}

/// One connection: handshake, then read until it closes. `Ok(true)` when the
/// handshake succeeded (so the backoff resets).
async fn connection(
    cfg: &GatewayConfig,
    tx: &mpsc::Sender<Work>,
    status: &SharedStatus,
    calls: &mut Calls,
    inflight: &mut InFlight,
) -> Result<bool, SessionError> {
    let t = |e: String| SessionError::Transport(e);
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(cfg.url.as_str()),
    )
    .await
    .map_err(|_| t("connect timed out".into()))?
    .map_err(|e| t(format!("cannot connect: {e}")))?;
    // 1. The challenge.
    let challenge = await_frame(&mut ws, "connect.challenge", |v| {
        v["type"] == "event" && v["event"] == "connect.challenge"
    })
    .await?;
    tracing::debug!(nonce = %challenge["payload"]["nonce"], "gateway challenge");
    // 2. connect.
    let connect = json!({"type": "req", "id": "clawscope-connect", "method": "connect", "params": {
        "minProtocol": 4, "maxProtocol": 4,
        "client": {"id": "cli", "version": env!("CARGO_PKG_VERSION"), "platform": std::env::consts::OS, "mode": "cli"},
        "role": "operator", "scopes": cfg.scopes, "caps": [],
        "auth": {"token": cfg.token.clone().unwrap_or_default()},
        "locale": "en-US", "userAgent": concat!("clawscope/", env!("CARGO_PKG_VERSION"))}});
    ws.send(WsMessage::text(connect.to_string()))
        .await
        .map_err(|e| t(e.to_string()))?;
    let hello = await_frame(&mut ws, "the answer to connect", |v| {
        v["type"] == "res" && v["id"] == "clawscope-connect"
    })
    .await?;
    if hello["ok"] != true {
        let e = &hello["error"];
        let msg = format!(
            "{} {}",
            e["code"].as_str().unwrap_or("error"),
            e["message"].as_str().unwrap_or("")
        );
        return Err(SessionError::Unauthorized(msg.trim().to_string()));
    }
    let version = hello["payload"]["server"]["version"]
        .as_str()
        .map(str::to_string);
    let granted: Vec<String> = hello["payload"]["auth"]["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    tracing::info!(url = %cfg.url, version = version.as_deref().unwrap_or("?"), "gateway connected");
    set(status, |s| {
        s.state = "connected".into();
        s.state_since_ms = Some(now_ms());
        s.last_frame_ms = Some(now_ms());
        s.scopes = granted;
        s.server_version = version;
        s.connected_since_ms = Some(now_ms());
        s.connects += 1;
        s.failures = 0;
        s.last_error = None;
    });
    // 3. Events and RPCs until the connection ends.
    let mut poll = tokio::time::interval(cfg.poll_every);
    let mut next_id = 0u64;
    let mut pending: BTreeMap<String, &'static str> = BTreeMap::new();
    loop {
        tokio::select! {
            c = calls.recv(), if !calls.is_closed() => {
                let Some(c) = c else { continue };
                let frame = inflight.frame(c);
                if ws.send(WsMessage::text(frame.to_string())).await.is_err() {
                    return Ok(true);
                }
            }
            _ = poll.tick() => {
                for (method, params) in READ_RPCS {
                    next_id += 1;
                    let id = format!("clawscope-{next_id}");
                    let params: Value = serde_json::from_str(params).unwrap_or_default();
                    let req = json!({"type": "req", "id": id, "method": method, "params": params});
                    if ws.send(WsMessage::text(req.to_string())).await.is_err() {
                        return Ok(true);
                    }
                    pending.insert(id, method);
                }
            }
            m = ws.next() => {
                let Some(Ok(m)) = m else { return Ok(true) };
                if matches!(m, WsMessage::Close(_)) {
                    return Ok(true);
                }
                let Some(v) = json_of(&m) else { continue };
                set(status, |s| s.last_frame_ms = Some(now_ms()));
                match v["type"].as_str() {
                    Some("event") => {
                        let event = v["event"].as_str().unwrap_or("");
                        set(status, |s| s.events += 1);
                        let out = map_event(event, &v["payload"], now_ms());
                        if !(out.events.is_empty() && out.transients.is_empty())
                            && tx.send(Work::Live(out)).await.is_err()
                        {
                            return Ok(true);
                        }
                    }
                    Some("res") => {
                        if inflight.answer(&v) {
                            continue;
                        }
                        let Some(method) = v["id"].as_str().and_then(|id| pending.remove(id)) else { continue };
                        rpc_result(method, &v, tx, status).await;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Seconds the handshake waits for each frame.
const HANDSHAKE_SECS: u64 = 10;

/// Read frames until one passes `want`, for at most [`HANDSHAKE_SECS`]. A close on the
/// way is a refusal of the credentials when it says so (code 1008, or a reason naming
/// the token); anything else (1012 restart, 1001 going away) is a transport failure.
async fn await_frame<S>(
    ws: &mut S,
    what: &str,
    want: impl Fn(&Value) -> bool,
) -> Result<Value, SessionError>
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    let t = SessionError::Transport;
    let read = async {
        while let Some(m) = ws.next().await {
            let m = m.map_err(|e| t(e.to_string()))?;
            if let Some(v) = json_of(&m).filter(|v| want(v)) {
                return Ok(v);
            }
            if let WsMessage::Close(c) = m {
                let (code, why) = c
                    .map(|c| (u16::from(c.code), c.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                let msg = format!("closed while waiting for {what} ({code}): {why}");
                let refused = code == 1008
                    || why.to_ascii_lowercase().contains("unauthorized")
                    || why.contains("token");
                return Err(if refused {
                    SessionError::Unauthorized(msg)
                } else {
                    t(msg)
                });
            }
        }
        Err(t(format!("closed while waiting for {what}")))
    };
    tokio::time::timeout(Duration::from_secs(HANDSHAKE_SECS), read)
        .await
        .map_err(|_| t(format!("no {what} within {HANDSHAKE_SECS} s")))?
}

fn json_of(m: &WsMessage) -> Option<Value> {
    match m {
        WsMessage::Text(t) => serde_json::from_str(t.as_str()).ok(),
        WsMessage::Binary(b) => serde_json::from_slice(b).ok(),
        _ => None,
    }
}

/// Keep an RPC's answer (masked) and turn `sessions.list` into session metadata.
async fn rpc_result(method: &str, v: &Value, tx: &mpsc::Sender<Work>, status: &SharedStatus) {
    let body = if v["ok"] == true {
        v["payload"].clone()
    } else {
        json!({"error": v["error"]})
    };
    let masked: Value = serde_json::from_str(&mask(&body.to_string())).unwrap_or(Value::Null);
    set(status, |s| {
        s.rpc.insert(method.to_string(), masked);
    });
    if method == "sessions.list" && v["ok"] == true {
        let sessions = session_metas(&v["payload"]);
        if !sessions.is_empty() {
            let _ = tx
                .send(Work::Live(LiveOutput {
                    sessions,
                    ..LiveOutput::default()
                }))
                .await;
        }
    }
}

/// `sessions.list` rows → session metadata (status, model, context window, links).
pub fn session_metas(payload: &Value) -> Vec<SessionMeta> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    for row in payload["sessions"].as_array().into_iter().flatten() {
        let Some(key) = s(row, "key") else { continue };
        out.push(SessionMeta {
            session_key: key.clone(),
            session_id: s(row, "sessionId"),
            source: Some(clawscope_core::SourceKind::OpenClaw),
            agent: s(row, "agentId"),
            parent_session_key: s(row, "parentSessionKey").or_else(|| s(row, "spawnedBy")),
            label: s(row, "label").or_else(|| s(row, "displayName")),
            status: s(row, "status"),
            created_via: s(row, "createdVia"),
            model: s(row, "model"),
            provider: s(row, "modelProvider"),
            context_max: row.get("contextTokens").and_then(Value::as_u64),
            created_ms: row.get("createdAt").and_then(Value::as_i64),
            updated_ms: row.get("updatedAt").and_then(Value::as_i64),
            ..SessionMeta::default()
        });
    }
    out
}
