//! A unit of ingest, as sources produce it and the store applies it.

use crate::model::{Event, SessionMeta};

/// One unit of ingest: events, session metadata and the cursors that cover them,
/// applied atomically.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Events to store (merged by id).
    pub events: Vec<Event>,
    /// Session metadata to upsert.
    pub sessions: Vec<SessionMeta>,
    /// Cursor updates `(source id, opaque state)`.
    pub cursors: Vec<(String, String)>,
}

impl Batch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.sessions.is_empty() && self.cursors.is_empty()
    }
}
