//! clawscope-bus: one bus from the pipeline to subscribers (the live feed, the
//! terminal tail, alerts). Events are published only after the store committed them
//! and carry their store sequence, so a subscriber that lags or reconnects resumes
//! from the store without a gap. Live updates that are not stored (deltas) and
//! session-state changes travel on the same bus, without a sequence.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::json;
use tokio::sync::{broadcast, watch};

use clawscope_core::live::{LiveSession, Transient};
use clawscope_core::query::StoredEvent;
use clawscope_core::redact::{mask, mask_event};

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// A stored event (has a sequence number).
    Event,
    /// A live update that is not stored.
    Live,
    /// A session's live state changed.
    Session,
}

impl Category {
    /// The wire name (`event`, `live`, `session`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Event => "event",
            Category::Live => "live",
            Category::Session => "session",
        }
    }
}

/// One published message, rendered to JSON once for every subscriber.
#[derive(Debug)]
pub struct Message {
    /// What it is.
    pub category: Category,
    /// Store sequence (stored events only).
    pub seq: Option<i64>,
    /// Event kind (`tool.call`), live kind (`live.assistant`) or session status.
    pub kind: String,
    /// Session it concerns.
    pub session_key: Option<String>,
    /// Agent.
    pub agent: Option<String>,
    /// The JSON text sent to clients (secrets masked).
    pub json: String,
}

impl Message {
    /// A stored event (its secrets masked).
    pub fn event(ev: &StoredEvent) -> Message {
        let mut e = ev.clone();
        mask_event(&mut e.event);
        Message {
            category: Category::Event,
            seq: Some(e.seq),
            kind: e.event.kind_str().to_string(),
            session_key: Some(e.event.session_key.clone()).filter(|k| !k.is_empty()),
            agent: e.event.agent.clone(),
            json: json!({"type": "event", "seq": e.seq, "event": e}).to_string(),
        }
    }

    /// A live update.
    pub fn live(t: &Transient) -> Message {
        Message {
            category: Category::Live,
            seq: None,
            kind: t.kind.clone(),
            session_key: t.session_key.clone(),
            agent: t.agent.clone(),
            json: mask(&json!({"type": "live", "live": t}).to_string()).into_owned(),
        }
    }

    /// A session state.
    pub fn session(s: &LiveSession) -> Message {
        Message {
            category: Category::Session,
            seq: None,
            kind: format!("session.{}", s.status.as_str()),
            session_key: Some(s.session_key.clone()),
            agent: s.agent.clone(),
            json: json!({"type": "session", "session": s}).to_string(),
        }
    }
}

/// Limits on stream clients.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Concurrent stream clients at most.
    pub max_clients: usize,
    /// A connection is closed after this long (the client reconnects and resumes).
    pub max_age_secs: u64,
    /// Heartbeat interval.
    pub heartbeat_secs: u64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_clients: 1024,
            max_age_secs: 3600,
            heartbeat_secs: 15,
        }
    }
}

/// The bus.
#[derive(Debug)]
pub struct Bus {
    tx: broadcast::Sender<Arc<Message>>,
    /// The highest sequence published; watched by subscribers that only need to know
    /// that something was stored.
    last_seq: watch::Sender<i64>,
    clients: AtomicUsize,
    sessions: RwLock<BTreeMap<String, LiveSession>>,
    /// Client limits the stream endpoints apply.
    pub limits: StreamLimits,
}

/// Messages buffered per subscriber before it counts as lagging (it then resumes
/// from the store).
const CAPACITY: usize = 8192;

impl Bus {
    /// A new bus.
    pub fn new(limits: StreamLimits) -> Arc<Bus> {
        let (tx, _) = broadcast::channel(CAPACITY);
        Arc::new(Bus {
            tx,
            last_seq: watch::Sender::new(0),
            clients: AtomicUsize::new(0),
            sessions: RwLock::new(BTreeMap::new()),
            limits,
        })
    }

    /// Subscribe to everything published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Message>> {
        self.tx.subscribe()
    }

    /// Publish committed events (in sequence order).
    pub fn publish_events(&self, events: &[StoredEvent]) {
        // The sequence moves first: a client that subscribes after the check below
        // starts after these events (it asked for "from now", or catches up from the
        // store), so skipping the rendering when nobody listens loses nothing.
        if let Some(top) = events.iter().map(|e| e.seq).max() {
            self.mark_published(top);
        }
        if self.tx.receiver_count() == 0 {
            return;
        }
        for e in events {
            let _ = self.tx.send(Arc::new(Message::event(e)));
        }
    }

    /// Count everything stored up to `seq` as published without sending it: what the
    /// store held before the bus started. A client that asks for "from now" starts
    /// after it rather than at the beginning of the history.
    pub fn mark_published(&self, seq: i64) {
        self.last_seq.send_if_modified(|last| {
            let moved = seq > *last;
            *last = (*last).max(seq);
            moved
        });
    }

    /// Publish a live update.
    pub fn publish_live(&self, t: &Transient) {
        let _ = self.tx.send(Arc::new(Message::live(t)));
    }

    /// Record and publish a session's new state.
    pub fn publish_session(&self, s: &LiveSession) {
        if let Ok(mut m) = self.sessions.write() {
            m.insert(s.session_key.clone(), s.clone());
        }
        let _ = self.tx.send(Arc::new(Message::session(s)));
    }

    /// Replace the whole session table (after a tracker tick dropped old ones).
    pub fn set_sessions(&self, all: Vec<LiveSession>) {
        if let Ok(mut m) = self.sessions.write() {
            *m = all
                .into_iter()
                .map(|s| (s.session_key.clone(), s))
                .collect();
        }
    }

    /// The live session states, most recent first.
    pub fn sessions(&self) -> Vec<LiveSession> {
        let mut v: Vec<LiveSession> = self
            .sessions
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|s| std::cmp::Reverse(s.last_event_ms));
        v
    }

    /// The highest sequence published so far.
    pub fn last_seq(&self) -> i64 {
        *self.last_seq.borrow()
    }

    /// Changes whenever newly stored events are published: for a subscriber that only
    /// needs to know that something was stored (the alert engine's wake-up). Unlike
    /// [`Bus::subscribe`] it does not make the bus render every event for it.
    pub fn stored(&self) -> watch::Receiver<i64> {
        self.last_seq.subscribe()
    }

    /// Take a client slot; `None` when the cap is reached. The slot is freed on drop.
    pub fn join(self: &Arc<Self>) -> Option<ClientSlot> {
        let n = self.clients.fetch_add(1, Ordering::SeqCst);
        if n >= self.limits.max_clients {
            self.clients.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(ClientSlot { bus: self.clone() })
    }

    /// Connected stream clients.
    pub fn clients(&self) -> usize {
        self.clients.load(Ordering::SeqCst)
    }
}

