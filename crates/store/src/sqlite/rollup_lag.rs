//! Rollups a bulk load keeps in memory instead of writing them with every transaction.
//!
//! A first import of a long history spreads each transaction's usage over the whole
//! time range, so every commit rewrote (and journaled) most pages of the rollup tables:
//! on a 1 GB Claude Code history that was a fifth of the run. While the load has the
//! store to itself it adds its transactions' deltas up in memory and writes them once,
//! at its end.
//!
//! What keeps that crash-safe is a mark in `store_meta`, committed with the load's first
//! events: `rollups_behind` = S, "the rollup tables count every stored event up to seq S
//! and none after it", and `rollups_behind_load`, a number drawn by the load that set it.
//! Whoever meets the mark and is not that load (any other writer, in its own write
//! transaction before it writes an event; `open`, after a killed load; another load)
//! counts the events after S from the events table and removes the mark: the rollups
//! are whole again, and the load, which finds its mark gone, drops what it held. So while
//! the mark is still a load's own, nobody else has written an event since it was set,
//! and what the load holds is exactly the deltas of the events after S. A load that
//! replaces an event at or before S subtracts the old copy in that same transaction, so
//! the mark's promise holds at every commit.
//!
//! Readers that were open before the load see its usage when it ends, as if it were one
//! transaction; a store opened during the load counts the events first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{OptionalExtension, Transaction};

use super::read::{event_from_row, EVENT_COLUMNS};
use super::rollup::Rollups;
use crate::Result;

/// The `store_meta` key of the mark: the seq the rollup tables stop at.
const MARK: &str = "rollups_behind";
/// The `store_meta` key of the number the load that set the mark drew.
const OWNER: &str = "rollups_behind_load";

/// Entries (rollup keys, pending tool calls) a load holds before it writes them anyway,
/// moving the mark. Measured on a 1 GB Claude Code history (42k entries in all): 10k
/// entries hold about 13 MB at peak and keep most of the gain (a few writes instead of
/// one per transaction); holding everything took 30 MB for no further gain.
pub(super) const MAX_HELD: usize = 10_000;

/// Events read back per step when counting the events after the mark.
const CATCH_UP_CHUNK: i64 = 20_000;

/// A bulk load's rollups not yet written, and where the store's rollups stop.
pub(super) struct RollupLag {
    held: Rollups,
    /// The mark this load set (seq, owner), once set.
    behind: Option<(i64, i64)>,
    max_held: usize,
}

impl RollupLag {
    /// Nothing held yet; the mark is set by the first transaction that defers.
    pub(super) fn new(max_held: usize) -> RollupLag {
        RollupLag {
            held: Rollups::default(),
            behind: None,
            max_held,
        }
    }

    /// In a transaction of the load: the seq the rollup tables stop at, setting the mark
    /// on first use; `None` when the mark is no longer this load's (another connection
    /// counted the events after it), and then this transaction must not defer.
    pub(super) fn begin(&mut self, tx: &Transaction<'_>) -> Result<Option<i64>> {
        match self.behind {
            Some(m) => Ok((mark(tx)? == Some(m)).then_some(m.0)),
            None => {
                // A mark left by an earlier, killed load is settled before this one's.
                catch_up(tx)?;
                let m = (last_seq(tx)?, draw_owner());
                tx.execute(
                    "INSERT INTO store_meta (key, value) VALUES (?1, ?2), (?3, ?4)",
                    rusqlite::params![MARK, m.0, OWNER, m.1],
                )?;
                self.behind = Some(m);
                Ok(Some(m.0))
            }
        }
    }

    /// Where this transaction's deferred deltas go.
    pub(super) fn rollups(&mut self) -> &mut Rollups {
        &mut self.held
    }

    /// At the end of a deferring transaction: past the bound, write what is held and
    /// move the mark to the last stored event.
    pub(super) fn bound(&mut self, tx: &Transaction<'_>) -> Result<()> {
        if self.held.held() <= self.max_held {
            return Ok(());
        }
        let Some((_, owner)) = self.behind else {
            return Ok(());
        };
        std::mem::take(&mut self.held).flush(tx)?;
        let s = last_seq(tx)?;
        tx.execute(
            "UPDATE store_meta SET value = ?2 WHERE key = ?1",
            rusqlite::params![MARK, s],
        )?;
        self.behind = Some((s, owner));
        Ok(())
    }

    /// The load ends: write what is held and remove the mark, if the mark is still this
    /// load's; otherwise count whatever a mark still says is missing.
    pub(super) fn finish(self, tx: &Transaction<'_>) -> Result<()> {
        match self.behind {
            Some(m) if mark(tx)? == Some(m) => {
                self.held.flush(tx)?;
                remove_mark(tx)
            }
            _ => catch_up(tx).map(|_| ()),
        }
    }
}

fn last_seq(tx: &Transaction<'_>) -> Result<i64> {
    Ok(tx.query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))?)
}

/// A number no other load running now draws (process id, clock, and a count).
fn draw_owner() -> i64 {
    static DRAWN: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = nanos ^ (u64::from(std::process::id()) << 40) ^ DRAWN.fetch_add(1, Ordering::Relaxed);
    (n >> 1) as i64
}

/// The mark (seq, owner), if set.
fn mark(tx: &Transaction<'_>) -> Result<Option<(i64, i64)>> {
    let get = |key: &str| -> Result<Option<i64>> {
        Ok(tx
            .query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    };
    match get(MARK)? {
        Some(s) => Ok(Some((s, get(OWNER)?.unwrap_or(0)))),
        None => Ok(None),
    }
}

fn remove_mark(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "DELETE FROM store_meta WHERE key IN (?1, ?2)",
        [MARK, OWNER],
    )?;
    Ok(())
}

/// True when a load's mark is set (a cheap read before a write transaction).
pub(super) fn marked(conn: &rusqlite::Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM store_meta WHERE key = ?1)",
        [MARK],
        |r| r.get(0),
    )?)
}

/// If a mark is set, count the events after it into the rollup tables, in store order
/// and in chunks, and remove it. Returns the events counted. Sums and counts come out as
/// the load's transactions would have left them; what depends on arrival order may not
/// (a session's first and last times leave out copies since replaced; a tool call that
/// names no model goes to the model before it in store order).
pub(super) fn catch_up(tx: &Transaction<'_>) -> Result<u64> {
    let Some((mut after, _)) = mark(tx)? else {
        return Ok(0);
    };
    let sql = format!(
        "SELECT seq, {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT {CATCH_UP_CHUNK}"
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut counted = 0u64;
    loop {
        let mut rollups = Rollups::default();
        let mut last = None;
        let mut rows = stmt.query([after])?;
        while let Some(r) = rows.next()? {
            last = Some(r.get::<_, i64>(0)?);
            rollups.add(&event_from_row(r, 1)?, 1);
            counted += 1;
        }
        drop(rows);
        rollups.flush(tx)?;
        match last {
            Some(s) => after = s,
            None => break,
        }
    }
    remove_mark(tx)?;
    if counted > 0 {
        tracing::info!(
            events = counted,
            "rollups caught up with the events a bulk load had not counted yet"
        );
    }
    Ok(counted)
}
