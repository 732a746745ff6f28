//! Alert writes for the SQLite backend (migration 8's tables) and [`AlertStore`] for
//! [`SqliteStore`]; reads are in `alerts_read.rs`.

use rusqlite::{params, Connection, Transaction, TransactionBehavior};

use super::alerts_read as read;
use super::SqliteStore;
use crate::alerts::{
    AlertChanges, AlertStore, DeliveryOutcome, NewAlert, ResolvedAlert, StoredRule,
};
use crate::{Result, StoreError};
use clawscope_core::alert::{
    Alert, AlertAction, AlertFilter, Condition, Delivery, Notification, Silence,
};

/// `v` must survive SQLite (NaN becomes NULL) and JSON (non-finite becomes `null`).
fn finite(what: &str, rule_id: &str, scope: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "{what} {v} of {rule_id} on {scope} is not a finite number"
        )))
    }
}

fn check_condition(c: &Condition) -> Result<()> {
    finite("value", &c.rule_id, &c.scope, c.value)?;
    finite("threshold", &c.rule_id, &c.scope, c.threshold)
}

/// Queue `n` for `channel` under `n.alert_id`, due at once; returns the delivery id.
fn queue(conn: &Connection, channel: &str, n: &Notification, at_ms: i64) -> Result<i64> {
    finite("notification value", &n.rule_id, &n.scope, n.value)?;
    finite("notification threshold", &n.rule_id, &n.scope, n.threshold)?;
    let json = serde_json::to_string(n)
        .map_err(|e| StoreError::Invalid(format!("notification to {channel}: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO alert_deliveries
         (alert_id, channel, notification, status, attempts, next_attempt_ms, created_ms)
         VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)",
    )?
    .execute(params![n.alert_id, channel, json, at_ms])?;
    Ok(conn.last_insert_rowid())
}

/// Queue `items` for alert `alert_id` (their `alert_id` is set to it).
fn queue_for(
    conn: &Connection,
    alert_id: i64,
    items: &[(String, Notification)],
    at_ms: i64,
) -> Result<()> {
    for (channel, n) in items {
        let n = Notification {
            alert_id,
            ..n.clone()
        };
        queue(conn, channel, &n, at_ms)?;
    }
    Ok(())
}

fn fire(conn: &Connection, a: &NewAlert) -> Result<i64> {
    let c = &a.condition;
    check_condition(c)?;
    // The partial unique index makes a second firing alert on (rule, scope) an error.
    conn.prepare_cached(
        "INSERT INTO alerts (rule_id, scope, severity, state, fired_ms, last_seen_ms, value,
                             threshold, message, suppressed)
         VALUES (?1, ?2, ?3, 'firing', ?4, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        c.rule_id,
        c.scope,
        c.severity.as_str(),
        c.observed_ms,
        c.value,
        c.threshold,
        c.message,
        a.suppressed,
    ])?;
    let id = conn.last_insert_rowid();
    queue_for(conn, id, &a.deliveries, c.observed_ms)?;
    Ok(id)
}

fn update(conn: &Connection, id: i64, c: &Condition) -> Result<()> {
    check_condition(c)?;
    let Some(current) = read::firing_severity(conn, id, &c.rule_id, &c.scope)? else {
        return Err(StoreError::Invalid(format!(
            "alert {id} is not a firing {} alert on {}",
            c.rule_id, c.scope
        )));
    };
    conn.prepare_cached(
        "UPDATE alerts SET severity = ?2, value = ?3, threshold = ?4, message = ?5,
                           last_seen_ms = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        current.max(c.severity).as_str(),
        c.value,
        c.threshold,
        c.message,
        c.observed_ms,
    ])?;
    Ok(())
}

fn resolve(conn: &Connection, r: &ResolvedAlert) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE alerts SET state = 'resolved', resolved_ms = ?2
             WHERE id = ?1 AND state = 'firing'",
        )?
        .execute(params![r.id, r.resolved_ms])?;
    if changed == 0 {
        return Err(StoreError::Invalid(format!("alert {} is not firing", r.id)));
    }
    queue_for(conn, r.id, &r.deliveries, r.resolved_ms)
}

/// Everything in `c`, inside the caller's transaction. Resolves go first so an alert
/// that ends and starts again on the same (rule, scope) in one evaluation fits the
/// one-firing-alert index.
fn apply(conn: &Connection, c: &AlertChanges) -> Result<Vec<i64>> {
    for r in &c.resolved {
        resolve(conn, r)?;
    }
    for (id, cond) in &c.updated {
        update(conn, *id, cond)?;
    }
    for (id, items) in &c.unsuppressed {
        let changed = conn
            .prepare_cached(
                "UPDATE alerts SET suppressed = NULL WHERE id = ?1 AND state = 'firing'",
            )?
            .execute([id])?;
        if changed == 0 {
            return Err(StoreError::Invalid(format!("alert {id} is not firing")));
        }
        let at = if c.at_ms > 0 {
            c.at_ms
        } else {
            items.first().map_or(0, |(_, n)| n.fired_ms)
        };
        queue_for(conn, *id, items, at)?;
    }
    let ids = c
        .fired
        .iter()
        .map(|a| fire(conn, a))
        .collect::<Result<Vec<i64>>>()?;
    if let Some(seq) = c.cursor {
        conn.execute(
            "INSERT INTO store_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![read::CURSOR_KEY, seq],
        )?;
    }
    Ok(ids)
}

