//! The live pipeline of `clawscope serve`, end to end: the real binary, a real SQLite
//! store, real files and real sockets. Followed files (appends, a half-written line,
//! truncation, rotation) reach the SSE feed once each; a client resuming with
//! Last-Event-ID misses nothing, also while events flow and after falling behind;
//! native event-stream envelopes on the Unix socket and the TCP port are mapped and
//! linked; a gateway that restarts mid-stream or refuses the token is handled without
//! duplicates or a busy loop; a stalled session is reported hung.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::serve::{free_addr, wait_until, Server, WAIT};
use common::Sandbox;
use serde_json::{json, Value};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

// ---------------------------------------------------------------------------
// The server under test

/// The server under test, with what these tests ask of it.
type Serve = Server;

impl Server {
    /// Stored events (`/api/v1/events?<query>`).
    fn events(&self, query: &str) -> Vec<Value> {
        self.get(&format!("/api/v1/events?limit=1000&{query}"))["rows"]
            .as_array()
            .expect("rows")
            .clone()
    }
}

// ---------------------------------------------------------------------------
// An SSE client on a plain socket (so the test can hang up whenever it likes)

/// One SSE message.
#[derive(Debug, Clone)]
struct Sse {
    id: Option<String>,
    event: String,
    data: Value,
}

impl Sse {
    fn is_event(&self) -> bool {
        self.event == "event"
    }
    fn seq(&self) -> i64 {
        self.data["seq"].as_i64().expect("stored event without seq")
    }
    fn event_id(&self) -> &str {
        self.data["event"]["id"].as_str().unwrap_or("")
    }
    fn kind(&self) -> &str {
        self.data["event"]["kind"].as_str().unwrap_or("")
    }
    fn ev(&self) -> &Value {
        &self.data["event"]
    }
}

/// A `GET /api/v1/stream` connection whose messages are read on a thread.
struct Feed {
    conn: TcpStream,
    rx: mpsc::Receiver<Sse>,
    seen: Vec<Sse>,
    reader: Option<JoinHandle<()>>,
    /// Held while the reader must not read yet (a stalled client).
    gate: Option<mpsc::Sender<()>>,
}

/// HTTP/1.1 chunked transfer decoding.
struct Chunked<R> {
    inner: R,
    left: usize,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut size = String::new();
            if self.inner.read_line(&mut size)? == 0 {
                return Ok(0);
            }
            let hex = size.trim().split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(hex, 16)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            if self.left == 0 {
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n;
        if n > 0 && self.left == 0 {
            let mut crlf = String::new();
            self.inner.read_line(&mut crlf)?;
        }
        Ok(n)
    }
}

fn parse_sse(mut r: impl BufRead, tx: mpsc::Sender<Sse>) {
    let (mut id, mut event, mut data) = (None, String::new(), String::new());
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if !data.is_empty() {
                let v = serde_json::from_str(&data).unwrap_or(Value::String(data.clone()));
                let m = Sse {
                    id: id.take(),
                    event: std::mem::take(&mut event),
                    data: v,
                };
                if tx.send(m).is_err() {
                    return;
                }
            }
            id = None;
            event.clear();
            data.clear();
            continue;
        }
        if l.starts_with(':') {
            continue; // heartbeat comment
        }
        let (field, value) = l
            .split_once(':')
            .map(|(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)))
            .unwrap_or((l, ""));
        match field {
            "id" => id = Some(value.to_string()),
            "event" => event = value.to_string(),
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            _ => {}
        }
    }
}

impl Feed {
    /// Connect; returns once the response headers are in (the server has subscribed).
    fn open(addr: SocketAddr, query: &str, last_event_id: Option<i64>) -> Feed {
        let mut f = Feed::open_stalled(addr, query, last_event_id);
        f.resume_reading();
        f
    }

    /// Let a stalled client read.
    fn resume_reading(&mut self) {
        if let Some(g) = self.gate.take() {
            let _ = g.send(());
        }
    }

    /// Connect, but read nothing of the body until [`Feed::resume_reading`].
    fn open_stalled(addr: SocketAddr, query: &str, last_event_id: Option<i64>) -> Feed {
        let conn = TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(WAIT)).unwrap();
        let mut req = format!(
            "GET /api/v1/stream{query} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n"
        );
        if let Some(id) = last_event_id {
            req.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        req.push_str("\r\n");
        (&conn).write_all(req.as_bytes()).unwrap();
        let mut r = BufReader::new(conn.try_clone().unwrap());
        let mut status = String::new();
        r.read_line(&mut status).unwrap();
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "stream refused: {status}"
        );
        let mut chunked = false;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            let h = h.trim_end().to_ascii_lowercase();
            if h.is_empty() {
                break;
            }
            if h.starts_with("content-type:") {
                assert!(h.contains("text/event-stream"), "{h}");
            }
            if h.starts_with("transfer-encoding:") && h.contains("chunked") {
                chunked = true;
            }
        }
        conn.set_read_timeout(None).unwrap();
        let (tx, rx) = mpsc::channel();
        let (gate, wait) = mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            if wait.recv().is_err() {
                return;
            }
            if chunked {
                parse_sse(BufReader::new(Chunked { inner: r, left: 0 }), tx)
            } else {
                parse_sse(r, tx)
            }
        });
        Feed {
            conn,
            rx,
            seen: Vec::new(),
            reader: Some(reader),
            gate: Some(gate),
        }
    }

    /// What was received, for failure messages (the last 20 messages in full).
    fn dump(&self) -> String {
        let evs = self.events();
        let mut out = format!(
            "{} messages, {} stored events (seq {:?} to {:?})",
            self.seen.len(),
            evs.len(),
            evs.first().map(|m| m.seq()),
            evs.last().map(|m| m.seq())
        );
        for m in &self.seen[self.seen.len().saturating_sub(20)..] {
            out.push_str(&format!("\n{:?} {} {}", m.id, m.event, m.data));
        }
        out
    }

    /// Read until `pred` holds over everything received so far.
    fn wait(&mut self, what: &str, pred: impl Fn(&[Sse]) -> bool) {
        let end = Instant::now() + WAIT;
        while !pred(&self.seen) {
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; received:\n{}",
                self.dump()
            );
            match self.rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(m) => self.seen.push(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "stream ended while waiting for {what}; received:\n{}",
                    self.dump()
                ),
            }
        }
    }

    /// Everything that arrives within `d`.
    fn collect_for(&mut self, d: Duration) -> Vec<Sse> {
        let end = Instant::now() + d;
        let mut got = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.rx.recv_timeout(left) {
                Ok(m) => got.push(m),
                Err(_) => break,
            }
        }
        self.seen.extend(got.iter().cloned());
        got
    }

    /// Stored-event messages received so far.
    fn events(&self) -> Vec<&Sse> {
        self.seen.iter().filter(|m| m.is_event()).collect()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.gate = None;
        let _ = self.conn.shutdown(Shutdown::Both);
        if let Some(t) = self.reader.take() {
            let _ = t.join();
        }
    }
}

