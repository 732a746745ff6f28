//! The SQLite store on real files: idempotent merges, rollups, cursors, search.

use clawscope_core::query::{Dims, EventFilter, SessionFilter, UsageFilter};
use clawscope_core::{Cost, CostSource, Event, EventKind, Merge, SourceKind, ToolInfo};
use clawscope_store::{Batch, SqliteStore, Store};

fn usage_event(id: &str, ts: i64, input: u64, output: u64, cost: f64, merge: Merge) -> Event {
    let mut ev = Event {
        id: id.into(),
        ts_ms: ts,
        kind: Some(EventKind::AssistantMessage),
        source: Some(SourceKind::Claude),
        agent: Some("claude-code".into()),
        project: Some("p".into()),
        session_key: "s1".into(),
        merge,
        cost: Cost {
            total: Some(cost),
            source: CostSource::Computed,
            ..Cost::default()
        },
        ..Event::default()
    };
    ev.model.model = Some("m1".into());
    ev.tokens.input = input;
    ev.tokens.output = output;
    ev
}

fn batch(events: Vec<Event>) -> Batch {
    Batch {
        events,
        ..Batch::default()
    }
}

fn totals(store: &SqliteStore) -> (u64, u64, f64, u64) {
    let b = store.usage_buckets(&UsageFilter::default()).unwrap();
    let input = b.iter().map(|x| x.totals.input_tokens).sum();
    let output = b.iter().map(|x| x.totals.output_tokens).sum();
    let cost = b.iter().map(|x| x.totals.cost_usd).sum();
    let entries = b.iter().map(|x| x.totals.entries).sum();
    (input, output, cost, entries)
}

#[test]
fn reapplying_a_batch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let b = batch(vec![
        usage_event("a", 1_000_000, 10, 5, 0.5, Merge::KeepFirst),
        usage_event("b", 2_000_000, 20, 5, 0.25, Merge::KeepFirst),
    ]);
    let first = store.apply(&b).unwrap();
    assert_eq!(first.inserted, 2);
    let again = store.apply(&b).unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));
    assert_eq!(totals(&store), (30, 10, 0.75, 2));
    let s = store.session("s1").unwrap().unwrap();
    assert_eq!(s.assistant_messages, 2);
    assert_eq!(s.totals.input_tokens, 30);
    assert_eq!(s.models, vec!["m1".to_string()]);
}

#[test]
fn larger_copy_replaces_and_rollups_follow() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    store
        .apply(&batch(vec![usage_event(
            "k",
            1_000_000,
            10,
            2,
            1.0,
            Merge::KeepLargestUsage,
        )]))
        .unwrap();
    // a tie keeps the first copy
    let tie = store
        .apply(&batch(vec![usage_event(
            "k",
            9_000_000,
            11,
            1,
            9.0,
            Merge::KeepLargestUsage,
        )]))
        .unwrap();
    assert_eq!(tie.unchanged, 1);
    assert_eq!(totals(&store), (10, 2, 1.0, 1));
    // a larger copy in another bucket wins; the old bucket is emptied
    let up = store
        .apply(&batch(vec![usage_event(
            "k",
            9_000_000,
            10,
            50,
            2.0,
            Merge::KeepLargestUsage,
        )]))
        .unwrap();
    assert_eq!(up.updated, 1);
    assert_eq!(totals(&store), (10, 50, 2.0, 1));
    let buckets = store.usage_buckets(&UsageFilter::default()).unwrap();
    assert_eq!(buckets.len(), 1, "the emptied bucket is not reported");
    assert_eq!(buckets[0].bucket_ms, 9_000_000);
    let evs = store.events(&EventFilter::default()).unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event.tokens.output, 50);
}

