//! The SQLite `AlertStore` on real files: alert life cycles in one transaction, the
//! one-firing-alert rule, silences, the delivery outbox, actions and edited rules.

use std::path::{Path, PathBuf};

use clawscope_core::alert::{
    dedup_key, AlertAction, AlertFilter, AlertState, Condition, DeliveryStatus, Notification,
    Severity, Silence, Transition,
};
use clawscope_store::{
    AlertChanges, AlertStore, DeliveryOutcome, NewAlert, ResolvedAlert, SqliteStore, Store,
    StoreError, StoredRule,
};

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("open store")
}

fn temp_store() -> (tempfile::TempDir, PathBuf, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("alerts.db");
    let store = open(&path);
    (dir, path, store)
}

fn cond(rule: &str, scope: &str, severity: Severity, value: f64, at: i64) -> Condition {
    Condition {
        rule_id: rule.into(),
        scope: scope.into(),
        severity,
        value,
        threshold: 10.0,
        message: format!("{rule} on {scope} is {value}"),
        observed_ms: at,
    }
}

fn note(c: &Condition, transition: Transition) -> Notification {
    Notification {
        alert_id: 0,
        transition,
        rule_id: c.rule_id.clone(),
        scope: c.scope.clone(),
        severity: c.severity,
        title: format!("[{}] {} on {}", c.severity.as_str(), c.rule_id, c.scope),
        text: c.message.clone(),
        value: c.value,
        threshold: c.threshold,
        fired_ms: c.observed_ms,
        resolved_ms: None,
        dedup_key: dedup_key(&c.rule_id, &c.scope, c.observed_ms),
        url: Some("http://localhost:7420/alerts".into()),
    }
}

fn fire(c: Condition, channels: &[&str]) -> NewAlert {
    let deliveries = channels
        .iter()
        .map(|ch| (ch.to_string(), note(&c, Transition::Fire)))
        .collect();
    NewAlert {
        condition: c,
        suppressed: None,
        deliveries,
    }
}

fn fired(store: &mut SqliteStore, alerts: Vec<NewAlert>, cursor: Option<i64>) -> Vec<i64> {
    store
        .apply_alerts(&AlertChanges {
            fired: alerts,
            cursor,
            ..AlertChanges::default()
        })
        .expect("apply")
}

fn resolve(store: &mut SqliteStore, id: i64, at: i64) {
    store
        .apply_alerts(&AlertChanges {
            resolved: vec![ResolvedAlert {
                id,
                resolved_ms: at,
                deliveries: Vec::new(),
            }],
            ..AlertChanges::default()
        })
        .expect("resolve");
}

fn all(filter: AlertFilter, store: &SqliteStore) -> Vec<(i64, String, AlertState)> {
    store
        .alerts(&filter)
        .expect("alerts")
        .into_iter()
        .map(|a| (a.id, a.rule_id, a.state))
        .collect()
}

