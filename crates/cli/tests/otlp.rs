//! The OTLP/HTTP receiver of `clawscope serve`, against the real binary over real
//! sockets: bodies that must be refused (garbage and truncated protobuf, invalid and
//! deeply nested JSON, other content types and encodings, a 100 MB upload, a gzip bomb,
//! a missing token) get the right status while the server keeps serving; a JSON export
//! round-trips through the API; the same export sent twice is stored once.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::serve::{free_addr, wait_until, Server, WAIT};
use common::Sandbox;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value};

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A fresh random-looking id of `bytes` bytes as hex (unique per call in this process).
fn hex_id(bytes: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let seed = now_ns() ^ (std::process::id() as u64) << 32;
    let mut s = String::new();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03);
    while s.len() < bytes * 2 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{x:016x}"));
    }
    s.truncate(bytes * 2);
    s
}

// ---------------------------------------------------------------------------
// The server under test

/// A running `clawscope serve` with its OTLP/HTTP receiver; killed when dropped.
struct Serve {
    server: Server,
    otlp: SocketAddr,
    token: Option<String>,
    /// Valid probe traces sent so far (each one trace).
    probes: Vec<String>,
}

impl std::ops::Deref for Serve {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

impl std::ops::DerefMut for Serve {
    fn deref_mut(&mut self) -> &mut Server {
        &mut self.server
    }
}

impl Serve {
    fn start(sb: &Sandbox, args: &[&str]) -> Serve {
        let (otlp, grpc) = (free_addr(), free_addr());
        std::fs::create_dir_all(sb.path("openclaw")).unwrap();
        std::fs::create_dir_all(sb.path("claude")).unwrap();
        let token = args
            .iter()
            .position(|a| *a == "--otlp-token")
            .map(|i| args[i + 1].to_string());
        let (oc, cl) = (sb.path("openclaw"), sb.path("claude"));
        let global = [
            "--openclaw-dir",
            oc.to_str().unwrap(),
            "--claude-dir",
            cl.to_str().unwrap(),
        ];
        let (otlp_s, grpc_s) = (otlp.to_string(), grpc.to_string());
        let mut serve_args = vec![
            "--no-gateway",
            "--no-event-socket",
            "--otlp-http",
            &otlp_s,
            "--otlp-grpc",
            &grpc_s,
        ];
        serve_args.extend_from_slice(args);
        let mut s = Serve {
            server: Server::start(sb, &global, &serve_args),
            otlp,
            token,
            probes: Vec::new(),
        };
        wait_until("the OTLP receiver to answer", WAIT, || {
            s.assert_running();
            TcpStream::connect(s.otlp).ok()
        });
        s
    }

    /// The status of `GET path` on the API.
    fn get_status(&self, path: &str) -> u16 {
        match ureq::get(&self.url(path)).timeout(WAIT).call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    /// POST `body` to the OTLP receiver; returns the status, content type and body.
    /// The configured token is sent unless `headers` names an `authorization`.
    fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        let mut req = ureq::post(&format!("http://{}{path}", self.otlp)).timeout(WAIT);
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        if let Some(b) = &bearer {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            {
                req = req.set("authorization", b);
            }
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let resp = match req.send_bytes(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {path}: {e}\n{}", self.log_text()),
        };
        let status = resp.status();
        let ct = resp.content_type().to_string();
        let mut out = Vec::new();
        resp.into_reader().read_to_end(&mut out).unwrap();
        (status, ct, out)
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let (status, _, body) = self.post_raw(path, &[("content-type", content_type)], body);
        (status, body)
    }

    fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, body) = self.post(path, JSON, body.to_string().as_bytes());
        let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, v)
    }

    /// A trace summary, if stored.
    fn trace(&self, id: &str) -> Option<Value> {
        match self.get_status(&format!("/api/v1/traces/{id}")) {
            200 => Some(self.get(&format!("/api/v1/traces/{id}"))),
            404 => None,
            s => panic!("GET trace {id}: {s}"),
        }
    }

    /// Still running, and a small valid export is accepted and stored.
    fn assert_healthy(&mut self, after: &str) {
        self.assert_running();
        let tid = hex_id(16);
        let body = trace_json(
            "probe",
            &tid,
            &[span_json(&hex_id(8), None, "probe", now_ns(), 1, json!([]))],
        );
        let (status, resp) = self.post_json("/v1/traces", &body);
        assert_eq!(
            status,
            200,
            "a valid export after {after} was answered {status}: {resp}\n{}",
            self.log_text()
        );
        assert!(
            self.trace(&tid).is_some(),
            "the probe after {after} was not stored"
        );
        self.probes.push(tid);
        self.assert_running();
    }

    /// Peak resident memory of the server (Linux), in bytes.
    fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
}

