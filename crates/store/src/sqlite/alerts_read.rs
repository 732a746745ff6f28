//! Alert reads for the SQLite backend: alerts, silences, the outbox, actions, edited
//! rules and the engine cursor. Unknown stored names or unreadable notification JSON
//! are conversion errors (a [`crate::StoreError::Db`]), never panics.

use rusqlite::types::{Type, Value};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use crate::alerts::StoredRule;
use crate::Result;
use clawscope_core::alert::{
    Alert, AlertAction, AlertFilter, AlertState, Delivery, DeliveryStatus, Notification, Severity,
    Silence,
};

/// The `store_meta` key holding the engine's event cursor.
pub(super) const CURSOR_KEY: &str = "alerts_seq";

const ALERT_COLUMNS: &str = "id, rule_id, scope, severity, state, fired_ms, resolved_ms,
    last_seen_ms, value, threshold, message, acked_ms, acked_by, suppressed";
const DELIVERY_COLUMNS: &str = "id, alert_id, channel, notification, status, attempts,
    next_attempt_ms, last_error, sent_ms, created_ms";
const SILENCE_COLUMNS: &str = "id, rule_id, scope, until_ms, reason, created_by, created_ms";
const ACTION_COLUMNS: &str = "id, alert_id, kind, target, request, dry_run, ok, detail, at_ms";

/// SQLite's "no limit" for 0.
fn sql_limit(limit: usize) -> i64 {
    if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

/// Column `i` could not be turned into a value of ours.
fn bad(i: usize, why: Box<dyn std::error::Error + Send + Sync>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, Type::Text, why)
}

/// A stored name read back through `parse`; an unknown name is a conversion error.
fn named<T>(
    r: &Row<'_>,
    i: usize,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    parse(&s).ok_or_else(|| bad(i, format!("unknown {what} {s:?}").into()))
}

/// An alert state's stored name (core has `as_str` but no parser for it).
fn parse_state(s: &str) -> Option<AlertState> {
    [AlertState::Firing, AlertState::Resolved]
        .into_iter()
        .find(|st| st.as_str() == s)
}

/// The stored severity of a firing alert, if `id` is one on `rule_id`/`scope`.
pub(super) fn firing_severity(
    conn: &Connection,
    id: i64,
    rule_id: &str,
    scope: &str,
) -> Result<Option<Severity>> {
    Ok(conn
        .query_row(
            "SELECT severity FROM alerts
             WHERE id = ?1 AND state = 'firing' AND rule_id = ?2 AND scope = ?3",
            params![id, rule_id, scope],
            |r| named(r, 0, "severity", Severity::parse),
        )
        .optional()?)
}

fn alert_from_row(r: &Row<'_>) -> rusqlite::Result<Alert> {
    Ok(Alert {
        id: r.get(0)?,
        rule_id: r.get(1)?,
        scope: r.get(2)?,
        severity: named(r, 3, "severity", Severity::parse)?,
        state: named(r, 4, "alert state", parse_state)?,
        fired_ms: r.get(5)?,
        resolved_ms: r.get(6)?,
        last_seen_ms: r.get(7)?,
        value: r.get(8)?,
        threshold: r.get(9)?,
        message: r.get(10)?,
        acked_ms: r.get(11)?,
        acked_by: r.get(12)?,
        suppressed: r.get(13)?,
    })
}

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    let json: String = r.get(3)?;
    let notification: Notification =
        serde_json::from_str(&json).map_err(|e| bad(3, Box::new(e)))?;
    Ok(Delivery {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        channel: r.get(2)?,
        notification,
        status: named(r, 4, "delivery status", DeliveryStatus::parse)?,
        attempts: r.get(5)?,
        next_attempt_ms: r.get(6)?,
        last_error: r.get(7)?,
        sent_ms: r.get(8)?,
        created_ms: r.get(9)?,
    })
}

fn silence_from_row(r: &Row<'_>) -> rusqlite::Result<Silence> {
    Ok(Silence {
        id: r.get(0)?,
        rule_id: r.get(1)?,
        scope: r.get(2)?,
        until_ms: r.get(3)?,
        reason: r.get(4)?,
        created_by: r.get(5)?,
        created_ms: r.get(6)?,
    })
}

fn action_from_row(r: &Row<'_>) -> rusqlite::Result<AlertAction> {
    Ok(AlertAction {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        kind: r.get(2)?,
        target: r.get(3)?,
        request: r.get(4)?,
        dry_run: r.get(5)?,
        ok: r.get(6)?,
        detail: r.get(7)?,
        at_ms: r.get(8)?,
    })
}

/// Run `sql` with `args` and map every row.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    args: Vec<Value>,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let out = stmt
        .query_map(params_from_iter(args), map)?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    Ok(out)
}

/// The engine's event cursor (0 when it never ran).
pub(super) fn cursor(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT coalesce((SELECT value FROM store_meta WHERE key = ?1), 0)",
        [CURSOR_KEY],
        |r| r.get(0),
    )?)
}

