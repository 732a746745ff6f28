//! Import: read units in parallel, price and dedup them, and apply their batches to
//! the store in plan order (so "first seen" is deterministic), each batch with the
//! cursors it covers in one transaction. A crash at any point loses nothing: the
//! next run resumes from the last committed cursors and stable ids absorb re-reads.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use serde::Serialize;

use clawscope_core::{SkipCounts, SourceKind};
use clawscope_store::{ApplyStats, Store};

use crate::backlog::Backlog;
use crate::cursor::{file_cursor_id, FileCursor};
use crate::pipeline::{dedup, Pricer};
use crate::sources::{claude, gateway_log, openclaw_db, openclaw_legacy, openclaw_state};
use crate::unit::{Cursors, SkipExample, Unit, UnitKind, UnitOutput};

/// Receives progress while an import runs.
pub trait Progress: Sync {
    /// Work is about to start.
    fn start(&self, _units: usize, _total_bytes: u64) {}
    /// One unit was applied.
    fn unit_done(&self, _unit: &Unit) {}
    /// A slower closing step runs (the index builds that end a large first import,
    /// also after a failed one); `finish` follows.
    fn stage(&self, _what: &str) {}
    /// All done.
    fn finish(&self) {}
}

/// A progress sink that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What one source kind contributed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceReport {
    /// Files / databases looked at.
    pub units: u64,
    /// New bytes read.
    pub bytes: u64,
    /// Lines or rows read.
    pub records: u64,
    /// Events produced.
    pub events: u64,
    /// New events stored.
    pub inserted: u64,
    /// Stored events replaced by a better copy.
    pub updated: u64,
    /// Events already stored.
    pub unchanged: u64,
    /// Skips by reason.
    pub skipped: SkipCounts,
    /// A few skips with their positions.
    pub skip_examples: Vec<SkipExample>,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Per source (`openclaw`, `claude`).
    pub sources: BTreeMap<String, SourceReport>,
    /// Wall time.
    pub elapsed_ms: u64,
    /// Of which spent writing to the store.
    pub store_ms: u64,
}

impl ImportReport {
    /// Totals across sources.
    pub fn total(&self) -> SourceReport {
        let mut t = SourceReport::default();
        for r in self.sources.values() {
            t.units += r.units;
            t.bytes += r.bytes;
            t.records += r.records;
            t.events += r.events;
            t.inserted += r.inserted;
            t.updated += r.updated;
            t.unchanged += r.unchanged;
            t.skipped.merge(&r.skipped);
        }
        t
    }
}

/// Import failures (bad records are skips, not errors; this is the store failing).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] clawscope_store::StoreError),
    /// A reader thread could not be started.
    #[error("cannot start a reader thread: {0}")]
    Spawn(std::io::Error),
}

/// Read one unit: parse, price and dedup.
pub fn read_unit(unit: &Unit, cursors: &Cursors, pricer: &Pricer) -> UnitOutput {
    let mut out = match &unit.kind {
        UnitKind::LegacyTranscript { agent, metas } => {
            openclaw_legacy::read(&unit.path, agent, metas, cursors)
        }
        UnitKind::ClaudeFile { relative } => claude::read(&unit.path, relative, cursors),
        UnitKind::AgentDb { agent } => openclaw_db::read(&unit.path, agent, cursors),
        UnitKind::StateDb => openclaw_state::read(&unit.path, cursors),
        UnitKind::GatewayLog => gateway_log::read(&unit.path, cursors),
    };
    for batch in &mut out.batches {
        dedup(&mut batch.events);
        for ev in &mut batch.events {
            pricer.price(ev);
        }
    }
    out
}

/// Run an import of `units` into `store` on `threads` reader threads.
pub fn import(
    store: &mut dyn Store,
    units: &[Unit],
    pricer: &Pricer,
    threads: usize,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let cursors = load_cursors(store)?;
    run(
        store,
        units,
        &cursors,
        started,
        pricer,
        Readers::new(threads),
        progress,
    )
}

/// How an import reads: on how many threads, and how far ahead of the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readers {
    /// Reader threads (at least 1, at most 16 or the number of units).
    pub threads: usize,
    /// Bytes of events (by [`Event::approx_bytes`]) read ahead of the writer.
    ///
    /// [`Event::approx_bytes`]: clawscope_core::Event::approx_bytes
    pub read_ahead: usize,
}

impl Readers {
    /// `threads` readers that read up to [`READ_AHEAD_BYTES`] ahead.
    pub fn new(threads: usize) -> Readers {
        Readers {
            threads,
            read_ahead: READ_AHEAD_BYTES,
        }
    }