#[test]
fn replace_merge_rewrites_only_changed_rows() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut task = Event {
        id: "task:1".into(),
        ts_ms: 5,
        kind: Some(EventKind::TaskRun),
        source: Some(SourceKind::OpenClaw),
        session_key: "agent:main:main".into(),
        merge: Merge::Replace,
        attrs: Some(r#"{"status":"running"}"#.into()),
        ..Event::default()
    };
    assert_eq!(store.apply(&batch(vec![task.clone()])).unwrap().inserted, 1);
    assert_eq!(
        store.apply(&batch(vec![task.clone()])).unwrap().unchanged,
        1
    );
    task.attrs = Some(r#"{"status":"succeeded"}"#.into());
    assert_eq!(store.apply(&batch(vec![task])).unwrap().updated, 1);
    let evs = store.events(&EventFilter::default()).unwrap();
    assert_eq!(evs.len(), 1);
    assert!(evs[0].event.attrs.as_deref().unwrap().contains("succeeded"));
    assert_eq!(store.session("agent:main:main").unwrap().unwrap().events, 1);
}

#[test]
fn cursors_commit_with_events_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        let mut b = batch(vec![usage_event("a", 1, 1, 1, 0.0, Merge::KeepFirst)]);
        b.cursors
            .push(("file:/x.jsonl".into(), r#"{"offset":42}"#.into()));
        store.apply(&b).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.cursor("file:/x.jsonl").unwrap().as_deref(),
        Some(r#"{"offset":42}"#)
    );
    assert_eq!(store.cursors_with_prefix("file:").unwrap().len(), 1);
    assert_eq!(store.stats().unwrap().events, 1);
    assert!(store.stats().unwrap().size_bytes > 0);
}

#[test]
fn search_finds_text_and_tool_counts_roll_up() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut user = usage_event("u", 10, 0, 0, 0.0, Merge::KeepFirst);
    user.kind = Some(EventKind::UserMessage);
    user.text = Some("please deploy the staging cluster".into());
    let mut call = usage_event("c", 11, 0, 0, 0.0, Merge::KeepFirst);
    call.kind = Some(EventKind::ToolCall);
    let mut result = usage_event("r", 12, 0, 0, 0.0, Merge::KeepFirst);
    result.kind = Some(EventKind::ToolResult);
    result.tool = Some(ToolInfo {
        is_error: true,
        ..ToolInfo::default()
    });
    store.apply(&batch(vec![user, call, result])).unwrap();
    let hits = store
        .search("staging", &UsageFilter::default(), 10)
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("[staging]"));
    // FTS syntax in user input is treated as text, not operators
    assert!(store
        .search("NEAR(\"x", &UsageFilter::default(), 10)
        .unwrap()
        .is_empty());
    let s = store.session("s1").unwrap().unwrap();
    assert_eq!(
        (s.user_messages, s.tool_calls, s.tool_results, s.tool_errors),
        (1, 1, 1, 1)
    );
    let listed = store.sessions(&SessionFilter::default()).unwrap();
    assert_eq!(listed.len(), 1);
}