/// A held stream-client slot.
#[derive(Debug)]
pub struct ClientSlot {
    bus: Arc<Bus>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.bus.clients.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A subscriber's filter (the stream endpoints' `session`, `agent`, `type` params).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this session (and, for session states, only it).
    pub session: Option<String>,
    /// Only this agent.
    pub agent: Option<String>,
    /// Only these kinds; a trailing `*` matches a prefix (`tool.*`). Categories
    /// `live` and `session` can be named too.
    pub kinds: Vec<String>,
}

impl Filter {
    /// Whether `m` passes.
    pub fn matches(&self, m: &Message) -> bool {
        if let Some(s) = &self.session {
            if m.session_key.as_deref() != Some(s.as_str()) {
                return false;
            }
        }
        if let Some(a) = &self.agent {
            if m.agent.as_deref() != Some(a.as_str()) {
                return false;
            }
        }
        self.kinds.is_empty()
            || self.kinds.iter().any(|k| {
                k == m.category.as_str()
                    || k == &m.kind
                    || k.strip_suffix('*').is_some_and(|p| m.kind.starts_with(p))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawscope_core::{Event, EventKind};

    fn stored(seq: i64, kind: EventKind, key: &str) -> StoredEvent {
        StoredEvent {
            seq,
            event: Event {
                id: format!("e{seq}"),
                kind: Some(kind),
                session_key: key.into(),
                agent: Some("main".into()),
                text: Some("token sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789".into()),
                ..Event::default()
            },
        }
    }

    #[tokio::test]
    async fn publishes_in_order_masks_secrets_and_filters() {
        let bus = Bus::new(StreamLimits::default());
        let mut rx = bus.subscribe();
        bus.publish_events(&[
            stored(7, EventKind::ToolCall, "a"),
            stored(8, EventKind::UserMessage, "b"),
        ]);
        let m1 = rx.recv().await.unwrap();
        let m2 = rx.recv().await.unwrap();
        assert_eq!((m1.seq, m2.seq), (Some(7), Some(8)));
        assert!(
            !m1.json.contains("abcdefghijklmnopqrstuvwxyz"),
            "{}",
            m1.json
        );
        assert_eq!(bus.last_seq(), 8);
        let f = Filter {
            kinds: vec!["tool.*".into()],
            ..Filter::default()
        };
        assert!(f.matches(&m1) && !f.matches(&m2));
        let f = Filter {
            session: Some("b".into()),
            agent: Some("main".into()),
            kinds: vec![],
        };
        assert!(!f.matches(&m1) && f.matches(&m2));
    }

    #[tokio::test]
    async fn a_stored_watcher_is_told_of_new_events_without_rendering_them() {
        let bus = Bus::new(StreamLimits::default());
        let mut stored_rx = bus.stored();
        bus.publish_events(&[
            stored(4, EventKind::ToolCall, "a"),
            stored(5, EventKind::ToolResult, "a"),
        ]);
        stored_rx.changed().await.expect("told of the new events");
        assert_eq!(*stored_rx.borrow_and_update(), 5);
        // Only stream subscribers get rendered messages: there are none.
        assert_eq!(bus.tx.receiver_count(), 0);
        // An older sequence (a late batch) does not move it back or wake anyone.
        bus.publish_events(&[stored(3, EventKind::UserMessage, "a")]);
        assert!(!stored_rx.has_changed().expect("bus alive"));
        assert_eq!(bus.last_seq(), 5);
        bus.publish_events(&[stored(9, EventKind::UserMessage, "b")]);
        assert!(stored_rx.has_changed().expect("bus alive"));
        assert_eq!(bus.last_seq(), 9);
    }

    #[test]
    fn client_cap_frees_slots_on_drop() {
        let bus = Bus::new(StreamLimits {
            max_clients: 1,
            ..StreamLimits::default()
        });
        let a = bus.join().expect("first client");
        assert!(bus.join().is_none(), "cap reached");
        drop(a);
        assert!(bus.join().is_some());
    }
}
