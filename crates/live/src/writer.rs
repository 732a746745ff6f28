//! The single writer: everything that reaches the store while serving goes through
//! here — changed files and databases (from the follower), periodic rescans, live
//! gateway and event-stream input. After each commit the new rows are read back by
//! sequence and published on the bus, and the session tracker is fed, so a
//! subscriber only ever sees committed events, in store order.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use clawscope_bus::Bus;
use clawscope_core::batch::Batch;
use clawscope_core::live::{LiveOutput, Tracker};
use clawscope_core::otel::{Telemetry, TelemetryStats};
use clawscope_core::query::EventFilter;
use clawscope_ingest::cursor::FileStamp;
use clawscope_ingest::pipeline::dedup;
use clawscope_ingest::{import, plan, NoProgress, Pricer, Roots, SourceSelect, Unit};
use clawscope_store::{Store, StoreError};

use crate::now_ms;

/// Work for the writer.
#[derive(Debug)]
pub enum Work {
    /// These paths changed (files, databases or their WAL files; senders keep only
    /// the [`relevant`] ones).
    Paths(Vec<PathBuf>),
    /// Re-plan and read everything that changed (the slow fallback).
    Rescan,
    /// Events and updates from a live source.
    Live(LiveOutput),
    /// Advance the session clock (hung detection) and expire old telemetry.
    Tick,
    /// OTLP telemetry; the answer is sent once it is committed.
    Telemetry(Telemetry, oneshot::Sender<Result<TelemetryStats, String>>),
}

/// How the writer tracks sessions.
#[derive(Debug, Clone, Copy)]
pub struct TrackerConfig {
    /// A pending session without progress for this long is hung.
    pub hung_after_ms: i64,
    /// Quiet sessions are dropped from the live table after this long.
    pub forget_after_ms: i64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            hung_after_ms: 300_000,
            forget_after_ms: 24 * 3_600_000,
        }
    }
}

/// Writer state.
pub struct Writer {
    store: Box<dyn Store>,
    pricer: Pricer,
    roots: Roots,
    select: SourceSelect,
    units: Vec<Unit>,
    by_path: HashMap<PathBuf, usize>,
    /// Changed paths a re-plan did not turn into units (other files of the
    /// gateway): they no longer trigger re-plans until the next rescan.
    ignored: BTreeSet<PathBuf>,
    bus: Arc<Bus>,
    tracker: Tracker,
    last_seq: i64,
    /// Raw telemetry older than this is dropped (`None`: kept forever).
    retention_ms: Option<i64>,
    last_prune_ms: i64,
}

/// A SQLite side file (`-wal`, `-shm`, `-journal`) stands for its database.
fn main_file(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    for suffix in ["-wal", "-shm", "-journal"] {
        if let Some(base) = s.strip_suffix(suffix) {
            return PathBuf::from(base);
        }
    }
    p.to_path_buf()
}