fn count_id(seen: &[Sse], id: &str) -> usize {
    seen.iter()
        .filter(|m| m.is_event() && m.event_id() == id)
        .count()
}

/// Every stored event arrives once: unique event ids and sequence numbers, the SSE
/// `id:` is the sequence, and sequences only grow.
fn assert_each_event_once(seen: &[Sse]) {
    let evs: Vec<&Sse> = seen.iter().filter(|m| m.is_event()).collect();
    let mut ids: Vec<&str> = evs.iter().map(|m| m.event_id()).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "an event id was delivered twice: {ids:?}");
    let seqs: Vec<i64> = evs.iter().map(|m| m.seq()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "sequences must strictly increase: {seqs:?}"
    );
    for m in &evs {
        assert_eq!(m.id.as_deref(), Some(m.seq().to_string().as_str()), "{m:?}");
        assert_eq!(m.ev()["seq"], m.seq(), "{m:?}");
    }
}

// ---------------------------------------------------------------------------
// Claude Code transcript lines

fn cc_line(session: &str, n: u32) -> String {
    format!(
        r#"{{"type":"assistant","timestamp":"2026-11-20T10:00:{n:02}.000Z","sessionId":"{session}","requestId":"req_{n:04}","version":"2.0.14","cwd":"/home/u/proj","uuid":"u-{n}","message":{{"id":"msg_{n:04}","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{{"type":"text","text":"reply {n}"}}],"usage":{{"input_tokens":{},"output_tokens":{},"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}}}}"#,
        100 + n,
        10 + n
    )
}

fn cc_id(n: u32) -> String {
    format!("cc:msg_{n:04}:req_{n:04}")
}

fn claude_root(sb: &Sandbox) -> (PathBuf, PathBuf) {
    let root = sb.path("claude");
    let dir = root.join("projects/-home-u-proj");
    std::fs::create_dir_all(&dir).unwrap();
    (root, dir)
}

#[test]
fn sse_follows_appends_partial_line_truncation_and_rotation() {
    let sb = Sandbox::new();
    let (root, dir) = claude_root(&sb);
    let file = dir.join("sess-a.jsonl");
    append(&file, &format!("{}\n", cc_line("sess-a", 1)));
    // A rescan only at start: everything after that has to come from change events.
    let serve = Serve::start(
        &sb,
        &["--claude-dir", root.to_str().unwrap()],
        &["--no-gateway", "--no-event-socket", "--rescan", "3600"],
    );
    // From the start of the store: the line already there, then the live ones.
    let mut feed = Feed::open(serve.addr, "?last_event_id=0", None);
    feed.wait("the line present at start", |s| count_id(s, &cc_id(1)) == 1);

    // An appended line.
    append(&file, &format!("{}\n", cc_line("sess-a", 2)));
    feed.wait("an appended line", |s| count_id(s, &cc_id(2)) == 1);

    // Half a line waits until it is complete.
    let l3 = cc_line("sess-a", 3);
    let (head, tail) = l3.split_at(l3.len() / 2);
    append(&file, head);
    let early = feed.collect_for(Duration::from_millis(1200));
    assert!(
        early.iter().all(|m| !m.is_event()),
        "half a line must not be read: {early:?}"
    );
    append(&file, &format!("{tail}\n"));
    feed.wait("the completed line", |s| count_id(s, &cc_id(3)) == 1);

    // Truncated and rewritten: read again from the start; the line seen before is
    // not delivered again, the new ones are.
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n{}\n",
            cc_line("sess-a", 4),
            cc_line("sess-a", 1),
            cc_line("sess-a", 5)
        ),
    )
    .unwrap();
    feed.wait("the lines of the rewritten file", |s| {
        count_id(s, &cc_id(4)) == 1 && count_id(s, &cc_id(5)) == 1
    });

    // Rotated: moved away, a new file at the same path. It starts with the same
    // line as the old one and is longer than what was read of it, so only its
    // identity tells it apart from an append.
    std::fs::rename(&file, dir.join("sess-a.jsonl.1")).unwrap();
    let rotated: String = [4, 6, 7, 8]
        .iter()
        .map(|&n| format!("{}\n", cc_line("sess-a", n)))
        .collect();
    append(&file, &rotated);
    feed.wait("the lines of the new file", |s| {
        (6..=8).all(|n| count_id(s, &cc_id(n)) == 1)
    });

    // A new session file appears (a re-plan). Anything delivered twice above would
    // have been sent before this one.
    append(
        &dir.join("sess-b.jsonl"),
        &format!("{}\n", cc_line("sess-b", 9)),
    );
    feed.wait("a line of a new file", |s| count_id(s, &cc_id(9)) == 1);

    assert_each_event_once(&feed.seen);
    let got: Vec<String> = feed
        .events()
        .iter()
        .map(|m| m.event_id().to_string())
        .collect();
    let want: Vec<String> = (1..=9).map(cc_id).collect();
    assert_eq!(got, want, "events in store order");
    for m in feed.events() {
        assert_eq!(m.kind(), "message.assistant");
        assert_eq!(m.ev()["source"], "claude");
    }
    let b = feed.events()[8].ev().clone();
    assert_eq!(b["session_key"], "sess-b");
    assert_eq!(b["tokens"]["input"], 109);
    assert_eq!(b["tokens"]["output"], 19);
    // The store agrees: one row per response.
    let stored = serve.events("type=message.assistant");
    assert_eq!(stored.len(), 9, "{stored:?}");
}

