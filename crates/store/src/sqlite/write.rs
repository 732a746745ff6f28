//! Applying a batch: idempotent event upserts by stable id, session metadata,
//! cursors and rollup deltas, all in one transaction.

use rusqlite::types::ToSql;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

use clawscope_core::{Event, Merge};

use super::keys::{ensure_key_index, event_key, BulkKeys};
use super::read::{event_from_row, EVENT_COLUMNS};
use super::rollup::Rollups;
use super::rollup_lag::{self, RollupLag};
use super::stored_id;
use crate::{ApplyStats, Batch, Result};

fn merge_code(m: Merge) -> i64 {
    match m {
        Merge::KeepFirst => 0,
        Merge::KeepLargestUsage => 1,
        Merge::Replace => 2,
    }
}

/// Fingerprint of an event's content, to skip rewriting unchanged `Replace` rows.
fn fingerprint(ev: &Event) -> i64 {
    match ev.merge {
        Merge::Replace => serde_json::to_vec(ev)
            .map(|b| xxhash_rust::xxh3::xxh3_64(&b) as i64)
            .unwrap_or(0),
        _ => 0,
    }
}

/// The insert of an event, with the conflict clause it ends with.
macro_rules! insert_event_sql {
    ($on_conflict:literal) => {
        concat!("INSERT INTO events (idh, id, ts, kind, source, gateway, agent, project, session_key,
    session_id, parent_session_key, channel, run_id, message_id, request_id, provider, model, api,
    input, output, cache_read, cache_write, cache_write_1h, reasoning, context_used, context_max,
    start_ms, end_ms, duration_ms, ttft_ms, tool_name, tool_call_id, tool_args, tool_result, tool_is_error,
    exit_code, error_kind, error_message, error_retriable, cost_input, cost_output, cost_cache_read,
    cost_cache_write, cost_total, cost_source, price_version, stop_reason, text, thinking, attrs, merge, fp,
    id_form)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
    ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42,
    ?43, ?44, ?45, ?46, ?47, ?48, ?49, ?50, ?51, ?52, ?53)
  ", $on_conflict)
    };
}

/// Insert an event unless its key is stored. Names its conflict target, so it cannot
/// even be prepared while the unique index is missing: a writer never inserts a
/// duplicate key unnoticed.
pub(super) const INSERT_SQL: &str = insert_event_sql!("ON CONFLICT (idh) DO NOTHING");

/// The insert of a bulk load that holds the keys in memory: without the index it
/// inserts; with it (built back by another connection) it skips a stored key.
const BULK_INSERT_SQL: &str = insert_event_sql!("ON CONFLICT DO NOTHING");

/// Binds an insert's parameters in order, leaving absent values unbound (NULL): most
/// events fill under half the columns, and a bind through `params!` costs as much for a
/// NULL as for a value.
struct Binder<'s, 'c> {
    stmt: &'s mut rusqlite::CachedStatement<'c>,
    at: usize,
}

impl Binder<'_, '_> {
    fn put<T: ToSql>(&mut self, value: T) -> Result<()> {
        self.at += 1;
        self.stmt.raw_bind_parameter(self.at, value)?;
        Ok(())
    }

    fn opt<T: ToSql>(&mut self, value: Option<T>) -> Result<()> {
        self.at += 1;
        if let Some(v) = value {
            self.stmt.raw_bind_parameter(self.at, v)?;
        }
        Ok(())
    }
}

