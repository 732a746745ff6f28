//! OTLP/HTTP trace load generator: sends OpenClaw-shaped GenAI traces to any
//! `POST /v1/traces` endpoint (protobuf) and reports how many spans per second it
//! took.
//!
//! ```text
//! cargo run --release -p clawscope-otlp --example otlp_load -- \
//!     --url http://127.0.0.1:4318/v1/traces --spans 200000 --senders 4
//! ```
//!
//! Every request body is built before the clock starts: `--batch` spans per
//! `ExportTraceServiceRequest`, traces of 8 spans (an `openclaw.run` root, three
//! `chat <model>` calls, two `openclaw.model.usage` spans and two
//! `openclaw.tool.execution` spans), unique ids from `--seed`. `--senders` threads
//! each keep one connection alive and take the next body in turn. 429/502/503/504
//! are retried with exponential backoff (10 ms doubling to 1 s, as OpenTelemetry
//! exporters do) until the `--seconds` cap; other failures count as dropped.
//! With `--pid`, the server's resident memory and CPU time are sampled from
//! `/proc` (the process and its descendants) while sending.
//!
//! The result is one JSON object on stdout.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

const USAGE: &str = "otlp_load --url URL [--spans N] [--senders K] [--batch 512] \
[--seconds CAP] [--gzip] [--seed S] [--pid P] [--sample-ms 100]";

/// Spans per trace: root, three model calls, two usage spans, two tool runs.
const TRACE_SPANS: usize = 8;

struct Args {
    url: String,
    spans: usize,
    senders: usize,
    batch: usize,
    seconds: f64,
    gzip: bool,
    seed: u64,
    pid: Option<u32>,
    sample_ms: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: "http://127.0.0.1:4318/v1/traces".into(),
        spans: 200_000,
        senders: 1,
        batch: 512,
        seconds: 60.0,
        gzip: false,
        seed: 42,
        pid: None,
        sample_ms: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--gzip" {
            a.gzip = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--url" => a.url = value.clone(),
            "--spans" => a.spans = value.parse().map_err(|e| bad(&e))?,
            "--senders" => a.senders = value.parse().map_err(|e| bad(&e))?,
            "--batch" => a.batch = value.parse().map_err(|e| bad(&e))?,
            "--seconds" => a.seconds = value.parse().map_err(|e| bad(&e))?,
            "--seed" => a.seed = value.parse().map_err(|e| bad(&e))?,
            "--pid" => a.pid = Some(value.parse().map_err(|e| bad(&e))?),
            "--sample-ms" => a.sample_ms = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}\n{USAGE}")),
        }
    }
    if a.senders == 0 || a.batch == 0 || a.spans == 0 {
        return Err("--spans, --senders and --batch must be positive".into());
    }
    Ok(a)
}

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn kv(key: &str, value: Any) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

fn s(key: &str, v: impl Into<String>) -> KeyValue {
    kv(key, Any::StringValue(v.into()))
}

fn i(key: &str, v: u64) -> KeyValue {
    kv(key, Any::IntValue(v as i64))
}

fn f(key: &str, v: f64) -> KeyValue {
    kv(key, Any::DoubleValue(v))
}

fn strings(key: &str, vs: &[&str]) -> KeyValue {
    kv(
        key,
        Any::ArrayValue(ArrayValue {
            values: vs
                .iter()
                .map(|v| AnyValue {
                    value: Some(Any::StringValue(v.to_string())),
                })
                .collect(),
        }),
    )
}

const MODELS: &[(&str, &str, f64, f64)] = &[
    ("anthropic", "claude-sonnet-4-5", 3.0, 15.0),
    ("anthropic", "claude-haiku-4-5", 1.0, 5.0),
    ("openai", "gpt-5.1", 1.25, 10.0),
    ("openai", "gpt-5-mini", 0.25, 2.0),
    ("google", "gemini-2.5-pro", 1.25, 10.0),
];
const CHANNELS: &[&str] = &["telegram", "discord", "slack", "whatsapp", "webchat", "cli"];
const AGENTS: &[&str] = &["main", "research", "ops", "coder"];
const TOOLS: &[(&str, &str)] = &[
    ("read", "builtin"),
    ("write", "builtin"),
    ("exec", "builtin"),
    ("web_search", "builtin"),
    ("browser", "plugin"),
    ("github.create_issue", "mcp"),
    ("memory_search", "plugin"),
];
const HOSTS: &[&str] = &["gw-eu-1", "gw-eu-2", "gw-us-1", "gw-us-2"];