/// A client that gives no resume point starts at what is stored when it connects, also
/// right after a start on a store whose history an earlier run imported (nothing newly
/// published yet): it gets the new events, not the history.
#[test]
fn a_client_without_a_resume_point_gets_only_new_events() {
    let sb = Sandbox::new();
    let (root, dir) = claude_root(&sb);
    let file = dir.join("sess-n.jsonl");
    let history: String = (1..=3)
        .map(|n| format!("{}\n", cc_line("sess-n", n)))
        .collect();
    append(&file, &history);
    let root_arg = root.to_str().unwrap();
    sb.run(&["--claude-dir", root_arg, "import"]);
    let serve = Serve::start(
        &sb,
        &["--claude-dir", root_arg],
        &["--no-gateway", "--no-event-socket", "--rescan", "3600"],
    );
    let mut feed = Feed::open(serve.addr, "", None);
    append(&file, &format!("{}\n", cc_line("sess-n", 4)));
    feed.wait("the appended line", |s| count_id(s, &cc_id(4)) == 1);
    let got: Vec<&str> = feed.events().iter().map(|m| m.event_id()).collect();
    assert_eq!(got, vec![cc_id(4).as_str()], "{}", feed.dump());
    assert_eq!(serve.events("type=message.assistant").len(), 4);
}

#[test]
fn last_event_id_resume_misses_nothing() {
    let sb = Sandbox::new();
    let (root, dir) = claude_root(&sb);
    let file = dir.join("sess-r.jsonl");
    append(&file, &format!("{}\n", cc_line("sess-r", 1)));
    let serve = Serve::start(
        &sb,
        &["--claude-dir", root.to_str().unwrap()],
        &["--no-gateway", "--no-event-socket"],
    );
    wait_until("the first line in the store", WAIT, || {
        (serve.events("type=message.assistant").len() == 1).then_some(())
    });

    // A client that follows for a while, then goes away.
    let mut feed = Feed::open(serve.addr, "", None);
    append(&file, &format!("{}\n", cc_line("sess-r", 2)));
    append(&file, &format!("{}\n", cc_line("sess-r", 3)));
    feed.wait("lines 2 and 3", |s| {
        count_id(s, &cc_id(2)) == 1 && count_id(s, &cc_id(3)) == 1
    });
    assert_each_event_once(&feed.seen);
    let last = feed.events().last().unwrap().seq();
    drop(feed);

    // What it misses while away.
    for n in 4..=6 {
        append(&file, &format!("{}\n", cc_line("sess-r", n)));
        std::thread::sleep(Duration::from_millis(100));
    }
    let missed = wait_until("the missed lines in the store", WAIT, || {
        let rows = serve.events(&format!("after_seq={last}"));
        (rows.len() == 3).then_some(rows)
    });
    let missed_seqs: Vec<i64> = missed.iter().map(|r| r["seq"].as_i64().unwrap()).collect();

    // Back with Last-Event-ID: exactly the missed events, in order, then live ones.
    let mut feed = Feed::open(serve.addr, "", Some(last));
    feed.wait("the missed events", |s| {
        s.iter().filter(|m| m.is_event()).count() >= 3
    });
    let replayed: Vec<i64> = feed.events().iter().map(|m| m.seq()).collect();
    assert_eq!(replayed, missed_seqs, "the backlog is the missed events");
    append(&file, &format!("{}\n", cc_line("sess-r", 7)));
    feed.wait("a live event after the backlog", |s| {
        count_id(s, &cc_id(7)) == 1
    });
    // A marker: a repeat of anything above would have come before it.
    append(&file, &format!("{}\n", cc_line("sess-r", 8)));
    feed.wait("the marker", |s| count_id(s, &cc_id(8)) == 1);
    assert_each_event_once(&feed.seen);
    let got: Vec<String> = feed
        .events()
        .iter()
        .map(|m| m.event_id().to_string())
        .collect();
    let want: Vec<String> = (4..=8).map(cc_id).collect();
    assert_eq!(got, want);
    assert!(feed.events().iter().all(|m| m.seq() > last));

    // The query form resumes the same way; a malformed id is refused.
    let mut q = Feed::open(serve.addr, &format!("?last_event_id={last}"), None);
    q.wait("the same events via ?last_event_id", |s| {
        count_id(s, &cc_id(8)) == 1
    });
    let got_q: Vec<String> = q
        .events()
        .iter()
        .map(|m| m.event_id().to_string())
        .collect();
    assert_eq!(got_q, want);
    match ureq::get(&serve.url("/api/v1/stream"))
        .set("Last-Event-ID", "yesterday")
        .timeout(WAIT)
        .call()
    {
        Err(ureq::Error::Status(400, _)) => {}
        other => panic!("a malformed Last-Event-ID must be a 400: {other:?}"),
    }
}

