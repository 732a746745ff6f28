//! A bulk load that has the store to itself holds its rollups back and writes them at its
//! end. Whatever happens in between (the process killed, the hold bound reached, another
//! process opening and writing the store, a second load) the rollups must come out as
//! plain transactions leave them.

use std::path::Path;

use clawscope_core::query::SessionFilter;
use clawscope_core::report::UsageTotals;
use clawscope_core::{Cost, CostSource, Event, EventKind, Merge, SourceKind, ToolInfo};
use clawscope_store::{Batch, SqliteStore, Store};

const MINUTE: i64 = 60_000;

/// xorshift64*: reproducible data without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn base(id: String, session: usize, ts: i64, kind: EventKind, merge: Merge) -> Event {
    Event {
        id,
        ts_ms: ts,
        kind: Some(kind),
        source: Some(SourceKind::Claude),
        agent: Some(format!("agent-{}", session % 3)),
        project: Some(format!("project-{}", session % 4)),
        session_key: format!("session-{session}"),
        merge,
        ..Event::default()
    }
}

fn assistant(rng: &mut Rng, session: usize, turn: usize, ts: i64) -> Event {
    let mut ev = base(
        format!("cc:{session}:{turn}"),
        session,
        ts,
        EventKind::AssistantMessage,
        Merge::KeepLargestUsage,
    );
    ev.model.model = Some(format!("model-{}", rng.below(3)));
    ev.tokens.input = 1 + rng.below(500);
    ev.tokens.output = 1 + rng.below(200);
    ev.tokens.cache_read = rng.below(5_000);
    ev.cost = Cost {
        total: Some(ev.tokens.input as f64 * 3e-6 + ev.tokens.output as f64 * 1.5e-5),
        source: CostSource::Computed,
        ..Cost::default()
    };
    ev
}

fn tool(session: usize, turn: usize, ts: i64, kind: EventKind, is_error: bool) -> Event {
    let suffix = if kind == EventKind::ToolCall {
        "c"
    } else {
        "r"
    };
    let mut ev = base(
        format!("cc:{session}:{turn}:{suffix}"),
        session,
        ts,
        kind,
        Merge::KeepFirst,
    );
    ev.tool = Some(ToolInfo {
        name: Some(["Bash", "Read", "Edit"][turn % 3].into()),
        call_id: Some(format!("call-{session}-{turn}")),
        is_error,
        ..ToolInfo::default()
    });
    ev
}

/// Batches in write order: sessions spread over a month (so each batch touches many
/// rollup rows), each turn an assistant message and a tool call with its result, then
/// the same events again and larger copies of a third of the messages, some moved to
/// another bucket.
fn dataset() -> Vec<Batch> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut first = Vec::new();
    let mut messages = Vec::new();
    for session in 0..24 {
        let start = 1_790_000_000_000 + rng.below(30 * 24 * 60) as i64 * MINUTE;
        for turn in 0..40 {
            let ts = start + turn as i64 * 7 * MINUTE;
            let msg = assistant(&mut rng, session, turn, ts);
            messages.push(msg.clone());
            first.push(msg);
            first.push(tool(session, turn, ts + 1, EventKind::ToolCall, false));
            let failed = rng.below(5) == 0;
            first.push(tool(session, turn, ts + 2, EventKind::ToolResult, failed));
        }
    }
    // Interleave sessions the way concurrent transcripts are read.
    let mut order: Vec<Event> = Vec::with_capacity(first.len());
    for i in 0..first.len() {
        let j = (i * 97) % first.len();
        order.push(first[j].clone());
    }
    let mut better = Vec::new();
    for m in &messages {
        if rng.below(3) != 0 {
            continue;
        }
        let mut m = m.clone();
        m.tokens.output += 1 + rng.below(50);
        if rng.below(2) == 0 {
            m.ts_ms += 20 * MINUTE;
        }
        better.push(m);
    }
    order
        .chunks(37)
        .chain(first.chunks(53))
        .chain(better.chunks(11))
        .map(|c| Batch {
            events: c.to_vec(),
            ..Batch::default()
        })
        .collect()
}