#[test]
fn interrupted_bulk_load_gets_its_indexes_back_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        store.begin_bulk().unwrap();
        store
            .apply(&batch(vec![usage_event(
                "a",
                1_000,
                1,
                1,
                0.1,
                Merge::KeepFirst,
            )]))
            .unwrap();
        // dropped without end_bulk, as if the process died
    }
    let store = SqliteStore::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        journal_mode(&conn),
        "wal",
        "open puts the store back in WAL"
    );
    let n = indexes_present(&path, &["events_ts", "events_session_ts", "events_idh"]);
    assert_eq!(n, 3);
    assert_eq!(
        store
            .events(&EventFilter {
                session_key: Some("s1".into()),
                ..EventFilter::default()
            })
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_store_with_old_event_keys_is_rekeyed_and_stays_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let events = || {
        vec![
            usage_event("cc:m1:r1", 1_000, 10, 1, 0.1, Merge::KeepLargestUsage),
            usage_event("oc:s1:e1@t", 2_000, 20, 2, 0.2, Merge::KeepFirst),
            usage_event("plain", 3_000, 30, 3, 0.3, Merge::KeepFirst),
        ]
    };
    {
        let mut store = SqliteStore::open(&path).unwrap();
        store.apply(&batch(events())).unwrap();
    }
    // Put back the keys of schema 9 (xxh3-128 of the id, little-endian).
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let ids: Vec<(i64, String)> = conn
            .prepare("SELECT seq, id FROM events")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (seq, id) in ids {
            let old = xxhash_rust::xxh3::xxh3_128(id.as_bytes()).to_le_bytes();
            conn.execute(
                "UPDATE events SET idh = ?1 WHERE seq = ?2",
                rusqlite::params![&old[..], seq],
            )
            .unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 9").unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let before = totals(&store);
    let stats = store.apply(&batch(events())).unwrap();
    assert_eq!(
        stats.inserted, 0,
        "re-applied events meet their rekeyed copies"
    );
    assert_eq!(stats.unchanged, 3);
    assert_eq!(totals(&store), before);
    // and a better copy still replaces the stored one
    let better = usage_event("cc:m1:r1", 1_000, 50, 1, 0.5, Merge::KeepLargestUsage);
    assert_eq!(store.apply(&batch(vec![better])).unwrap().updated, 1);
    assert_eq!(totals(&store).0, 50 + 20 + 30);
}

fn journal_mode(conn: &rusqlite::Connection) -> String {
    conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn bulk_load_uses_a_rollback_journal_and_ends_in_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let ev = |id: &str| usage_event(id, 1_000, 1, 1, 0.1, Merge::KeepFirst);
    let count = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap()
    };
    let mut store = SqliteStore::open(&path).unwrap();
    store.begin_bulk().unwrap();
    let side = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(journal_mode(&side), "delete", "alone: rollback journal");
    store.apply(&batch(vec![ev("a")])).unwrap();
    assert_eq!(count(&side), 1);
    // Another process opening the store during the load (it may put the file back in
    // WAL between two of the load's transactions: slower, never wrong).
    let other = SqliteStore::open(&path).unwrap();
    assert_eq!(other.stats().unwrap().events, 1);
    store.apply(&batch(vec![ev("a2")])).unwrap();
    assert_eq!(other.stats().unwrap().events, 2);
    store.end_bulk().unwrap();
    let fresh = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(journal_mode(&fresh), "wal", "back in WAL after the load");
    drop((other, side, fresh));

    // A reader that has read keeps the file in WAL: the load goes on in WAL, indexes and all.
    let reader = SqliteStore::open(&path).unwrap();
    assert_eq!(reader.stats().unwrap().events, 2);
    store.begin_bulk().unwrap();
    store.apply(&batch(vec![ev("b")])).unwrap();
    assert_eq!(reader.stats().unwrap().events, 3);
    store.end_bulk().unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(journal_mode(&raw), "wal");
    let indexes = indexes_present(&path, &["events_ts", "events_session_ts"]);
    assert_eq!(indexes, 2);
    assert_eq!(
        indexes_present(&path, &["events_transcript_usage"]),
        0,
        "left to the first telemetry write"
    );
    assert_eq!(count(&raw), 3);
}

#[test]
fn hourly_rows_of_two_sources_sum_to_the_bucket_totals() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let mut oc = usage_event("oc:s:e1", 3_600_000 + 60_000, 7, 3, 0.5, Merge::KeepFirst);
    oc.source = Some(SourceKind::OpenClaw);
    let cc = usage_event("cc:m:r", 3_600_000 + 120_000, 10, 1, 0.25, Merge::KeepFirst);
    store.apply(&batch(vec![oc, cc])).unwrap();
    let sum = |keep: Dims| {
        let rows = store
            .usage_buckets(&UsageFilter {
                keep,
                ..UsageFilter::default()
            })
            .unwrap();
        let hours: std::collections::BTreeSet<i64> = rows
            .iter()
            .map(|b| b.bucket_ms - b.bucket_ms % 3_600_000)
            .collect();
        let input: u64 = rows.iter().map(|b| b.totals.input_tokens).sum();
        let cost: f64 = rows.iter().map(|b| b.totals.cost_usd).sum();
        (hours, input, cost)
    };
    let hourly = sum(Dims::HourModel);
    assert_eq!(hourly, sum(Dims::BucketModel));
    assert_eq!(hourly.1, 17);
    assert!((hourly.2 - 0.75).abs() < 1e-12);
}

