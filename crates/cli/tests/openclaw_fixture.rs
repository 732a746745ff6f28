//! The real OpenClaw 2026.9.6 fixture, both layouts: per-session totals equal the
//! independently computed expected totals; re-imports change nothing; both layouts
//! into one store count once.

mod common;

use common::{expected_totals, openclaw_home, rows_by, Sandbox};
use serde_json::Value;

fn check_against_expected(report: &Value) {
    let expected = expected_totals();
    let rows = rows_by(report, "session_key");
    let per_key = expected["per_session_key"]
        .as_object()
        .expect("per_session_key");
    assert_eq!(
        rows.len(),
        per_key.len(),
        "sessions: {:?}",
        rows.keys().collect::<Vec<_>>()
    );
    for (key, e) in per_key {
        let r = rows
            .get(key)
            .unwrap_or_else(|| panic!("session {key} missing"));
        let pairs = [
            ("input_tokens", "input"),
            ("output_tokens", "output"),
            ("cache_read_tokens", "cacheRead"),
            ("cache_write_tokens", "cacheWrite"),
            ("reasoning_tokens", "reasoningTokens"),
            ("total_tokens", "totalTokens"),
            ("assistant_messages", "assistant_messages"),
            ("tool_calls", "tool_calls"),
            ("tool_errors", "tool_errors"),
            ("tool_results", "tool_results"),
            ("user_messages", "user_messages"),
            ("assistant_errors", "assistant_errors"),
        ];
        for (ours, theirs) in pairs {
            assert_eq!(
                r[ours].as_u64(),
                e[theirs].as_u64(),
                "{key}: {ours} vs expected {theirs}"
            );
        }
        let cost = r["cost_usd"].as_f64().expect("cost");
        let want = e["cost_total"].as_f64().expect("expected cost");
        assert!(
            (cost - want).abs() <= 1e-9 * want.max(1.0),
            "{key}: cost {cost} vs {want}"
        );
        assert_eq!(
            r["cost_source"], "reported",
            "{key}: OpenClaw reports its own cost"
        );
    }
    let sub = rows
        .iter()
        .find(|(k, _)| k.contains(":subagent:"))
        .map(|(_, r)| *r)
        .expect("sub-agent session");
    assert_eq!(sub["parent_session_key"], "agent:main:main");
    let grand = &expected["grand_total"];
    assert_eq!(
        report["totals"]["total_tokens"].as_u64(),
        grand["totalTokens"].as_u64()
    );
}

fn import_json(sb: &Sandbox, home: &std::path::Path) -> Value {
    sb.json(&["--openclaw-dir", home.to_str().unwrap(), "import", "--json"])
}

fn session_report(sb: &Sandbox, home: &std::path::Path) -> Value {
    sb.json(&[
        "--openclaw-dir",
        home.to_str().unwrap(),
        "report",
        "session",
        "--json",
        "--offline",
    ])
}

#[test]
fn sqlite_layout_matches_expected_totals() {
    let sb = Sandbox::new();
    let home = openclaw_home("sqlite");
    let first = import_json(&sb, &home);
    let oc = &first["report"]["sources"]["openclaw"];
    assert!(oc["inserted"].as_u64().unwrap() > 100);
    assert_eq!(
        oc["skipped"].as_object().map(|m| m.len()),
        Some(0),
        "no skips on real data: {oc}"
    );
    check_against_expected(&session_report(&sb, &home));

    // a second import reads nothing new and changes no total
    let again = import_json(&sb, &home);
    let oc = &again["report"]["sources"]["openclaw"];
    assert_eq!(oc["inserted"], 0);
    assert_eq!(oc["updated"], 0);
    assert_eq!(
        oc["records"], 0,
        "unchanged databases are not re-read: {oc}"
    );
    check_against_expected(&session_report(&sb, &home));
}

#[test]
fn legacy_layout_matches_expected_totals() {
    let sb = Sandbox::new();
    let home = openclaw_home("legacy");
    import_json(&sb, &home);
    check_against_expected(&session_report(&sb, &home));
    let again = import_json(&sb, &home);
    assert_eq!(again["report"]["sources"]["openclaw"]["inserted"], 0);
    assert_eq!(again["report"]["sources"]["openclaw"]["bytes"], 0);
}

#[test]
fn both_layouts_in_one_store_count_once() {
    let sb = Sandbox::new();
    let sqlite = openclaw_home("sqlite");
    let legacy = openclaw_home("legacy");
    sb.json(&[
        "--openclaw-dir",
        sqlite.to_str().unwrap(),
        "--openclaw-dir",
        legacy.to_str().unwrap(),
        "import",
        "--json",
    ]);
    check_against_expected(&session_report(&sb, &sqlite));
}