    /// Half the read-ahead, for a store whose pages live in this process's memory
    /// (a scratch store), where the backlog adds to its cache: the 1 GB Claude `--no-db`
    /// report peaks at about 90 MB instead of 101 MB.
    pub fn frugal(self) -> Readers {
        Readers {
            read_ahead: self.read_ahead / 2,
            ..self
        }
    }
}

/// Like [`import`], with the units from `listed`, called once the store's cursors are
/// loaded: a caller that lists on another thread (see `plan`) overlaps the two. On a
/// large history where nothing changed, listing and stat-ing the files and reading
/// their cursors are most of the run.
pub fn import_listed(
    store: &mut dyn Store,
    listed: impl FnOnce() -> Vec<Unit>,
    pricer: &Pricer,
    readers: Readers,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let cursors = load_cursors(store)?;
    let units = listed();
    run(store, &units, &cursors, started, pricer, readers, progress)
}

fn load_cursors(store: &dyn Store) -> Result<Cursors, ImportError> {
    Ok(store.cursors_with_prefix("")?.into_iter().collect())
}

fn run(
    store: &mut dyn Store,
    units: &[Unit],
    cursors: &Cursors,
    started: Instant,
    pricer: &Pricer,
    readers: Readers,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    progress.start(units.len(), units.iter().map(|u| u.size).sum());
    // Files whose size, mtime and identity match their cursor were read to the end
    // before: skip them here, without opening them or waking a reader.
    let (skipped, todo): (Vec<&Unit>, Vec<&Unit>) = units.iter().partition(|u| {
        u.stamp.is_some_and(|st| {
            FileCursor::unchanged(
                cursors.get(&file_cursor_id(&u.path)).map(String::as_str),
                &st,
            )
        })
    });
    for u in &skipped {
        progress.unit_done(u);
        report
            .sources
            .entry(source_name(u.source).to_string())
            .or_default()
            .units += 1;
    }
    let units: &[&Unit] = &todo;
    if units.is_empty() {
        progress.finish();
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    // A first import of a lot of data builds secondary indexes once, at the end.
    let bulk = units.iter().map(|u| u.size).sum::<u64>() > BULK_BYTES && store.stats()?.events == 0;
    if bulk {
        store.begin_bulk()?;
    }
    let next = AtomicUsize::new(0);
    let backlog = &Backlog::new(readers.read_ahead);
    let threads = readers.threads.clamp(1, 16).min(units.len().max(1));
    let result = std::thread::scope(|scope| -> Result<(), ImportError> {
        // The byte budget bounds the backlog; the channel's room only has to exceed it.
        let (tx, rx) = mpsc::sync_channel::<(usize, UnitOutput, usize)>(threads * 64);
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            let reader = move || {
                yield_cpu_to_the_writer();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(unit) = units.get(i).copied() else {
                        break;
                    };
                    let out = read_unit(unit, cursors, pricer);
                    let bytes = held_bytes(&out);
                    backlog.admit(i, bytes);
                    if tx.send((i, out, bytes)).is_err() {
                        break;
                    }
                }
            };
            std::thread::Builder::new()
                .name("clawscope-reader".into())
                .spawn_scoped(scope, reader)
                .map_err(ImportError::Spawn)?;
        }
        drop(tx);
        let mut pending: HashMap<usize, (UnitOutput, usize)> = HashMap::new();
        let mut want = 0;
        let mut acc = Accumulator::default();
        for (i, out, bytes) in rx.iter() {
            pending.insert(i, (out, bytes));
            while let Some((out, bytes)) = pending.remove(&want) {
                backlog.taken(bytes, want + 1);
                let unit = &units[want];
                acc.push(store, &mut report, unit.source, out)
                    .inspect_err(|_| {
                        // Stop the readers: nothing more can be stored.
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                        backlog.close();
                    })?;
                progress.unit_done(unit);
                want += 1;
            }
        }
        acc.flush(store, &mut report)?;
        Ok(())
    });
    let ended = if bulk {
        progress.stage(BULK_END_STAGE);
        let t = Instant::now();
        let ended = store.end_bulk();
        report.store_ms += t.elapsed().as_millis() as u64;
        ended
    } else {
        Ok(())
    };
    progress.finish();
    ended?;
    result?;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Bytes of events (by [`Event::approx_bytes`]) the readers may have read ahead of the
/// writer. With the readers below the writer in priority (see [`yield_cpu_to_the_writer`])
/// they fill this backlog while the writer commits, instead of stopping until it drains.
/// Peak memory grows with it faster than the estimate suggests (1 GB Claude cold report:
/// 4 MB of estimate 94 MB peak, 8 MB 101 MB, 16 MB 121 MB; time 1.47, 1.35, 1.34 s).
///
/// [`Event::approx_bytes`]: clawscope_core::Event::approx_bytes
pub const READ_AHEAD_BYTES: usize = 4 * 1024 * 1024;