/// Ids and where the generated traffic sits in time.
struct Gen {
    rng: Rng,
    seed: u64,
    next_id: u64,
    /// Start of the first trace (ns); traces start `GAP_NS` apart.
    t0_ns: u64,
    sessions: u64,
}

const GAP_NS: u64 = 10_000_000;

impl Gen {
    /// A unique id: a counter mixed with the seed, never zero.
    fn id(&mut self, len: usize) -> Vec<u8> {
        self.next_id += 1;
        let mut r = Rng(self.seed ^ self.next_id.wrapping_mul(0xa076_1d64_78bd_642f));
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            out.extend_from_slice(&r.next().to_be_bytes());
        }
        out.truncate(len);
        out[0] |= 1;
        out
    }

    fn trace(&mut self, n: u64) -> Vec<Span> {
        let r = &mut self.rng;
        let (provider, model, price_in, price_out) = *r.pick(MODELS);
        let session = format!("agent:{}:{:08x}", r.pick(AGENTS), r.range(0, self.sessions));
        let channel = *r.pick(CHANNELS);
        let agent = *r.pick(AGENTS);
        let run_id = format!("run-{:016x}", r.next());
        let start = self.t0_ns + n * GAP_NS;
        let trace_id = self.id(16);
        let root_id = self.id(8);
        let mut spans = Vec::with_capacity(TRACE_SPANS);
        let mut t = start + 2_000_000;
        let mut child = |g: &mut Gen, name: String, kind: SpanKind, dur_ms: u64, attrs| {
            let sp = Span {
                trace_id: trace_id.clone(),
                span_id: g.id(8),
                parent_span_id: root_id.clone(),
                name,
                kind: kind as i32,
                start_time_unix_nano: t,
                end_time_unix_nano: t + dur_ms * 1_000_000,
                attributes: attrs,
                ..Span::default()
            };
            t += dur_ms * 1_000_000 + 1_000_000;
            sp
        };
        // Three model calls, each followed by a tool run (the last by none) and usage.
        for call in 0..3 {
            let r = &mut self.rng;
            let input = r.range(800, 60_000);
            let output = r.range(20, 4_000);
            let ttfb = r.range(150, 2_500);
            let dur = ttfb + output / 40;
            let finish = if call < 2 { "tool_calls" } else { "stop" };
            let response_id = format!("resp_{:016x}", r.next());
            let temperature = (r.range(0, 10) as f64) / 10.0;
            let attrs = vec![
                s("gen_ai.operation.name", "chat"),
                s("gen_ai.provider.name", provider),
                s("gen_ai.request.model", model),
                s("gen_ai.response.model", model),
                s("gen_ai.response.id", response_id),
                i("gen_ai.usage.input_tokens", input),
                i("gen_ai.usage.output_tokens", output),
                strings("gen_ai.response.finish_reasons", &[finish]),
                i("openclaw.model_call.time_to_first_byte_ms", ttfb),
                f("gen_ai.request.temperature", temperature),
                i("gen_ai.request.max_tokens", 8192),
                s("session.id", session.clone()),
            ];
            spans.push(child(
                self,
                format!("chat {model}"),
                SpanKind::Client,
                dur,
                attrs,
            ));
            if call < 2 {
                let r = &mut self.rng;
                let cache_read = r.range(0, 40_000);
                let (inp, out) = (r.range(500, 30_000), r.range(10, 2_000));
                let cost = (inp as f64 * price_in
                    + out as f64 * price_out
                    + cache_read as f64 * price_in * 0.1)
                    / 1e6;
                let attrs = vec![
                    i("openclaw.tokens.input", inp),
                    i("openclaw.tokens.output", out),
                    i("openclaw.tokens.cache_read", cache_read),
                    i("openclaw.tokens.total", inp + out + cache_read),
                    f("openclaw.cost.usd", (cost * 1e6).round() / 1e6),
                    s("gen_ai.provider.name", provider),
                    s("gen_ai.request.model", model),
                    s("openclaw.channel", channel),
                    s("openclaw.agent", agent),
                    s("session.id", session.clone()),
                ];
                spans.push(child(
                    self,
                    "openclaw.model.usage".into(),
                    SpanKind::Internal,
                    1,
                    attrs,
                ));
                let r = &mut self.rng;
                let (tool, source) = *r.pick(TOOLS);
                let call_id = format!("call_{:012x}", r.next() >> 16);
                let failed = r.chance(3);
                let dur = r.range(5, 3_000);
                let mut attrs = vec![
                    s("gen_ai.operation.name", "execute_tool"),
                    s("gen_ai.tool.name", tool),
                    s("openclaw.toolName", tool),
                    s("openclaw.tool.source", source),
                    s("gen_ai.tool.call.id", call_id.clone()),
                    s("openclaw.toolCallId", call_id),
                    s("openclaw.agent", agent),
                    s("session.id", session.clone()),
                    i("openclaw.tool.result_bytes", r.range(40, 64_000)),
                ];
                if failed {
                    attrs.push(s("openclaw.errorCategory", "tool_error"));
                }
                let mut sp = child(
                    self,
                    "openclaw.tool.execution".into(),
                    SpanKind::Internal,
                    dur,
                    attrs,
                );
                if failed {
                    sp.status = Some(Status {
                        code: StatusCode::Error as i32,
                        message: "tool returned an error".into(),
                    });
                }
                spans.push(sp);
            }
        }
        let root = Span {
            trace_id: trace_id.clone(),
            span_id: root_id,
            name: "openclaw.run".into(),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: t + 1_000_000,
            attributes: vec![
                s("session.id", session.clone()),
                s("gen_ai.conversation.id", session),
                s("openclaw.channel", channel),
                s("openclaw.agent", agent),
                s("gen_ai.provider.name", provider),
                s("gen_ai.request.model", model),
                s("openclaw.runId", run_id),
                s("openclaw.run.outcome", "completed"),
                i("openclaw.run.turns", 3),
            ],
            status: Some(Status {
                code: StatusCode::Ok as i32,
                message: String::new(),
            }),
            ..Span::default()
        };
        spans.insert(0, root);
        spans
    }
}