#[test]
fn no_db_scan_gives_the_same_totals_without_a_store() {
    let sb = Sandbox::new();
    let home = openclaw_home("sqlite");
    let r = sb.json(&[
        "--openclaw-dir",
        home.to_str().unwrap(),
        "report",
        "session",
        "--json",
        "--no-db",
    ]);
    check_against_expected(&r);
    assert!(!sb.store().exists(), "--no-db must not create the store");
}

#[test]
fn show_pairs_tool_calls_and_links_sub_agents() {
    let sb = Sandbox::new();
    let home = openclaw_home("sqlite");
    let h = home.to_str().unwrap();
    let out = sb.run(&["--openclaw-dir", h, "show", "agent:main:main"]);
    assert!(out.contains("→ exec"), "{out}");
    assert!(
        out.contains("✗ ERROR"),
        "the failing read is shown as an error:\n{out}"
    );
    assert!(
        out.contains("ERROR server_error"),
        "the provider 500 is shown:\n{out}"
    );
    assert!(
        out.contains("SPAWN      sub-agent agent:main:subagent:"),
        "{out}"
    );
    assert_eq!(
        out.matches("SPAWN      sub-agent").count(),
        1,
        "the spawn in the transcript and the state DB's row of the same run are one event:\n{out}"
    );
    assert!(
        out.contains("↳ agent:main:subagent:"),
        "children listed:\n{out}"
    );
    let json = sb.json(&[
        "--openclaw-dir",
        h,
        "show",
        "subagent",
        "--json",
        "--offline",
    ]);
    assert_eq!(json["session"]["parent_session_key"], "agent:main:main");
    // every tool call in the main session has a result with the same call id
    let main = sb.json(&[
        "--openclaw-dir",
        h,
        "show",
        "agent:main:main",
        "--json",
        "--offline",
    ]);
    let events = main["events"].as_array().unwrap();
    let ids = |kind: &str| -> Vec<String> {
        let mut v: Vec<String> = events
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| e["tool"]["call_id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids("tool.call").len(), 7);
    assert_eq!(ids("tool.call"), ids("tool.result"));
}

#[test]
fn report_json_contract() {
    let sb = Sandbox::new();
    let home = openclaw_home("legacy");
    let h = home.to_str().unwrap();
    for kind in [
        "daily", "weekly", "monthly", "model", "project", "agent", "session", "blocks",
    ] {
        let r = sb.json(&["--openclaw-dir", h, "report", kind, "--json", "-z", "UTC"]);
        assert!(r["rows"].is_array(), "{kind}: rows");
        for field in [
            "input_tokens",
            "output_tokens",
            "cache_write_tokens",
            "cache_read_tokens",
            "reasoning_tokens",
            "total_tokens",
            "cost_usd",
        ] {
            assert!(
                r["totals"][field].is_number(),
                "{kind}: totals.{field} in {}",
                r["totals"]
            );
            assert!(r["rows"][0][field].is_number(), "{kind}: rows[0].{field}");
        }
        assert_eq!(r["totals"]["total_tokens"], 88926, "{kind}");
    }
    let daily = sb.json(&[
        "--openclaw-dir",
        h,
        "report",
        "daily",
        "--json",
        "-z",
        "UTC",
        "--offline",
    ]);
    assert_eq!(daily["rows"][0]["date"], "2026-11-21");
    // the same day seen from UTC+14 is the next day
    let kiri = sb.json(&[
        "--openclaw-dir",
        h,
        "report",
        "daily",
        "--json",
        "-z",
        "Pacific/Kiritimati",
        "--offline",
    ]);
    assert_eq!(kiri["rows"][0]["date"], "2026-11-22");
    let csv = sb.run(&["--openclaw-dir", h, "report", "model", "--csv", "--offline"]);
    assert!(csv.starts_with("model,models,input_tokens"), "{csv}");
    assert!(csv.contains("claude-mock"));
}

#[test]
fn status_search_and_anomalies_run() {
    let sb = Sandbox::new();
    let home = openclaw_home("sqlite");
    let h = home.to_str().unwrap();
    sb.run(&["--openclaw-dir", h, "import"]);
    let hits = sb.json(&[
        "--openclaw-dir",
        h,
        "search",
        "capital",
        "France",
        "--json",
        "--offline",
    ]);
    let rows = hits["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["session_key"] == "agent:main:main"));
    let st = sb.json(&["--openclaw-dir", h, "status", "--json", "--offline"]);
    assert_eq!(st["sessions"], 4);
    let an = sb.json(&[
        "--openclaw-dir",
        h,
        "anomalies",
        "--json",
        "--offline",
        "--session-usd",
        "0.1",
    ]);
    let found = an["rows"].as_array().unwrap();
    assert_eq!(
        found.len(),
        1,
        "only agent:main:main costs more than $0.10: {an}"
    );
    assert_eq!(found[0]["session_key"], "agent:main:main");
}

#[test]
fn bad_arguments_fail_clearly() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["report", "daily", "--since", "last tuesday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read \"last tuesday\" as a date"));
    let out = sb
        .cmd()
        .args(["--openclaw-dir", "/no/such/dir", "import"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dir does not exist"));
    let out = sb
        .cmd()
        .args(["report", "daily", "-z", "Mars/Olympus"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown time zone"));
    let out = sb
        .cmd()
        .args(["serve", "--listen", "0.0.0.0:3999"])
        .env_remove("CLAWSCOPE_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("without a token"));
    // options a command cannot honour are refused, not ignored
    for (args, says) in [
        (
            &["report", "daily", "--session-length", "3"][..],
            "for `report blocks` only",
        ),
        (
            &["report", "blocks", "--session-length", "0"],
            "--session-length",
        ),
        (&["status", "--csv"], "--csv"),
        (&["show", "x", "--since", "2026-01-01"], "--since"),
        (&["anomalies", "--spike-factor", "NaN"], "finite number"),
        (
            &["sessions", "--top", "2", "--limit", "1"],
            "cannot be used with",
        ),
        (&["search", "x", "--limit", "0"], "--limit"),
        (
            &["report", "daily", "--since", "2026-02-30"],
            "not a day of the calendar",
        ),
        (
            &[
                "report",
                "daily",
                "--since",
                "2026-12-01",
                "--until",
                "2026-11-01",
            ],
            "is not before --until",
        ),
        (
            &["serve", "--listen", "myhost:80"],
            "other host names are not resolved",
        ),
        (&["serve", "--listen", "127.0.0.1:99999"], "is not a port"),
    ] {
        let out = sb.cmd().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }
    // a directory given by hand with nothing to read in it: a warning, and the run goes on
    let home = openclaw_home("sqlite");
    let fixture_root = home.parent().unwrap().parent().unwrap().to_path_buf();
    for (dir, warned) in [(fixture_root, true), (home, false)] {
        let out = sb
            .cmd()
            .args(["--openclaw-dir", dir.to_str().unwrap(), "import"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        let warns = err.contains("does not look like an OpenClaw state dir");
        assert_eq!(warns, warned, "{dir:?}: {err}");
    }
}

#[test]
fn each_layout_counts_its_sub_agent_once_and_show_finds_a_session_by_id() {
    for layout in ["sqlite", "legacy"] {
        let sb = Sandbox::new();
        let home = openclaw_home(layout);
        let h = home.to_str().unwrap();
        let listed = sb.json(&["--openclaw-dir", h, "sessions", "--json"]);
        let rows = listed["rows"].as_array().unwrap();
        let main = rows
            .iter()
            .find(|r| r["session_key"] == "agent:main:main")
            .unwrap();
        assert_eq!(main["subagents"], 1, "{layout}: {main}");
        let id = main["session_id"].as_str().unwrap();
        let shown = sb.json(&["--openclaw-dir", h, "show", &id[..8], "--json", "--offline"]);
        assert_eq!(
            shown["session"]["session_key"], "agent:main:main",
            "{layout}"
        );
        // where the cost came from, in the listing's totals and in the session shown
        assert_eq!(listed["totals"]["cost_source"], "reported", "{layout}");
        assert_eq!(shown["session"]["cost_source"], "reported", "{layout}");
    }
}

#[test]
fn a_bound_with_a_time_of_day_counts_exactly_the_entries_after_it() {
    let sb = Sandbox::new();
    let home = openclaw_home("sqlite");
    let h = home.to_str().unwrap();
    let tokens = |kind: &str, since: &str| -> u64 {
        let r = sb.json(&[
            "--openclaw-dir",
            h,
            "report",
            kind,
            "--json",
            "-z",
            "UTC",
            "--since",
            since,
        ]);
        r["totals"]["total_tokens"].as_u64().unwrap()
    };
    let all = tokens("daily", "2026-11-01");
    // Inside a rollup bucket, between entries: some of the day, not all, not none.
    let part = tokens("daily", "2026-11-21T16:50:00Z");
    assert!(part > 0 && part < all, "{part} of {all}");
    // blocks add up single entries: the same number by another path
    assert_eq!(part, tokens("blocks", "2026-11-21T16:50:00Z"));
    assert_eq!(tokens("model", "2026-11-21T16:50:00Z"), part);
}