/// What a unit's events hold in memory, roughly.
fn held_bytes(out: &UnitOutput) -> usize {
    out.batches.iter().map(batch_bytes).sum()
}

/// What a batch's events hold in memory, roughly (by [`Event::approx_bytes`]).
///
/// [`Event::approx_bytes`]: clawscope_core::Event::approx_bytes
fn batch_bytes(batch: &clawscope_core::batch::Batch) -> usize {
    batch.events.iter().map(|e| e.approx_bytes()).sum()
}

/// Lower the calling reader thread's scheduling priority (the highest nice value). There
/// are more threads than cores on small machines: the writer, a single chain every event
/// passes through, then gets a core whenever it has work, and the readers use the rest
/// of the time (1 GB Claude cold report on 2 cores, 16-unit backlog: 1.62 s at equal
/// priority, 1.50 s this way). Best effort: if it fails, nothing changes.
fn yield_cpu_to_the_writer() {
    #[cfg(target_os = "linux")]
    {
        // On Linux a priority is per thread; the calling thread's id names it alone.
        let me = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(me), 19) {
            tracing::debug!(error = %e, "reader priority unchanged");
        }
    }
}

fn source_name(s: SourceKind) -> &'static str {
    s.as_str()
}

/// What [`Progress::stage`] is told while a bulk load builds its indexes.
pub const BULK_END_STAGE: &str = "building the store's indexes";

/// Input size above which a first import into an empty store runs in bulk mode.
const BULK_BYTES: u64 = 64 * 1024 * 1024;

/// Events per transaction: small units are coalesced so a corpus of many small files
/// is not paid for in commits; each transaction still carries exactly the cursors of
/// the events in it.
const TX_EVENTS: usize = 10_000;

/// Bytes of events (by [`Event::approx_bytes`]) held before a transaction is due, so
/// text-heavy transcripts do not grow the batch far past what [`TX_EVENTS`] allows.
///
/// [`Event::approx_bytes`]: clawscope_core::Event::approx_bytes
const TX_BYTES: usize = 16 * 1024 * 1024;

/// Batches waiting to be applied together.
#[derive(Default)]
struct Accumulator {
    batch: clawscope_core::batch::Batch,
    source: Option<SourceKind>,
    /// `approx_bytes` of the events in `batch`.
    held: usize,
}

impl Accumulator {
    fn push(
        &mut self,
        store: &mut dyn Store,
        report: &mut ImportReport,
        source: SourceKind,
        out: UnitOutput,
    ) -> Result<(), ImportError> {
        if self.source.is_some_and(|s| s != source) {
            self.flush(store, report)?;
        }
        self.source = Some(source);
        let r = report
            .sources
            .entry(source_name(source).to_string())
            .or_default();
        r.units += 1;
        r.bytes += out.bytes;
        r.records += out.records;
        r.skipped.merge(&out.skipped);
        for ex in out.examples {
            if r.skip_examples.len() < 10 {
                r.skip_examples.push(ex);
            }
        }
        r.events += out
            .batches
            .iter()
            .map(|b| b.events.len() as u64)
            .sum::<u64>();
        for b in out.batches {
            self.held += batch_bytes(&b);
            if self.batch.events.capacity() == 0 {
                // Room for a transaction's worth once, not a doubling copy of every event
                // held so far each time the batch outgrows its space.
                self.batch.events.reserve(TX_EVENTS.max(b.events.len()));
            }
            self.batch.events.extend(b.events);
            self.batch.sessions.extend(b.sessions);
            self.batch.cursors.extend(b.cursors);
            if self.batch.events.len() >= TX_EVENTS || self.held >= TX_BYTES {
                self.flush(store, report)?;
                self.source = Some(source);
            }
        }
        Ok(())
    }

    fn flush(
        &mut self,
        store: &mut dyn Store,
        report: &mut ImportReport,
    ) -> Result<(), ImportError> {
        let Some(source) = self.source.take() else {
            return Ok(());
        };
        let batch = std::mem::take(&mut self.batch);
        self.held = 0;
        if batch.is_empty() {
            return Ok(());
        }
        let t = Instant::now();
        let s: ApplyStats = store.apply(&batch)?;
        report.store_ms += t.elapsed().as_millis() as u64;
        let r = report
            .sources
            .entry(source_name(source).to_string())
            .or_default();
        r.inserted += s.inserted;
        r.updated += s.updated;
        r.unchanged += s.unchanged;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use clawscope_store::SqliteStore;

    use super::*;
    use crate::discover::{plan, Roots, SourceSelect};

    /// Records what an import tells its progress sink.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Progress for Recorder {
        fn stage(&self, what: &str) {
            self.0
                .lock()
                .expect("recorder")
                .push(format!("stage: {what}"));
        }
        fn finish(&self) {
            self.0.lock().expect("recorder").push("finish".into());
        }
    }