impl SqliteStore {
    fn write_tx(&mut self) -> Result<Transaction<'_>> {
        Ok(Transaction::new(
            &mut self.conn,
            TransactionBehavior::Immediate,
        )?)
    }
}

impl AlertStore for SqliteStore {
    fn apply_alerts(&mut self, changes: &AlertChanges) -> Result<Vec<i64>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        // Dropping the transaction on an error rolls every change back.
        let tx = self.write_tx()?;
        let ids = apply(&tx, changes)?;
        tx.commit()?;
        Ok(ids)
    }

    fn alert_cursor(&self) -> Result<i64> {
        read::cursor(&self.conn)
    }

    fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        read::alerts(&self.conn, filter)
    }

    fn alert(&self, id: i64) -> Result<Option<Alert>> {
        read::alert(&self.conn, id)
    }

    fn ack_alert(&mut self, id: i64, by: &str, at_ms: i64) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE alerts SET acked_ms = ?2, acked_by = ?3 WHERE id = ?1",
            params![id, at_ms, by],
        )?;
        Ok(n > 0)
    }

    fn add_silence(&mut self, s: &Silence) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO alert_silences (rule_id, scope, until_ms, reason, created_by, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.rule_id,
                s.scope,
                s.until_ms,
                s.reason,
                s.created_by,
                s.created_ms
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn silences(&self, at_ms: Option<i64>) -> Result<Vec<Silence>> {
        read::silences(&self.conn, at_ms)
    }

    fn remove_silence(&mut self, id: i64) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM alert_silences WHERE id = ?1", [id])?;
        Ok(n > 0)
    }

    fn queue_deliveries(
        &mut self,
        items: &[(String, Notification)],
        at_ms: i64,
    ) -> Result<Vec<i64>> {
        let tx = self.write_tx()?;
        let ids = items
            .iter()
            .map(|(channel, n)| queue(&tx, channel, n, at_ms))
            .collect::<Result<Vec<i64>>>()?;
        tx.commit()?;
        Ok(ids)
    }

    fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>> {
        read::due_deliveries(&self.conn, now_ms, limit)
    }

    fn finish_delivery(&mut self, id: i64, outcome: &DeliveryOutcome) -> Result<()> {
        let n = match outcome {
            DeliveryOutcome::Sent { at_ms } => self.conn.execute(
                "UPDATE alert_deliveries SET status = 'sent', sent_ms = ?2,
                        attempts = attempts + 1
                 WHERE id = ?1",
                params![id, at_ms],
            )?,
            DeliveryOutcome::Retry {
                error,
                next_attempt_ms,
            } => self.conn.execute(
                "UPDATE alert_deliveries SET status = 'pending', last_error = ?2,
                        next_attempt_ms = ?3, attempts = attempts + 1
                 WHERE id = ?1",
                params![id, error, next_attempt_ms],
            )?,
            DeliveryOutcome::Failed { error } => self.conn.execute(
                "UPDATE alert_deliveries SET status = 'failed', last_error = ?2,
                        attempts = attempts + 1
                 WHERE id = ?1",
                params![id, error],
            )?,
        };
        if n == 0 {
            return Err(StoreError::Invalid(format!("no delivery {id}")));
        }
        Ok(())
    }

    fn deliveries(&self, alert_id: Option<i64>, limit: usize) -> Result<Vec<Delivery>> {
        read::deliveries(&self.conn, alert_id, limit)
    }

    fn record_action(&mut self, a: &AlertAction) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO alert_actions (alert_id, kind, target, request, dry_run, ok, detail, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                a.alert_id, a.kind, a.target, a.request, a.dry_run, a.ok, a.detail, a.at_ms
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn actions(&self, limit: usize) -> Result<Vec<AlertAction>> {
        read::actions(&self.conn, limit)
    }

    fn pause_targets(&self) -> Result<Vec<String>> {
        read::pause_targets(&self.conn)
    }

    fn actions_since_resume(&self, target: &str) -> Result<Vec<AlertAction>> {
        read::actions_since_resume(&self.conn, target)
    }

    fn last_manual_resume(&self, target: &str) -> Result<Option<AlertAction>> {
        read::last_manual_resume(&self.conn, target)
    }

    fn stored_rules(&self) -> Result<Vec<StoredRule>> {
        read::stored_rules(&self.conn)
    }

    fn put_rule(&mut self, rule: &StoredRule) -> Result<()> {
        self.conn.execute(
            "INSERT INTO alert_rules (id, json, deleted, updated_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, deleted = excluded.deleted,
                                            updated_ms = excluded.updated_ms",
            params![rule.id, rule.json, rule.deleted, rule.updated_ms],
        )?;
        Ok(())
    }

    fn remove_rule(&mut self, id: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM alert_rules WHERE id = ?1", [id])?;
        Ok(n > 0)
    }
}