/// Bind every column of `ev` in INSERT_SQL order and run `stmt`.
pub(super) fn exec_event(
    stmt: &mut rusqlite::CachedStatement<'_>,
    idh: &[u8; 16],
    ev: &Event,
    fp: i64,
) -> Result<usize> {
    let t = &ev.tokens;
    let tool = ev.tool.as_ref();
    let err = ev.error.as_ref();
    let compact = stored_id::compact(ev);
    // Whatever the last event bound goes: its values must not stand in for absent ones.
    stmt.clear_bindings();
    let mut b = Binder { stmt, at: 0 };
    b.put(&idh[..])?;
    b.put(compact.as_deref().unwrap_or(&ev.id))?;
    b.put(ev.ts_ms)?;
    b.put(ev.kind_str())?;
    b.put(ev.source.map(|s| s.as_str()).unwrap_or("unknown"))?;
    b.opt(ev.gateway.as_deref())?;
    b.opt(ev.agent.as_deref())?;
    b.opt(ev.project.as_deref())?;
    b.put(ev.session_key.as_str())?;
    b.opt(ev.session_id.as_deref())?;
    b.opt(ev.parent_session_key.as_deref())?;
    b.opt(ev.channel.as_deref())?;
    b.opt(ev.run_id.as_deref())?;
    b.opt(ev.message_id.as_deref())?;
    b.opt(ev.request_id.as_deref())?;
    b.opt(ev.model.provider.as_deref())?;
    b.opt(ev.model.model.as_deref())?;
    b.opt(ev.model.api.as_deref())?;
    for n in [
        t.input,
        t.output,
        t.cache_read,
        t.cache_write,
        t.cache_write_1h,
        t.reasoning,
    ] {
        b.put(n as i64)?;
    }
    b.opt(ev.context_used.map(|v| v as i64))?;
    b.opt(ev.context_max.map(|v| v as i64))?;
    b.opt(ev.timing.start_ms)?;
    b.opt(ev.timing.end_ms)?;
    b.opt(ev.timing.duration_ms)?;
    b.opt(ev.timing.ttft_ms)?;
    b.opt(tool.and_then(|t| t.name.as_deref()))?;
    b.opt(tool.and_then(|t| t.call_id.as_deref()))?;
    b.opt(tool.and_then(|t| t.arguments.as_deref()))?;
    b.opt(tool.and_then(|t| t.result.as_deref()))?;
    b.opt(tool.map(|t| t.is_error))?;
    b.opt(tool.and_then(|t| t.exit_code))?;
    b.opt(err.map(|e| e.kind.as_str()))?;
    b.opt(err.and_then(|e| e.message.as_deref()))?;
    b.opt(err.and_then(|e| e.retriable))?;
    b.opt(ev.cost.input)?;
    b.opt(ev.cost.output)?;
    b.opt(ev.cost.cache_read)?;
    b.opt(ev.cost.cache_write)?;
    b.opt(ev.cost.total)?;
    b.put(ev.cost.source.as_str())?;
    b.opt(ev.cost.price_version.as_deref())?;
    b.opt(ev.stop_reason.as_deref())?;
    b.opt(ev.text.as_deref())?;
    b.opt(ev.thinking.as_deref())?;
    b.opt(ev.attrs.as_deref())?;
    b.put(merge_code(ev.merge))?;
    b.put(fp)?;
    b.opt(compact.is_some().then_some(1))?;
    let bound = b.at;
    if bound != stmt.parameter_count() {
        return Err(rusqlite::Error::InvalidParameterCount(bound, stmt.parameter_count()).into());
    }
    Ok(stmt.raw_execute()?)
}

/// The stored copy of an event (its seq, content and fingerprint), found by key or by seq.
fn stored(tx: &Transaction<'_>, at: Stored<'_>) -> Result<Option<(i64, Event, i64)>> {
    let by = match at {
        Stored::Key(_) => "idh",
        Stored::Seq(_) => "seq",
    };
    let sql = format!("SELECT seq, fp, {EVENT_COLUMNS} FROM events WHERE {by} = ?1");
    let mut stmt = tx.prepare_cached(&sql)?;
    let read = |r: &Row<'_>| {
        Ok((
            r.get::<_, i64>(0)?,
            event_from_row(r, 2)?,
            r.get::<_, i64>(1)?,
        ))
    };
    let row = match at {
        Stored::Key(idh) => stmt.query_row([&idh[..]], read),
        Stored::Seq(seq) => stmt.query_row([seq], read),
    };
    Ok(row.optional()?)
}

/// Where [`stored`] looks: by key, or by the seq the bulk keys give for a key.
#[derive(Clone, Copy)]
enum Stored<'a> {
    Key(&'a [u8; 16]),
    Seq(i64),
}

/// The `seq` the bulk keys give for `idh`, if that row still holds it (a row can be
/// deleted under them, superseded by its transcript copy).
fn known_seq(tx: &Transaction<'_>, keys: Option<&BulkKeys>, idh: &[u8; 16]) -> Result<Option<i64>> {
    let Some(seq) = keys.and_then(|k| k.get(idh)) else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached("SELECT 1 FROM events WHERE seq = ?1 AND idh = ?2")?;
    Ok(stmt.exists(params![seq, &idh[..]])?.then_some(seq))
}