fn resource(host: &str) -> Resource {
    Resource {
        attributes: vec![
            s("service.name", "openclaw-gateway"),
            s("service.version", "2026.9.6"),
            s("host.name", host),
        ],
        ..Resource::default()
    }
}

/// All request bodies: `spans` spans (rounded up to whole traces) in requests of
/// `batch` spans.
fn bodies(a: &Args) -> (Vec<Vec<u8>>, usize) {
    let traces = a.spans.div_ceil(TRACE_SPANS) as u64;
    // Traffic as if it happened over the last `traces * GAP` before now.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let mut g = Gen {
        rng: Rng(a.seed),
        seed: a.seed.wrapping_mul(0x2545_f491_4f6c_dd1d),
        next_id: 0,
        t0_ns: now.saturating_sub(traces * GAP_NS + 60_000_000_000),
        sessions: (traces / 12).max(1),
    };
    let mut out = Vec::new();
    let mut pending: Vec<Span> = Vec::with_capacity(a.batch + TRACE_SPANS);
    let mut total = 0;
    let flush = |pending: &mut Vec<Span>, out: &mut Vec<Vec<u8>>| {
        let n = out.len();
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(resource(HOSTS[n % HOSTS.len()])),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "openclaw".into(),
                        version: "2026.9.6".into(),
                        ..InstrumentationScope::default()
                    }),
                    spans: std::mem::take(pending),
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let raw = req.encode_to_vec();
        out.push(if a.gzip { gzip(&raw) } else { raw });
    };
    for n in 0..traces {
        for sp in g.trace(n) {
            pending.push(sp);
            total += 1;
            if pending.len() == a.batch {
                flush(&mut pending, &mut out);
            }
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut out);
    }
    (out, total)
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(raw).expect("gzip in memory");
    e.finish().expect("gzip in memory")
}