#[test]
fn fire_update_resolve_round_trip_queues_deliveries_with_alert_id() {
    let (_dir, _path, mut store) = temp_store();
    assert_eq!(store.alert_cursor().expect("cursor"), 0);
    let c = cond("budget_day", "agent:main", Severity::Warning, 12.5, 1_000);
    let ids = fired(
        &mut store,
        vec![fire(c.clone(), &["ops", "pager"])],
        Some(41),
    );
    assert_eq!(ids.len(), 1);
    let id = ids[0];
    assert_eq!(store.alert_cursor().expect("cursor"), 41);

    let a = store.alert(id).expect("alert").expect("stored");
    assert_eq!(
        (a.rule_id.as_str(), a.scope.as_str(), a.severity, a.state),
        (
            "budget_day",
            "agent:main",
            Severity::Warning,
            AlertState::Firing
        )
    );
    assert_eq!(
        (a.fired_ms, a.last_seen_ms, a.resolved_ms),
        (1_000, 1_000, None)
    );
    assert_eq!((a.value, a.threshold), (12.5, 10.0));
    assert_eq!(a.message, "budget_day on agent:main is 12.5");
    assert_eq!((a.acked_ms, a.acked_by, a.suppressed), (None, None, None));

    let queued = store.deliveries(Some(id), 0).expect("deliveries");
    assert_eq!(queued.len(), 2);
    // Newest first: "pager" was queued second.
    assert_eq!(queued[0].channel, "pager");
    assert_eq!(queued[1].channel, "ops");
    for d in &queued {
        assert_eq!(d.alert_id, id);
        assert_eq!(d.notification.alert_id, id);
        assert_eq!(d.notification.transition, Transition::Fire);
        assert_eq!(
            d.notification.dedup_key,
            "clawscope:budget_day:agent:main:1000"
        );
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(
            (d.attempts, d.next_attempt_ms, d.created_ms),
            (0, 1_000, 1_000)
        );
        assert_eq!((d.last_error.as_deref(), d.sent_ms), (None, None));
    }
    let expected = Notification {
        alert_id: id,
        ..note(&c, Transition::Fire)
    };
    assert_eq!(queued[1].notification, expected);

    // Still firing: value, message, threshold and last seen move.
    let mut later = cond("budget_day", "agent:main", Severity::Warning, 14.0, 2_000);
    later.threshold = 11.0;
    store
        .apply_alerts(&AlertChanges {
            updated: vec![(id, later)],
            cursor: Some(55),
            ..AlertChanges::default()
        })
        .expect("update");
    let a = store.alert(id).expect("alert").expect("stored");
    assert_eq!(
        (a.value, a.threshold, a.last_seen_ms, a.fired_ms),
        (14.0, 11.0, 2_000, 1_000)
    );
    assert_eq!(a.message, "budget_day on agent:main is 14");
    assert_eq!(store.alert_cursor().expect("cursor"), 55);

    // Resolve, queueing its notification in the same call.
    let mut end = note(&c, Transition::Resolve);
    end.resolved_ms = Some(3_000);
    store
        .apply_alerts(&AlertChanges {
            resolved: vec![ResolvedAlert {
                id,
                resolved_ms: 3_000,
                deliveries: vec![("ops".into(), end)],
            }],
            cursor: Some(60),
            ..AlertChanges::default()
        })
        .expect("resolve");
    let a = store.alert(id).expect("alert").expect("stored");
    assert_eq!(
        (a.state, a.resolved_ms, a.last_seen_ms),
        (AlertState::Resolved, Some(3_000), 2_000)
    );
    let queued = store.deliveries(Some(id), 0).expect("deliveries");
    assert_eq!(queued.len(), 3);
    assert_eq!(queued[0].notification.transition, Transition::Resolve);
    assert_eq!(queued[0].notification.alert_id, id);
    assert_eq!(queued[0].notification.resolved_ms, Some(3_000));
    assert_eq!(
        (queued[0].created_ms, queued[0].next_attempt_ms),
        (3_000, 3_000)
    );
    assert_eq!(store.alert_cursor().expect("cursor"), 60);
}

#[test]
fn several_fired_alerts_get_ids_in_order_and_their_own_deliveries() {
    let (_dir, _path, mut store) = temp_store();
    let ids = fired(
        &mut store,
        vec![
            fire(cond("r1", "gateway", Severity::Info, 1.0, 10), &["a"]),
            fire(
                cond("r2", "gateway", Severity::Critical, 2.0, 10),
                &["b", "c"],
            ),
        ],
        None,
    );
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    assert_eq!(
        store.alert(ids[0]).expect("a").expect("stored").rule_id,
        "r1"
    );
    assert_eq!(
        store.alert(ids[1]).expect("a").expect("stored").rule_id,
        "r2"
    );
    let first: Vec<String> = store
        .deliveries(Some(ids[0]), 0)
        .expect("d")
        .into_iter()
        .map(|d| d.channel)
        .collect();
    let second: Vec<String> = store
        .deliveries(Some(ids[1]), 0)
        .expect("d")
        .into_iter()
        .map(|d| d.channel)
        .collect();
    assert_eq!(first, ["a"]);
    assert_eq!(second, ["c", "b"]);
    assert_eq!(store.deliveries(None, 0).expect("d").len(), 3);
    assert_eq!(store.deliveries(None, 2).expect("d").len(), 2);
    // No cursor given: it stays where it was.
    assert_eq!(store.alert_cursor().expect("cursor"), 0);
    assert_eq!(
        store.apply_alerts(&AlertChanges::default()).expect("empty"),
        Vec::<i64>::new()
    );
}

#[test]
fn severity_only_rises_while_firing() {
    let (_dir, _path, mut store) = temp_store();
    let id = fired(
        &mut store,
        vec![fire(
            cond("ctx", "session:s", Severity::Warning, 80.0, 1),
            &[],
        )],
        None,
    )[0];
    let update = |store: &mut SqliteStore, sev: Severity, value: f64, at: i64| {
        store
            .apply_alerts(&AlertChanges {
                updated: vec![(id, cond("ctx", "session:s", sev, value, at))],
                ..AlertChanges::default()
            })
            .expect("update");
        let a = store.alert(id).expect("alert").expect("stored");
        (a.severity, a.value, a.last_seen_ms)
    };
    assert_eq!(
        update(&mut store, Severity::Critical, 95.0, 2),
        (Severity::Critical, 95.0, 2)
    );
    assert_eq!(
        update(&mut store, Severity::Warning, 85.0, 3),
        (Severity::Critical, 85.0, 3)
    );
    assert_eq!(
        update(&mut store, Severity::Info, 70.0, 4),
        (Severity::Critical, 70.0, 4)
    );
}