/// Every rollup answer; costs apart, as sums in another order may differ in the last bit.
/// Without `arrival`, what depends on the order events arrived in is left out: counted
/// again from the stored events (after a killed load) sessions' first and last times leave
/// out copies since replaced, and a tool call that names no model goes to the model of
/// the message before it in store order (replaced copies move to the end), where plain
/// transactions took the newest one that had arrived; each tool's calls still add up.
fn answers(store: &SqliteStore, arrival: bool) -> (Vec<String>, Vec<f64>) {
    let mut text = Vec::new();
    let mut costs = Vec::new();
    let mut plain = |t: &UsageTotals| {
        costs.push(t.cost_usd);
        costs.push(t.cost_computed_usd);
        UsageTotals {
            cost_usd: 0.0,
            cost_computed_usd: 0.0,
            cost_reported_usd: 0.0,
            ..t.clone()
        }
    };
    for b in store.usage_buckets(&Default::default()).expect("buckets") {
        let totals = plain(&b.totals);
        text.push(format!(
            "{:?}",
            clawscope_core::report::UsageBucket { totals, ..b }
        ));
    }
    let sessions = store
        .sessions(&SessionFilter {
            limit: 1_000,
            ..SessionFilter::default()
        })
        .expect("sessions");
    for s in sessions {
        let totals = plain(&s.totals);
        let mut s = s.clone();
        s.totals = totals;
        if !arrival {
            (s.first_ms, s.last_ms) = (0, 0);
        }
        text.push(format!("{s:?}"));
    }
    text.push(format!("{:?}", store.tool_stats(None).expect("tools")));
    let mut flow = store.flow(None).expect("flow");
    if !arrival {
        let mut per_tool = std::collections::BTreeMap::new();
        flow.retain(|e| {
            if e.from_kind != "model" {
                return true;
            }
            *per_tool.entry(e.to.clone()).or_insert(0) += e.count;
            false
        });
        text.push(format!("calls per tool {per_tool:?}"));
    }
    text.push(format!("{flow:?}"));
    text.push(format!(
        "{:?}",
        store.activity(i64::MIN / 2, None).expect("activity")
    ));
    (text, costs)
}

fn assert_same(got: &SqliteStore, want: &SqliteStore, what: &str) {
    compare(got, want, true, what);
}

fn compare(got: &SqliteStore, want: &SqliteStore, arrival: bool, what: &str) {
    let (got_text, got_costs) = answers(got, arrival);
    let (want_text, want_costs) = answers(want, arrival);
    assert!(want_text.len() > 24, "{what}: the data fills the rollups");
    for (g, w) in got_text.iter().zip(&want_text) {
        assert_eq!(g, w, "{what}");
    }
    assert_eq!(got_text, want_text, "{what}");
    assert_eq!(got_costs.len(), want_costs.len(), "{what}");
    for (g, w) in got_costs.iter().zip(&want_costs) {
        assert!(
            (g - w).abs() <= 1e-9 * w.abs().max(1e-9),
            "{what}: {g} vs {w}"
        );
    }
}

/// The store plain transactions leave after `batches`.
fn plain(dir: &Path, name: &str, batches: &[Batch]) -> SqliteStore {
    let mut store = SqliteStore::open(&dir.join(name)).expect("open");
    for b in batches {
        store.apply(b).expect("apply");
    }
    store
}

/// A store on `path` in a bulk load that holds up to `bound` rollup entries (the
/// store's own bound when `None`).
fn loading(path: &Path, bound: Option<usize>) -> SqliteStore {
    let mut store = SqliteStore::open(path).expect("open");
    if let Some(b) = bound {
        store.bound_bulk_rollups(b);
    }
    store.begin_bulk().expect("begin");
    store
}

fn meta(path: &Path, key: &str) -> Option<i64> {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .ok()
}

fn usage_rows(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.query_row("SELECT count(*) FROM usage_rollup", [], |r| r.get(0))
        .expect("count")
}

#[test]
fn a_bulk_load_writes_its_rollups_at_its_end_and_they_equal_plain_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset();
    let want = plain(dir.path(), "plain.db", &batches);
    // No bound, a bound met now and then, a bound met by every transaction.
    for bound in [usize::MAX, 150, 1] {
        let path = dir.path().join(format!("bulk-{bound}.db"));
        let mut store = loading(&path, Some(bound));
        let half = batches.len() / 2;
        for b in &batches[..half] {
            store.apply(b).expect("apply");
        }
        let mark = meta(&path, "rollups_behind");
        if bound == usize::MAX {
            assert_eq!(mark, Some(0), "the tables count nothing yet");
            assert_eq!(usage_rows(&path), 0, "nothing written before the end");
        } else {
            assert!(mark.is_some_and(|s| s > 0), "the bound moved the mark");
            assert!(usage_rows(&path) > 0, "the bound wrote what was held");
        }
        for b in &batches[half..] {
            store.apply(b).expect("apply");
        }
        store.end_bulk().expect("end");
        assert_eq!(
            meta(&path, "rollups_behind"),
            None,
            "the end removes the mark"
        );
        assert_eq!(meta(&path, "rollups_behind_load"), None);
        assert_same(&store, &want, &format!("bound {bound}"));
    }
}