// ---------------------------------------------------------------------------
// Payloads

fn attr(key: &str, v: Value) -> Value {
    let value = match v {
        Value::String(s) => json!({ "stringValue": s }),
        Value::Number(n) if n.is_i64() => json!({ "intValue": n.to_string() }),
        Value::Number(n) => json!({ "doubleValue": n }),
        Value::Bool(b) => json!({ "boolValue": b }),
        other => panic!("attr {other}"),
    };
    json!({ "key": key, "value": value })
}

fn span_json(
    span_id: &str,
    parent: Option<&str>,
    name: &str,
    start_ns: u64,
    dur_ms: u64,
    attrs: Value,
) -> Value {
    let mut s = json!({
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": start_ns.to_string(),
        "endTimeUnixNano": (start_ns + dur_ms * 1_000_000).to_string(),
        "attributes": attrs,
    });
    if let Some(p) = parent {
        s["parentSpanId"] = json!(p);
    }
    s
}

/// An OTLP/JSON traces request with `spans` (their traceId is filled in).
fn trace_json(service: &str, trace_id: &str, spans: &[Value]) -> Value {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s["traceId"] = json!(trace_id);
            s
        })
        .collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": [attr("service.name", json!(service))] },
            "scopeSpans": [{ "scope": { "name": "clawscope-test" }, "spans": spans }]
        }]
    })
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// An OTLP protobuf traces request: one span per (trace id, span id) pair.
fn trace_proto(service: &str, ids: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let t = now_ns();
    let spans = ids
        .iter()
        .map(|(tid, sid)| Span {
            trace_id: tid.clone(),
            span_id: sid.clone(),
            name: "openclaw.tool.execution".into(),
            kind: 1,
            start_time_unix_nano: t,
            end_time_unix_nano: t + 5_000_000,
            attributes: vec![
                kv(
                    "gen_ai.tool.name",
                    any_value::Value::StringValue("exec".into()),
                ),
                kv(
                    "openclaw.sessionKey",
                    any_value::Value::StringValue("proto-session".into()),
                ),
            ],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue(service.into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// `depth` nested OTLP/JSON array values around a string, as one attribute value.
fn nested_json(depth: usize) -> String {
    let open = r#"{"arrayValue":{"values":["#;
    let close = "]}}";
    let mut s = String::with_capacity(depth * (open.len() + close.len()) + 64);
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push_str(r#"{"stringValue":"leaf"}"#);
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

fn nested_trace(trace_id: &str, depth: usize) -> String {
    let t = now_ns();
    format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"nested"}}}}]}},"scopeSpans":[{{"spans":[{{"traceId":"{trace_id}","spanId":"{}","name":"nested","startTimeUnixNano":"{t}","endTimeUnixNano":"{t}","attributes":[{{"key":"deep","value":{}}}]}}]}}]}}]}}"#,
        hex_id(8),
        nested_json(depth)
    )
}

/// POST a `len`-byte body over a plain socket, streaming it while reading the answer,
/// so a server that answers early (and stops reading) is not waited on. Returns the
/// status, and how many body bytes were written before the server stopped taking them.
fn post_huge(addr: SocketAddr, path: &str, len: usize) -> (u16, usize) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {PROTOBUF}\r\nContent-Length: {len}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).unwrap();
    let mut writer = conn.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![0x0a_u8; 1 << 20];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            if writer.write_all(&chunk[..n]).is_err() {
                break;
            }
            sent += n;
        }
        sent
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    // The answer is in: stop sending (the server may have stopped reading long ago).
    let _ = conn.shutdown(std::net::Shutdown::Both);
    let sent = sender.join().unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer to a {len}-byte POST: {text:?}"));
    (status, sent)
}