#[test]
fn second_firing_for_same_rule_and_scope_fails_and_writes_nothing() {
    let (_dir, _path, mut store) = temp_store();
    let c = cond("budget_day", "gateway", Severity::Warning, 11.0, 100);
    let first = fired(&mut store, vec![fire(c.clone(), &["ops"])], Some(7))[0];

    // The duplicate comes with a valid alert, an update and a cursor move in the same
    // call: none of them may land.
    let err = store
        .apply_alerts(&AlertChanges {
            fired: vec![
                fire(cond("other", "gateway", Severity::Info, 1.0, 200), &["ops"]),
                fire(
                    cond("budget_day", "gateway", Severity::Critical, 30.0, 200),
                    &["ops"],
                ),
            ],
            updated: vec![(
                first,
                cond("budget_day", "gateway", Severity::Critical, 20.0, 200),
            )],
            cursor: Some(99),
            ..AlertChanges::default()
        })
        .expect_err("duplicate firing alert");
    assert!(matches!(err, StoreError::Db(_)), "{err:?}");
    assert!(err.to_string().contains("UNIQUE"), "{err}");

    assert_eq!(store.alert_cursor().expect("cursor"), 7);
    assert_eq!(
        all(AlertFilter::default(), &store),
        [(first, "budget_day".to_string(), AlertState::Firing)]
    );
    let a = store.alert(first).expect("alert").expect("stored");
    assert_eq!(
        (a.severity, a.value, a.last_seen_ms),
        (Severity::Warning, 11.0, 100)
    );
    let d = store.deliveries(None, 0).expect("deliveries");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].alert_id, first);

    // Same rule on another scope is a different alert.
    let other = fired(
        &mut store,
        vec![fire(
            cond("budget_day", "agent:x", Severity::Warning, 11.0, 300),
            &[],
        )],
        None,
    );
    assert_eq!(other.len(), 1);
    assert_ne!(other[0], first);
}

#[test]
fn updating_or_resolving_an_alert_that_is_not_firing_fails_and_writes_nothing() {
    let (_dir, _path, mut store) = temp_store();
    let ids = fired(
        &mut store,
        vec![
            fire(cond("r", "gateway", Severity::Info, 1.0, 1), &[]),
            fire(cond("o", "gateway", Severity::Info, 1.0, 1), &[]),
        ],
        Some(3),
    );
    let (id, other) = (ids[0], ids[1]);
    // A resolve (applied first), a good update and a new alert come before the bad
    // update: all of them are rolled back.
    let unknown = store
        .apply_alerts(&AlertChanges {
            fired: vec![fire(
                cond("new", "gateway", Severity::Info, 1.0, 2),
                &["ops"],
            )],
            updated: vec![
                (id, cond("r", "gateway", Severity::Critical, 2.0, 2)),
                (id + 100, cond("r", "gateway", Severity::Info, 2.0, 2)),
            ],
            resolved: vec![ResolvedAlert {
                id: other,
                resolved_ms: 2,
                deliveries: vec![("ops".into(), Notification::default())],
            }],
            cursor: Some(4),
            unsuppressed: Vec::new(),
            at_ms: 0,
        })
        .expect_err("unknown alert");
    assert!(matches!(unknown, StoreError::Invalid(_)), "{unknown:?}");
    let o = store.alert(other).expect("alert").expect("stored");
    assert_eq!((o.state, o.resolved_ms), (AlertState::Firing, None));
    let a = store.alert(id).expect("alert").expect("stored");
    assert_eq!(
        (a.severity, a.value, a.last_seen_ms),
        (Severity::Info, 1.0, 1)
    );
    resolve(&mut store, other, 2);
    // An update naming another rule than the alert's is refused too.
    store
        .apply_alerts(&AlertChanges {
            updated: vec![(id, cond("not_r", "gateway", Severity::Info, 2.0, 2))],
            ..AlertChanges::default()
        })
        .expect_err("rule mismatch");

    resolve(&mut store, id, 5);
    let twice = store
        .apply_alerts(&AlertChanges {
            resolved: vec![ResolvedAlert {
                id,
                resolved_ms: 6,
                deliveries: vec![("ops".into(), Notification::default())],
            }],
            cursor: Some(8),
            ..AlertChanges::default()
        })
        .expect_err("already resolved");
    assert!(matches!(twice, StoreError::Invalid(_)), "{twice:?}");
    let a = store.alert(id).expect("alert").expect("stored");
    assert_eq!(
        (a.state, a.resolved_ms, a.value),
        (AlertState::Resolved, Some(5), 1.0)
    );
    assert_eq!(store.alert_cursor().expect("cursor"), 3);
    assert!(store.deliveries(None, 0).expect("deliveries").is_empty());
    assert_eq!(
        store.alerts(&AlertFilter::default()).expect("alerts").len(),
        2
    );
}