#[test]
fn a_killed_bulk_load_is_counted_by_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset();
    // Within the larger copies, which replace events on both sides of a moved mark.
    let cut = batches.len() - 8;
    let want_cut = plain(dir.path(), "plain-cut.db", &batches[..cut]);
    let want = plain(dir.path(), "plain.db", &batches);
    for bound in [usize::MAX, 150] {
        let path = dir.path().join(format!("killed-{bound}.db"));
        {
            let mut store = loading(&path, Some(bound));
            for b in &batches[..cut] {
                store.apply(b).expect("apply");
            }
            // Dropped without `end_bulk`, as when the process dies.
        }
        assert!(meta(&path, "rollups_behind").is_some());
        let mut store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(meta(&path, "rollups_behind"), None, "open counted the rest");
        compare(
            &store,
            &want_cut,
            false,
            &format!("reopened, bound {bound}"),
        );
        // The next run, another bulk load, goes on from there.
        store.begin_bulk().expect("begin");
        for b in &batches[cut..] {
            store.apply(b).expect("apply");
        }
        store.end_bulk().expect("end");
        compare(&store, &want, false, &format!("finished, bound {bound}"));
    }
}

#[test]
fn a_writer_opened_before_the_load_s_first_transaction_counts_its_events_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset();
    let cut = batches.len() / 3;
    let want = plain(dir.path(), "plain.db", &batches);
    let path = dir.path().join("bulk.db");
    let mut loader = loading(&path, None);
    // Opened after the load began but before it set its mark: its open counts nothing.
    let mut other = SqliteStore::open(&path).expect("open");
    for b in &batches[..cut] {
        loader.apply(b).expect("apply");
    }
    assert!(meta(&path, "rollups_behind").is_some(), "the load's mark");
    // Its first write counts the load's events, then its own.
    for b in &batches[cut..] {
        other.apply(b).expect("apply");
    }
    assert_eq!(meta(&path, "rollups_behind"), None);
    assert_same(&other, &want, "the other writer");
    loader.end_bulk().expect("end");
    assert_same(&loader, &want, "after the load's end");
}

#[test]
fn another_process_writing_during_a_bulk_load_keeps_the_rollups_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset();
    let (a, b) = (batches.len() / 3, batches.len() * 2 / 3);
    let want_a = plain(dir.path(), "plain-a.db", &batches[..a]);
    // The same writes in the same order (flow edges follow the store's order).
    let interleaved: Vec<Batch> = batches[..a]
        .iter()
        .chain(batches[a..b].iter().step_by(2))
        .chain(&batches[a..])
        .cloned()
        .collect();
    let want_interleaved = plain(dir.path(), "plain-interleaved.db", &interleaved);
    let want = plain(dir.path(), "plain.db", &batches);
    let path = dir.path().join("bulk.db");
    let mut loader = loading(&path, Some(400));
    for batch in &batches[..a] {
        loader.apply(batch).expect("apply");
    }
    // A `serve` or a second `import` opens the store in the middle of the load: it sees
    // every stored event in its reports, and writes some of the load's next events.
    let mut other = SqliteStore::open(&path).expect("open");
    assert_same(&other, &want_a, "a store opened during the load");
    for batch in batches[a..b].iter().step_by(2) {
        other.apply(batch).expect("apply");
    }
    for batch in &batches[a..] {
        loader.apply(batch).expect("apply");
    }
    loader.end_bulk().expect("end");
    assert_same(&loader, &want_interleaved, "loader");
    assert_same(&other, &want_interleaved, "other");
    // A second first load into this store, racing another load, ends whole too.
    let path = dir.path().join("race.db");
    let mut x = loading(&path, None);
    x.apply(&batches[0]).expect("apply");
    let mut y = loading(&path, None);
    for (i, batch) in batches.iter().enumerate().skip(1) {
        if i % 2 == 0 {
            x.apply(batch).expect("apply");
        } else {
            y.apply(batch).expect("apply");
        }
    }
    x.end_bulk().expect("end");
    y.end_bulk().expect("end");
    assert_same(&y, &want, "two loads");
}