/// Send only the head of a POST announcing a `len`-byte body, and wait up to `wait` for
/// an answer without sending any of the body: the status, if one came.
fn answer_to_head(addr: SocketAddr, head: &str, len: usize, wait: Duration) -> Option<u16> {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(wait)).unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {PROTOBUF}\r\n{head}Content-Length: {len}\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 1024];
    let n = conn.read(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok())
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn bad_bodies_are_refused_and_the_receiver_keeps_serving() {
    let sb = Sandbox::new();
    let mut s = Serve::start(&sb, &[]);
    s.assert_healthy("startup");

    let garbage: &[u8] = b"\xff\xfe this is not a protobuf message \x00\x07\xff";
    for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
        let (status, body) = s.post(path, PROTOBUF, garbage);
        assert_eq!(
            status,
            400,
            "garbage protobuf to {path}: {}",
            String::from_utf8_lossy(&body)
        );
        s.assert_healthy(&format!("garbage protobuf to {path}"));
    }

    // A valid message cut short.
    let tid = hex_id(16);
    let whole = trace_proto("truncated", &[(unhex(&tid), unhex(&hex_id(8)))]);
    let (status, _) = s.post("/v1/traces", PROTOBUF, &whole[..whole.len() / 2]);
    assert_eq!(status, 400, "truncated protobuf");
    assert!(s.trace(&tid).is_none(), "a truncated message stored a span");
    s.assert_healthy("a truncated protobuf");

    // Without a token, a request naming another host (a web page reaching the port
    // through DNS rebinding) is refused before its body is read.
    let whole_tid = hex_id(16);
    let valid = trace_proto("rebound", &[(unhex(&whole_tid), unhex(&hex_id(8)))]);
    let headers = [("content-type", PROTOBUF), ("host", "evil.example:4318")];
    let (status, _, _) = s.post_raw("/v1/traces", &headers, &valid);
    assert_eq!(status, 403, "a request naming evil.example");
    assert!(
        s.trace(&whole_tid).is_none(),
        "a rebound request was stored"
    );

    // Content types and encodings.
    let valid = trace_json(
        "ct",
        &hex_id(16),
        &[span_json(&hex_id(8), None, "x", now_ns(), 1, json!([]))],
    );
    let valid = valid.to_string();
    for ct in [
        "text/plain",
        "application/grpc",
        "multipart/form-data; boundary=x",
        "",
    ] {
        let headers: Vec<(&str, &str)> = if ct.is_empty() {
            vec![]
        } else {
            vec![("content-type", ct)]
        };
        let (status, _, _) = s.post_raw("/v1/traces", &headers, valid.as_bytes());
        assert_eq!(status, 415, "content type {ct:?}");
        s.assert_healthy(&format!("content type {ct:?}"));
    }
    let (status, _, _) = s.post_raw(
        "/v1/traces",
        &[("content-type", JSON), ("content-encoding", "br")],
        valid.as_bytes(),
    );
    assert_eq!(status, 415, "content encoding br");
    let (status, _, _) = s.post_raw(
        "/v1/traces",
        &[("content-type", JSON), ("content-encoding", "gzip")],
        valid.as_bytes(),
    );
    assert_eq!(status, 400, "a gzip header on a body that is not gzip");
    s.assert_healthy("bad content encodings");

    // JSON that does not parse, or is not an export request.
    for (what, body) in [
        (
            "invalid JSON",
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"#.to_string(),
        ),
        ("an empty body", String::new()),
        ("the wrong shape", r#"{"resourceSpans":5}"#.to_string()),
        (
            "a bad hex id",
            valid.replace("\"traceId\":\"", "\"traceId\":\"zz"),
        ),
    ] {
        let (status, body) = s.post("/v1/traces", JSON, body.as_bytes());
        assert_eq!(status, 400, "{what}: {}", String::from_utf8_lossy(&body));
        let err: Value =
            serde_json::from_slice(&body).expect("a JSON error body for a JSON request");
        assert_eq!(err["code"], 400, "{what}: {err}");
        s.assert_healthy(what);
    }

    // 100 000 nested arrays in one attribute value: refused, no stack overflow.
    let deep_tid = hex_id(16);
    let (status, body) = s.post(
        "/v1/traces",
        JSON,
        nested_trace(&deep_tid, 100_000).as_bytes(),
    );
    assert_eq!(status, 400, "deep JSON: {}", String::from_utf8_lossy(&body));
    assert!(s.trace(&deep_tid).is_none());
    s.assert_healthy("100 000 nested arrays");
    // Nesting that parses is kept, cut at a safe depth.
    let tid = hex_id(16);
    let (status, _) = s.post("/v1/traces", JSON, nested_trace(&tid, 30).as_bytes());
    assert_eq!(status, 200, "30 nested arrays");
    let t = s.trace(&tid).expect("the nested span is stored");
    let attrs = t["spans"][0]["attrs"].as_str().unwrap();
    assert!(
        attrs.contains('…') && !attrs.contains("leaf"),
        "nesting not cut: {attrs}"
    );

    // Spans with invalid ids are refused one by one (partial success), the rest stored.
    let good_tid = hex_id(16);
    let body = trace_proto(
        "partial",
        &[
            (vec![0; 16], unhex(&hex_id(8))),
            (unhex(&good_tid), vec![0; 8]),
            (unhex(&good_tid)[..8].to_vec(), unhex(&hex_id(8))),
            (unhex(&good_tid), unhex(&hex_id(8))),
        ],
    );
    let (status, ct, body) = s.post_raw("/v1/traces", &[("content-type", PROTOBUF)], &body);
    assert_eq!((status, ct.as_str()), (200, PROTOBUF));
    let resp = ExportTraceServiceResponse::decode(body.as_slice()).expect("protobuf response");
    let partial = resp.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 3, "{partial:?}");
    assert!(!partial.error_message.is_empty());
    assert_eq!(
        s.trace(&good_tid).expect("the valid span")["summary"]["spans"],
        1
    );

    // The wrong method and unknown paths.
    let status = match ureq::get(&format!("http://{}/v1/traces", s.otlp)).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(c, _)) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(status, 405, "GET /v1/traces");
    let (status, _) = s.post("/v1/profiles", JSON, b"{}");
    assert_eq!(status, 404, "unknown signal");
    s.assert_healthy("a wrong method and path");

    // Nothing but the probes and the two valid traces above was stored.
    let rows = s.get("/api/v1/traces?limit=1000")["rows"]
        .as_array()
        .unwrap()
        .clone();
    let mut stored: Vec<String> = rows
        .iter()
        .map(|r| r["trace_id"].as_str().unwrap().to_string())
        .collect();
    let mut want = s.probes.clone();
    want.extend([tid, good_tid]);
    stored.sort();
    want.sort();
    assert_eq!(stored, want, "bad requests stored something");
}

