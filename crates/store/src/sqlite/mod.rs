//! The embedded SQLite backend (WAL), the default store.

mod alerts;
mod alerts_read;
mod dashboard;
mod dashboard_read;
mod keys;
mod read;
mod rollup;
mod rollup_lag;
mod stored_id;
mod telemetry;
mod telemetry_read;
mod usage_read;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::{ApplyStats, Batch, Result, Store, StoreError};
use clawscope_core::otel::{
    MetricInfo, PruneStats, SeriesQuery, SeriesResult, Telemetry, TelemetryStats, TraceDetail,
    TraceFilter, TraceSummary,
};
use clawscope_core::query::{
    EventFilter, SearchHit, SessionFilter, SessionSummary, StoreStats, StoredEvent, UsageFilter,
};
use clawscope_core::report::{UsageBucket, UsageEntry};
use clawscope_core::stats::{ActivityBucket, FlowEdge, ToolStat};

/// Migrations in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_text_index_cursor.sql"),
    include_str!("../../migrations/sqlite/0003_usage_hourly.sql"),
    include_str!("../../migrations/sqlite/0004_telemetry.sql"),
    include_str!("../../migrations/sqlite/0005_transcript_usage_index.sql"),
    include_str!("../../migrations/sqlite/0006_dashboard_rollups.sql"),
    include_str!("../../migrations/sqlite/0007_rare_kind_indexes.sql"),
    include_str!("../../migrations/sqlite/0008_alerts.sql"),
    include_str!("../../migrations/sqlite/0009_alert_indexes.sql"),
    include_str!("../../migrations/sqlite/0010_event_keys.sql"),
    include_str!("../../migrations/sqlite/0011_event_key_index.sql"),
    include_str!("../../migrations/sqlite/0012_compact_ids.sql"),
];

/// The other indexes on `events` a bulk load defers (also created by migrations 1 and
/// 11); re-created on open, with the key index, in case a bulk load was interrupted.
/// The load also drops `events_transcript_usage`, which only telemetry writes read: the
/// first of them builds it again ([`telemetry::ensure_transcript_usage_index`]).
const SECONDARY_INDEXES: &str = "CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
    CREATE INDEX IF NOT EXISTS events_session_ts ON events(session_key, ts);";