/// The stored events a feed got must be exactly `from + 1 ..= to`: each sequence
/// number once, in order, none skipped (the store only inserts here, so sequence
/// numbers have no holes).
fn assert_contiguous(feed: &Feed, from: i64, to: i64, who: &str) {
    let seqs: Vec<i64> = feed.events().iter().map(|m| m.seq()).collect();
    let want: Vec<i64> = (from + 1..=to).collect();
    if seqs != want {
        let at = seqs
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(seqs.len().min(want.len()));
        panic!(
            "{who}: got {} events, want {} (seq {}..={to}); first difference at #{at}: got {:?}, want {:?}",
            seqs.len(),
            want.len(),
            from + 1,
            &seqs[at.saturating_sub(2)..(at + 3).min(seqs.len())],
            &want[at.saturating_sub(2)..(at + 3).min(want.len())],
        );
    }
}

#[test]
fn resume_while_events_flow_has_no_gaps_or_repeats() {
    const STEP: usize = 400;
    let sb = Sandbox::new();
    let sock = sb.path("ev.sock");
    let serve = Serve::start(
        &sb,
        &[],
        &["--no-gateway", "--event-socket", sock.to_str().unwrap()],
    );
    let mut first = Feed::open(serve.addr, "", Some(0));
    // A client that reads nothing until the flow is over.
    let mut stalled = Feed::open_stalled(serve.addr, "", Some(0));
    // Events flow until the test has every client in; returns how many were sent.
    let stop = Arc::new(AtomicBool::new(false));
    let producer = {
        let (sock, stop) = (sock.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let mut buf = String::new();
                for _ in 0..10 {
                    // Runs that start and finish, spread over a few sessions.
                    let (kind, run) = (["agent.started", "agent.finished"][i % 2], i / 2);
                    let v = json!({"type":kind,"session_key":format!("agent:load:s{}", run % 16),
                        "agent_id":"load","run_id":format!("r{run}")});
                    buf.push_str(&format!("{v}\n"));
                    i += 1;
                }
                if s.write_all(buf.as_bytes()).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            i
        })
    };
    // While the flow runs, clients join: resuming from wherever the first one got
    // to, and one without Last-Event-ID (it starts at the live position).
    let mut resumed: Vec<(i64, Feed)> = Vec::new();
    let mut live: Vec<Feed> = Vec::new();
    for k in 1..=5 {
        let want = k * STEP;
        first.wait(&format!("{want} events"), |s| {
            s.iter().filter(|m| m.is_event()).count() >= want
        });
        let last = first.events().last().unwrap().seq();
        resumed.push((last, Feed::open(serve.addr, "", Some(last))));
        live.push(Feed::open(serve.addr, "", None));
    }
    stop.store(true, Ordering::SeqCst);
    let sent = producer.join().unwrap() as i64;
    // One last event after the flow: every client, however late it joined, ends
    // with it.
    wait_until("the flow stored", WAIT, || {
        (serve.get("/api/v1/health")["store"]["events"] == sent).then_some(())
    });
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    writeln!(
        s,
        "{}",
        json!({"type":"agent.started","session_key":"agent:load:last","run_id":"last"})
    )
    .unwrap();
    drop(s);
    let n = sent + 1;
    let at_end = |s: &[Sse]| s.iter().rev().find(|m| m.is_event()).map(Sse::seq) == Some(n);
    first.wait("every event", at_end);
    assert_contiguous(&first, 0, n, "from 0");
    for (from, f) in &mut resumed {
        f.wait("every event", at_end);
        assert_contiguous(f, *from, n, &format!("resumed after {from}"));
    }
    for f in &mut live {
        f.wait("every event", at_end);
        let from = f.events()[0].seq() - 1;
        assert_contiguous(f, from, n, &format!("joined live at {from}"));
    }
    stalled.resume_reading();
    stalled.wait("every event", at_end);
    assert_contiguous(&stalled, 0, n, "stalled client");
    let health = serve.get("/api/v1/health");
    assert_eq!(health["store"]["events"], n, "{health}");
}

#[test]
fn lagging_client_is_caught_up_from_the_store() {
    // More than the bus buffers for one subscriber plus what the sockets hold.
    const N: usize = 20_000;
    let sb = Sandbox::new();
    let sock = sb.path("ev.sock");
    let serve = Serve::start(
        &sb,
        &[],
        &["--no-gateway", "--event-socket", sock.to_str().unwrap()],
    );
    let mut stalled = Feed::open_stalled(serve.addr, "?type=run.started,run.finished", None);
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    let mut buf = String::new();
    for i in 0..N {
        let (kind, run) = (["agent.started", "agent.finished"][i % 2], i / 2);
        let v = json!({"type":kind,"session_key":format!("agent:load:s{}", run % 16),"run_id":format!("r{run}")});
        buf.push_str(&format!("{v}\n"));
    }
    s.write_all(buf.as_bytes()).unwrap();
    drop(s);
    let n = N as i64;
    wait_until("every envelope stored", Duration::from_secs(60), || {
        (serve.get("/api/v1/health")["store"]["events"] == n).then_some(())
    });
    stalled.resume_reading();
    let end = Instant::now() + Duration::from_secs(60);
    while stalled.events().last().map(|m| m.seq()) != Some(n) {
        assert!(
            Instant::now() < end,
            "the stalled client never caught up: {} events",
            stalled.events().len()
        );
        stalled.collect_for(Duration::from_millis(200));
    }
    assert_contiguous(&stalled, 0, n, "the lagging client");
    assert!(
        serve.log_text().contains("lagged"),
        "precondition: the client lagged"
    );
}

// ---------------------------------------------------------------------------
// The native event stream