#[test]
fn a_resolved_rule_and_scope_can_fire_again() {
    let (_dir, _path, mut store) = temp_store();
    let c = cond("cron_failed", "cron:nightly", Severity::Critical, 1.0, 10);
    let first = fired(&mut store, vec![fire(c.clone(), &[])], None)[0];
    resolve(&mut store, first, 20);
    let second = fired(
        &mut store,
        vec![fire(
            cond("cron_failed", "cron:nightly", Severity::Warning, 2.0, 30),
            &[],
        )],
        None,
    )[0];
    assert_ne!(second, first);
    assert_eq!(
        all(AlertFilter::default(), &store),
        [
            (second, "cron_failed".to_string(), AlertState::Firing),
            (first, "cron_failed".to_string(), AlertState::Resolved),
        ]
    );
    // Ending and starting again within one evaluation works as well (resolves go first).
    let third = store
        .apply_alerts(&AlertChanges {
            fired: vec![fire(
                cond("cron_failed", "cron:nightly", Severity::Info, 3.0, 40),
                &[],
            )],
            resolved: vec![ResolvedAlert {
                id: second,
                resolved_ms: 40,
                deliveries: Vec::new(),
            }],
            ..AlertChanges::default()
        })
        .expect("resolve and fire")[0];
    let firing = all(
        AlertFilter {
            state: Some(AlertState::Firing),
            ..AlertFilter::default()
        },
        &store,
    );
    assert_eq!(
        firing,
        [(third, "cron_failed".to_string(), AlertState::Firing)]
    );
    assert_eq!(
        store.alert(second).expect("a").expect("stored").resolved_ms,
        Some(40)
    );
}

#[test]
fn cursor_and_alerts_persist_across_reopening_the_file() {
    let (_dir, path, mut store) = temp_store();
    let id = fired(
        &mut store,
        vec![fire(
            cond("r", "gateway", Severity::Warning, 5.0, 9),
            &["ops"],
        )],
        Some(1234),
    )[0];
    drop(store);
    let mut store = open(&path);
    assert_eq!(store.alert_cursor().expect("cursor"), 1234);
    assert_eq!(store.alert(id).expect("alert").expect("stored").value, 5.0);
    assert_eq!(store.due_deliveries(9, 0).expect("due").len(), 1);
    store
        .apply_alerts(&AlertChanges {
            cursor: Some(2000),
            ..AlertChanges::default()
        })
        .expect("cursor only");
    drop(store);
    assert_eq!(open(&path).alert_cursor().expect("cursor"), 2000);
}

#[test]
fn a_store_from_before_alerts_is_migrated() {
    let (_dir, path, store) = temp_store();
    drop(store);
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(
            "DROP TABLE alerts; DROP TABLE alert_silences; DROP TABLE alert_deliveries;
             DROP TABLE alert_actions; DROP TABLE alert_rules;
             DELETE FROM store_meta WHERE key = 'alerts_seq';
             PRAGMA user_version = 7;",
        )
        .expect("downgrade");
    }
    let mut store = open(&path);
    assert_eq!(
        store.stats().expect("stats").schema_version,
        clawscope_store::SqliteStore::supported_version()
    );
    assert_eq!(store.alert_cursor().expect("cursor"), 0);
    let id = fired(
        &mut store,
        vec![fire(cond("r", "gateway", Severity::Info, 1.0, 1), &[])],
        Some(5),
    )[0];
    assert_eq!(
        store.alert(id).expect("alert").expect("stored").rule_id,
        "r"
    );
    assert_eq!(store.alert_cursor().expect("cursor"), 5);
}

#[test]
fn ack_records_who_and_when() {
    let (_dir, _path, mut store) = temp_store();
    let id = fired(
        &mut store,
        vec![fire(cond("r", "gateway", Severity::Warning, 5.0, 9), &[])],
        None,
    )[0];
    assert!(store.ack_alert(id, "alice", 500).expect("ack"));
    let a = store.alert(id).expect("alert").expect("stored");
    assert_eq!(
        (a.acked_ms, a.acked_by.as_deref()),
        (Some(500), Some("alice"))
    );
    assert_eq!(a.state, AlertState::Firing);
    assert!(!store.ack_alert(id + 1, "bob", 600).expect("ack"));
    assert_eq!(store.alert(id + 1).expect("alert"), None);
}

