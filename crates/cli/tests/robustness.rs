//! Bad input is skipped with a count and a reason; a killed import resumes to the
//! same totals as one clean run; a partial trailing line waits until complete.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use common::{openclaw_home, Sandbox};
use serde_json::Value;

fn usage_line(msg: &str, req: &str, ts: &str, input: u64, output: u64) -> String {
    format!(
        r#"{{"type":"assistant","timestamp":"{ts}","sessionId":"s","requestId":"{req}","version":"2.0.14","message":{{"id":"{msg}","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":{input},"output_tokens":{output},"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}}}}"#
    )
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn bad_input_is_counted_and_skipped() {
    let sb = Sandbox::new();
    let root = sb.path("claude");
    let p = root.join("projects/proj");
    let mut good = String::new();
    good.push_str(&usage_line("m1", "r1", "2026-09-01T10:00:00Z", 100, 10));
    good.push('\n');
    // a JSON null where ccusage rejects the line
    good.push_str(r#"{"timestamp":"2026-09-01T10:01:00Z","costUSD":null,"message":{"id":"m2","model":"x","usage":{"input_tokens":5}}}"#);
    good.push('\n');
    // a truncated line
    good.push_str(
        r#"{"timestamp":"2026-09-01T10:02:00Z","message":{"id":"m3","usage":{"input_tok"#,
    );
    good.push('\n');
    let mut bytes = good.into_bytes();
    // invalid UTF-8 inside a field that is read
    bytes.extend_from_slice(b"{\"timestamp\":\"2026-09-01T10:03:00Z\",\"message\":{\"id\":\"m\xff\xfe\",\"model\":\"x\",\"usage\":{\"input_tokens\":1}}}\n");
    // null usage fields on an otherwise good line are zeros, not a crash
    bytes.extend_from_slice(
        usage_line("m5", "r5", "2026-09-01T10:04:00Z", 7, 3)
            .replace("\"output_tokens\":3", "\"output_tokens\":null")
            .as_bytes(),
    );
    bytes.push(b'\n');
    write(&p.join("a.jsonl"), &bytes);
    // a 50 MB line, then a good line after it
    let mut big = Vec::with_capacity(50 * 1024 * 1024 + 1000);
    big.extend_from_slice(
        br#"{"timestamp":"2026-09-01T11:00:00Z","message":{"usage":{"input_tokens":1},"content":""#,
    );
    big.resize(50 * 1024 * 1024, b'x');
    big.extend_from_slice(b"\"}}\n");
    big.extend_from_slice(usage_line("m6", "r6", "2026-09-01T11:01:00Z", 1, 1).as_bytes());
    big.push(b'\n');
    write(&p.join("big.jsonl"), &big);
    // an unreadable file: a dangling link
    std::os::unix::fs::symlink(sb.path("nowhere.jsonl"), p.join("gone.jsonl")).unwrap();

    let r = sb.json(&["--claude-dir", root.to_str().unwrap(), "import", "--json"]);
    let c = &r["report"]["sources"]["claude"];
    assert_eq!(c["inserted"], 3, "{c}");
    let skipped = c["skipped"].as_object().unwrap();
    assert_eq!(skipped["null_field"], 1, "{c}");
    assert_eq!(skipped["invalid_json"], 1, "{c}");
    assert_eq!(skipped["invalid_utf8"], 1, "{c}");
    assert_eq!(skipped["line_too_long"], 1, "{c}");
    assert_eq!(skipped["unreadable"], 1, "{c}");
    let examples = c["skip_examples"].as_array().unwrap();
    assert!(examples
        .iter()
        .any(|e| e["path"].as_str().unwrap().ends_with("gone.jsonl")));
    let daily = sb.json(&[
        "--claude-dir",
        root.to_str().unwrap(),
        "report",
        "daily",
        "--json",
        "--offline",
    ]);
    assert_eq!(daily["totals"]["input_tokens"], 108);
    assert_eq!(daily["totals"]["output_tokens"], 11);
}

#[test]
fn partial_trailing_line_waits_and_copies_keep_the_largest() {
    let sb = Sandbox::new();
    let root = sb.path("claude");
    let file = root.join("projects/p/sess.jsonl");
    // a streaming copy with partial output, then half of the final copy
    let first = usage_line("m1", "r1", "2026-09-01T10:00:00Z", 100, 5);
    let last = usage_line("m1", "r1", "2026-09-01T10:00:01Z", 100, 50);
    let (head, tail) = last.split_at(40);
    write(&file, format!("{first}\n{head}").as_bytes());
    let args = [
        "--claude-dir",
        root.to_str().unwrap(),
        "report",
        "daily",
        "--json",
    ];
    let r = sb.json(&args);
    assert_eq!(
        r["totals"]["output_tokens"], 5,
        "the half line is not read yet"
    );
    assert_eq!(r["totals"]["entries"], 1);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    f.write_all(format!("{tail}\n").as_bytes()).unwrap();
    let r = sb.json(&args);
    assert_eq!(
        r["totals"]["output_tokens"], 50,
        "the completed copy is larger and wins: {r}"
    );
    assert_eq!(r["totals"]["entries"], 1, "still one response");
    // truncation: the file is rewritten shorter; re-reading it changes nothing (stable ids)
    write(&file, format!("{first}\n").as_bytes());
    let r = sb.json(&args);
    assert_eq!(r["totals"]["output_tokens"], 50);
    assert_eq!(r["totals"]["entries"], 1);
}

#[test]
fn locked_agent_database_is_skipped_and_the_rest_imported() {
    let sb = Sandbox::new();
    let home = sb.path("oc");
    copy_dir(&openclaw_home("sqlite").join(".openclaw"), &home);
    let db = home.join("agents/ops/agent/openclaw-agent.sqlite");
    let holder = Killer(rusqlite_lock(&db));
    let r = sb.json(&["--openclaw-dir", home.to_str().unwrap(), "import", "--json"]);
    drop(holder);
    let oc = &r["report"]["sources"]["openclaw"];
    assert_eq!(oc["skipped"]["locked"], 1, "{oc}");
    let s = sb.json(&[
        "--openclaw-dir",
        home.to_str().unwrap(),
        "report",
        "session",
        "--json",
        "--offline",
    ]);
    let rows = common::rows_by(&s, "session_key");
    assert_eq!(rows["agent:main:main"]["assistant_messages"], 17);
    // the state DB still knows the ops agent's task runs, but not its transcript
    assert_eq!(
        rows.get("agent:ops:main")
            .map(|r| r["assistant_messages"].as_u64()),
        Some(Some(0))
    );
    // once the lock is gone the next import picks the agent up
    sb.json(&["--openclaw-dir", home.to_str().unwrap(), "import", "--json"]);
    let s = sb.json(&[
        "--openclaw-dir",
        home.to_str().unwrap(),
        "report",
        "session",
        "--json",
        "--offline",
    ]);
    assert_eq!(s["totals"]["total_tokens"], 88926);
}

/// Hold an exclusive lock on a rollback-journal database from another process.
fn rusqlite_lock(db: &Path) -> std::process::Child {
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\ntime.sleep(60)")
        .arg(db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 for the lock holder");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

struct Killer(std::process::Child);
impl Drop for Killer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// A corpus big enough that an import takes a while: many files of usage lines with copies.
fn write_corpus(root: &Path, files: usize, lines: usize) {
    for f in 0..files {
        let mut s = String::with_capacity(lines * 400);
        for i in 0..lines {
            let (msg, req) = (format!("msg_{f}_{}", i / 2), format!("req_{f}_{}", i / 2));
            let ts = format!("2026-09-{:02}T{:02}:{:02}:00Z", 1 + f % 28, i % 24, i % 60);
            // every response appears twice: a streaming copy and the final one
            s.push_str(&usage_line(
                &msg,
                &req,
                &ts,
                100 + i as u64,
                if i % 2 == 0 { 1 } else { 40 },
            ));
            s.push('\n');
        }
        write(
            &root.join(format!("projects/p{}/s{f:04}.jsonl", f % 7)),
            s.as_bytes(),
        );
    }
}

fn totals(sb: &Sandbox, root: &Path) -> Value {
    let r = sb.json(&[
        "--claude-dir",
        root.to_str().unwrap(),
        "report",
        "daily",
        "--json",
        "--offline",
        "-z",
        "UTC",
    ]);
    r["totals"].clone()
}

#[test]
fn killed_import_resumes_to_the_same_totals() {
    let data = Sandbox::new();
    let root = data.path("claude");
    write_corpus(&root, 300, 2000);
    let root_s = root.to_str().unwrap();

    let clean = Sandbox::new();
    let started = Instant::now();
    clean.run(&["--claude-dir", root_s, "import", "--threads", "1"]);
    let full_time = started.elapsed();
    let want = totals(&clean, &root);
    assert_eq!(want["entries"], 300 * 1000);

    let victim = Sandbox::new();
    let mut partial_seen = false;
    for frac in [0.2, 0.45, 0.7] {
        let child = victim
            .cmd()
            .args(["--claude-dir", root_s, "import", "--threads", "1"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut k = Killer(child);
        std::thread::sleep(full_time.mul_f64(frac));
        if k.0.try_wait().unwrap().is_none() {
            k.0.kill().unwrap(); // SIGKILL: no chance to clean up
            let _ = k.0.wait();
        }
        let got = totals(&victim, &root);
        let n = got["entries"].as_u64().unwrap();
        if n > 0 && n < 300 * 1000 {
            partial_seen = true;
        }
    }
    assert!(
        partial_seen,
        "no kill landed mid-import (full import took {full_time:?}); the test proved nothing"
    );
    victim.run(&["--claude-dir", root_s, "import"]);
    assert_eq!(
        totals(&victim, &root),
        want,
        "resumed totals equal one clean run"
    );
    // and nothing is left to read
    let again = victim.json(&["--claude-dir", root_s, "import", "--json"]);
    assert_eq!(again["report"]["sources"]["claude"]["bytes"], 0);
    assert_eq!(again["report"]["sources"]["claude"]["inserted"], 0);
}

#[test]
fn half_hour_zones_split_days_at_local_midnight() {
    let sb = Sandbox::new();
    let root = sb.path("claude");
    // 23:50 and 00:10 in India (UTC+5:30): one UTC hour, two local days.
    let lines = [
        usage_line("m1", "r1", "2026-09-01T18:20:00Z", 10, 1),
        usage_line("m2", "r2", "2026-09-01T18:40:00Z", 20, 2),
    ];
    write(
        &root.join("projects/p/s.jsonl"),
        format!("{}\n{}\n", lines[0], lines[1]).as_bytes(),
    );
    let r = sb.json(&[
        "--claude-dir",
        root.to_str().unwrap(),
        "report",
        "daily",
        "--json",
        "-z",
        "Asia/Kolkata",
    ]);
    let days: Vec<(String, u64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["input_tokens"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-09-01".to_string(), 10),
            ("2026-09-02".to_string(), 20)
        ]
    );
    let utc = sb.json(&[
        "--claude-dir",
        root.to_str().unwrap(),
        "report",
        "daily",
        "--json",
        "-z",
        "UTC",
        "--offline",
    ]);
    assert_eq!(utc["rows"].as_array().unwrap().len(), 1);
    assert_eq!(utc["rows"][0]["input_tokens"], 30);
}