#[test]
fn native_event_socket_to_stream() {
    let sb = Sandbox::new();
    let sock = sb.path("ev.sock");
    let tcp = free_addr();
    let mut serve = Serve::start(
        &sb,
        &[],
        &[
            "--no-gateway",
            "--event-socket",
            sock.to_str().unwrap(),
            "--event-tcp",
            &tcp.to_string(),
        ],
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the socket is owner-only: {mode:o}");
    }
    let mut feed = Feed::open(serve.addr, "", None);
    let (parent, child) = ("agent:main:main", "agent:main:subagent:research-1");
    let t0 = now_ms();
    let mut unix = String::new();
    for v in [
        json!({"type":"agent.started","ts":t0,"session_key":parent,"agent_id":"main","run_id":"r1"}),
        json!({"type":"tool.call","ts":t0+10,"session_key":parent,"run_id":"r1","call_id":"c1","tool":"exec","args":{"command":"ls"}}),
    ] {
        unix.push_str(&format!("{v}\n"));
    }
    unix.push_str("this is not an envelope {\n");
    for v in [
        json!({"type":"tool.output","ts":t0+260,"session_key":parent,"run_id":"r1","call_id":"c1","output":"a.txt\nb.txt"}),
        json!({"type":"tool.call","ts":t0+300,"session_key":parent,"run_id":"r1","call_id":"c2","tool":"read","args":{"path":"/nope"}}),
        json!({"type":"tool.error","ts":t0+400,"session_key":parent,"run_id":"r1","call_id":"c2","error":{"message":"ENOENT: no such file"}}),
    ] {
        unix.push_str(&format!("{v}\n"));
    }
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    s.write_all(unix.as_bytes()).unwrap();
    drop(s);
    // The two connections are read concurrently; one producer's run ends on the other
    // only once its start is in.
    feed.wait("the Unix-socket envelopes", |s| {
        s.iter().filter(|m| m.is_event()).count() >= 5
    });

    // Over TCP, with camelCase names; a garbage line in the middle.
    let mut tcp_lines = String::new();
    for v in [
        json!({"type":"subagent.spawned","ts":t0+500,"sessionKey":child,"parentSessionKey":parent,"agentId":"main","runId":"r1","text":"research the thing"}),
        json!({"type":"llm.tokens","ts":t0+600,"sessionKey":child,"runId":"r2","step":1,"provider":"anthropic","model":"claude-sonnet-4-5","inputTokens":1200,"outputTokens":80,"contextTokens":1200,"contextWindow":200000}),
    ] {
        tcp_lines.push_str(&format!("{v}\n"));
    }
    tcp_lines.push_str("{\"type\":\"no.such.type\",\"session_key\":\"x\"}\n\u{1}\u{2}garbage\n");
    for v in [
        json!({"type":"llm.reasoning","ts":t0+650,"session_key":child,"run_id":"r2","step":1,"reasoning_tokens":30,"text":"thinking it over"}),
        json!({"type":"agent.finished","ts":t0+900,"session_key":parent,"run_id":"r1","text":"done"}),
    ] {
        tcp_lines.push_str(&format!("{v}\n"));
    }
    let mut s = TcpStream::connect(tcp).unwrap();
    s.write_all(tcp_lines.as_bytes()).unwrap();
    drop(s);

    feed.wait("all mapped envelopes", |s| {
        s.iter().filter(|m| m.is_event()).count() >= 9
    });
    let evs: Vec<Sse> = feed.events().into_iter().cloned().collect();
    let kinds: Vec<&str> = evs.iter().map(|m| m.kind()).collect();
    let by = |kind: &str, f: &dyn Fn(&Value) -> bool| -> Value {
        let hits: Vec<&Sse> = evs
            .iter()
            .filter(|m| m.kind() == kind && f(m.ev()))
            .collect();
        assert_eq!(hits.len(), 1, "one {kind} expected in {kinds:?}");
        hits[0].ev().clone()
    };
    let started = by("run.started", &|_| true);
    assert_eq!(started["session_key"], parent);
    assert_eq!(started["run_id"], "r1");
    let call = by("tool.call", &|e| e["tool"]["call_id"] == "c1");
    assert_eq!(call["tool"]["name"], "exec");
    let ok = by("tool.result", &|e| e["tool"]["call_id"] == "c1");
    assert_eq!(
        ok["tool"]["name"], "exec",
        "the result gets the call's tool"
    );
    assert_eq!(ok["tool"]["is_error"], false);
    assert_eq!(ok["timing"]["duration_ms"], 250);
    assert_eq!(ok["tool"]["result"], "a.txt\nb.txt");
    by("tool.call", &|e| e["tool"]["call_id"] == "c2");
    let failed = by("tool.result", &|e| e["tool"]["call_id"] == "c2");
    assert_eq!(failed["tool"]["is_error"], true);
    assert_eq!(failed["tool"]["name"], "read");
    assert_eq!(failed["timing"]["duration_ms"], 100);
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("ENOENT"),
        "{failed}"
    );
    let spawned = by("subagent.spawned", &|_| true);
    assert_eq!(spawned["session_key"], parent, "recorded in the parent");
    let attrs: Value = serde_json::from_str(spawned["attrs"].as_str().unwrap()).unwrap();
    assert_eq!(attrs["childSessionKey"], child);
    let usage = by("message.assistant", &|e| e["tokens"]["reasoning"] == 0);
    assert_eq!(usage["session_key"], child);
    assert_eq!(usage["tokens"]["input"], 1200);
    assert_eq!(usage["tokens"]["output"], 80);
    assert_eq!(usage["context_used"], 1200);
    let reasoning = by("message.assistant", &|e| e["tokens"]["reasoning"] != 0);
    assert_eq!(reasoning["session_key"], child);
    assert_eq!(reasoning["tokens"]["reasoning"], 30);
    let fin = by("run.finished", &|_| true);
    assert_eq!(fin["session_key"], parent);
    assert_eq!(evs.len(), 9, "nothing else: {kinds:?}");
    assert_each_event_once(&feed.seen);

    // The live table links the child to its parent.
    let sessions = wait_until("the sub-agent linked in the live table", WAIT, || {
        let v = serve.get("/api/v1/live/sessions");
        let rows = v["sessions"].as_array()?.clone();
        let c = rows.iter().find(|r| r["session_key"] == child)?;
        let p = rows.iter().find(|r| r["session_key"] == parent)?;
        let linked = c["parent_session_key"] == parent
            && p["children"]
                .as_array()
                .is_some_and(|k| k.iter().any(|x| x == child))
            && p["status"] == "idle";
        linked.then_some(rows)
    });
    let c = sessions.iter().find(|r| r["session_key"] == child).unwrap();
    assert_eq!(c["context_used"], 1200);
    assert_eq!(c["context_max"], 200000);
    let tree = serve.get(&format!("/api/v1/live/sessions/{parent}"));
    assert_eq!(tree["subagents"][0]["session_key"], child, "{tree}");

    // The garbage lines were refused, not fatal: both listeners still take producers.
    serve.assert_running();
    let t1 = now_ms();
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    writeln!(
        s,
        "{}",
        json!({"type":"agent.started","ts":t1,"session_key":"agent:main:later","run_id":"r9"})
    )
    .unwrap();
    drop(s);
    let mut s = TcpStream::connect(tcp).unwrap();
    writeln!(
        s,
        "{}",
        json!({"type":"agent.finished","ts":t1+5,"session_key":"agent:main:later","run_id":"r9"})
    )
    .unwrap();
    drop(s);
    feed.wait("envelopes after the garbage", |s| {
        s.iter()
            .any(|m| m.kind() == "run.finished" && m.ev()["session_key"] == "agent:main:later")
    });
    serve.assert_running();
}