/// Insert `ev` with `insert` (see [`exec_event`]); true when it was stored, and then
/// its key is noted in `keys`.
fn insert_event(
    tx: &Transaction<'_>,
    insert: &mut rusqlite::CachedStatement<'_>,
    idh: &[u8; 16],
    ev: &Event,
    fp: i64,
    keys: Option<&mut BulkKeys>,
) -> Result<bool> {
    let stored = exec_event(insert, idh, ev, fp)? == 1;
    if let (true, Some(k)) = (stored, keys) {
        k.insert(*idh, tx.last_insert_rowid());
    }
    Ok(stored)
}

/// What [`apply`] found about the bulk load's stand-ins.
pub(super) struct Applied {
    pub(super) stats: ApplyStats,
    /// The keys in memory were current (nobody else wrote); false: the index took over.
    pub(super) keys_current: bool,
    /// The rollups were deferred into the load's [`RollupLag`]; false: the tables are
    /// whole again and the lag must be dropped.
    pub(super) deferred: bool,
}

/// Apply `batch` in one IMMEDIATE transaction. During a bulk load `keys` holds the
/// stored event keys in place of the unique index, and `lag` the rollups not yet
/// written (see `rollup_lag`), as long as nobody else writes.
pub(super) fn apply(
    conn: &mut Connection,
    batch: &Batch,
    keys: Option<&mut BulkKeys>,
    lag: Option<&mut RollupLag>,
) -> Result<Applied> {
    let tx = Transaction::new(conn, rusqlite::TransactionBehavior::Immediate)?;
    // Keys in memory stand in for the unique index only while nobody else has written
    // since they were read; otherwise (or outside a bulk load) the index checks them.
    let mut keys = match keys {
        Some(k) if k.current(&tx)? => Some(k),
        _ => None,
    };
    let keys_current = keys.is_some();
    if keys.is_none() {
        ensure_key_index(&tx)?;
    }
    let mut stats = ApplyStats::default();
    // This transaction's own deltas (all of them, unless the load defers).
    let mut rollups = Rollups::default();
    // Usage first stored from OTLP spans is superseded by its transcript copy.
    let spans_hold_usage: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM otel_usage)", [], |r| r.get(0))?;
    let mut lag = lag.filter(|_| !spans_hold_usage);
    let behind = match lag.as_deref_mut() {
        Some(l) => l.begin(&tx)?,
        None => None,
    };
    if behind.is_none() {
        // Not deferring: whatever a load's mark says is missing is counted first.
        rollup_lag::catch_up(&tx)?;
        lag = None;
    }
    {
        let mut insert = tx.prepare_cached(if keys.is_some() {
            BULK_INSERT_SQL
        } else {
            INSERT_SQL
        })?;
        for ev in &batch.events {
            let idh = event_key(&ev.id);
            let fp = fingerprint(ev);
            let known = known_seq(&tx, keys.as_deref(), &idh)?;
            if known.is_none() && insert_event(&tx, &mut insert, &idh, ev, fp, keys.as_deref_mut())?
            {
                stats.inserted += 1;
                // (A seq at or before the mark is only handed out again after the newest rows
                // were deleted; a replaced copy keeps its number until its successor has one.)
                target(&mut rollups, &mut lag, behind, tx.last_insert_rowid()).add(ev, 1);
                if spans_hold_usage {
                    super::telemetry::supersede(&tx, ev, &mut rollups)?;
                }
                continue;
            }
            if ev.merge == Merge::KeepFirst {
                stats.unchanged += 1;
                continue;
            }
            let at = known.map_or(Stored::Key(&idh), Stored::Seq);
            let Some((seq, old, old_fp)) = stored(&tx, at)? else {
                stats.unchanged += 1;
                continue;
            };
            let replace = match ev.merge {
                Merge::KeepLargestUsage => ev.tokens.total() > old.tokens.total(),
                _ => fp != old_fp,
            };
            if !replace {
                stats.unchanged += 1;
                continue;
            }
            // The new copy gets a new sequence number, so followers of the store see the
            // change. It is inserted while the old copy still holds its number (the old key
            // moved aside first): a freed largest number would be handed out again, and a
            // follower already past it would miss the newest row's change.
            tx.prepare_cached("UPDATE events SET idh = ?2 WHERE seq = ?1")?
                .execute(params![seq, &seq.to_be_bytes()[..]])?;
            insert_event(&tx, &mut insert, &idh, ev, fp, keys.as_deref_mut())?;
            let new_seq = tx.last_insert_rowid();
            tx.prepare_cached("DELETE FROM events WHERE seq = ?1")?
                .execute([seq])?;
            // Each copy is counted where the mark says it belongs: a copy at or before it in
            // the tables now (keeping the mark's promise), one after it in what the load holds.
            target(&mut rollups, &mut lag, behind, seq).add(&old, -1);
            target(&mut rollups, &mut lag, behind, new_seq).add(ev, 1);
            stats.updated += 1;
        }
    }
    upsert_sessions(&tx, batch)?;
    {
        let mut cur = tx.prepare_cached(
            "INSERT INTO cursors (source_id, state, updated_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (source_id) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms",
        )?;
        let now = chrono_now_ms();
        for (id, state) in &batch.cursors {
            cur.execute(params![id, state, now])?;
        }
    }
    rollups.flush(&tx)?;
    if let Some(l) = lag.as_deref_mut() {
        l.bound(&tx)?;
    }
    tx.commit()?;
    Ok(Applied {
        stats,
        keys_current,
        deferred: lag.is_some(),
    })
}