#[test]
fn silences_filter_by_time_and_can_be_removed() {
    let (_dir, _path, mut store) = temp_store();
    let all_day = Silence {
        id: 0,
        rule_id: Some("budget_day".into()),
        scope: Some("agent:*".into()),
        until_ms: 1_000,
        reason: "known overspend".into(),
        created_by: "alice".into(),
        created_ms: 10,
    };
    let short = Silence {
        id: 0,
        rule_id: None,
        scope: None,
        until_ms: 500,
        reason: "deploy".into(),
        created_by: "bob".into(),
        created_ms: 20,
    };
    let a = store.add_silence(&all_day).expect("add");
    let b = store.add_silence(&short).expect("add");
    assert_ne!(a, b);

    let everything = store.silences(None).expect("silences");
    assert_eq!(
        everything,
        [
            Silence {
                id: b,
                ..short.clone()
            },
            Silence {
                id: a,
                ..all_day.clone()
            },
        ]
    );
    let ids = |at: Option<i64>, store: &SqliteStore| -> Vec<i64> {
        store
            .silences(at)
            .expect("silences")
            .iter()
            .map(|s| s.id)
            .collect()
    };
    assert_eq!(ids(Some(499), &store), [b, a]);
    // until_ms is exclusive.
    assert_eq!(ids(Some(500), &store), [a]);
    assert_eq!(ids(Some(999), &store), [a]);
    assert!(ids(Some(1_000), &store).is_empty());

    assert!(store.remove_silence(b).expect("remove"));
    assert!(!store.remove_silence(b).expect("remove again"));
    assert_eq!(ids(None, &store), [a]);
    assert_eq!(ids(Some(0), &store), [a]);
}

#[test]
fn due_deliveries_are_oldest_first_and_attempts_are_counted() {
    let (_dir, _path, mut store) = temp_store();
    let test = |title: &str| Notification {
        transition: Transition::Test,
        title: title.into(),
        ..Notification::default()
    };
    let early = store
        .queue_deliveries(
            &[("ops".into(), test("one")), ("pager".into(), test("two"))],
            100,
        )
        .expect("queue");
    let late = store
        .queue_deliveries(&[("ops".into(), test("three"))], 200)
        .expect("queue");
    assert_eq!(early.len(), 2);
    assert_eq!(late.len(), 1);
    let (one, two, three) = (early[0], early[1], late[0]);

    let due = |now: i64, limit: usize, store: &SqliteStore| -> Vec<i64> {
        store
            .due_deliveries(now, limit)
            .expect("due")
            .iter()
            .map(|d| d.id)
            .collect()
    };
    assert!(due(99, 0, &store).is_empty());
    assert_eq!(due(100, 0, &store), [one, two]);
    assert_eq!(due(200, 0, &store), [one, two, three]);
    assert_eq!(due(200, 2, &store), [one, two]);
    let d = store.due_deliveries(100, 1).expect("due");
    assert_eq!(d[0].alert_id, 0);
    assert_eq!(d[0].notification.title, "one");
    assert_eq!(d[0].notification.transition, Transition::Test);

    // one: fails, retried later, then sent.
    store
        .finish_delivery(
            one,
            &DeliveryOutcome::Retry {
                error: "HTTP 503".into(),
                next_attempt_ms: 400,
            },
        )
        .expect("retry");
    // Queued first, so still first once it is due again.
    assert_eq!(due(399, 0, &store), [two, three]);
    assert_eq!(due(400, 0, &store), [one, two, three]);
    let d = &store.due_deliveries(400, 1).expect("due")[0];
    assert_eq!(
        (d.id, d.status, d.attempts, d.next_attempt_ms),
        (one, DeliveryStatus::Pending, 1, 400)
    );
    assert_eq!(d.last_error.as_deref(), Some("HTTP 503"));
    store
        .finish_delivery(
            one,
            &DeliveryOutcome::Retry {
                error: "timeout".into(),
                next_attempt_ms: 800,
            },
        )
        .expect("retry");
    store
        .finish_delivery(one, &DeliveryOutcome::Sent { at_ms: 810 })
        .expect("sent");

    // two: sent at once. three: fails for good.
    store
        .finish_delivery(two, &DeliveryOutcome::Sent { at_ms: 150 })
        .expect("sent");
    store
        .finish_delivery(
            three,
            &DeliveryOutcome::Failed {
                error: "HTTP 404".into(),
            },
        )
        .expect("failed");
    assert!(due(10_000, 0, &store).is_empty());

    let by_id = |id: i64, store: &SqliteStore| {
        store
            .deliveries(None, 0)
            .expect("deliveries")
            .into_iter()
            .find(|d| d.id == id)
            .expect("delivery")
    };
    let d = by_id(one, &store);
    assert_eq!(
        (d.status, d.attempts, d.sent_ms),
        (DeliveryStatus::Sent, 3, Some(810))
    );
    assert_eq!(d.last_error.as_deref(), Some("timeout"));
    let d = by_id(two, &store);
    assert_eq!(
        (d.status, d.attempts, d.sent_ms, d.last_error),
        (DeliveryStatus::Sent, 1, Some(150), None)
    );
    let d = by_id(three, &store);
    assert_eq!(
        (d.status, d.attempts, d.sent_ms),
        (DeliveryStatus::Failed, 1, None)
    );
    assert_eq!(d.last_error.as_deref(), Some("HTTP 404"));
    // Newest first.
    let order: Vec<i64> = store
        .deliveries(None, 0)
        .expect("d")
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(order, [three, two, one]);

    let missing = store
        .finish_delivery(three + 1, &DeliveryOutcome::Sent { at_ms: 1 })
        .expect_err("no such delivery");
    assert!(matches!(missing, StoreError::Invalid(_)), "{missing:?}");
}