/// Spans per body, to count what each request carried.
fn span_counts(total: usize, batch: usize, n: usize) -> Vec<u64> {
    (0..n)
        .map(|k| (total - k * batch).min(batch) as u64)
        .collect()
}

#[derive(Default)]
struct Totals {
    sent_requests: AtomicU64,
    accepted: AtomicU64,
    dropped: AtomicU64,
    retries: AtomicU64,
    statuses: Mutex<std::collections::BTreeMap<String, u64>>,
    latencies_us: Mutex<Vec<u64>>,
}

impl Totals {
    fn status(&self, s: String) {
        *self.statuses.lock().unwrap().entry(s).or_default() += 1;
    }
}

/// What one attempt got.
enum Outcome {
    Ok,
    Retry(String),
    Fail(String),
}

fn post(agent: &ureq::Agent, url: &str, body: &[u8], gzip: bool) -> Outcome {
    let mut req = agent
        .post(url)
        .set("content-type", "application/x-protobuf");
    if gzip {
        req = req.set("content-encoding", "gzip");
    }
    // The body is read to its end so the connection goes back to the pool.
    let drain = |resp: ureq::Response| {
        let mut sink = Vec::new();
        let _ = resp.into_reader().take(1 << 20).read_to_end(&mut sink);
    };
    match req.send_bytes(body) {
        Ok(resp) => {
            drain(resp);
            Outcome::Ok
        }
        Err(ureq::Error::Status(code, resp)) => {
            drain(resp);
            if matches!(code, 429 | 502 | 503 | 504) {
                Outcome::Retry(code.to_string())
            } else {
                Outcome::Fail(code.to_string())
            }
        }
        // Refused or reset connections are retried like a busy server.
        Err(ureq::Error::Transport(t)) => Outcome::Retry(format!("transport: {}", t.kind())),
    }
}