#[test]
fn a_load_that_stored_nothing_does_not_take_a_later_load_s_mark_for_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset();
    let want = plain(dir.path(), "plain.db", &batches);
    let path = dir.path().join("bulk.db");
    plain(dir.path(), "bulk.db", &batches[..1]);
    // `x` re-reads what is stored: its mark is the last seq, and it adds nothing.
    let mut x = loading(&path, None);
    assert_eq!(x.apply(&batches[0]).expect("apply").inserted, 0);
    // `y` opens (counting nothing, removing x's mark) and sets a mark at the same seq.
    let mut y = loading(&path, None);
    y.apply(&batches[1]).expect("apply");
    let before = meta(&path, "rollups_behind");
    assert!(before.is_some(), "y's mark");
    x.end_bulk().expect("end");
    for b in &batches[2..] {
        y.apply(b).expect("apply");
    }
    y.end_bulk().expect("end");
    assert_same(&y, &want, "the later load's events are counted");
}

#[test]
fn a_larger_copy_of_the_newest_row_gets_a_new_seq_and_is_counted_after_a_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset();
    // The first batch ends with a message, whose larger copy opens the next batch.
    let mut first = batches[0].clone();
    let mut msg = batches[0]
        .events
        .iter()
        .find(|e| e.merge == Merge::KeepLargestUsage)
        .expect("a message")
        .clone();
    first.events.retain(|e| e.id != msg.id);
    first.events.push(msg.clone());
    msg.tokens.output += 1_000;
    let mut second = batches[1].clone();
    second.events.insert(0, msg);
    let writes = [first, second];
    let want = plain(dir.path(), "plain.db", &writes);
    // Stored earlier: the load's mark is the message's seq, the newest row.
    let path = dir.path().join("killed.db");
    plain(dir.path(), "killed.db", &writes[..1]);
    {
        let mut store = loading(&path, None);
        store.apply(&writes[1]).expect("apply");
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        let max: i64 = conn
            .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
            .expect("max");
        let rows = writes[0].events.len() as i64 + writes[1].events.len() as i64 - 1;
        assert_eq!(
            max,
            rows + 1,
            "the larger copy is numbered past the newest row it replaced (followers see it)"
        );
        // Killed before `end_bulk`.
    }
    let store = SqliteStore::open(&path).expect("reopen");
    assert_same(&store, &want, "after the kill");
}

/// A store at `path` whose events table refuses an event with the id `boom`.
fn refusing_boom(path: &Path) -> SqliteStore {
    drop(SqliteStore::open(path).expect("create"));
    rusqlite::Connection::open(path)
        .expect("raw open")
        .execute_batch(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.id = 'boom'
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .expect("trigger");
    SqliteStore::open(path).expect("open")
}

#[test]
fn a_load_whose_transaction_failed_counts_what_it_stored_by_its_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = dataset();
    let want = plain(dir.path(), "plain.db", &batches[..2]);
    let path = dir.path().join("bulk.db");
    let mut store = refusing_boom(&path);
    store.begin_bulk().expect("begin");
    store.apply(&batches[0]).expect("apply");
    let mut failing = batches[1].clone();
    failing.events[0].id = "boom".into();
    assert!(store.apply(&failing).is_err(), "the trigger refuses it");
    // The load dropped what it held; its mark stays until the next write counts the rest.
    store.apply(&batches[1]).expect("apply");
    assert!(
        meta(&path, "rollups_behind").is_none(),
        "the next write counted it"
    );
    assert_same(&store, &want, "after the next write");
    // Failing as the load's last transaction: the end counts what the mark says is missing.
    let path = dir.path().join("bulk-end.db");
    let mut store = refusing_boom(&path);
    store.begin_bulk().expect("begin");
    store.apply(&batches[0]).expect("apply");
    store.apply(&batches[1]).expect("apply");
    assert!(store.apply(&failing).is_err(), "the trigger refuses it");
    store.end_bulk().expect("end");
    assert!(
        meta(&path, "rollups_behind").is_none(),
        "the end counted it"
    );
    assert_same(&store, &want, "after the end");
}