#[test]
fn oversized_bodies_and_gzip_bombs_get_413_without_being_buffered() {
    let sb = Sandbox::new();
    let mut s = Serve::start(&sb, &[]);
    s.assert_healthy("startup");
    let before = s.peak_rss();

    // 100 MB, default limit (16 MiB): refused, and not read to the end.
    let len = 100_000_000;
    let (status, sent) = post_huge(s.otlp, "/v1/traces", len);
    assert_eq!(status, 413, "a 100 MB body");
    s.assert_healthy("a 100 MB body");
    assert!(
        sent < len,
        "the server read all of a 100 MB body it refuses ({sent} bytes)"
    );
    if let (Some(before), Some(after)) = (before, s.peak_rss()) {
        // The server may read up to the limit; it must not have held the whole upload.
        assert!(
            after.saturating_sub(before) < 64 << 20,
            "peak memory grew by {} MiB for a refused 100 MB body",
            (after - before) >> 20
        );
    }

    // A gzip bomb: 64 KiB that inflate to 64 MiB.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 256 << 10, "bomb is {} bytes", bomb.len());
    for (ct, path) in [
        (PROTOBUF, "/v1/traces"),
        (JSON, "/v1/metrics"),
        (PROTOBUF, "/v1/logs"),
    ] {
        let (status, _, body) = s.post_raw(
            path,
            &[("content-type", ct), ("content-encoding", "gzip")],
            &bomb,
        );
        assert_eq!(
            status,
            413,
            "gzip bomb to {path}: {}",
            String::from_utf8_lossy(&body)
        );
        s.assert_healthy(&format!("a gzip bomb to {path}"));
    }
    if let (Some(before), Some(after)) = (before, s.peak_rss()) {
        assert!(
            after.saturating_sub(before) < 96 << 20,
            "peak memory grew by {} MiB after gzip bombs",
            (after - before) >> 20
        );
    }
    // A gzipped export under the limit is fine.
    let tid = hex_id(16);
    let body = trace_json(
        "gz",
        &tid,
        &[span_json(&hex_id(8), None, "gz", now_ns(), 3, json!([]))],
    );
    let (status, _, _) = s.post_raw(
        "/v1/traces",
        &[("content-type", JSON), ("content-encoding", "gzip")],
        &gzip(body.to_string().as_bytes()),
    );
    assert_eq!(status, 200, "a small gzip export");
    assert!(s.trace(&tid).is_some());
    drop(s);

    // A lower --otlp-max-body counts the inflated size too.
    let sb = Sandbox::new();
    let mut s = Serve::start(&sb, &["--otlp-max-body", "4096"]);
    let big = trace_json(
        "limit",
        &hex_id(16),
        &[span_json(
            &hex_id(8),
            None,
            "big",
            now_ns(),
            1,
            json!([attr("pad", json!("x".repeat(8000)))]),
        )],
    )
    .to_string();
    let (status, _) = s.post("/v1/traces", JSON, big.as_bytes());
    assert_eq!(status, 413, "8 kB JSON over a 4 kB limit");
    let packed = gzip(big.as_bytes());
    assert!(packed.len() < 4096);
    let (status, _, _) = s.post_raw(
        "/v1/traces",
        &[("content-type", JSON), ("content-encoding", "gzip")],
        &packed,
    );
    assert_eq!(status, 413, "gzip that inflates past a 4 kB limit");
    s.assert_healthy("bodies over a low limit");
}