#[test]
fn hung_session_is_reported() {
    let sb = Sandbox::new();
    let sock = sb.path("ev.sock");
    let mut serve = Serve::start(
        &sb,
        &[],
        &[
            "--no-gateway",
            "--event-socket",
            sock.to_str().unwrap(),
            "--hung-after",
            "2",
        ],
    );
    let key = "agent:main:stuck";
    let mut feed = Feed::open(serve.addr, &format!("?session={key}"), None);
    let sent = Instant::now();
    let mut s = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    for v in [
        json!({"type":"agent.started","session_key":key,"agent_id":"main","run_id":"r1"}),
        json!({"type":"tool.call","session_key":key,"run_id":"r1","call_id":"c1","tool":"exec","args":{"command":"sleep 999"}}),
    ] {
        writeln!(s, "{v}").unwrap();
    }
    drop(s);
    let is_session = |m: &Sse, status: &str| {
        m.event == "session"
            && m.data["session"]["session_key"] == key
            && m.data["session"]["status"] == status
    };
    feed.wait("the session active", |s| {
        s.iter().any(|m| is_session(m, "active"))
    });
    let row = wait_until("the session hung in the live table", WAIT, || {
        let v = serve.get("/api/v1/live/sessions?status=hung");
        v["sessions"]
            .as_array()?
            .iter()
            .find(|r| r["session_key"] == key)
            .cloned()
    });
    let took = sent.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "hung only after the threshold, not at once ({took:?})"
    );
    assert!(
        took <= Duration::from_secs(6),
        "hung within ~5 s ({took:?})"
    );
    assert_eq!(row["waiting_on"], "tool:exec");
    assert_eq!(row["open_runs"], json!(["r1"]));
    feed.wait("a hung session message", |s| {
        s.iter().any(|m| is_session(m, "hung"))
    });
    // Reported once, not on every tick.
    let more = feed.collect_for(Duration::from_millis(2500));
    assert!(
        !more.iter().any(|m| is_session(m, "hung")),
        "hung is published once: {more:?}"
    );
    let counts = serve.get("/api/v1/live/sessions")["counts"].clone();
    assert_eq!(counts["hung"], 1, "{counts}");
    serve.assert_running();
}

// ---------------------------------------------------------------------------
// A fake OpenClaw gateway (protocol v4) on a real WebSocket

type Ws = tungstenite::WebSocket<TcpStream>;

/// What the fake does with an authenticated connection (its index, from 0).
type Script = dyn Fn(usize, &mut Ws) + Send + Sync;

/// Every TCP connection the fake accepted: when, and the token the client presented.
type Attempts = Arc<Mutex<Vec<(Instant, Option<String>)>>>;

struct FakeGateway {
    addr: SocketAddr,
    /// Every connection made to it.
    attempts: Attempts,
}

fn send(ws: &mut Ws, v: &Value) -> tungstenite::Result<()> {
    ws.send(tungstenite::Message::text(v.to_string()))
}

fn is_timeout(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

/// Read (answering read RPCs) until `stop` says so or `max` passes; false when the
/// connection is gone.
fn pump(ws: &mut Ws, stop: &dyn Fn() -> bool, max: Duration) -> bool {
    let _ = ws
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(50)));
    let end = Instant::now() + max;
    while !stop() && Instant::now() < end {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                if v["type"] == "req" {
                    let res = json!({"type":"res","id":v["id"],"ok":true,
                        "payload":{"ok":true,"answered":v["method"],"sessions":[]}});
                    if send(ws, &res).is_err() {
                        return false;
                    }
                }
            }
            Ok(tungstenite::Message::Close(_)) => {
                let _ = ws.flush();
                return false;
            }
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return false,
        }
    }
    true
}