#[test]
fn a_scratch_store_is_a_working_store_without_a_path() {
    let mut store = SqliteStore::open_scratch().unwrap();
    let ev = || usage_event("cc:m:r", 1_000, 5, 1, 0.1, Merge::KeepFirst);
    assert_eq!(store.apply(&batch(vec![ev()])).unwrap().inserted, 1);
    assert_eq!(store.apply(&batch(vec![ev()])).unwrap().inserted, 0);
    assert_eq!(totals(&store).0, 5);
    assert!(store.path().is_none());
}

#[test]
fn a_scratch_store_after_a_bulk_load_answers_without_indexes_and_still_skips_stored_keys() {
    let mut store = SqliteStore::open_scratch().unwrap();
    let ev = |id: &str, ts, input| usage_event(id, ts, input, 1, 0.1, Merge::KeepLargestUsage);
    store.begin_bulk().unwrap();
    store
        .apply(&batch(vec![ev("b", 2_000, 2), ev("a", 1_000, 1)]))
        .unwrap();
    store.end_bulk().unwrap();
    // After the load: a stored key is merged, not inserted again; a new one is added.
    let s = store
        .apply(&batch(vec![ev("a", 1_000, 5), ev("c", 3_000, 3)]))
        .unwrap();
    assert_eq!((s.inserted, s.updated), (1, 1));
    assert_eq!(totals(&store).0, 5 + 2 + 3);
    let entries = store.usage_entries(&UsageFilter::default()).unwrap();
    let order: Vec<(i64, u64)> = entries
        .iter()
        .map(|e| (e.ts_ms, e.totals.input_tokens))
        .collect();
    assert_eq!(order, [(1_000, 5), (2_000, 2), (3_000, 3)]);
    let sessions = store.sessions(&SessionFilter::default()).unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].totals.input_tokens, 10);
}

#[test]
fn a_store_opened_during_a_bulk_load_gets_the_key_index_and_the_load_meets_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let ev = |id: &str, input| usage_event(id, 1_000, input, 1, 0.1, Merge::KeepLargestUsage);
    let mut store = SqliteStore::open(&path).unwrap();
    store.begin_bulk().unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(
        key_index_count(&path),
        0,
        "alone, the load drops the key index"
    );
    store.apply(&batch(vec![ev("a", 1)])).unwrap();
    // Another process opens the store and writes before the load reaches the same ids.
    let mut other = SqliteStore::open(&path).unwrap();
    assert_eq!(key_index_count(&path), 1, "open builds it again");
    other.apply(&batch(vec![ev("x", 5), ev("a", 3)])).unwrap();
    let s = store.apply(&batch(vec![ev("x", 2), ev("a", 1)])).unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 2));
    let s = store.apply(&batch(vec![ev("x", 9), ev("b", 1)])).unwrap();
    assert_eq!((s.inserted, s.updated), (1, 1));
    store.end_bulk().unwrap();
    assert_eq!(totals(&store).0, 9 + 3 + 1);
    let n: i64 = raw
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn a_schema_10_store_moves_key_uniqueness_to_a_named_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut text = usage_event("oc:s1:e1", 1_000, 10, 1, 0.1, Merge::KeepFirst);
    text.text = Some("find the needle here".into());
    let events = vec![
        text,
        usage_event("cc:m1:r1", 2_000, 20, 2, 0.2, Merge::KeepLargestUsage),
        usage_event("plain", 3_000, 30, 3, 0.3, Merge::KeepFirst),
    ];
    {
        let mut store = SqliteStore::open(&path).unwrap();
        store.apply(&batch(events.clone())).unwrap();
        store.index_text().unwrap();
    }
    // Put back the events table of schema 10: key uniqueness as an inline constraint.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let ddl: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let columns = &ddl[ddl.find('(').unwrap()..];
        let old = format!("CREATE TABLE events10 {columns}").replacen(
            "idh              BLOB NOT NULL,",
            "idh BLOB NOT NULL UNIQUE,",
            1,
        );
        assert!(old.contains("UNIQUE"), "{old}");
        conn.execute_batch(&format!(
            "{old}; INSERT INTO events10 SELECT * FROM events; DROP TABLE events;
             ALTER TABLE events10 RENAME TO events; PRAGMA user_version = 10;"
        ))
        .unwrap();
    }
    let mut store = SqliteStore::open(&path).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let indexes: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(indexes.contains(&"events_idh".to_string()), "{indexes:?}");
    assert!(
        !indexes.iter().any(|i| i.starts_with("sqlite_autoindex")),
        "{indexes:?}"
    );
    let seqs: Vec<i64> = raw
        .prepare("SELECT seq FROM events ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(seqs, vec![1, 2, 3], "rows keep their seq");
    let free: i64 = raw
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(free, 0, "the old table's pages are given back");
    let s = store.apply(&batch(events)).unwrap();
    assert_eq!((s.inserted, s.unchanged), (0, 3), "still idempotent");
    assert_eq!(
        store
            .search("needle", &UsageFilter::default(), 10)
            .unwrap()
            .len(),
        1,
        "text index holds"
    );
}