#[test]
fn actions_round_trip_newest_first() {
    let (_dir, _path, mut store) = temp_store();
    let pause = AlertAction {
        id: 0,
        alert_id: 7,
        kind: "pause".into(),
        target: "agent:main".into(),
        request: r#"{"method":"agents.pause","params":{"agentId":"main"}}"#.into(),
        dry_run: true,
        ok: true,
        detail: "dry run".into(),
        at_ms: 100,
    };
    let resume = AlertAction {
        id: 0,
        alert_id: 0,
        kind: "resume".into(),
        target: "agent:main".into(),
        request: r#"{"method":"agents.resume"}"#.into(),
        dry_run: false,
        ok: false,
        detail: "gateway said no".into(),
        at_ms: 200,
    };
    let a = store.record_action(&pause).expect("record");
    let b = store.record_action(&resume).expect("record");
    assert_eq!(
        store.actions(0).expect("actions"),
        [
            AlertAction {
                id: b,
                ..resume.clone()
            },
            AlertAction {
                id: a,
                ..pause.clone()
            },
        ]
    );
    assert_eq!(
        store.actions(1).expect("actions"),
        [AlertAction { id: b, ..resume }]
    );
}

#[test]
fn stored_rules_put_replace_mark_deleted_and_remove() {
    let (_dir, _path, mut store) = temp_store();
    assert!(store.stored_rules().expect("rules").is_empty());
    let budget = StoredRule {
        id: "budget_day".into(),
        json: r#"{"id":"budget_day","limit_usd":10}"#.into(),
        deleted: false,
        updated_ms: 1,
    };
    let ctx = StoredRule {
        id: "context_critical".into(),
        json: "{}".into(),
        deleted: true,
        updated_ms: 2,
    };
    store.put_rule(&budget).expect("put");
    store.put_rule(&ctx).expect("put");
    assert_eq!(
        store.stored_rules().expect("rules"),
        [budget.clone(), ctx.clone()]
    );

    let replaced = StoredRule {
        json: r#"{"id":"budget_day","limit_usd":25}"#.into(),
        updated_ms: 3,
        ..budget.clone()
    };
    store.put_rule(&replaced).expect("replace");
    let marked = StoredRule {
        deleted: true,
        updated_ms: 4,
        ..replaced.clone()
    };
    store.put_rule(&marked).expect("mark deleted");
    assert_eq!(
        store.stored_rules().expect("rules"),
        [marked.clone(), ctx.clone()]
    );

    assert!(store.remove_rule("context_critical").expect("remove"));
    assert!(!store.remove_rule("context_critical").expect("remove again"));
    assert_eq!(store.stored_rules().expect("rules"), [marked]);
}