#[test]
fn a_token_is_required_when_configured() {
    let sb = Sandbox::new();
    let mut s = Serve::start(
        &sb,
        &[
            "--otlp-token",
            "s3cret-otlp",
            "--otlp-token-header",
            "x-api-key",
        ],
    );
    s.assert_healthy("startup (with the token)");
    let tid = hex_id(16);
    let body = trace_json(
        "auth",
        &tid,
        &[span_json(&hex_id(8), None, "a", now_ns(), 1, json!([]))],
    )
    .to_string();
    for (what, headers) in [
        ("no token", vec![("authorization", "")]),
        (
            "a wrong bearer token",
            vec![("authorization", "Bearer nope")],
        ),
        (
            "the token without Bearer",
            vec![("authorization", "s3cret-otlp")],
        ),
        (
            "the token in another header",
            vec![("authorization", ""), ("x-otlp-token", "s3cret-otlp")],
        ),
        (
            "a wrong x-api-key",
            vec![("authorization", ""), ("x-api-key", "nope")],
        ),
    ] {
        let mut h = headers.clone();
        h.push(("content-type", JSON));
        for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
            let (status, _, _) = s.post_raw(path, &h, body.as_bytes());
            assert_eq!(status, 401, "{what} to {path}");
        }
        // Refused before the body is looked at.
        let (status, _, _) = s.post_raw("/v1/traces", &h, b"garbage");
        assert_eq!(status, 401, "{what} with a garbage body");
    }
    assert!(s.trace(&tid).is_none(), "an unauthorized export was stored");
    // Refused before the body is read: nothing of it needs to be sent (or buffered).
    for len in [1_000_000, 100_000_000] {
        assert_eq!(
            answer_to_head(s.otlp, "", len, Duration::from_secs(5)),
            Some(401),
            "a {len}-byte request without the token was not refused before its body"
        );
    }
    assert_eq!(
        answer_to_head(
            s.otlp,
            "Authorization: Bearer nope\r\n",
            1000,
            Duration::from_secs(5)
        ),
        Some(401)
    );
    // With the token the body is awaited (no answer before it comes).
    assert_eq!(
        answer_to_head(
            s.otlp,
            "Authorization: Bearer s3cret-otlp\r\n",
            1000,
            Duration::from_millis(500)
        ),
        None
    );
    s.assert_healthy("unauthorized requests");
    let (status, _, _) = s.post_raw(
        "/v1/traces",
        &[
            ("authorization", ""),
            ("x-api-key", "s3cret-otlp"),
            ("content-type", JSON),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 200, "the token in the configured header");
    assert!(s.trace(&tid).is_some());
}