/// A store on a new file, then `sql` run on the file by another connection.
fn open_then_run(sql: &str) -> (tempfile::TempDir, std::path::PathBuf, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    (dir, path, store)
}

/// How many of the indexes `names` the store file at `path` has.
fn indexes_present(path: &std::path::Path, names: &[&str]) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1")
        .unwrap();
    names
        .iter()
        .map(|n| stmt.query_row([n], |r| r.get::<_, i64>(0)).unwrap())
        .sum()
}

fn key_index_count(path: &std::path::Path) -> i64 {
    indexes_present(path, &["events_idh"])
}

#[test]
fn two_bulk_loads_at_once_store_each_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let ev = |id: &str, input| usage_event(id, 1_000, input, 1, 0.1, Merge::KeepLargestUsage);
    let mut a = SqliteStore::open(&path).unwrap();
    a.begin_bulk().unwrap();
    assert_eq!(key_index_count(&path), 0);
    a.apply(&batch(vec![ev("x", 1)])).unwrap();
    // A second first import starts before the first has finished, and is alone too
    // while the first sits between two transactions.
    let mut b = SqliteStore::open(&path).unwrap();
    b.begin_bulk().unwrap();
    b.apply(&batch(vec![ev("x", 1), ev("y", 2)])).unwrap();
    a.apply(&batch(vec![ev("y", 5), ev("z", 1)])).unwrap();
    b.apply(&batch(vec![ev("z", 1), ev("w", 1)])).unwrap();
    a.end_bulk().unwrap();
    b.end_bulk().unwrap();
    drop((a, b));
    let store = SqliteStore::open(&path).expect("the store opens: no duplicate keys");
    let rows: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 4);
    assert_eq!(totals(&store).0, 1 + 5 + 1 + 1);
}

#[test]
fn a_bulk_load_meets_a_copy_replaced_by_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let ev = |id: &str, input| usage_event(id, 1_000, input, 1, 0.1, Merge::KeepLargestUsage);
    let mut loader = SqliteStore::open(&path).unwrap();
    loader.begin_bulk().unwrap();
    loader.apply(&batch(vec![ev("a", 1), ev("b", 1)])).unwrap();
    // Another connection replaces `a` (a new row, a new seq) ...
    let mut other = SqliteStore::open(&path).unwrap();
    assert_eq!(other.apply(&batch(vec![ev("a", 3)])).unwrap().updated, 1);
    // ... and the load's better copy still replaces that one.
    let s = loader.apply(&batch(vec![ev("a", 10)])).unwrap();
    assert_eq!((s.inserted, s.updated), (0, 1));
    loader.end_bulk().unwrap();
    assert_eq!(totals(&loader).0, 10 + 1);
}

#[test]
fn a_failed_bulk_transaction_forgets_its_keys() {
    let ev = |id: &str| usage_event(id, 1_000, 1, 1, 0.1, Merge::KeepFirst);
    let (_dir, path, mut store) = open_then_run(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.id = 'boom'
         BEGIN SELECT RAISE(ABORT, 'refused'); END;",
    );
    store.begin_bulk().unwrap();
    assert_eq!(key_index_count(&path), 0);
    assert!(store.apply(&batch(vec![ev("a"), ev("boom")])).is_err());
    assert_eq!(
        key_index_count(&path),
        1,
        "the index checks keys from now on"
    );
    let s = store.apply(&batch(vec![ev("a")])).unwrap();
    assert_eq!(
        s.inserted, 1,
        "the rolled-back insert of `a` is not taken as stored"
    );
    store.end_bulk().unwrap();
    assert_eq!(totals(&store).3, 1);
}