#[test]
fn alerts_filter_by_state_rule_since_and_limit_newest_first() {
    let (_dir, _path, mut store) = temp_store();
    let ids = fired(
        &mut store,
        vec![
            fire(
                cond("budget_day", "agent:a", Severity::Warning, 1.0, 100),
                &[],
            ),
            fire(cond("ctx", "session:s", Severity::Critical, 2.0, 200), &[]),
            fire(cond("budget_day", "agent:b", Severity::Info, 3.0, 300), &[]),
            // Same time as the one before: the later id is newer.
            fire(cond("ctx", "session:t", Severity::Info, 4.0, 300), &[]),
        ],
        None,
    );
    let (a, s, b, t) = (ids[0], ids[1], ids[2], ids[3]);
    resolve(&mut store, s, 250);
    let filtered = |f: AlertFilter, store: &SqliteStore| -> Vec<i64> {
        store
            .alerts(&f)
            .expect("alerts")
            .iter()
            .map(|x| x.id)
            .collect()
    };
    assert_eq!(filtered(AlertFilter::default(), &store), [t, b, s, a]);
    assert_eq!(
        filtered(
            AlertFilter {
                state: Some(AlertState::Firing),
                ..AlertFilter::default()
            },
            &store
        ),
        [t, b, a]
    );
    assert_eq!(
        filtered(
            AlertFilter {
                state: Some(AlertState::Resolved),
                ..AlertFilter::default()
            },
            &store
        ),
        [s]
    );
    assert_eq!(
        filtered(
            AlertFilter {
                rule_id: Some("budget_day".into()),
                ..AlertFilter::default()
            },
            &store
        ),
        [b, a]
    );
    assert_eq!(
        filtered(
            AlertFilter {
                since_ms: Some(200),
                ..AlertFilter::default()
            },
            &store
        ),
        [t, b, s]
    );
    assert_eq!(
        filtered(
            AlertFilter {
                limit: 2,
                ..AlertFilter::default()
            },
            &store
        ),
        [t, b]
    );
    assert_eq!(
        filtered(
            AlertFilter {
                state: Some(AlertState::Firing),
                rule_id: Some("ctx".into()),
                since_ms: Some(300),
                limit: 5,
                resolved_since_ms: None,
            },
            &store
        ),
        [t]
    );
    assert!(filtered(
        AlertFilter {
            rule_id: Some("nope".into()),
            ..AlertFilter::default()
        },
        &store
    )
    .is_empty());
}

#[test]
fn suppressed_reason_is_kept() {
    let (_dir, _path, mut store) = temp_store();
    let mut quiet = fire(cond("r", "gateway", Severity::Warning, 1.0, 1), &[]);
    quiet.suppressed = Some("silenced".into());
    let id = fired(&mut store, vec![quiet], None)[0];
    let a = store.alert(id).expect("alert").expect("stored");
    assert_eq!(a.suppressed.as_deref(), Some("silenced"));
    assert!(store
        .deliveries(Some(id), 0)
        .expect("deliveries")
        .is_empty());
}

#[test]
fn non_finite_values_are_refused_before_anything_is_written() {
    let (_dir, _path, mut store) = temp_store();
    for bad in [f64::NAN, f64::INFINITY] {
        let err = store
            .apply_alerts(&AlertChanges {
                fired: vec![
                    fire(cond("ok", "gateway", Severity::Info, 1.0, 1), &["ops"]),
                    fire(cond("r", "gateway", Severity::Info, bad, 1), &[]),
                ],
                cursor: Some(9),
                ..AlertChanges::default()
            })
            .expect_err("non-finite value");
        assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    }
    let n = Notification {
        threshold: f64::NEG_INFINITY,
        ..Notification::default()
    };
    store
        .queue_deliveries(
            &[("ops".into(), Notification::default()), ("ops".into(), n)],
            1,
        )
        .expect_err("non-finite threshold");
    assert!(store
        .alerts(&AlertFilter::default())
        .expect("alerts")
        .is_empty());
    assert!(store.deliveries(None, 0).expect("deliveries").is_empty());
    assert_eq!(store.alert_cursor().expect("cursor"), 0);
}

#[test]
fn bad_stored_text_is_an_error_not_a_panic() {
    let (_dir, path, mut store) = temp_store();
    let id = fired(
        &mut store,
        vec![fire(
            cond("r", "gateway", Severity::Warning, 1.0, 1),
            &["ops"],
        )],
        None,
    )[0];
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.execute("UPDATE alerts SET severity = 'urgent' WHERE id = ?1", [id])
        .expect("corrupt severity");
    let err = store.alert(id).expect_err("unknown severity");
    assert!(matches!(err, StoreError::Db(_)), "{err:?}");
    assert!(
        err.to_string().contains("unknown severity \"urgent\""),
        "{err}"
    );
    store
        .alerts(&AlertFilter::default())
        .expect_err("listing reads it too");
    // An update reads the stored severity to keep the higher one.
    store
        .apply_alerts(&AlertChanges {
            updated: vec![(id, cond("r", "gateway", Severity::Warning, 2.0, 2))],
            ..AlertChanges::default()
        })
        .expect_err("update of a corrupt alert");

    raw.execute("UPDATE alert_deliveries SET status = 'lost'", [])
        .expect("corrupt status");
    let err = store.deliveries(None, 0).expect_err("unknown status");
    assert!(
        err.to_string().contains("unknown delivery status \"lost\""),
        "{err}"
    );
    raw.execute(
        "UPDATE alert_deliveries SET status = 'pending', notification = '{not json'",
        [],
    )
    .expect("corrupt notification");
    let err = store.due_deliveries(10, 0).expect_err("bad json");
    assert!(matches!(err, StoreError::Db(_)), "{err:?}");
}