/// Alerts matching `f`, newest first.
pub(super) fn alerts(conn: &Connection, f: &AlertFilter) -> Result<Vec<Alert>> {
    let mut clauses = vec!["1 = 1"];
    let mut args = Vec::new();
    // The state goes in as a literal (an enum's name, so safe to inline): only then can
    // SQLite use the partial indexes on firing / resolved alerts.
    let state_clause = f.state.map(|s| format!("state = '{}'", s.as_str()));
    if let Some(c) = &state_clause {
        clauses.push(c);
    }
    if let Some(rule) = &f.rule_id {
        clauses.push("rule_id = ?");
        args.push(Value::Text(rule.clone()));
    }
    if let Some(since) = f.since_ms {
        clauses.push("fired_ms >= ?");
        args.push(Value::Integer(since));
    }
    if let Some(since) = f.resolved_since_ms {
        clauses.push("state = 'resolved' AND resolved_ms >= ?");
        args.push(Value::Integer(since));
    }
    args.push(Value::Integer(sql_limit(f.limit)));
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE {} ORDER BY fired_ms DESC, id DESC LIMIT ?",
        clauses.join(" AND ")
    );
    rows(conn, &sql, args, alert_from_row)
}

/// One alert.
pub(super) fn alert(conn: &Connection, id: i64) -> Result<Option<Alert>> {
    Ok(conn
        .query_row(
            &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"),
            [id],
            alert_from_row,
        )
        .optional()?)
}

/// Silences in force at `at_ms` (all when `None`), newest first.
pub(super) fn silences(conn: &Connection, at_ms: Option<i64>) -> Result<Vec<Silence>> {
    let (filter, args) = match at_ms {
        Some(t) => ("WHERE until_ms > ?", vec![Value::Integer(t)]),
        None => ("", Vec::new()),
    };
    let sql = format!(
        "SELECT {SILENCE_COLUMNS} FROM alert_silences {filter} ORDER BY created_ms DESC, id DESC"
    );
    rows(conn, &sql, args, silence_from_row)
}

/// Pending deliveries due at `now_ms`, oldest (first queued) first.
pub(super) fn due_deliveries(
    conn: &Connection,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<Delivery>> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries
         WHERE status = 'pending' AND next_attempt_ms <= ? ORDER BY created_ms, id LIMIT ?"
    );
    let args = vec![Value::Integer(now_ms), Value::Integer(sql_limit(limit))];
    rows(conn, &sql, args, delivery_from_row)
}

/// Deliveries of one alert (all when `None`), newest first.
pub(super) fn deliveries(
    conn: &Connection,
    alert_id: Option<i64>,
    limit: usize,
) -> Result<Vec<Delivery>> {
    let (filter, mut args) = match alert_id {
        Some(id) => ("WHERE alert_id = ?", vec![Value::Integer(id)]),
        None => ("", Vec::new()),
    };
    args.push(Value::Integer(sql_limit(limit)));
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries {filter}
         ORDER BY created_ms DESC, id DESC LIMIT ?"
    );
    rows(conn, &sql, args, delivery_from_row)
}

/// Recorded gateway actions, newest first.
pub(super) fn actions(conn: &Connection, limit: usize) -> Result<Vec<AlertAction>> {
    let sql =
        format!("SELECT {ACTION_COLUMNS} FROM alert_actions ORDER BY at_ms DESC, id DESC LIMIT ?");
    rows(
        conn,
        &sql,
        vec![Value::Integer(sql_limit(limit))],
        action_from_row,
    )
}

/// `WHERE` part: actions of target `?1` after its last successful resume.
const SINCE_RESUME: &str = "target = ?1 AND id > coalesce(
    (SELECT max(id) FROM alert_actions WHERE target = ?1 AND kind = 'resume' AND ok = 1), 0)";

/// Targets with a pause recorded after their last successful resume.
pub(super) fn pause_targets(conn: &Connection) -> Result<Vec<String>> {
    rows(
        conn,
        "SELECT DISTINCT a.target FROM alert_actions a WHERE a.kind = 'pause' AND a.id > coalesce(
             (SELECT max(r.id) FROM alert_actions r
              WHERE r.target = a.target AND r.kind = 'resume' AND r.ok = 1), 0)
         ORDER BY a.target",
        Vec::new(),
        |r| r.get(0),
    )
}

/// One target's actions since its last successful resume, newest first.
pub(super) fn actions_since_resume(conn: &Connection, target: &str) -> Result<Vec<AlertAction>> {
    let sql =
        format!("SELECT {ACTION_COLUMNS} FROM alert_actions WHERE {SINCE_RESUME} ORDER BY id DESC");
    rows(
        conn,
        &sql,
        vec![Value::Text(target.to_string())],
        action_from_row,
    )
}

/// One target's last successful resume by a person (alert id 0).
pub(super) fn last_manual_resume(conn: &Connection, target: &str) -> Result<Option<AlertAction>> {
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM alert_actions
         WHERE target = ?1 AND kind = 'resume' AND ok = 1 AND alert_id = 0
         ORDER BY id DESC LIMIT 1"
    );
    Ok(rows(
        conn,
        &sql,
        vec![Value::Text(target.to_string())],
        action_from_row,
    )?
    .into_iter()
    .next())
}

/// Rules edited through the API, by id.
pub(super) fn stored_rules(conn: &Connection) -> Result<Vec<StoredRule>> {
    rows(
        conn,
        "SELECT id, json, deleted, updated_ms FROM alert_rules ORDER BY id",
        Vec::new(),
        |r| {
            Ok(StoredRule {
                id: r.get(0)?,
                json: r.get(1)?,
                deleted: r.get(2)?,
                updated_ms: r.get(3)?,
            })
        },
    )
}