#[test]
fn a_writer_that_finds_the_key_index_missing_builds_it_first() {
    let ev = |id: &str| usage_event(id, 1_000, 1, 1, 0.1, Merge::KeepFirst);
    // Dropped after this store opened (as a bulk load elsewhere would).
    let (_dir, path, mut store) = open_then_run("DROP INDEX events_idh");
    assert_eq!(store.apply(&batch(vec![ev("a")])).unwrap().inserted, 1);
    assert_eq!(store.apply(&batch(vec![ev("a")])).unwrap().inserted, 0);
    assert_eq!(key_index_count(&path), 1);
}

/// The first 100 stored events, in store order.
fn stored_events(store: &SqliteStore) -> Vec<Event> {
    let filter = EventFilter {
        limit: 100,
        ..EventFilter::default()
    };
    let stored = store.events(&filter).unwrap();
    stored.into_iter().map(|s| s.event).collect()
}

#[test]
fn ids_come_back_exactly_whether_stored_compact_or_as_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let sid = "0060c7be-72af-f931-edf0-aeb53e149dd3";
    let mid = "ddadb6cb@2026-11-12T20:16:45.642Z";
    let ev = |id: String, session: Option<&str>, message: Option<&str>, call: Option<&str>| {
        let mut e = usage_event(&id, 1_000, 1, 1, 0.0, Merge::KeepFirst);
        e.session_id = session.map(Into::into);
        e.message_id = message.map(Into::into);
        e.tool = call.map(|c| ToolInfo {
            call_id: Some(c.into()),
            ..ToolInfo::default()
        });
        e
    };
    let events = vec![
        ev(format!("oc:{sid}:{mid}"), Some(sid), Some(mid), None),
        ev(
            format!("oc:{sid}:{mid}:call_7"),
            Some(sid),
            Some(mid),
            Some("call_7"),
        ),
        // Hostile: marker bytes in the id, in the values, or both.
        ev(format!("oc:\u{1}{sid}:\u{2}"), Some(sid), Some(mid), None),
        ev(
            format!("oc:{sid}:x\u{1}yz1"),
            Some(sid),
            Some("x\u{1}yz1"),
            None,
        ),
        ev(format!("oc:{sid}:abcd"), Some(sid), Some("ab\u{1}cd"), None),
        ev(
            "oc:sess-1:m-1234".into(),
            Some("sess-\u{2}-1"),
            Some("m-1234"),
            None,
        ),
        ev("cc:line:00ab:17".into(), None, None, None),
    ];
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    store.apply(&batch(events.clone())).unwrap();
    let read: Vec<String> = stored_events(&store).into_iter().map(|e| e.id).collect();
    assert_eq!(read, ids);
    // Stored compact unless the id holds a marker or shares nothing; a value holding a
    // marker is left in the id, the row's other values still compact.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let forms: Vec<(Option<i64>, usize)> = conn
        .prepare("SELECT id_form, length(id) FROM events ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let compact: Vec<bool> = forms.iter().map(|f| f.0 == Some(1)).collect();
    assert_eq!(compact, [true, true, false, false, true, true, false]);
    assert_eq!(forms[0].1, "oc:\u{1}:\u{2}".len());
    // Idempotent still: the key is the whole id's.
    let again = store.apply(&batch(events)).unwrap();
    assert_eq!((again.inserted, again.unchanged), (0, 7));
}