fn sender(
    url: &str,
    bodies: &[Vec<u8>],
    counts: &[u64],
    next: &AtomicUsize,
    deadline: Instant,
    gzip: bool,
    totals: &Totals,
) {
    let agent = ureq::AgentBuilder::new()
        .max_idle_connections(1)
        .max_idle_connections_per_host(1)
        .timeout(Duration::from_secs(30))
        .build();
    let mut lat = Vec::new();
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= bodies.len() || Instant::now() >= deadline {
            break;
        }
        totals.sent_requests.fetch_add(1, Ordering::Relaxed);
        let mut backoff = Duration::from_millis(10);
        loop {
            let t = Instant::now();
            let outcome = post(&agent, url, &bodies[k], gzip);
            lat.push(t.elapsed().as_micros() as u64);
            match outcome {
                Outcome::Ok => {
                    totals.accepted.fetch_add(counts[k], Ordering::Relaxed);
                    break;
                }
                Outcome::Fail(why) => {
                    totals.status(why);
                    totals.dropped.fetch_add(counts[k], Ordering::Relaxed);
                    break;
                }
                Outcome::Retry(why) => {
                    totals.status(why);
                    if Instant::now() + backoff >= deadline {
                        totals.dropped.fetch_add(counts[k], Ordering::Relaxed);
                        break;
                    }
                    totals.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
    totals.latencies_us.lock().unwrap().extend(lat);
}

/// The process and all its descendants.
fn process_tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                if let Ok(c) = std::fs::read_to_string(t.path().join("children")) {
                    out.extend(c.split_whitespace().filter_map(|x| x.parse::<u32>().ok()));
                }
            }
        }
        i += 1;
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `(VmRSS kB, VmHWM kB, utime+stime ticks)` summed over `pids`.
fn proc_sample(pids: &[u32]) -> (u64, u64, u64) {
    let (mut rss, mut hwm, mut ticks) = (0, 0, 0);
    for p in pids {
        if let Ok(st) = std::fs::read_to_string(format!("/proc/{p}/status")) {
            for line in st.lines() {
                let kb = || {
                    line.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                if line.starts_with("VmRSS:") {
                    rss += kb();
                } else if line.starts_with("VmHWM:") {
                    hwm += kb();
                }
            }
        }
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
            // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
            if let Some((_, rest)) = stat.rsplit_once(')') {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                ticks += get(11) + get(12);
            }
        }
    }
    (rss, hwm, ticks)
}

fn clock_ticks() -> f64 {
    // USER_HZ is 100 on every Linux architecture this runs on.
    100.0
}

#[derive(Default, Clone, Copy)]
struct ProcStats {
    peak_rss_kb: u64,
    hwm_kb: u64,
    start_rss_kb: u64,
    ticks_start: u64,
    ticks_end: u64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k] as f64 / 1000.0
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let built = Instant::now();
    let (bodies, total) = bodies(&a);
    let counts = span_counts(total, a.batch, bodies.len());
    let body_bytes: usize = bodies.iter().map(Vec::len).sum();
    eprintln!(
        "otlp_load: {} spans in {} requests ({:.1} MB{}) built in {:.2}s; {} sender(s) -> {}",
        total,
        bodies.len(),
        body_bytes as f64 / 1e6,
        if a.gzip { ", gzip" } else { "" },
        built.elapsed().as_secs_f64(),
        a.senders,
        a.url
    );

    let totals = Arc::new(Totals::default());
    let stop = Arc::new(AtomicBool::new(false));
    let proc_stats = Arc::new(Mutex::new(ProcStats::default()));
    let sampler = a.pid.map(|pid| {
        let (stop, out) = (stop.clone(), proc_stats.clone());
        let every = Duration::from_millis(a.sample_ms.max(10));
        let (rss, _, ticks) = proc_sample(&process_tree(pid));
        {
            let mut o = out.lock().unwrap();
            o.start_rss_kb = rss;
            o.ticks_start = ticks;
        }
        std::thread::spawn(move || loop {
            let done = stop.load(Ordering::Relaxed);
            let (rss, hwm, ticks) = proc_sample(&process_tree(pid));
            {
                let mut o = out.lock().unwrap();
                o.peak_rss_kb = o.peak_rss_kb.max(rss);
                o.hwm_kb = o.hwm_kb.max(hwm);
                if ticks > 0 {
                    o.ticks_end = ticks;
                }
            }
            if done {
                break;
            }
            std::thread::sleep(every);
        })
    });

    let start_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(a.seconds);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..a.senders {
            scope.spawn(|| sender(&a.url, &bodies, &counts, &next, deadline, a.gzip, &totals));
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(h) = sampler {
        let _ = h.join();
    }

    let accepted = totals.accepted.load(Ordering::Relaxed);
    let dropped = totals.dropped.load(Ordering::Relaxed);
    let requests = totals.sent_requests.load(Ordering::Relaxed) as usize;
    let sent: u64 = counts.iter().take(requests).sum();
    let mut lat = std::mem::take(&mut *totals.latencies_us.lock().unwrap());
    lat.sort_unstable();
    let mut out = serde_json::json!({
        "url": a.url,
        "senders": a.senders,
        "batch": a.batch,
        "gzip": a.gzip,
        "seed": a.seed,
        "generated": total,
        "requests": requests,
        "sent": sent,
        "accepted": accepted,
        "dropped": dropped,
        "not_sent": total as u64 - sent,
        "retries": totals.retries.load(Ordering::Relaxed),
        "statuses": &*totals.statuses.lock().unwrap(),
        "start_unix_s": start_unix,
        "elapsed_s": elapsed,
        "accepted_per_s": accepted as f64 / elapsed.max(1e-9),
        "posts": lat.len(),
        "p50_ms": percentile(&lat, 0.50),
        "p99_ms": percentile(&lat, 0.99),
        "max_ms": lat.last().map(|v| *v as f64 / 1000.0).unwrap_or(0.0),
    });
    if a.pid.is_some() {
        let p = *proc_stats.lock().unwrap();
        let cpu = p.ticks_end.saturating_sub(p.ticks_start) as f64 / clock_ticks();
        out["server"] = serde_json::json!({
            "pid": a.pid,
            "start_rss_mb": p.start_rss_kb as f64 / 1024.0,
            "peak_rss_mb": p.peak_rss_kb as f64 / 1024.0,
            "hwm_mb": p.hwm_kb as f64 / 1024.0,
            "cpu_s": cpu,
            "cpu_us_per_accepted_span": if accepted > 0 { cpu * 1e6 / accepted as f64 } else { 0.0 },
        });
    }
    println!("{out}");
}
