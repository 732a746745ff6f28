//! Every built-in rule, driven by OpenClaw-shaped events through the real parsers and
//! a real SQLite store: exactly one firing notification and one resolve, no matter
//! how many evaluations run in between; cooldown, silence and restart behaviour.

mod common;

use serde_json::json;

use clawscope_alerts::engine::GatewayProbe;
use clawscope_core::alert::{AlertFilter, AlertState};
use clawscope_store::AlertStore;
use common::*;

/// Evaluate at each of `times`.
fn ticks(rig: &mut Rig, times: &[i64]) {
    for t in times {
        rig.tick(*t);
    }
}

#[test]
fn budget_day_warns_then_breaches_and_resolves_at_midnight() {
    let mut rig = Rig::new(&["budget_day"], &[]);
    let k = "agent:main:main";
    rig.transcript(k, &[assistant(T0, 1000, 100, 6.0)]);
    ticks(&mut rig, &[T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(rig.firing(), Vec::<String>::new());
    rig.transcript(k, &[assistant(T0 + 3 * MIN, 1000, 100, 2.5)]);
    ticks(&mut rig, &[T0 + 4 * MIN, T0 + 5 * MIN]);
    assert_eq!(rig.firing(), vec!["budget_day.warn gateway"]);
    assert_eq!(rig.counts("budget_day.warn"), (1, 0));
    assert_eq!(rig.counts("budget_day"), (0, 0));
    rig.transcript(k, &[assistant(T0 + 6 * MIN, 1000, 100, 2.0)]);
    ticks(&mut rig, &[T0 + 7 * MIN, T0 + 8 * MIN, T0 + 9 * MIN]);
    assert_eq!(rig.counts("budget_day"), (1, 0));
    let a = rig
        .store
        .alerts(&AlertFilter {
            rule_id: Some("budget_day".into()),
            ..AlertFilter::default()
        })
        .expect("alerts");
    assert_eq!(a.len(), 1);
    assert!((a[0].value - 10.5).abs() < 1e-6, "spent {}", a[0].value);
    // The next day: both resolve, once.
    let tomorrow = T0 + 12 * 60 * MIN + MIN;
    ticks(&mut rig, &[tomorrow, tomorrow + MIN]);
    assert_eq!(rig.firing(), Vec::<String>::new());
    assert_eq!(rig.counts("budget_day"), (1, 1));
    assert_eq!(rig.counts("budget_day.warn"), (1, 1));
}

#[test]
fn per_agent_budget_names_the_agent() {
    let mut rig = Rig::new(
        &["ops_day"],
        &[("ops_day", "kind = \"budget\"\nper = \"agent\"\nusd = 1.0")],
    );
    rig.transcript("agent:main:main", &[assistant(T0, 10, 10, 0.5)]);
    rig.transcript("agent:ops:main", &[assistant(T0, 10, 10, 1.5)]);
    ticks(&mut rig, &[T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(
        rig.firing(),
        vec!["ops_day agent:ops", "ops_day.warn agent:ops"]
    );
    assert_eq!(rig.counts("ops_day"), (1, 0));
}

#[test]
fn session_cost_spike_fires_and_resolves_when_the_window_passes() {
    let mut rig = Rig::new(&["session_cost"], &[]);
    let k = "agent:main:telegram:direct:42";
    rig.transcript(
        k,
        &[
            assistant(T0, 1000, 100, 3.0),
            assistant(T0 + 10 * MIN, 1000, 100, 2.5),
        ],
    );
    rig.transcript("agent:main:other", &[assistant(T0, 1000, 100, 4.0)]);
    ticks(&mut rig, &[T0 + 11 * MIN, T0 + 30 * MIN, T0 + 60 * MIN]);
    assert_eq!(rig.firing(), vec![format!("session_cost session:{k}")]);
    ticks(&mut rig, &[T0 + 61 * MIN, T0 + 90 * MIN]);
    assert_eq!(rig.counts("session_cost"), (1, 1));
}

#[test]
fn hourly_burn_fires_and_resolves() {
    let mut rig = Rig::new(&["hourly_burn"], &[]);
    rig.transcript("agent:main:a", &[assistant(T0, 1, 1, 1.5)]);
    rig.transcript("agent:ops:b", &[assistant(T0 + 5 * MIN, 1, 1, 1.6)]);
    ticks(&mut rig, &[T0 + 6 * MIN, T0 + 7 * MIN, T0 + 50 * MIN]);
    assert_eq!(rig.counts("hourly_burn"), (1, 0));
    ticks(&mut rig, &[T0 + 61 * MIN, T0 + 70 * MIN]);
    assert_eq!(rig.counts("hourly_burn"), (1, 1));
}

#[test]
fn cost_spike_against_the_rolling_average() {
    let mut rig = Rig::new(&["cost_spike"], &[]);
    // A steady $0.20/h for the day before.
    let k = "agent:main:main";
    let steady: Vec<_> = (1..=24)
        .map(|h| assistant(T0 - h * 60 * MIN, 10, 10, 0.2))
        .collect();
    rig.transcript(k, &steady);
    ticks(&mut rig, &[T0]);
    assert_eq!(rig.firing(), Vec::<String>::new());
    rig.transcript(k, &[assistant(T0 + MIN, 10, 10, 1.5)]);
    ticks(&mut rig, &[T0 + 2 * MIN, T0 + 20 * MIN]);
    assert_eq!(rig.firing(), vec!["cost_spike gateway"]);
    ticks(&mut rig, &[T0 + 80 * MIN, T0 + 90 * MIN]);
    assert_eq!(rig.counts("cost_spike"), (1, 1));
}

#[test]
fn volume_of_tokens_fires_and_resolves() {
    let mut rig = Rig::new(&["volume"], &[("volume", "tokens = 50000")]);
    let msgs: Vec<_> = (0..6)
        .map(|i| assistant(T0 + i * MIN, 9000, 500, 0.01))
        .collect();
    rig.transcript("agent:main:main", &msgs);
    ticks(&mut rig, &[T0 + 6 * MIN, T0 + 7 * MIN]);
    assert_eq!(rig.counts("volume"), (1, 0));
    ticks(&mut rig, &[T0 + 62 * MIN, T0 + 70 * MIN]);
    assert_eq!(rig.counts("volume"), (1, 1));
}

#[test]
fn context_warning_and_critical_fire_on_their_own_thresholds() {
    let mut rig = Rig::new(&["context_warning", "context_critical"], &[]);
    let k = "agent:main:main";
    // 200k window: 170k used = 85 %.
    rig.transcript(k, &[assistant(T0, 170_000, 100, 0.1)]);
    ticks(&mut rig, &[T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(rig.firing(), vec![format!("context_warning session:{k}")]);
    rig.transcript(k, &[assistant(T0 + 3 * MIN, 192_000, 100, 0.1)]);
    ticks(&mut rig, &[T0 + 4 * MIN, T0 + 5 * MIN]);
    assert_eq!(rig.counts("context_critical"), (1, 0));
    assert_eq!(rig.counts("context_warning"), (1, 0));
    // After a compaction the next turn is small: both resolve.
    rig.transcript(k, &[assistant(T0 + 6 * MIN, 20_000, 100, 0.1)]);
    ticks(&mut rig, &[T0 + 7 * MIN, T0 + 8 * MIN]);
    assert_eq!(rig.counts("context_critical"), (1, 1));
    assert_eq!(rig.counts("context_warning"), (1, 1));
}

#[test]
fn hung_tool_call_fires_and_resolves_when_the_result_arrives() {
    let mut rig = Rig::new(&["hung"], &[]);
    let k = "agent:main:main";
    rig.transcript(
        k,
        &[tool_call(
            T0,
            "call_1",
            "exec",
            json!({"command": "sleep 999"}),
        )],
    );
    ticks(&mut rig, &[T0 + MIN, T0 + 4 * MIN]);
    assert_eq!(rig.counts("hung"), (0, 0));
    ticks(&mut rig, &[T0 + 5 * MIN, T0 + 6 * MIN, T0 + 9 * MIN]);
    assert_eq!(rig.counts("hung"), (1, 0));
    rig.transcript(k, &[tool_result(T0 + 10 * MIN, "call_1", "exec", false)]);
    ticks(&mut rig, &[T0 + 10 * MIN, T0 + 11 * MIN]);
    assert_eq!(rig.counts("hung"), (1, 1));
}

#[test]
fn error_rate_spike_fires_and_resolves() {
    let mut rig = Rig::new(&["error_rate"], &[]);
    let k = "agent:main:main";
    rig.transcript(
        k,
        &[
            assistant(T0, 10, 10, 0.01),
            failed_reply(T0 + 10_000),
            tool_call(T0 + 20_000, "c1", "read", json!({"path": "a"})),
            tool_result(T0 + 21_000, "c1", "read", true),
            failed_reply(T0 + 30_000),
        ],
    );
    ticks(&mut rig, &[T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(rig.firing(), vec!["error_rate gateway"]);
    ticks(&mut rig, &[T0 + 6 * MIN, T0 + 7 * MIN]);
    assert_eq!(rig.counts("error_rate"), (1, 1));
}

#[test]
fn tool_loop_fires_on_the_fifth_identical_call_and_resolves_on_a_different_one() {
    let mut rig = Rig::new(&["tool_loop"], &[]);
    let k = "agent:main:main";
    for i in 0..4 {
        let id = format!("call_{i}");
        rig.transcript(
            k,
            &[
                tool_call(T0 + i * 1000, &id, "web_fetch", json!({"url": "https://x"})),
                tool_result(T0 + i * 1000 + 500, &id, "web_fetch", false),
            ],
        );
    }
    ticks(&mut rig, &[T0 + 5000]);
    assert_eq!(rig.counts("tool_loop"), (0, 0));
    rig.transcript(
        k,
        &[tool_call(
            T0 + 6000,
            "call_4",
            "web_fetch",
            json!({"url": "https://x"}),
        )],
    );
    ticks(&mut rig, &[T0 + 7000, T0 + 8000]);
    assert_eq!(rig.counts("tool_loop"), (1, 0));
    rig.transcript(
        k,
        &[tool_call(
            T0 + 9000,
            "call_5",
            "web_fetch",
            json!({"url": "https://y"}),
        )],
    );
    ticks(&mut rig, &[T0 + 10_000, T0 + 11_000]);
    assert_eq!(rig.counts("tool_loop"), (1, 1));
}

#[test]
fn gateway_silent_fires_and_resolves_with_the_connection() {
    let mut rig = Rig::new(&["gateway_silent"], &[]);
    rig.gateway = Some(GatewayProbe {
        connected: true,
        last_frame_ms: Some(T0),
        since_ms: T0 - 60 * MIN,
    });
    ticks(&mut rig, &[T0 + MIN, T0 + 4 * MIN]);
    assert_eq!(rig.counts("gateway_silent"), (0, 0));
    rig.gateway = Some(GatewayProbe {
        connected: false,
        last_frame_ms: Some(T0),
        since_ms: T0 + MIN,
    });
    ticks(&mut rig, &[T0 + 6 * MIN, T0 + 7 * MIN, T0 + 20 * MIN]);
    assert_eq!(rig.counts("gateway_silent"), (1, 0));
    rig.gateway = Some(GatewayProbe {
        connected: true,
        last_frame_ms: Some(T0 + 21 * MIN),
        since_ms: T0 + 21 * MIN,
    });
    ticks(&mut rig, &[T0 + 21 * MIN, T0 + 22 * MIN]);
    assert_eq!(rig.counts("gateway_silent"), (1, 1));
}

#[test]
fn cron_failure_fires_and_resolves_on_the_next_good_run() {
    let mut rig = Rig::new(&["cron_failed"], &[]);
    rig.cron_job("j1", true, T0 + 60 * MIN, T0);
    rig.cron_run("j1", "r1", "ok", T0 - 60 * MIN);
    rig.cron_run("j1", "r2", "error", T0);
    ticks(&mut rig, &[T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(rig.firing(), vec!["cron_failed cron:j1"]);
    rig.cron_run("j1", "r3", "ok", T0 + 60 * MIN);
    ticks(&mut rig, &[T0 + 61 * MIN, T0 + 62 * MIN]);
    assert_eq!(rig.counts("cron_failed"), (1, 1));
}

#[test]
fn cron_overdue_fires_and_resolves_when_the_schedule_moves_on() {
    let mut rig = Rig::new(&["cron_overdue"], &[]);
    rig.cron_job("j2", true, T0, T0 - 60 * MIN);
    rig.cron_job("off", false, T0 - 600 * MIN, T0 - 60 * MIN);
    ticks(&mut rig, &[T0 + 10 * MIN]);
    assert_eq!(rig.counts("cron_overdue"), (0, 0));
    ticks(&mut rig, &[T0 + 15 * MIN, T0 + 30 * MIN]);
    assert_eq!(rig.firing(), vec!["cron_overdue cron:j2"]);
    rig.cron_job("j2", true, T0 + 120 * MIN, T0 + 31 * MIN);
    ticks(&mut rig, &[T0 + 32 * MIN, T0 + 33 * MIN]);
    assert_eq!(rig.counts("cron_overdue"), (1, 1));
}

#[test]
fn cooldown_records_a_quick_refire_without_notifying() {
    let mut rig = Rig::new(&["hourly_burn"], &[("hourly_burn", "cooldown_secs = 3600")]);
    rig.transcript("agent:main:a", &[assistant(T0, 1, 1, 3.5)]);
    ticks(&mut rig, &[T0 + MIN, T0 + 61 * MIN]);
    assert_eq!(rig.counts("hourly_burn"), (1, 1));
    rig.transcript("agent:main:a", &[assistant(T0 + 62 * MIN, 1, 1, 3.5)]);
    ticks(&mut rig, &[T0 + 63 * MIN]);
    assert_eq!(rig.firing(), vec!["hourly_burn gateway"]);
    assert_eq!(
        rig.counts("hourly_burn"),
        (1, 1),
        "no notification inside the cooldown"
    );
    let a = rig
        .store
        .alerts(&AlertFilter {
            state: Some(AlertState::Firing),
            ..AlertFilter::default()
        })
        .expect("alerts");
    assert_eq!(a[0].suppressed.as_deref(), Some("cooldown"));
    // Its resolve is not announced either (its firing never was).
    ticks(&mut rig, &[T0 + 130 * MIN]);
    assert_eq!(rig.counts("hourly_burn"), (1, 1));
    // After the cooldown a new firing notifies again.
    rig.transcript("agent:main:a", &[assistant(T0 + 240 * MIN, 1, 1, 3.5)]);
    ticks(&mut rig, &[T0 + 241 * MIN]);
    assert_eq!(rig.counts("hourly_burn"), (2, 1));
}

#[test]
fn silence_suppresses_matching_alerts_only_until_it_ends() {
    let mut rig = Rig::new(&["session_cost", "hourly_burn"], &[]);
    rig.silence(Some("session_cost"), Some("session:*"), T0 + 30 * MIN);
    rig.transcript("agent:main:a", &[assistant(T0, 1, 1, 6.0)]);
    ticks(&mut rig, &[T0 + MIN]);
    assert_eq!(rig.firing().len(), 2);
    assert_eq!(rig.counts("session_cost"), (0, 0), "silenced");
    assert_eq!(rig.counts("hourly_burn"), (1, 0), "another rule is not");
    ticks(&mut rig, &[T0 + 61 * MIN]);
    assert_eq!(
        rig.counts("session_cost"),
        (0, 0),
        "no resolve for a silenced firing"
    );
    rig.transcript("agent:main:b", &[assistant(T0 + 62 * MIN, 1, 1, 6.0)]);
    ticks(&mut rig, &[T0 + 63 * MIN]);
    assert_eq!(rig.counts("session_cost"), (1, 0), "the silence has ended");
}

#[test]
fn a_restart_between_firing_and_resolve_notifies_nothing_twice() {
    let mut rig = Rig::new(&["session_cost", "context_warning", "tool_loop"], &[]);
    let k = "agent:main:main";
    for i in 0..5 {
        rig.transcript(
            k,
            &[tool_call(
                T0 + i,
                &format!("c{i}"),
                "exec",
                json!({"command": "ls"}),
            )],
        );
    }
    rig.transcript(k, &[assistant(T0 + 1000, 170_000, 100, 6.0)]);
    ticks(&mut rig, &[T0 + MIN]);
    assert_eq!(rig.firing().len(), 3);
    rig.restart(T0 + 2 * MIN);
    ticks(&mut rig, &[T0 + 2 * MIN, T0 + 3 * MIN]);
    assert_eq!(rig.firing().len(), 3);
    for r in ["session_cost", "context_warning", "tool_loop"] {
        assert_eq!(rig.counts(r), (1, 0), "{r} after restart");
    }
    rig.transcript(k, &[assistant(T0 + 4 * MIN, 1000, 100, 0.01)]);
    rig.transcript(
        k,
        &[tool_call(
            T0 + 4 * MIN + 1,
            "d",
            "read",
            json!({"path": "x"}),
        )],
    );
    rig.restart(T0 + 5 * MIN);
    ticks(&mut rig, &[T0 + 5 * MIN]);
    rig.restart(T0 + 70 * MIN);
    ticks(&mut rig, &[T0 + 70 * MIN, T0 + 71 * MIN]);
    for r in ["session_cost", "context_warning", "tool_loop"] {
        assert_eq!(rig.counts(r), (1, 1), "{r} resolved once");
    }
    assert_eq!(
        rig.store.alert_cursor().expect("cursor"),
        rig.engine.cursor()
    );
}

#[test]
fn a_breach_that_happened_while_down_fires_at_start() {
    let mut rig = Rig::new(&["budget_day"], &[]);
    rig.tick(T0);
    rig.transcript("agent:main:main", &[assistant(T0 + MIN, 10, 10, 12.0)]);
    rig.restart(T0 + 30 * MIN);
    rig.tick(T0 + 30 * MIN);
    assert_eq!(rig.counts("budget_day"), (1, 0));
}

#[test]
fn a_firing_kept_quiet_by_a_silence_is_told_when_the_silence_ends() {
    let mut rig = Rig::new(&["hourly_burn"], &[]);
    rig.silence(Some("hourly_burn"), None, T0 + 10 * MIN);
    rig.transcript("agent:main:a", &[assistant(T0, 1, 1, 3.5)]);
    ticks(&mut rig, &[T0 + MIN, T0 + 5 * MIN]);
    assert_eq!(rig.counts("hourly_burn"), (0, 0), "silenced");
    ticks(&mut rig, &[T0 + 11 * MIN, T0 + 12 * MIN]);
    assert_eq!(
        rig.counts("hourly_burn"),
        (1, 0),
        "told once the silence ended"
    );
    let a = rig.store.alerts(&AlertFilter::default()).expect("alerts");
    assert_eq!(
        (a.len(), a[0].suppressed.as_deref()),
        (1, None),
        "the same alert, no longer marked"
    );
    ticks(&mut rig, &[T0 + 61 * MIN]);
    assert_eq!(
        rig.counts("hourly_burn"),
        (1, 1),
        "and its resolve is told too"
    );
}

#[test]
fn an_absurd_cost_does_not_stop_the_other_rules() {
    let mut rig = Rig::new(&["hourly_burn", "context_warning"], &[]);
    let k = "agent:main:main";
    rig.transcript(
        k,
        &[
            assistant(T0, 170_000, 100, 1e308),
            assistant(T0 + 1000, 170_000, 100, 1e308),
        ],
    );
    ticks(&mut rig, &[T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(
        rig.counts("context_warning"),
        (1, 0),
        "other findings still fire"
    );
    assert_eq!(
        rig.counts("hourly_burn"),
        (0, 0),
        "the infinite sum is skipped, not stored"
    );
}