#[test]
fn the_store_trait_object_reaches_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store: Box<dyn Store> = Box::new(open(&dir.path().join("boxed.db")));
    let ids = store
        .apply_alerts(&AlertChanges {
            fired: vec![fire(cond("r", "gateway", Severity::Critical, 1.0, 1), &[])],
            cursor: Some(3),
            ..AlertChanges::default()
        })
        .expect("apply");
    assert_eq!(store.alert_cursor().expect("cursor"), 3);
    assert_eq!(
        store
            .alert(ids[0])
            .expect("alert")
            .expect("stored")
            .severity,
        Severity::Critical
    );
}

#[test]
fn an_unsuppressed_alert_is_unmarked_and_its_notifications_queued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir.path().join("s.db"));
    let mut quiet = fire(cond("burn", "gateway", Severity::Warning, 4.0, 10), &[]);
    quiet.suppressed = Some("silenced".into());
    let ids = store
        .apply_alerts(&AlertChanges {
            fired: vec![quiet],
            ..AlertChanges::default()
        })
        .expect("fire");
    assert_eq!(store.deliveries(None, 0).expect("deliveries").len(), 0);
    let n = Notification {
        rule_id: "burn".into(),
        fired_ms: 10,
        ..Notification::default()
    };
    store
        .apply_alerts(&AlertChanges {
            unsuppressed: vec![(ids[0], vec![("ops".into(), n)])],
            ..AlertChanges::default()
        })
        .expect("unsuppress");
    let a = store.alert(ids[0]).expect("alert").expect("stored");
    assert_eq!(a.suppressed, None);
    let d = store.deliveries(None, 0).expect("deliveries");
    assert_eq!(
        (d.len(), d[0].alert_id, d[0].channel.as_str()),
        (1, ids[0], "ops")
    );
    // Not firing any more: an error, and nothing written.
    store
        .apply_alerts(&AlertChanges {
            resolved: vec![ResolvedAlert {
                id: ids[0],
                resolved_ms: 20,
                deliveries: vec![],
            }],
            ..AlertChanges::default()
        })
        .expect("resolve");
    assert!(store
        .apply_alerts(&AlertChanges {
            unsuppressed: vec![(ids[0], vec![])],
            ..AlertChanges::default()
        })
        .is_err());
    let resolved = store
        .alerts(&AlertFilter {
            resolved_since_ms: Some(15),
            ..AlertFilter::default()
        })
        .expect("alerts");
    assert_eq!(resolved.len(), 1);
    assert!(store
        .alerts(&AlertFilter {
            resolved_since_ms: Some(21),
            ..AlertFilter::default()
        })
        .expect("alerts")
        .is_empty());
}

#[test]
fn pause_history_per_target_since_the_last_manual_resume() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = open(&dir.path().join("s.db"));
    let act = |kind: &str, target: &str, alert_id: i64, ok: bool, at_ms: i64| AlertAction {
        kind: kind.into(),
        target: target.into(),
        alert_id,
        ok,
        at_ms,
        ..AlertAction::default()
    };
    for a in [
        act("pause", "agent:main", 1, true, 1),
        act("resume", "agent:main", 1, true, 2),
        act("pause", "agent:main", 3, false, 3),
        act("pause", "agent:main", 3, true, 4),
        act("pause", "agent:ops", 4, true, 5),
        act("resume", "agent:ops", 0, true, 6),
        act("resume", "gateway", 0, false, 7),
    ] {
        store.record_action(&a).expect("record");
    }
    assert_eq!(
        store.pause_targets().expect("targets"),
        vec!["agent:main".to_string()]
    );
    let h = store.actions_since_resume("agent:main").expect("history");
    assert_eq!(
        h.iter().map(|a| (a.at_ms, a.ok)).collect::<Vec<_>>(),
        [(4, true), (3, false)]
    );
    assert!(store
        .actions_since_resume("agent:ops")
        .expect("history")
        .is_empty());
    assert_eq!(
        store
            .last_manual_resume("agent:ops")
            .expect("last")
            .map(|a| (a.alert_id, a.at_ms)),
        Some((0, 6))
    );
    assert_eq!(
        store.last_manual_resume("gateway").expect("last"),
        None,
        "a failed resume is not one"
    );
    assert_eq!(
        store.last_manual_resume("agent:main").expect("last"),
        None,
        "an alert's resume is not a person's"
    );
}
