//! Settling what needs the database at flush: execution reports counted or not, counted
//! executions withdrawn by their transcript copy, tool calls attributed to a stored model.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};

use super::{
    add_edge, Dashboard, Deferred, Execution, Finished, CALL_AFTER_MS, CALL_BEFORE_MS, MODEL_TOOL,
    UNKNOWN,
};
use crate::Result;

impl Dashboard {
    /// Stop counting executions whose transcript copy (a tool call) is now stored. The
    /// events of the batch are all stored by now, so this may run before `settle`.
    pub(super) fn withdraw(&mut self, tx: &Transaction<'_>, calls: &[(i64, i64)]) -> Result<()> {
        // Calls only look for counted executions when some are near them in time.
        let lo = calls.iter().map(|c| c.1).min().unwrap_or(i64::MAX);
        let hi = calls.iter().map(|c| c.1).max().unwrap_or(i64::MIN);
        let near: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM dash_tool_pending WHERE ts BETWEEN ?1 AND ?2)",
            params![
                lo.saturating_sub(CALL_AFTER_MS),
                hi.saturating_add(CALL_BEFORE_MS)
            ],
            |r| r.get(0),
        )?;
        if !near {
            return Ok(());
        }
        for &(key, ts) in calls {
            let window = ts.saturating_sub(CALL_AFTER_MS)..=ts.saturating_add(CALL_BEFORE_MS);
            if let Some((event, x)) = pending(tx, key)?.filter(|p| window.contains(&p.1.ts)) {
                delete_pending(tx, key, event)?;
                self.execution(&x, -1);
            }
        }
        Ok(())
    }

    pub(super) fn settle(&mut self, tx: &Transaction<'_>, deferred: Vec<Deferred>) -> Result<()> {
        let mut stored_models: HashMap<String, String> = HashMap::new();
        let mut stored_model = |session: &str| -> Result<String> {
            if let Some(m) = stored_models.get(session) {
                return Ok(m.clone());
            }
            let m: Option<String> = tx
                .prepare_cached("SELECT model FROM dash_session_model WHERE session_key = ?1")?
                .query_row([session], |r| r.get(0))
                .optional()?;
            let m = m.unwrap_or_else(|| UNKNOWN.to_string());
            stored_models.insert(session.to_string(), m.clone());
            Ok(m)
        };
        for d in deferred {
            match d {
                Deferred::Attribute {
                    sign,
                    day,
                    session_key,
                    tool,
                } => {
                    let m = stored_model(&session_key)?;
                    add_edge(&mut self.flow, day, MODEL_TOOL, &m, &tool, sign);
                }
                Deferred::Finished(f) => {
                    let model = match &f.model {
                        Some(m) => m.clone(),
                        None => stored_model(&f.session_key)?,
                    };
                    self.settle_finished(tx, f, model)?;
                }
            }
        }
        Ok(())
    }

    fn settle_finished(&mut self, tx: &Transaction<'_>, f: Finished, model: String) -> Result<()> {
        let x = Execution {
            ts: f.ts,
            tool: f.tool,
            model,
            is_error: f.is_error,
            duration_ms: f.duration_ms,
        };
        let Some((key, call_id)) = f.call else {
            // Without a call id nothing can repeat it: it always counts.
            self.execution(&x, f.sign);
            return Ok(());
        };
        if f.sign < 0 {
            // Counted only if it is the execution kept for its call.
            if let Some((_, stored)) = pending(tx, key)?.filter(|p| p.0 == f.event) {
                delete_pending(tx, key, f.event)?;
                self.execution(&stored, -1);
            }
            return Ok(());
        }
        if pending(tx, key)?.is_some() || transcript_has_call(tx, &f.session_key, &call_id, f.ts)? {
            return Ok(());
        }
        self.execution(&x, 1);
        insert_pending(tx, key, f.event, &x)
    }
}

/// Whether a `tool.call` of this session and call id is stored near an execution's end.
fn transcript_has_call(tx: &Transaction<'_>, session: &str, call: &str, ts: i64) -> Result<bool> {
    // Created on first need: stores that never see execution reports never pay for it.
    tx.execute_batch(
        "CREATE INDEX IF NOT EXISTS events_tool_call ON events(tool_call_id, session_key, ts)
         WHERE kind = 'tool.call'",
    )?;
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM events WHERE kind = 'tool.call' AND tool_call_id = ?1
                AND session_key = ?2 AND ts BETWEEN ?3 AND ?4)",
        )?
        .query_row(
            params![
                call,
                session,
                ts.saturating_sub(CALL_BEFORE_MS),
                ts.saturating_add(CALL_AFTER_MS)
            ],
            |r| r.get(0),
        )?)
}

/// The counted execution of a call, with the hash of the event that made it.
fn pending(tx: &Transaction<'_>, key: i64) -> Result<Option<(i64, Execution)>> {
    let row = tx
        .prepare_cached(
            "SELECT event, ts, tool, model, is_error, duration_ms FROM dash_tool_pending
             WHERE key = ?1",
        )?
        .query_row([key], |r| {
            let x = Execution {
                ts: r.get(1)?,
                tool: r.get(2)?,
                model: r.get(3)?,
                is_error: r.get(4)?,
                duration_ms: r.get(5)?,
            };
            Ok((r.get(0)?, x))
        })
        .optional()?;
    Ok(row)
}

fn delete_pending(tx: &Transaction<'_>, key: i64, event: i64) -> Result<()> {
    tx.prepare_cached("DELETE FROM dash_tool_pending WHERE key = ?1 AND event = ?2")?
        .execute([key, event])?;
    Ok(())
}

fn insert_pending(tx: &Transaction<'_>, key: i64, event: i64, x: &Execution) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO dash_tool_pending (key, event, ts, tool, model, is_error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        key,
        event,
        x.ts,
        x.tool,
        x.model,
        x.is_error,
        x.duration_ms
    ])?;
    Ok(())
}