    /// A Claude Code root holding one transcript of a bit more than `bytes`: a few usage
    /// lines among long lines without usage (skipped by the byte pre-filter).
    fn claude_root(bytes: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let project = dir.path().join("projects").join("-home-dev-x");
        std::fs::create_dir_all(&project).expect("mkdir");
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(project.join("s1.jsonl")).expect("create"),
        );
        let filler = format!(
            r#"{{"type":"user","message":{{"content":"{}"}}}}"#,
            "x".repeat(4000)
        );
        let mut written = 0;
        let mut n = 0;
        while written < bytes {
            let line = if n % 1000 == 0 {
                format!(
                    r#"{{"timestamp":"2026-09-01T08:00:00Z","sessionId":"s1","requestId":"r{n}","message":{{"id":"m{n}","model":"claude-sonnet-4-5","usage":{{"input_tokens":10,"output_tokens":5}}}}}}"#
                )
            } else {
                filler.clone()
            };
            writeln!(f, "{line}").expect("write");
            written += line.len() + 1;
            n += 1;
        }
        f.flush().expect("flush");
        dir
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_reader_thread_gives_way_to_the_writer_and_the_writer_keeps_its_priority() {
        let mine = || rustix::process::getpriority_process(Some(rustix::thread::gettid()));
        let before = mine().expect("priority");
        let reader = std::thread::spawn(move || {
            yield_cpu_to_the_writer();
            mine().expect("priority")
        })
        .join()
        .expect("reader thread");
        assert_eq!(reader, 19);
        assert_eq!(
            mine().expect("priority"),
            before,
            "only the reader thread changes"
        );
    }

    #[test]
    fn a_large_first_import_says_when_it_builds_indexes_then_finishes() {
        let root = claude_root(BULK_BYTES as usize + 1024);
        let roots = Roots {
            claude: vec![root.path().to_path_buf()],
            ..Roots::default()
        };
        let units = plan(&roots, SourceSelect::All);
        let pricer = Pricer::embedded_with(Vec::new());
        let mut store = SqliteStore::open_in_memory().expect("store");
        let seen = Recorder::default();
        let report = import(&mut store, &units, &pricer, 2, &seen).expect("import");
        assert_eq!(report.total().inserted, 17);
        assert_eq!(
            *seen.0.lock().expect("recorder"),
            vec![format!("stage: {BULK_END_STAGE}"), "finish".to_string()]
        );
        // A second import reads nothing new: no closing stage.
        let seen = Recorder::default();
        import(&mut store, &units, &pricer, 2, &seen).expect("re-import");
        assert_eq!(
            *seen.0.lock().expect("recorder"),
            vec!["finish".to_string()]
        );
    }

    #[test]
    fn readers_that_may_not_read_ahead_at_all_still_import_every_unit() {
        let root = tempfile::tempdir().expect("tempdir");
        let project = root.path().join("projects").join("-home-dev-x");
        std::fs::create_dir_all(&project).expect("mkdir");
        for n in 0..12 {
            let line = format!(
                r#"{{"timestamp":"2026-09-01T08:00:00Z","sessionId":"s{n}","requestId":"r{n}","message":{{"id":"m{n}","model":"claude-sonnet-4-5","usage":{{"input_tokens":10,"output_tokens":5}}}}}}"#
            );
            std::fs::write(project.join(format!("s{n}.jsonl")), line + "\n").expect("write");
        }
        let roots = Roots {
            claude: vec![root.path().to_path_buf()],
            ..Roots::default()
        };
        let pricer = Pricer::embedded_with(Vec::new());
        let mut store = SqliteStore::open_in_memory().expect("store");
        // Every unit is over a one-byte budget: only the writer's next one may pass.
        let readers = Readers {
            threads: 3,
            read_ahead: 1,
        };
        let listed = || plan(&roots, SourceSelect::All);
        let report =
            import_listed(&mut store, listed, &pricer, readers, &NoProgress).expect("import");
        assert_eq!(report.total().inserted, 12);
        assert_eq!(Readers::new(3).frugal().read_ahead, READ_AHEAD_BYTES / 2);
    }
}