impl FakeGateway {
    fn start(token: &'static str, script: Arc<Script>) -> FakeGateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let attempts: Attempts = Arc::default();
        let log = attempts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let index = {
                    let mut a = log.lock().unwrap();
                    a.push((Instant::now(), None));
                    a.len() - 1
                };
                let (log, script) = (log.clone(), script.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, index, token, &log, script.as_ref());
                });
            }
        });
        FakeGateway { addr, attempts }
    }

    fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    fn attempts(&self) -> Vec<(Instant, Option<String>)> {
        self.attempts.lock().unwrap().clone()
    }
}

/// The v4 handshake, then the script (or a refusal).
fn handle(
    stream: TcpStream,
    index: usize,
    token: &str,
    log: &Mutex<Vec<(Instant, Option<String>)>>,
    script: &Script,
) -> tungstenite::Result<()> {
    stream.set_read_timeout(Some(WAIT))?;
    let mut ws = tungstenite::accept(stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => {
            tungstenite::Error::Io(std::io::ErrorKind::WouldBlock.into())
        }
    })?;
    send(
        &mut ws,
        &json!({"type":"event","event":"connect.challenge","payload":{"nonce":format!("nonce-{index}"),"ts":now_ms()}}),
    )?;
    let req = loop {
        let m = ws.read()?;
        let Ok(text) = m.to_text() else { continue };
        let v: Value = serde_json::from_str(text).unwrap_or_default();
        if v["type"] == "req" && v["method"] == "connect" {
            break v;
        }
    };
    let given = req["params"]["auth"]["token"].as_str().map(str::to_string);
    log.lock().unwrap()[index].1 = given.clone();
    assert_eq!(req["params"]["minProtocol"], 4);
    if given.as_deref() != Some(token) {
        send(
            &mut ws,
            &json!({"type":"res","id":req["id"],"ok":false,"error":{"code":"UNAUTHORIZED",
                "message":"unauthorized: gateway token mismatch (token_mismatch)"}}),
        )?;
        ws.close(Some(tungstenite::protocol::CloseFrame {
            code: tungstenite::protocol::frame::coding::CloseCode::Policy,
            reason: "unauthorized".into(),
        }))?;
        pump(&mut ws, &|| false, Duration::from_secs(2));
        return Ok(());
    }
    send(
        &mut ws,
        &json!({"type":"res","id":req["id"],"ok":true,"payload":{"type":"hello-ok","protocol":4,
            "server":{"version":"2026.9.6-fake","connId":format!("conn-{index}")},
            "features":{"methods":[],"events":["agent","health","tick"]},"snapshot":{},
            "policy":{"tickIntervalMs":30000}}}),
    )?;
    script(index, &mut ws);
    Ok(())
}

const GW_SESSION: &str = "agent:main:main";

fn agent_frame(run: &str, stream: &str, data: Value, ts: i64) -> Value {
    json!({"type":"event","event":"agent","payload":{"runId":run,"sessionKey":GW_SESSION,
        "sessionId":"s-gw","agentId":"main","stream":stream,"data":data,"ts":ts}})
}

/// A run with one tool: lifecycle start, tool item start and end, lifecycle end.
fn run_frames(run: &str, call: &str, tool: &str, status: &str, t: i64) -> Vec<Value> {
    vec![
        agent_frame(run, "lifecycle", json!({"phase":"start","startedAt":t}), t),
        agent_frame(
            run,
            "item",
            json!({"itemId":format!("tool:{call}"),"toolCallId":call,"name":tool,"kind":"tool",
                "phase":"start","status":"running","startedAt":t+100}),
            t + 101,
        ),
        agent_frame(
            run,
            "item",
            json!({"itemId":format!("tool:{call}"),"toolCallId":call,"name":tool,"kind":"tool",
                "phase":"end","status":status,"startedAt":t+100,"endedAt":t+350}),
            t + 351,
        ),
        agent_frame(
            run,
            "lifecycle",
            json!({"phase":"end","startedAt":t,"endedAt":t+500,"stopReason":"stop"}),
            t + 500,
        ),
    ]
}