/// The rollups the deltas of the row at `seq` go to: the load's held ones while it defers
/// and the row is after its mark `behind`; else this transaction's (rows up to the mark
/// are counted in the tables).
fn target<'a>(
    own: &'a mut Rollups,
    lag: &'a mut Option<&mut RollupLag>,
    behind: Option<i64>,
    seq: i64,
) -> &'a mut Rollups {
    match lag {
        Some(l) if behind.is_some_and(|s| seq > s) => l.rollups(),
        _ => own,
    }
}

fn upsert_sessions(tx: &Transaction<'_>, batch: &Batch) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO sessions_meta (session_key, session_id, source, agent, project, parent_session_key,
            spawned_by, label, channel, chat_type, status, created_via, model, provider, context_max,
            created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (session_key) DO UPDATE SET
            session_id = coalesce(excluded.session_id, session_id), source = coalesce(excluded.source, source),
            agent = coalesce(excluded.agent, agent), project = coalesce(excluded.project, project),
            parent_session_key = coalesce(excluded.parent_session_key, parent_session_key),
            spawned_by = coalesce(excluded.spawned_by, spawned_by), label = coalesce(excluded.label, label),
            channel = coalesce(excluded.channel, channel), chat_type = coalesce(excluded.chat_type, chat_type),
            status = coalesce(excluded.status, status), created_via = coalesce(excluded.created_via, created_via),
            model = coalesce(excluded.model, model), provider = coalesce(excluded.provider, provider),
            context_max = coalesce(excluded.context_max, context_max),
            created_ms = coalesce(excluded.created_ms, created_ms), updated_ms = coalesce(excluded.updated_ms, updated_ms)",
    )?;
    for m in &batch.sessions {
        stmt.execute(params![
            m.session_key,
            m.session_id,
            m.source.map(|s| s.as_str()),
            m.agent,
            m.project,
            m.parent_session_key,
            m.spawned_by,
            m.label,
            m.channel,
            m.chat_type,
            m.status,
            m.created_via,
            m.model,
            m.provider,
            m.context_max.map(|v| v as i64),
            m.created_ms,
            m.updated_ms,
        ])?;
    }
    Ok(())
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Index the text of transcript events stored since the last call, in one transaction.
pub(super) fn index_text(conn: &Connection) -> Result<u64> {
    let tx = Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let from: i64 = tx.query_row(
        "SELECT value FROM store_meta WHERE key = 'fts_seq'",
        [],
        |r| r.get(0),
    )?;
    let to: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?;
    if to <= from {
        return Ok(0);
    }
    let n = tx.execute(
        "INSERT INTO events_fts (rowid, text)
         SELECT seq, text FROM events WHERE seq > ?1 AND seq <= ?2 AND text IS NOT NULL AND merge = 0",
        params![from, to],
    )?;
    tx.execute(
        "UPDATE store_meta SET value = ?1 WHERE key = 'fts_seq'",
        [to],
    )?;
    tx.commit()?;
    Ok(n as u64)
}
