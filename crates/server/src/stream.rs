//! The live feed: `GET /api/v1/stream` as Server-Sent Events, or as a WebSocket when
//! the request asks to upgrade. Filters `session`, `agent`, `type` (comma-separated,
//! `tool.*` prefixes, or the categories `event`, `live`, `session`). A client that
//! sends `Last-Event-ID` (or `?last_event_id=`) first gets every stored event after
//! it from the store, then the live feed, without gaps or repeats; a client that
//! falls behind is caught up from the store the same way.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::{broadcast, mpsc};

use clawscope_bus::{Bus, ClientSlot, Filter, Message};
use clawscope_core::query::EventFilter;

use crate::params::ApiError;
use crate::AppState;

/// Stored events read per catch-up query.
const CATCH_UP_PAGE: usize = 1000;

fn query_map(req: &Request) -> std::collections::HashMap<String, String> {
    req.uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

fn resume_from(
    headers: &HeaderMap,
    q: &std::collections::HashMap<String, String>,
) -> Result<Option<i64>, ApiError> {
    let raw = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("last_event_id").cloned());
    raw.map(|s| {
        s.trim().parse::<i64>().map_err(|_| {
            ApiError::BadRequest(format!(
                "Last-Event-ID must be an event sequence number, got {s:?}"
            ))
        })
    })
    .transpose()
}

/// The stream endpoint.
pub async fn stream(State(st): State<AppState>, req: Request) -> Response {
    match open(st, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn open(st: AppState, req: Request) -> Result<Response, ApiError> {
    let bus = st.bus.clone().ok_or_else(|| {
        ApiError::Unavailable("the live feed runs under `clawscope serve` only".into())
    })?;
    let q = query_map(&req);
    let filter = Filter {
        session: q.get("session").cloned(),
        agent: q.get("agent").cloned(),
        kinds: crate::params::list(q.get("type").map(String::as_str)),
    };
    let mut resume = resume_from(req.headers(), &q)?;
    if let Some(r) = resume {
        // An id beyond the store (the store was recreated, or the id comes from
        // another server) would hide every event up to it: start from the store's end.
        let max = st.read(|s| Ok(s.max_seq()?)).await?;
        if r > max {
            tracing::info!(
                last_event_id = r,
                max_seq = max,
                "Last-Event-ID beyond the store; resuming from its end"
            );
            resume = Some(max);
        }
    }
    let slot = bus.join().ok_or_else(|| {
        ApiError::Unavailable(format!(
            "too many stream clients (limit {}); retry later",
            bus.limits.max_clients
        ))
    })?;
    let wants_ws = req
        .headers()
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    // Where the client starts: its Last-Event-ID, or what was published before it
    // subscribed. Subscribing first and then catching up from the store leaves no gap.
    let start = resume.unwrap_or_else(|| bus.last_seq());
    let rx = bus.subscribe();
    let (tx, out) = mpsc::channel::<Arc<Message>>(256);
    let age = Duration::from_secs(bus.limits.max_age_secs.max(1));
    tokio::spawn(pump(st, rx, filter, start, tx, age));
    if wants_ws {
        let (mut parts, _) = req.into_parts();
        let ws = WebSocketUpgrade::from_request_parts(&mut parts, &())
            .await
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let beat = Duration::from_secs(bus.limits.heartbeat_secs.max(1));
        return Ok(ws.on_upgrade(move |socket| ws_session(socket, out, slot, beat)));
    }
    Ok(sse(out, slot, &bus).into_response())
}

fn sse(mut out: mpsc::Receiver<Arc<Message>>, slot: ClientSlot, bus: &Bus) -> impl IntoResponse {
    let stream = futures_util::stream::poll_fn(move |cx| {
        let _held = &slot;
        out.poll_recv(cx).map(|m| {
            m.map(|m| {
                let mut e = SseEvent::default().event(m.category.as_str()).data(&m.json);
                if let Some(seq) = m.seq {
                    e = e.id(seq.to_string());
                }
                Ok::<_, Infallible>(e)
            })
        })
    });
    Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(bus.limits.heartbeat_secs.max(1)))
            .text("heartbeat"),
    )
}

async fn ws_session(
    mut socket: WebSocket,
    mut out: mpsc::Receiver<Arc<Message>>,
    _slot: ClientSlot,
    beat: Duration,
) {
    let mut ping = tokio::time::interval(beat);
    ping.tick().await;
    loop {
        tokio::select! {
            m = out.recv() => {
                let Some(m) = m else { break };
                if socket.send(WsMessage::Text(m.json.clone().into())).await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if socket.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            r = socket.recv() => match r {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            }
        }
    }
    let _ = socket.send(WsMessage::Close(None)).await;
}

/// Feed one client: the backlog after `resume`, then the bus, catching up from the
/// store after a lag, until the client leaves or its connection reaches `age`.
async fn pump(
    st: AppState,
    mut rx: broadcast::Receiver<Arc<Message>>,
    filter: Filter,
    start: i64,
    tx: mpsc::Sender<Arc<Message>>,
    age: Duration,
) {
    let deadline = tokio::time::Instant::now() + age;
    let Some(mut last) = catch_up(&st, &filter, start, &tx).await else {
        return;
    };
    loop {
        let m = tokio::select! {
            m = rx.recv() => m,
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tx.closed() => return,
        };
        match m {
            Ok(m) => {
                if let Some(seq) = m.seq {
                    if seq <= last {
                        continue;
                    }
                    last = seq;
                }
                if filter.matches(&m) && tx.send(m).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!(
                    missed = n,
                    "stream client lagged; catching up from the store"
                );
                match catch_up(&st, &filter, last, &tx).await {
                    Some(l) => last = l,
                    None => return,
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Send stored events after `from` that pass `filter`; returns the last sequence
/// looked at, or `None` when the client is gone or the store failed.
async fn catch_up(
    st: &AppState,
    filter: &Filter,
    mut from: i64,
    tx: &mpsc::Sender<Arc<Message>>,
) -> Option<i64> {
    loop {
        let page = st
            .read(move |s| {
                Ok(s.events(&EventFilter {
                    after_seq: Some(from),
                    limit: CATCH_UP_PAGE,
                    ..EventFilter::default()
                })?)
            })
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "stream catch-up failed");
                return None;
            }
        };
        let n = page.len();
        for e in &page {
            from = e.seq;
            let m = Message::event(e);
            if filter.matches(&m) && tx.send(Arc::new(m)).await.is_err() {
                return None;
            }
        }
        if n < CATCH_UP_PAGE {
            return Some(from);
        }
    }
}