#[test]
fn gateway_restart_mid_stream_reconnects_without_duplicates() {
    let t = now_ms();
    let first = run_frames("r1", "c1", "exec", "completed", t);
    let second = run_frames("r2", "c2", "read", "failed", t + 1000);
    let drop_now = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let (d, f1, f2, fin) = (
        drop_now.clone(),
        first.clone(),
        second.clone(),
        done.clone(),
    );
    let script: Arc<Script> = Arc::new(move |index, ws: &mut Ws| {
        if !pump(ws, &|| false, Duration::from_millis(200)) {
            return;
        }
        if index == 0 {
            // A run, a streaming delta; then the gateway goes away without a goodbye.
            for (i, fr) in f1.iter().enumerate() {
                if i == 3 {
                    let delta =
                        agent_frame("r1", "assistant", json!({"delta":"all done"}), t + 400);
                    let _ = send(ws, &delta);
                }
                let _ = send(ws, fr);
            }
            pump(ws, &|| d.load(Ordering::SeqCst), WAIT);
            let _ = ws.get_mut().shutdown(Shutdown::Both);
            return;
        }
        // After the restart the gateway replays part of the old run, then a new one.
        let mut frames = vec![f1[2].clone(), f1[3].clone(), f1[0].clone()];
        frames.extend(f2.iter().cloned());
        for fr in &frames {
            let _ = send(ws, fr);
        }
        pump(ws, &|| fin.load(Ordering::SeqCst), Duration::from_secs(60));
    });
    let gw = FakeGateway::start("s3cret-token", script);
    let sb = Sandbox::new();
    let serve = Serve::start(
        &sb,
        &[],
        &[
            "--gateway",
            &gw.url(),
            "--gateway-token",
            "s3cret-token",
            "--no-event-socket",
        ],
    );
    let mut feed = Feed::open(serve.addr, "", Some(0));
    let has = |s: &[Sse], id: &str| count_id(s, id) >= 1;
    feed.wait("the first run", |s| has(s, "ocws:run:r1:end"));
    feed.wait("the streaming delta", |s| {
        s.iter()
            .any(|m| m.event == "live" && m.data["live"]["kind"] == "live.assistant")
    });
    let st = serve.get("/api/v1/gateway");
    assert_eq!(st["state"], "connected", "{st}");
    assert_eq!(st["server_version"], "2026.9.6-fake", "{st}");
    assert_eq!(st["connects"], 1, "{st}");
    wait_until("the read RPCs answered", WAIT, || {
        let st = serve.get("/api/v1/gateway");
        (st["rpc"]["health"]["answered"] == "health").then_some(())
    });

    // The gateway restarts.
    drop_now.store(true, Ordering::SeqCst);
    feed.wait("the run after the restart", |s| has(s, "ocws:run:r2:end"));
    let st = serve.get("/api/v1/gateway");
    assert!(st["connects"].as_u64().unwrap() >= 2, "{st}");
    assert_eq!(st["state"], "connected", "{st}");
    assert_eq!(
        gw.attempts()
            .iter()
            .filter(|a| a.1.as_deref() == Some("s3cret-token"))
            .count(),
        gw.attempts().len(),
        "every connect carries the token"
    );

    // Each run and tool once, on the feed and in the store.
    assert_each_event_once(&feed.seen);
    let kinds: Vec<(String, String)> = feed
        .events()
        .iter()
        .map(|m| (m.kind().to_string(), m.event_id().to_string()))
        .collect();
    let want = [
        ("run.started", "ocws:run:r1:start"),
        ("tool.started", "ocws:tool:r1:c1:start"),
        ("tool.finished", "ocws:tool:r1:c1:end"),
        ("run.finished", "ocws:run:r1:end"),
        ("run.started", "ocws:run:r2:start"),
        ("tool.started", "ocws:tool:r2:c2:start"),
        ("tool.finished", "ocws:tool:r2:c2:end"),
        ("run.finished", "ocws:run:r2:end"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, i)| (k.to_string(), i.to_string()))
        .collect();
    assert_eq!(kinds, want);
    for (kind, runs) in [
        ("run.started", ["r1", "r2"]),
        ("run.finished", ["r1", "r2"]),
        ("tool.finished", ["r1", "r2"]),
    ] {
        let rows = serve.events(&format!("type={kind}"));
        let got: Vec<&str> = rows.iter().map(|r| r["run_id"].as_str().unwrap()).collect();
        assert_eq!(got, runs, "{kind}: {rows:?}");
    }
    let tools = serve.events("type=tool.finished");
    assert_eq!(tools[0]["tool"]["is_error"], false);
    assert_eq!(tools[0]["timing"]["duration_ms"], 250);
    assert_eq!(tools[1]["tool"]["is_error"], true);
    assert_eq!(tools[1]["tool"]["name"], "read");
    let live = wait_until("the session idle after both runs", WAIT, || {
        let v = serve.get("/api/v1/live/sessions");
        v["sessions"]
            .as_array()?
            .iter()
            .find(|r| r["session_key"] == GW_SESSION && r["status"] == "idle")
            .cloned()
    });
    assert_eq!(live["open_runs"], json!([]));
    done.store(true, Ordering::SeqCst);
}

#[test]
fn wrong_token_is_reported_and_retried_with_backoff() {
    let script: Arc<Script> = Arc::new(|_, _: &mut Ws| panic!("no connection is accepted"));
    let gw = FakeGateway::start("the-right-token", script);
    let sb = Sandbox::new();
    let mut serve = Serve::start(
        &sb,
        &[],
        &[
            "--gateway",
            &gw.url(),
            "--gateway-token",
            "a-wrong-token",
            "--no-event-socket",
        ],
    );
    let st = wait_until("the gateway reported unauthorized", WAIT, || {
        let st = serve.get("/api/v1/gateway");
        (st["state"] == "unauthorized").then_some(st)
    });
    let err = st["last_error"].as_str().unwrap_or("");
    assert!(err.contains("token_mismatch"), "{st}");
    assert!(err.contains("token"), "{st}");
    assert_eq!(st["connects"], 0, "{st}");

    // Over ~4 s after the first attempt: a handful of retries, spaced ever wider.
    let first = gw.attempts()[0].0;
    std::thread::sleep((first + Duration::from_secs(4)).saturating_duration_since(Instant::now()));
    let times: Vec<Instant> = gw
        .attempts()
        .iter()
        .map(|a| a.0)
        .filter(|t| *t <= first + Duration::from_secs(4))
        .collect();
    assert!(
        (2..=6).contains(&times.len()),
        "retried with backoff, not in a loop: {} attempts in 4 s",
        times.len()
    );
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[0] >= Duration::from_millis(400),
        "first retry after the minimum backoff: {gaps:?}"
    );
    assert!(
        gaps.windows(2).all(|w| w[1] > w[0]),
        "the backoff grows: {gaps:?}"
    );
    assert!(
        gw.attempts()
            .iter()
            .all(|a| a.1.as_deref() == Some("a-wrong-token")),
        "the configured token is presented: {:?}",
        gw.attempts()
    );
    let st = serve.get("/api/v1/gateway");
    assert_eq!(st["state"], "unauthorized", "{st}");
    assert!(st["failures"].as_u64().unwrap() >= 2, "{st}");
    // Still serving.
    serve.assert_running();
    assert_eq!(serve.get("/api/v1/health")["status"], "ok");
    assert!(serve.get("/api/v1/live/sessions")["sessions"].is_array());
}