#[test]
fn every_column_comes_back_and_a_sparse_event_after_a_full_one_keeps_its_nulls() {
    use clawscope_core::{ErrorInfo, ModelRef, Timing, Tokens};
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let s = |v: &str| Some(v.to_string());
    let full = Event {
        id: "oc:sess-0001:msg-0001".into(),
        ts_ms: 1_000,
        kind: Some(EventKind::ToolCall),
        source: Some(SourceKind::OpenClaw),
        gateway: s("gw"),
        agent: s("main"),
        project: s("proj"),
        session_key: "agent:main:main".into(),
        session_id: s("sess-0001"),
        parent_session_key: s("agent:main:parent"),
        channel: s("telegram"),
        run_id: s("run-1"),
        message_id: s("msg-0001"),
        request_id: s("req-1"),
        model: ModelRef {
            provider: s("anthropic"),
            model: s("claude-sonnet-4-5"),
            api: s("anthropic-messages"),
        },
        tokens: Tokens {
            input: 1,
            output: 2,
            cache_read: 3,
            cache_write: 4,
            cache_write_1h: 5,
            reasoning: 6,
        },
        context_used: Some(7),
        context_max: Some(8),
        timing: Timing {
            start_ms: Some(900),
            end_ms: Some(1_000),
            duration_ms: Some(100),
            ttft_ms: Some(10),
        },
        tool: Some(ToolInfo {
            name: s("exec"),
            call_id: s("call-0001"),
            arguments: s("{\"cmd\":\"ls\"}"),
            result: s("a b"),
            is_error: true,
            exit_code: Some(2),
        }),
        error: Some(ErrorInfo {
            kind: "tool".into(),
            message: s("failed"),
            retriable: Some(true),
        }),
        cost: Cost {
            input: Some(0.1),
            output: Some(0.2),
            cache_read: Some(0.3),
            cache_write: Some(0.4),
            total: Some(1.0),
            source: CostSource::Reported,
            price_version: s("v1"),
        },
        stop_reason: s("toolUse"),
        text: s("hello"),
        thinking: s("hmm"),
        attrs: s("{\"a\":1}"),
        merge: Merge::KeepFirst,
    };
    let sparse = Event {
        id: "oc:sess-0001:msg-0002".into(),
        ts_ms: 2_000,
        kind: Some(EventKind::UserMessage),
        source: Some(SourceKind::OpenClaw),
        session_key: "agent:main:main".into(),
        ..Event::default()
    };
    store
        .apply(&batch(vec![full.clone(), sparse.clone()]))
        .unwrap();
    assert_eq!(stored_events(&store), vec![full, sparse]);
}

#[test]
fn a_follower_past_the_newest_row_sees_its_larger_copy() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    store
        .apply(&batch(vec![
            usage_event("a", 1_000, 10, 5, 0.5, Merge::KeepLargestUsage),
            usage_event("b", 2_000, 10, 5, 0.5, Merge::KeepLargestUsage),
        ]))
        .unwrap();
    let seen = store.stats().unwrap().events as i64;
    let newest = store
        .events(&EventFilter {
            after_seq: Some(seen - 1),
            limit: 10,
            ..EventFilter::default()
        })
        .unwrap();
    assert_eq!(newest.len(), 1);
    let cursor = newest[0].seq;
    // The newest row ("b") is replaced by a larger copy.
    let s = store
        .apply(&batch(vec![usage_event(
            "b",
            2_000,
            10,
            50,
            0.5,
            Merge::KeepLargestUsage,
        )]))
        .unwrap();
    assert_eq!(s.updated, 1);
    let after = store
        .events(&EventFilter {
            after_seq: Some(cursor),
            limit: 10,
            ..EventFilter::default()
        })
        .unwrap();
    assert_eq!(after.len(), 1, "the follower meets the new copy");
    assert_eq!(after[0].event.tokens.output, 50);
    assert_eq!(totals(&store), (20, 55, 1.0, 2));
}