/// One OpenClaw-shaped trace with a usage span, a log inside it and a counter, as JSON.
fn sample_export(
    service: &str,
    trace_id: &str,
    session: &str,
    start: u64,
) -> (Value, Value, Value) {
    let (root, usage, tool) = (hex_id(8), hex_id(8), hex_id(8));
    let spans = trace_json(
        service,
        trace_id,
        &[
            span_json(
                &usage,
                Some(&root),
                "openclaw.model.usage",
                start + 1_000_000,
                400,
                json!([
                    attr("openclaw.sessionKey", json!(session)),
                    attr("openclaw.tokens.input", json!(1234)),
                    attr("openclaw.tokens.output", json!(56)),
                    attr("openclaw.tokens.cache_read", json!(700)),
                    attr("gen_ai.request.model", json!("gpt-5.1")),
                    attr("gen_ai.provider.name", json!("openai")),
                    attr("openclaw.cost.usd", json!(0.5)),
                ]),
            ),
            span_json(
                &root,
                None,
                "openclaw.run",
                start,
                1500,
                json!([
                    attr("openclaw.sessionKey", json!(session)),
                    attr("openclaw.channel", json!("discord")),
                ]),
            ),
            span_json(
                &tool,
                Some(&root),
                "openclaw.tool.execution",
                start + 500_000_000,
                100,
                json!([
                    attr("openclaw.sessionKey", json!(session)),
                    attr("openclaw.toolName", json!("read")),
                ]),
            ),
        ],
    );
    let logs = json!({
        "resourceLogs": [{
            "resource": { "attributes": [attr("service.name", json!(service))] },
            "scopeLogs": [{ "logRecords": [{
                "timeUnixNano": (start + 2_000_000).to_string(),
                "severityNumber": 17,
                "severityText": "ERROR",
                "body": { "stringValue": "tool read failed" },
                "traceId": trace_id,
                "spanId": tool,
                "attributes": [attr("openclaw.sessionKey", json!(session))],
            }]}]
        }]
    });
    let point = |t: u64, v: i64| {
        json!({
            "startTimeUnixNano": start.to_string(),
            "timeUnixNano": t.to_string(),
            "asInt": v.to_string(),
            "attributes": [attr("openclaw.token", json!("input"))],
        })
    };
    let metrics = json!({
        "resourceMetrics": [{
            "resource": { "attributes": [attr("service.name", json!(service))] },
            "scopeMetrics": [{ "metrics": [{
                "name": "openclaw.tokens",
                "unit": "1",
                "sum": {
                    "aggregationTemporality": 2,
                    "isMonotonic": true,
                    "dataPoints": [point(start + 1_000_000_000, 100), point(start + 2_000_000_000, 250)],
                },
            }]}]
        }]
    });
    (spans, logs, metrics)
}