/// Switch the journal to `mode`; `None` when another connection holds the file and
/// SQLite refuses (the caller goes on in the current mode).
fn try_journal_mode(conn: &Connection, mode: &str) -> Result<Option<String>> {
    match conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| {
        r.get::<_, String>(0)
    }) {
        Ok(now) => Ok(Some(now)),
        Err(e) if in_use(&e) => {
            tracing::debug!(mode, "journal mode unchanged: the store is in use");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// SQLite refused because the file or a table is in use (busy or locked).
fn in_use(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(
        f.code,
        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
    ))
}

/// A clawscope store in one SQLite file (or in memory).
pub struct SqliteStore {
    conn: Connection,
    path: Option<PathBuf>,
    /// The event keys of a bulk load that dropped the unique index (see `begin_bulk`).
    bulk_keys: Option<keys::BulkKeys>,
    /// The rollups a bulk load holds back while it has the store to itself (see
    /// `rollup_lag`): set by `begin_bulk` when alone, dropped when another connection
    /// has counted them or a transaction failed.
    rollup_lag: Option<rollup_lag::RollupLag>,
    /// Entries a [`rollup_lag::RollupLag`] holds before it writes them anyway.
    lag_max_held: usize,
    /// A throw-away store for one scan (`open_scratch`): read once, so a bulk load leaves
    /// its indexes unbuilt (see `end_bulk`).
    scratch: bool,
    /// The page cache this connection keeps (KiB), outside the append phase of a bulk load.
    cache_kib: u32,
}

/// Page cache of a connection (KiB) unless limited.
const CACHE_KIB: u32 = 24_000;

/// Page cache while a bulk load appends with its keys in memory (KiB): it writes each table
/// page once, in order, and reads nothing back, so a larger cache only holds memory.
const APPEND_CACHE_KIB: u32 = 8_000;

impl SqliteStore {
    /// Open (creating if needed) the store at `path` and migrate it.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Only takes effect on a new, empty file: larger pages suit text-heavy rows.
        conn.pragma_update(None, "page_size", 8192)?;
        // A bulk load in another process may hold the file in rollback mode; this
        // connection then works in that mode and the loader puts WAL back at its end.
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            try_journal_mode(&conn, "WAL")?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::setup(conn, Some(path.to_path_buf()))
    }

    /// A store that lives in memory only (tests).
    pub fn open_in_memory() -> Result<SqliteStore> {
        Self::setup(Connection::open_in_memory()?, None)
    }

    /// A private store that lives only as long as this value (`--no-db` scans): SQLite
    /// keeps it in its page cache and spills to an unnamed temporary file beyond that,
    /// so a large scan does not hold the whole store in memory.
    pub fn open_scratch() -> Result<SqliteStore> {
        let conn = Connection::open("")?;
        // Nothing outlives the process: the rollback journal only has to undo a failed
        // transaction, which it can from memory, and nothing is synced.
        try_journal_mode(&conn, "MEMORY")?;
        conn.pragma_update(None, "synchronous", "OFF")?;
        let mut store = Self::setup(conn, None)?;
        store.scratch = true;
        Ok(store)
    }

    fn setup(conn: Connection, path: Option<PathBuf>) -> Result<SqliteStore> {
        // Sorts (index builds) spill to temporary files rather than grow the heap.
        conn.pragma_update(None, "temp_store", "FILE")?;
        conn.pragma_update(None, "cache_size", -i64::from(CACHE_KIB))?;
        let mut store = SqliteStore {
            conn,
            path,
            bulk_keys: None,
            rollup_lag: None,
            lag_max_held: rollup_lag::MAX_HELD,
            scratch: false,
            cache_kib: CACHE_KIB,
        };
        store.migrate()?;
        store.catch_up_rollups()?;
        keys::ensure_key_index(&store.conn)?;
        store.conn.execute_batch(SECONDARY_INDEXES)?;
        Ok(store)
    }

    /// Entries a bulk load holds back before it writes its rollups anyway (tests bound it
    /// low to exercise those writes).
    #[doc(hidden)]
    pub fn bound_bulk_rollups(&mut self, entries: usize) {
        self.lag_max_held = entries;
    }

    /// The schema version this build writes.
    pub fn supported_version() -> i64 {
        MIGRATIONS.len() as i64
    }

    fn migrate(&mut self) -> Result<()> {
        let current: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let supported = Self::supported_version();
        if current > supported {
            return Err(StoreError::TooNew {
                found: current,
                supported,
            });
        }
        let mut rewritten = false;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = rusqlite::Transaction::new(
                &mut self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            // Another process opening the store at the same moment may have run it.
            let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now > i as i64 {
                continue;
            }
            if i + 1 == keys::INDEX_MIGRATION {
                rewritten = keys::warn_rewrite(&tx)?;
            }
            tx.execute_batch(sql)?;
            if i + 1 == dashboard::MIGRATION {
                dashboard::backfill(&tx)?;
            }
            if i + 1 == keys::MIGRATION {
                keys::rekey(&tx)?;
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::info!(version = i + 1, "store migrated");
        }
        if rewritten {
            // The old table's pages are free now: give them back rather than leave the
            // file at twice its size. Only space is at stake, so a refusal (the store in
            // use, the disk full) is a warning.
            if let Err(e) = self
                .conn
                .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            {
                tracing::warn!(error = %e, "could not compact the store after the upgrade");
            }
        }
        Ok(())
    }

    /// Bound this connection's page cache to `kib` KiB (default: 24 MiB), for a
    /// connection that mostly reads newly stored events once, such as a follower's.
    pub fn limit_cache(&mut self, kib: u32) -> Result<()> {
        self.cache_kib = kib;
        self.set_cache(kib)
    }

    fn set_cache(&self, kib: u32) -> Result<()> {
        self.conn
            .pragma_update(None, "cache_size", -i64::from(kib))?;
        Ok(())
    }

    /// Count the events a bulk load's mark says the rollups miss (a load killed or failed
    /// before its end), in a write transaction only when there is a mark.
    fn catch_up_rollups(&mut self) -> Result<()> {
        if !rollup_lag::marked(&self.conn)? {
            return Ok(());
        }
        let tx =
            rusqlite::Transaction::new(&mut self.conn, rusqlite::TransactionBehavior::Immediate)?;
        rollup_lag::catch_up(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// The unique index checks keys from now on (see `begin_bulk`); the load's inserts
    /// probe it, so the page cache is the usual one again.
    fn drop_bulk_keys(&mut self) -> Result<()> {
        if self.bulk_keys.take().is_some() {
            self.set_cache(self.cache_kib)?;
        }
        Ok(())
    }

    /// Where the store lives on disk, if it does.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl Store for SqliteStore {
    fn apply(&mut self, batch: &Batch) -> Result<ApplyStats> {
        let applied = write::apply(
            &mut self.conn,
            batch,
            self.bulk_keys.as_mut(),
            self.rollup_lag.as_mut(),
        );
        match applied {
            Ok(write::Applied {
                stats,
                keys_current,
                deferred,
            }) => {
                if !deferred {
                    self.rollup_lag = None;
                }
                // Another connection wrote (the index is back), or memory would grow past
                // its bound on a very large history: the index checks keys from now on
                // (an apply without keys builds it first, in its own transaction).
                if !keys_current
                    || self
                        .bulk_keys
                        .as_ref()
                        .is_some_and(|k| k.len() > keys::BulkKeys::MAX)
                {
                    self.drop_bulk_keys()?;
                }
                Ok(stats)
            }
            Err(e) => {
                // What the load held may count events that just rolled back: drop it; its
                // mark, as last committed, lets the next writer count the stored ones.
                self.rollup_lag = None;
                if self.bulk_keys.is_some() {
                    // The transaction rolled back; rather than mend the keys in memory, let
                    // the index check keys from now on (the next apply builds it if this
                    // cannot: the error to report is the first one).
                    if let Err(b) = self.drop_bulk_keys() {
                        tracing::warn!(error = %b, "page cache not restored");
                    }
                    if let Err(b) = keys::ensure_key_index(&self.conn) {
                        tracing::warn!(error = %b, "key index not built yet");
                    }
                }
                Err(e)
            }
        }
    }

    fn cursor(&self, source_id: &str) -> Result<Option<String>> {
        read::cursor(&self.conn, source_id)
    }

    fn cursors_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        read::cursors_with_prefix(&self.conn, prefix)
    }

    fn usage_buckets(&self, filter: &UsageFilter) -> Result<Vec<UsageBucket>> {
        usage_read::usage_buckets(&self.conn, filter)
    }

    fn usage_entries(&self, filter: &UsageFilter) -> Result<Vec<UsageEntry>> {
        read::usage_entries(&self.conn, filter)
    }

    fn sessions(&self, filter: &SessionFilter) -> Result<Vec<SessionSummary>> {
        read::sessions(&self.conn, filter)
    }

    fn count_sessions(&self, filter: &SessionFilter) -> Result<u64> {
        read::count_sessions(&self.conn, filter)
    }

    fn session(&self, key: &str) -> Result<Option<SessionSummary>> {
        read::session(&self.conn, key)
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>> {
        read::events(&self.conn, filter)
    }

    fn search(&self, query: &str, filter: &UsageFilter, limit: usize) -> Result<Vec<SearchHit>> {
        write::index_text(&self.conn)?;
        read::search(&self.conn, query, filter, limit)
    }

    fn text_sessions(&self, query: &str, limit: usize) -> Result<Vec<String>> {
        write::index_text(&self.conn)?;
        read::text_sessions(&self.conn, query, limit)
    }

    fn index_text(&self) -> Result<u64> {
        write::index_text(&self.conn)
    }

    fn begin_bulk(&mut self) -> Result<()> {
        // A load into an empty file mostly appends pages past its end, which a rollback
        // journal need not copy, where a WAL writes every page twice (log, then checkpoint).
        // Leaving WAL needs the file to itself: with another connection open (`serve`'s
        // readers) the load stays in WAL. A killed load leaves a hot journal that the next
        // open rolls back, and `open` puts the file back in WAL.
        let alone = match &self.path {
            Some(_) => try_journal_mode(&self.conn, "DELETE")?
                .is_some_and(|m| m.eq_ignore_ascii_case("delete")),
            // A scratch or in-memory store is private to this connection.
            None => true,
        };
        tracing::debug!(alone, "bulk load");
        // Secondary indexes are built once, by sorting, at the end; `open` rebuilds them
        // if a bulk load was cut short. Checkpoints are batched while it runs.
        self.conn.execute_batch(
            "DROP INDEX IF EXISTS events_ts; DROP INDEX IF EXISTS events_session_ts;
             DROP INDEX IF EXISTS events_transcript_usage;
             PRAGMA wal_autocheckpoint = 16384;",
        )?;
        // Alone, the unique index on event keys goes too and keys are checked in memory.
        // "Alone" is only likely (a file already in rollback mode switches with others
        // open); what makes it safe: every other writer makes sure of the index in its own
        // write transaction before it writes an event, and the load's transactions use the
        // keys in memory only while nobody else has committed since they were read
        // (`BulkKeys::current`).
        if alone {
            self.bulk_keys = Some(keys::BulkKeys::take_over(&mut self.conn)?);
            self.rollup_lag = Some(rollup_lag::RollupLag::new(self.lag_max_held));
            // Not a scratch store's: what passes its cache goes to a temporary file that
            // the report then reads back (1 GB Claude `--no-db`: 10 % slower with 8 MB).
            if !self.scratch {
                self.set_cache(self.cache_kib.min(APPEND_CACHE_KIB))?;
            }
        }
        Ok(())
    }

    fn end_bulk(&mut self) -> Result<()> {
        // The rollups first: reports need them, not the indexes. Without a lag (not alone,
        // or a failed transaction dropped it) only a mark left behind needs counting.
        match self.rollup_lag.take() {
            Some(lag) => {
                let tx = rusqlite::Transaction::new(
                    &mut self.conn,
                    rusqlite::TransactionBehavior::Immediate,
                )?;
                lag.finish(&tx)?;
                tx.commit()?;
            }
            None => self.catch_up_rollups()?,
        }
        if self.scratch {
            // The few queries of one report scan the table faster than building an index
            // (itself a scan and a sort) would let them seek. The keys stay in memory:
            // nobody else writes to a scratch store.
            return Ok(());
        }
        keys::ensure_key_index(&self.conn)?;
        self.bulk_keys = None;
        // Built with the load's page cache: the sorts spill to temporary files past it.
        let built = self.conn.execute_batch(SECONDARY_INDEXES);
        self.set_cache(self.cache_kib)?;
        built?;
        if self.path.is_some() {
            try_journal_mode(&self.conn, "WAL")?;
        }
        self.conn
            .execute_batch("PRAGMA wal_autocheckpoint = 1000;")?;
        // Empty the WAL the load may have grown. Right after the index builds and the
        // switch back to WAL, the first attempt can be refused as "locked"; the second
        // goes through, and if it does not, the next automatic checkpoint will.
        for attempt in 1..=2 {
            match self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
                Ok(()) => break,
                Err(e) if in_use(&e) => {
                    tracing::debug!(attempt, "checkpoint after the bulk load deferred");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn apply_telemetry(&mut self, t: &Telemetry) -> Result<TelemetryStats> {
        let tx =
            rusqlite::Transaction::new(&mut self.conn, rusqlite::TransactionBehavior::Immediate)?;
        keys::ensure_key_index(&tx)?;
        telemetry::ensure_transcript_usage_index(&tx)?;
        rollup_lag::catch_up(&tx)?;
        let mut rollups = rollup::Rollups::default();
        let stats = telemetry::apply(&tx, t, &mut rollups)?;
        rollups.flush(&tx)?;
        tx.commit()?;
        Ok(stats)
    }

    fn prune_telemetry(&mut self, before_ms: i64) -> Result<PruneStats> {
        let tx =
            rusqlite::Transaction::new(&mut self.conn, rusqlite::TransactionBehavior::Immediate)?;
        let stats = telemetry::prune(&tx, before_ms)?;
        tx.commit()?;
        Ok(stats)
    }

    fn traces(&self, filter: &TraceFilter) -> Result<Vec<TraceSummary>> {
        telemetry_read::traces(&self.conn, filter)
    }

    fn trace(&self, trace_id: &str) -> Result<Option<TraceDetail>> {
        telemetry_read::trace(&self.conn, trace_id)
    }

    fn metric_series(&self, q: &SeriesQuery) -> Result<SeriesResult> {
        telemetry_read::series(&self.conn, q)
    }

    fn metric_names(&self) -> Result<Vec<MetricInfo>> {
        telemetry_read::metric_names(&self.conn)
    }

    fn tool_stats(&self, since_ms: Option<i64>) -> Result<Vec<ToolStat>> {
        dashboard_read::tool_stats(&self.conn, since_ms)
    }

    fn activity(&self, since_ms: i64, until_ms: Option<i64>) -> Result<Vec<ActivityBucket>> {
        dashboard_read::activity(&self.conn, since_ms, until_ms)
    }

    fn flow(&self, since_ms: Option<i64>) -> Result<Vec<FlowEdge>> {
        dashboard_read::flow(&self.conn, since_ms)
    }

    fn max_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?)
    }

    fn stats(&self) -> Result<StoreStats> {
        let mut s = read::stats(&self.conn)?;
        if let Some(p) = &self.path {
            s.size_bytes = ["", "-wal"]
                .iter()
                .filter_map(|suffix| {
                    let mut f = p.clone().into_os_string();
                    f.push(suffix);
                    std::fs::metadata(f).ok()
                })
                .map(|m| m.len())
                .sum();
        }
        Ok(s)
    }
}