#[test]
fn a_window_with_bounds_inside_buckets_counts_exactly_the_entries_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    const MIN: i64 = 60_000;
    let day = 1_790_000_000_000 / 86_400_000 * 86_400_000;
    // One entry every 7 minutes for 10 hours: every 15-minute bucket holds two or three.
    let events: Vec<Event> = (0..86)
        .map(|i| {
            let mut e = usage_event(
                &format!("e{i}"),
                day + i * 7 * MIN,
                100 + i as u64,
                1,
                0.001,
                Merge::KeepFirst,
            );
            e.agent = Some(if i % 2 == 0 { "a" } else { "b" }.into());
            e
        })
        .collect();
    store.apply(&batch(events.clone())).unwrap();
    let inside = |since: Option<i64>, until: Option<i64>| -> (u64, u64) {
        let kept: Vec<&Event> = events
            .iter()
            .filter(|e| since.is_none_or(|s| e.ts_ms >= s) && until.is_none_or(|u| e.ts_ms < u))
            .collect();
        (kept.iter().map(|e| e.tokens.input).sum(), kept.len() as u64)
    };
    let windows = [
        (Some(day + 50 * MIN), None),                   // since inside a bucket
        (None, Some(day + 250 * MIN)),                  // until inside a bucket
        (Some(day + 50 * MIN), Some(day + 250 * MIN)),  // both
        (Some(day + 61 * MIN), Some(day + 73 * MIN)),   // within one bucket
        (Some(day + 60 * MIN), Some(day + 75 * MIN)),   // exactly one bucket
        (Some(day + 59 * MIN), Some(day + 61 * MIN)),   // across a bucket edge, no whole bucket
        (Some(day + 120 * MIN), Some(day + 240 * MIN)), // whole hours
    ];
    for (since, until) in windows {
        for keep in [
            Dims::All,
            Dims::BucketModel,
            Dims::HourModel,
            Dims::Model,
            Dims::AgentModel,
        ] {
            let rows = store
                .usage_buckets(&UsageFilter {
                    since_ms: since,
                    until_ms: until,
                    keep,
                    ..UsageFilter::default()
                })
                .unwrap();
            let got = (
                rows.iter().map(|r| r.totals.input_tokens).sum::<u64>(),
                rows.iter().map(|r| r.totals.entries).sum::<u64>(),
            );
            assert_eq!(got, inside(since, until), "{since:?}..{until:?} {keep:?}");
            let keys: std::collections::HashSet<_> = rows
                .iter()
                .map(|r| (r.bucket_ms, &r.source, &r.agent, &r.project, &r.model))
                .collect();
            assert_eq!(keys.len(), rows.len(), "one row per key: {keep:?}");
            assert!(rows.windows(2).all(|w| w[0].bucket_ms <= w[1].bucket_ms));
            if keep == Dims::AgentModel {
                assert!(rows.iter().all(|r| r.agent == "a" || r.agent == "b"));
            }
        }
    }
}

#[test]
fn search_keeps_to_its_window_and_masks_secrets_in_snippets() {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let key = "sk-ant-api03-QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
    let message = |id: &str, ts: i64, source: SourceKind| {
        let mut e = usage_event(id, ts, 0, 0, 0.0, Merge::KeepFirst);
        e.kind = Some(EventKind::UserMessage);
        e.source = Some(source);
        e.text = Some(format!("deploy staging with {key} please"));
        e
    };
    store
        .apply(&batch(vec![
            message("a", 1_000, SourceKind::Claude),
            message("b", 2_000, SourceKind::OpenClaw),
            message("c", 3_000, SourceKind::Claude),
        ]))
        .unwrap();
    let ids = |f: UsageFilter, limit: usize| -> Vec<i64> {
        let hits = store.search("staging", &f, limit).unwrap();
        hits.iter().map(|h| h.ts_ms).collect()
    };
    assert_eq!(ids(UsageFilter::default(), 10), vec![3_000, 2_000, 1_000]);
    assert_eq!(ids(UsageFilter::default(), 2), vec![3_000, 2_000]);
    let window = UsageFilter {
        since_ms: Some(1_500),
        until_ms: Some(3_000),
        ..UsageFilter::default()
    };
    assert_eq!(ids(window, 10), vec![2_000]);
    let claude = UsageFilter {
        source: Some("claude".into()),
        ..UsageFilter::default()
    };
    assert_eq!(ids(claude, 10), vec![3_000, 1_000]);
    for q in ["staging", "QQQQQQQQ", "api03"] {
        for h in store.search(q, &UsageFilter::default(), 10).unwrap() {
            assert!(!h.snippet.contains("QQQQ"), "{q}: {}", h.snippet);
            assert!(h.snippet.contains("sk-a…[masked]"), "{q}: {}", h.snippet);
        }
    }
}