/// Whether a changed path can matter to a source.
pub fn relevant(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "sessions.json"
        || [".jsonl", ".sqlite", ".sqlite-wal", ".log"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

impl Writer {
    /// A writer over `store`, seeding the session tracker from recent events.
    pub fn new(
        store: Box<dyn Store>,
        pricer: Pricer,
        roots: Roots,
        select: SourceSelect,
        bus: Arc<Bus>,
        tracking: TrackerConfig,
    ) -> Result<Writer, StoreError> {
        let last_seq = store.max_seq()?;
        let now = now_ms();
        let mut tracker = Tracker::new(tracking.hung_after_ms, tracking.forget_after_ms);
        let recent = store.events(&EventFilter {
            since_ms: Some(now - tracking.forget_after_ms),
            limit: 500_000,
            ..EventFilter::default()
        })?;
        for e in &recent {
            tracker.observe(&e.event, now);
        }
        bus.set_sessions(tracker.sessions(now));
        // The history stored before this start is not news to a client connecting now.
        bus.mark_published(last_seq);
        let mut w = Writer {
            store,
            pricer,
            roots,
            select,
            units: Vec::new(),
            by_path: HashMap::new(),
            ignored: BTreeSet::new(),
            bus,
            tracker,
            last_seq,
            retention_ms: None,
            last_prune_ms: 0,
        };
        w.replan();
        Ok(w)
    }

    /// Keep raw spans, metric points and logs for `days` (trace summaries and hourly
    /// metric rollups are kept); checked on the clock tick, at most hourly.
    pub fn with_telemetry_retention(mut self, days: Option<u32>) -> Writer {
        self.retention_ms = days.map(|d| i64::from(d) * 86_400_000);
        self
    }

    fn replan(&mut self) {
        self.ignored.clear();
        self.units = plan(&self.roots, self.select);
        self.by_path = self
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.path.clone(), i))
            .collect();
    }

    /// Serve work until every sender is gone.
    pub fn run(mut self, mut rx: mpsc::Receiver<Work>) {
        while let Some(first) = rx.blocking_recv() {
            let mut round = Round::default();
            round.absorb(first);
            // Everything already queued is handled in the same round.
            while round.len < MAX_ROUND {
                match rx.try_recv() {
                    Ok(w) => round.absorb(w),
                    Err(_) => break,
                }
            }
            if let Err(e) = self.handle(round) {
                tracing::warn!(error = %e, "live store update failed");
            }
        }
    }

    /// Handle one round of work.
    fn handle(&mut self, mut round: Round) -> Result<(), StoreError> {
        let t = Instant::now();
        if !round.live.is_empty() {
            self.apply_live(&round.live)?;
        }
        if !round.telemetry.is_empty() {
            self.apply_telemetry(std::mem::take(&mut round.telemetry));
        }
        if round.rescan {
            self.replan();
            let units = self.units.clone();
            self.import_units(&units)?;
            self.store.index_text()?;
        } else if !round.paths.is_empty() {
            let units = self.units_for(&round.paths);
            self.import_units(&units)?;
        }
        self.publish_new()?;
        for out in &round.live {
            for tr in &out.transients {
                if let Some(k) = &tr.session_key {
                    for s in self.tracker.touch(k, tr.ts_ms, now_ms()) {
                        self.bus.publish_session(&s);
                    }
                }
                self.bus.publish_live(tr);
            }
        }
        if round.tick {
            let now = now_ms();
            for s in self.tracker.tick(now) {
                self.bus.publish_session(&s);
            }
            self.bus.set_sessions(self.tracker.sessions(now));
            self.prune_telemetry(now);
        }
        tracing::trace!(ms = t.elapsed().as_secs_f64() * 1e3, "live round");
        Ok(())
    }

    fn apply_live(&mut self, live: &[LiveOutput]) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        for out in live {
            batch.events.extend(out.events.iter().cloned());
            batch.sessions.extend(out.sessions.iter().cloned());
        }
        if batch.events.is_empty() && batch.sessions.is_empty() {
            return Ok(());
        }
        dedup(&mut batch.events);
        for ev in &mut batch.events {
            self.pricer.price(ev);
        }
        self.store.apply(&batch)?;
        Ok(())
    }

    /// Write the telemetry of several requests in one transaction and answer each.
    fn apply_telemetry(
        &mut self,
        mut work: Vec<(Telemetry, oneshot::Sender<Result<TelemetryStats, String>>)>,
    ) {
        let mut all = Telemetry::default();
        let mut replies = Vec::with_capacity(work.len());
        for (t, reply) in work.drain(..) {
            all.extend(t);
            replies.push(reply);
        }
        for span in &mut all.spans {
            if let Some(ev) = &mut span.event {
                self.pricer.price(ev);
            }
        }
        let result = self.store.apply_telemetry(&all).map_err(|e| e.to_string());
        if let Err(e) = &result {
            tracing::warn!(error = %e, "telemetry not stored");
        }
        for reply in replies {
            // A sender that gave up (client gone) is not an error.
            let _ = reply.send(result.clone());
        }
    }

    fn prune_telemetry(&mut self, now: i64) {
        let Some(keep) = self.retention_ms else {
            return;
        };
        if now - self.last_prune_ms < 3_600_000 {
            return;
        }
        self.last_prune_ms = now;
        match self.store.prune_telemetry(now - keep) {
            Ok(p) if p.spans + p.points + p.logs > 0 => {
                tracing::info!(
                    spans = p.spans,
                    points = p.points,
                    logs = p.logs,
                    "expired telemetry"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "telemetry retention failed"),
        }
    }

    /// The units behind changed paths; unknown relevant paths (a new file, a new
    /// agent, a changed `sessions.json`) trigger a re-plan first.
    fn units_for(&mut self, paths: &BTreeSet<PathBuf>) -> Vec<Unit> {
        let paths: BTreeSet<PathBuf> = paths.iter().map(|p| main_file(p)).collect();
        let is_meta = |p: &PathBuf| p.file_name().is_some_and(|n| n == "sessions.json");
        let replan = paths
            .iter()
            .any(|p| is_meta(p) || !self.by_path.contains_key(p) && !self.ignored.contains(p));
        if replan {
            self.replan();
            self.ignored.extend(
                paths
                    .iter()
                    .filter(|p| !self.by_path.contains_key(*p) && !is_meta(p))
                    .cloned(),
            );
        }
        let mut picked: BTreeSet<usize> = BTreeSet::new();
        for p in &paths {
            if let Some(&i) = self.by_path.get(p) {
                picked.insert(i);
            }
            // A new sessions.json re-reads the transcripts beside it (their metadata changed).
            if p.file_name().is_some_and(|n| n == "sessions.json") {
                if let Some(dir) = p.parent() {
                    picked.extend(
                        self.units
                            .iter()
                            .enumerate()
                            .filter(|(_, u)| u.path.parent() == Some(dir))
                            .map(|(i, _)| i),
                    );
                }
            }
        }
        picked
            .into_iter()
            .map(|i| {
                let mut u = self.units[i].clone();
                if u.stamp.is_some() {
                    u.stamp = FileStamp::of(&u.path);
                }
                u
            })
            .collect()
    }

    fn import_units(&mut self, units: &[Unit]) -> Result<(), StoreError> {
        if units.is_empty() {
            return Ok(());
        }
        let threads = if units.len() > 8 { 2 } else { 1 };
        match import(
            self.store.as_mut(),
            units,
            &self.pricer,
            threads,
            &NoProgress,
        ) {
            Ok(r) => {
                let t = r.total();
                if t.inserted + t.updated > 0 {
                    tracing::debug!(inserted = t.inserted, updated = t.updated, "followed");
                }
                Ok(())
            }
            Err(clawscope_ingest::import::ImportError::Store(e)) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "import failed");
                Ok(())
            }
        }
    }

    /// Read back what was committed since the last publish, publish it in sequence
    /// order and feed the session tracker.
    fn publish_new(&mut self) -> Result<(), StoreError> {
        loop {
            let evs = self.store.events(&EventFilter {
                after_seq: Some(self.last_seq),
                limit: PUBLISH_PAGE,
                ..EventFilter::default()
            })?;
            let Some(last) = evs.last() else {
                return Ok(());
            };
            self.last_seq = last.seq;
            self.bus.publish_events(&evs);
            let now = now_ms();
            for e in &evs {
                for s in self.tracker.observe(&e.event, now) {
                    self.bus.publish_session(&s);
                }
            }
            if evs.len() < PUBLISH_PAGE {
                return Ok(());
            }
        }
    }
}

/// Events read back per query when publishing.
const PUBLISH_PAGE: usize = 2000;

/// Work items merged into one round at most.
const MAX_ROUND: usize = 4096;

/// Work gathered for one round.
#[derive(Default)]
struct Round {
    paths: BTreeSet<PathBuf>,
    live: Vec<LiveOutput>,
    telemetry: Vec<(Telemetry, oneshot::Sender<Result<TelemetryStats, String>>)>,
    rescan: bool,
    tick: bool,
    len: usize,
}

impl Round {
    fn absorb(&mut self, w: Work) {
        self.len += 1;
        match w {
            Work::Paths(p) => self.paths.extend(p),
            Work::Rescan => self.rescan = true,
            Work::Live(l) => self.live.push(l),
            Work::Tick => self.tick = true,
            Work::Telemetry(t, reply) => self.telemetry.push((t, reply)),
        }
    }
}