#[test]
fn a_json_export_round_trips_through_the_api() {
    let sb = Sandbox::new();
    let mut s = Serve::start(&sb, &[]);
    let start = now_ns() - 60_000_000_000;
    let tid = hex_id(16);
    let session = format!("rt-{}", hex_id(4));
    let (spans, logs, metrics) = sample_export("round-trip", &tid, &session, start);
    for (path, body) in [
        ("/v1/traces", &spans),
        ("/v1/logs", &logs),
        ("/v1/metrics", &metrics),
    ] {
        let (status, ct, resp) =
            s.post_raw(path, &[("content-type", JSON)], body.to_string().as_bytes());
        assert_eq!(
            (status, ct.as_str()),
            (200, JSON),
            "{path}: {}",
            String::from_utf8_lossy(&resp)
        );
        let resp: Value = serde_json::from_slice(&resp).expect("JSON answer");
        let partial = &resp["partialSuccess"];
        assert!(
            partial.is_null() || partial.as_object().is_some_and(|o| o.is_empty()),
            "{path}: {resp}"
        );
    }

    let rows = s.get("/api/v1/traces?service=round-trip")["rows"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    let sum = &rows[0];
    assert_eq!(sum["trace_id"], tid.as_str());
    assert_eq!(sum["name"], "openclaw.run");
    assert_eq!(sum["spans"], 3);
    assert_eq!(sum["duration_ms"], 1500.0);
    assert_eq!(sum["session_key"], format!("otel:{session}"));
    assert_eq!(sum["tokens"]["input"], 1234);
    assert_eq!(sum["tokens"]["cache_read"], 700);
    assert_eq!(sum["cost_usd"], 0.5);

    let d = s.get(&format!("/api/v1/traces/{tid}"));
    let tree: Vec<(String, u64)> = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_string(),
                x["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tree,
        [
            ("openclaw.run".to_string(), 0),
            ("openclaw.model.usage".to_string(), 1),
            ("openclaw.tool.execution".to_string(), 1),
        ]
    );
    assert_eq!(d["spans"][1]["model"], "gpt-5.1");
    assert_eq!(d["spans"][2]["tool_name"], "read");
    let logs = d["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["body"], "tool read failed");
    assert_eq!(logs[0]["span_id"], d["spans"][2]["span_id"]);

    // The usage span is an event of the session its hint names.
    let sess = s.get(&format!("/api/v1/sessions/otel:{session}"))["session"].clone();
    assert_eq!(sess["input_tokens"], 1234, "{sess}");
    assert_eq!(sess["assistant_messages"], 1, "{sess}");
    let events = s.get(&format!(
        "/api/v1/events?session=otel:{session}&type=message.assistant"
    ))["rows"]
        .clone();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events[0]["source"], "otel");

    // The cumulative counter (100 then 250) is an increase of 250.
    let since = start / 1_000_000 - 1000;
    let series = s.get(&format!(
        "/api/v1/metrics/series?name=openclaw.tokens&group_by=openclaw.token&step=1h&since={since}"
    ));
    let total: f64 = series["groups"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["value"].as_f64().unwrap())
        .sum();
    assert_eq!(
        (series["groups"][0]["group"].as_str(), total),
        (Some("input"), 250.0),
        "{series}"
    );

    // A protobuf export is answered in protobuf, and stored like the JSON one.
    let ptid = hex_id(16);
    let (status, ct, body) = s.post_raw(
        "/v1/traces",
        &[("content-type", PROTOBUF)],
        &trace_proto("round-trip-proto", &[(unhex(&ptid), unhex(&hex_id(8)))]),
    );
    assert_eq!((status, ct.as_str()), (200, PROTOBUF));
    assert!(ExportTraceServiceResponse::decode(body.as_slice())
        .unwrap()
        .partial_success
        .is_none());
    let d = s.trace(&ptid).expect("protobuf trace");
    assert_eq!(d["spans"][0]["tool_name"], "exec");
    assert_eq!(d["summary"]["session_key"], "otel:proto-session");
    s.assert_healthy("round trips");
}

#[test]
fn the_same_export_twice_is_stored_once() {
    let sb = Sandbox::new();
    let mut s = Serve::start(&sb, &[]);
    let start = now_ns() - 60_000_000_000;
    let tid = hex_id(16);
    let session = format!("dup-{}", hex_id(4));
    let (spans, logs, metrics) = sample_export("dup", &tid, &session, start);
    let since = start / 1_000_000 - 1000;
    let snapshot = |s: &Serve| {
        let d = s.get(&format!("/api/v1/traces/{tid}"));
        let sess = s.get(&format!("/api/v1/sessions/otel:{session}"))["session"].clone();
        let series = s.get(&format!(
            "/api/v1/metrics/series?name=openclaw.tokens&step=1h&since={since}"
        ));
        json!({
            "summary": d["summary"],
            "spans": d["spans"].as_array().unwrap().len(),
            "logs": d["logs"].as_array().unwrap().len(),
            "session": [sess["input_tokens"], sess["output_tokens"], sess["assistant_messages"], sess["events"]],
            "events": s.get(&format!("/api/v1/events?session=otel:{session}"))["rows"].as_array().unwrap().len(),
            "metric": series["groups"],
            "traces": s.get("/api/v1/traces?service=dup")["rows"].as_array().unwrap().len(),
        })
    };
    let send = |s: &Serve| {
        for (path, body) in [
            ("/v1/traces", &spans),
            ("/v1/logs", &logs),
            ("/v1/metrics", &metrics),
        ] {
            let (status, resp) = s.post_json(path, body);
            assert_eq!(status, 200, "{path}: {resp}");
        }
    };
    send(&s);
    let first = snapshot(&s);
    assert_eq!(first["spans"], 3, "{first}");
    assert_eq!(first["logs"], 1, "{first}");
    assert_eq!(first["summary"]["spans"], 3, "{first}");
    send(&s);
    assert_eq!(
        snapshot(&s),
        first,
        "a second identical export changed what is stored"
    );
    // Also as protobuf, gzip-compressed: the same span ids are the same spans.
    let ids = vec![(unhex(&tid), unhex(&hex_id(8)))];
    let proto = trace_proto("dup", &ids);
    for _ in 0..2 {
        let (status, _, _) = s.post_raw(
            "/v1/traces",
            &[("content-type", PROTOBUF), ("content-encoding", "gzip")],
            &gzip(&proto),
        );
        assert_eq!(status, 200);
    }
    let d = s.get(&format!("/api/v1/traces/{tid}"));
    assert_eq!(
        d["summary"]["spans"], 4,
        "one new span, sent twice: {}",
        d["summary"]
    );
    assert_eq!(d["spans"].as_array().unwrap().len(), 4);
    s.assert_healthy("duplicates");
}

/// A model call seen twice in one trace (OpenClaw's `openclaw.model.usage` and a GenAI
/// `chat` span from a provider SDK's instrumentation, same tokens) with a span of its
/// own.
fn usage_twice_in_one_trace(session: &str, trace_id: &str) -> Value {
    let start = now_ns() - 30_000_000_000;
    let root = hex_id(8);
    let usage = |name: &str, attrs: Value| {
        let mut s = span_json(&hex_id(8), Some(&root), name, start + 1_000_000, 900, attrs);
        s["kind"] = json!(3);
        s
    };
    trace_json(
        "usage-twice",
        trace_id,
        &[
            span_json(
                &root,
                None,
                "openclaw.run",
                start,
                2000,
                json!([attr("openclaw.sessionKey", json!(session)),]),
            ),
            usage(
                "openclaw.model.usage",
                json!([
                    attr("openclaw.sessionKey", json!(session)),
                    attr("openclaw.tokens.input", json!(4321)),
                    attr("openclaw.tokens.output", json!(87)),
                    attr("gen_ai.request.model", json!("gpt-5.1")),
                    attr("openclaw.cost.usd", json!(0.25)),
                ]),
            ),
            usage(
                "chat gpt-5.1",
                json!([
                    attr("gen_ai.operation.name", json!("chat")),
                    attr("gen_ai.conversation.id", json!(session)),
                    attr("gen_ai.usage.input_tokens", json!(4321)),
                    attr("gen_ai.usage.output_tokens", json!(87)),
                    attr("gen_ai.request.model", json!("gpt-5.1")),
                ]),
            ),
        ],
    )
}

#[test]
fn usage_seen_twice_in_one_trace_is_one_event() {
    let sb = Sandbox::new();
    let s = Serve::start(&sb, &[]);
    let (tid, session) = (hex_id(16), format!("twice-{}", hex_id(4)));
    let (status, resp) = s.post_json("/v1/traces", &usage_twice_in_one_trace(&session, &tid));
    assert_eq!(status, 200, "{resp}");
    let sess = s.get(&format!("/api/v1/sessions/otel:{session}"))["session"].clone();
    assert_eq!(
        (
            &sess["input_tokens"],
            &sess["output_tokens"],
            &sess["assistant_messages"]
        ),
        (&json!(4321), &json!(87), &json!(1)),
        "{sess}"
    );
    let d = s.get(&format!("/api/v1/traces/{tid}"));
    let ids: Vec<&Value> = d["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["tokens"]["input"] == 4321)
        .map(|x| &x["event_id"])
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1], "both spans stand for one event");
}

#[test]

fn usage_seen_twice_in_one_trace_counts_once_in_the_trace_summary() {
    let sb = Sandbox::new();
    let s = Serve::start(&sb, &[]);
    let (tid, session) = (hex_id(16), format!("twice-{}", hex_id(4)));
    let (status, resp) = s.post_json("/v1/traces", &usage_twice_in_one_trace(&session, &tid));
    assert_eq!(status, 200, "{resp}");
    let sum = s.get(&format!("/api/v1/traces/{tid}"))["summary"].clone();
    assert_eq!(
        (
            &sum["tokens"]["input"],
            &sum["tokens"]["output"],
            &sum["cost_usd"]
        ),
        (&json!(4321), &json!(87), &json!(0.25)),
        "{sum}"
    );
}
