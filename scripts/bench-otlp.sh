#!/usr/bin/env bash
# OTLP trace ingest, clawscope and Arize Phoenix side by side in one run, on the same
# generated spans.
#
#   scripts/bench-otlp.sh                          # 200k spans, 1 and 4 senders, both servers
#   SENDERS=4 BENCH_SPANS=50000 scripts/bench-otlp.sh
#   SKIP_PHOENIX=1 scripts/bench-otlp.sh           # clawscope only
#
# For each sender count: start `clawscope serve` on a fresh store (OTLP/HTTP only, no sources),
# send the spans with the otlp_load example (OpenClaw-shaped GenAI traces, 512 spans per
# protobuf request, built before the clock starts, 429/502/503/504 retried with backoff),
# stop it; then start `phoenix serve` on a fresh working dir and send the same spans (same
# seed) to its OTLP/HTTP endpoint, stop it. Everything stays on 127.0.0.1.
#
# clawscope answers 200 only once the spans are committed, so what it accepted is what it
# persisted. Phoenix answers 200 as soon as a request is queued in memory and writes to its
# database afterwards, so for Phoenix the spans in its `spans` table are counted (read-only,
# twice a second) until all accepted spans are there, the count stops growing, or
# PHOENIX_DRAIN_S passes after the last request. Its persisted rate runs from the first
# request to the last span seen persisted; the comparison (target: clawscope >= 20x) is
# against that rate. Accepted rates are shown too.
#
# Server figures: peak RSS is the server's VmHWM (idle RSS before sending shown alongside);
# CPU is the server's user+system time from the first request until counting stopped (for
# Phoenix that includes decoding spans still queued when the drain timed out), also per
# persisted span; store size is the database files after the server stopped.
#
# Environment: BENCH_SPANS (200000), SENDERS ("1 4"), BENCH_SECONDS (60: cap on sending,
# retries included), BENCH_SEED (42), BENCH_GZIP=1 (gzip request bodies), PHOENIX_DRAIN_S (120),
# SKIP_PHOENIX=1, PHOENIX_VERSION (pin arize-phoenix when installing), PHOENIX_VENV (default
# ${XDG_CACHE_HOME:-~/.cache}/clawscope/phoenix-venv; created on first use, ~850 MB),
# CLAWSCOPE_BIN (skip the release build; target/release/examples/otlp_load must exist),
# BENCH_KEEP=1 (keep the temp dir with logs and stores), BENCH_STRICT=1 (exit 1 when clawscope
# is below 20x Phoenix's persisted rate).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-python3}
SPANS=${BENCH_SPANS:-200000}
SENDERS_LIST=${SENDERS:-1 4}
CAP=${BENCH_SECONDS:-60}
SEED=${BENCH_SEED:-42}
DRAIN=${PHOENIX_DRAIN_S:-120}
SKIP_PHOENIX=${SKIP_PHOENIX:-0}
VENV=${PHOENIX_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/clawscope/phoenix-venv}
GZIP_ARG=()
[[ "${BENCH_GZIP:-0}" == 1 ]] && GZIP_ARG=(--gzip)

if [[ -n "${CLAWSCOPE_BIN:-}" ]]; then
  BIN=$CLAWSCOPE_BIN
else
  echo "== cargo build --release (clawscope + the otlp_load example)" >&2
  cargo build --release --quiet -p clawscope --bin clawscope
  cargo build --release --quiet -p clawscope-otlp --example otlp_load
  BIN=$REPO/target/release/clawscope
fi
LOAD=$REPO/target/release/examples/otlp_load
[[ -x "$LOAD" ]] || { echo "missing $LOAD (cargo build --release -p clawscope-otlp --example otlp_load)" >&2; exit 1; }

if [[ "$SKIP_PHOENIX" != 1 && ! -f "$VENV/.installed" ]]; then
  echo "== installing arize-phoenix${PHOENIX_VERSION:+==$PHOENIX_VERSION} into $VENV (once)" >&2
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "arize-phoenix${PHOENIX_VERSION:+==$PHOENIX_VERSION}"
  touch "$VENV/.installed"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-otlpbench.XXXXXX")
SERVER_PID=""
POLL_PID=""
stop_server() {
  local p=$SERVER_PID
  [[ -n "$p" ]] || return 0
  SERVER_PID=""
  # Ctrl-C is the graceful stop of both (clawscope checkpoints its WAL; Phoenix spends a
  # few seconds on its shutdown drain); then TERM, then KILL.
  local sig
  for sig in INT TERM KILL; do
    kill -"$sig" "$p" 2>/dev/null || break
    for _ in $(seq 1 100); do
      kill -0 "$p" 2>/dev/null || break 2
      sleep 0.2
    done
  done
  wait "$p" 2>/dev/null || true
}
cleanup() {
  if [[ -n "$POLL_PID" ]]; then kill "$POLL_PID" 2>/dev/null || true; fi
  stop_server
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "== kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Helpers: free ports, /proc figures, span counts, the Phoenix poller and the report.
cat >"$WORK/bench.py" <<'EOF'
import json, os, socket, sqlite3, sys, time

def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])

def proc(pid):
    """utime+stime ticks, VmRSS kB and VmHWM kB of one process."""
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = int(stat[11]) + int(stat[12])
    rss = hwm = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return {"ticks": ticks, "hz": os.sysconf("SC_CLK_TCK"), "rss_kb": rss, "hwm_kb": hwm, "t": time.time()}

def count(db):
    if not os.path.exists(db):
        return 0
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return c.execute("SELECT count(*) FROM spans").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return None

def poll(db, gen_json, drain_s, out, pid):
    """Count persisted spans until all accepted are there, the count stops growing,
    or drain_s passes after the generator finished."""
    stall_s = 20.0
    n, t_change, done_at, accepted, peak_rss = 0, None, None, None, 0
    reason = "timeout"
    while True:
        now = time.time()
        c = count(db)
        if c is not None and c != n:
            n, t_change = c, now
        try:
            peak_rss = max(peak_rss, proc(pid)["rss_kb"])
        except OSError:
            reason = "server exited"
            break
        if done_at is None and os.path.exists(gen_json):
            done_at = now
            accepted = json.load(open(gen_json))["accepted"]
        if done_at is not None:
            if n >= accepted:
                reason = "all accepted spans persisted"
                break
            if now - done_at >= drain_s:
                reason = f"drain timeout ({drain_s:.0f}s after the last request)"
                break
            if now - max(done_at, t_change or done_at) >= stall_s:
                reason = f"count stopped growing for {stall_s:.0f}s"
                break
        time.sleep(0.5)
    json.dump({"persisted": n, "t_last_change": t_change, "t_end": time.time(),
               "reason": reason, "peak_rss_kb": peak_rss}, open(out, "w"))

def report(work, target, strict):
    runs = [json.load(open(os.path.join(work, d, "run.json")))
            for d in sorted(os.listdir(work)) if os.path.exists(os.path.join(work, d, "run.json"))]
    rows, notes, ratios = [], [], []
    def fmt(x, nd=0):
        return f"{x:,.{nd}f}"
    for r in runs:
        g, b, a = r["gen"], r["before"], r["after"]
        persisted = r["persisted"]
        if r["system"] == "clawscope":
            # 200 only after the commit: persisted when the last request returned.
            dt = g["elapsed_s"]
            drain = "—"
            if persisted != g["accepted"]:
                notes.append(f"clawscope x{g['senders']}: {persisted} spans stored vs {g['accepted']} accepted")
        else:
            p = r["poll"]
            dt = (p["t_last_change"] or g["start_unix_s"]) - g["start_unix_s"]
            left = g["accepted"] - persisted
            drain = f"{dt - g['elapsed_s']:.0f} s" + ("" if left <= 0 else f", {left:,} left")
            notes.append(f"phoenix x{g['senders']}: stopped counting: {p['reason']}")
        rate = persisted / dt if dt > 0 else 0.0
        cpu_s = (a["ticks"] - b["ticks"]) / a["hz"]
        r["rate"] = rate
        rows.append([
            r["system"], str(g["senders"]), fmt(g["sent"]), fmt(g["accepted"]),
            fmt(g["accepted_per_s"]), fmt(persisted), f"**{fmt(rate)}**", drain,
            fmt(g["dropped"]), fmt(g["retries"]), fmt(g["p50_ms"], 1), fmt(g["p99_ms"], 1),
            f"{b['rss_kb'] / 1024:.0f} → {a['hwm_kb'] / 1024:.0f}",
            f"{cpu_s:.1f}", fmt(cpu_s * 1e6 / persisted, 0) if persisted else "—",
            f"{r['store_bytes'] / 1e6:.1f}",
        ])
    head = ["server", "senders", "spans sent", "accepted", "accepted/s", "persisted",
            "persisted/s", "drain", "dropped", "retries", "p50 ms", "p99 ms",
            "RSS idle → peak MB", "CPU s", "CPU µs/persisted span", "store MB"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" if i > 0 else "---" for i in range(len(head))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    by = {}
    for r in runs:
        by.setdefault(r["gen"]["senders"], {})[r["system"]] = r
    failed = False
    for k in sorted(by):
        c, p = by[k].get("clawscope"), by[k].get("phoenix")
        if not c or not p:
            continue
        ratio = c["rate"] / p["rate"] if p["rate"] > 0 else float("inf")
        acc = c["rate"] / p["gen"]["accepted_per_s"] if p["gen"]["accepted_per_s"] > 0 else float("inf")
        ok = ratio >= target
        failed |= not ok
        print(f"- {k} sender(s): clawscope {fmt(c['rate'])} spans/s persisted vs Phoenix "
              f"{fmt(p['rate'])} spans/s persisted: **{ratio:,.1f}x** "
              f"(target >= {target:g}x: {'met' if ok else 'NOT met'}); against Phoenix's accepted "
              f"rate ({fmt(p['gen']['accepted_per_s'])} spans/s, queued in memory, not yet stored): {acc:,.2f}x")
    for n in notes:
        print(f"- {n}")
    print("- Phoenix answers 200 once a request is queued in memory (503 when its queue is full) and "
          "persists afterwards; its persisted/s counts spans in its database from the first request "
          "to the last span seen there. clawscope answers 200 only after the spans are committed "
          "to SQLite, so its accepted spans are persisted spans.")
    if strict and failed:
        sys.exit(1)

def summary(path):
    g = json.load(open(path))
    codes = ", ".join(f"{k}: {v:,}" for k, v in g["statuses"].items())
    print(f"   sent {g['sent']:,}, accepted {g['accepted']:,} in {g['elapsed_s']:.1f}s "
          f"= {g['accepted_per_s']:,.0f} spans/s; dropped {g['dropped']:,}, retries {g['retries']:,}"
          + (f" ({codes})" if codes else ""))

cmd = sys.argv[1]
if cmd == "port":
    port()
elif cmd == "proc":
    print(json.dumps(proc(int(sys.argv[2]))))
elif cmd == "count":
    print(count(sys.argv[2]) or 0)
elif cmd == "poll":
    poll(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], int(sys.argv[6]))
elif cmd == "summary":
    summary(sys.argv[2])
elif cmd == "report":
    report(sys.argv[2], float(sys.argv[3]), sys.argv[4] == "1")
EOF
H=("$PY" "$WORK/bench.py")

wait_http() { # url seconds
  local deadline=$((SECONDS + $2))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" == 200 ]]; do
    if ((SECONDS >= deadline)) || ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "server did not come up on $1" >&2
      return 1
    fi
    sleep 0.3
  done
}

# run.json for one server run: generator output, /proc before and after, persisted, store size.
record() { # dir system persisted store_bytes
  local dir=$1
  "$PY" - "$dir" "$2" "$3" "$4" <<'EOF'
import json, os, sys
d, system, persisted, store = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
run = {"system": system, "persisted": persisted, "store_bytes": store,
       "gen": json.load(open(os.path.join(d, "gen.json"))),
       "before": json.load(open(os.path.join(d, "before.json"))),
       "after": json.load(open(os.path.join(d, "after.json")))}
p = os.path.join(d, "poll.json")
if os.path.exists(p):
    run["poll"] = json.load(open(p))
json.dump(run, open(os.path.join(d, "run.json"), "w"))
EOF
}

bytes_of() { find "$@" -maxdepth 0 -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}'; }

generate() { # dir url
  "$LOAD" --url "$2" --spans "$SPANS" --senders "$k" --seconds "$CAP" --seed "$SEED" \
    --pid "$SERVER_PID" "${GZIP_ARG[@]}" >"$1/gen.json.part" 2>"$1/gen.log"
  mv "$1/gen.json.part" "$1/gen.json"
  "${H[@]}" summary "$1/gen.json" >&2
}

run_clawscope() {
  local dir=$WORK/$k-a-clawscope
  mkdir -p "$dir/empty" "$dir/home"
  local api otlp
  api=$("${H[@]}" port)
  otlp=$("${H[@]}" port)
  echo "== clawscope, $k sender(s)" >&2
  env -u OPENCLAW_STATE_DIR -u CLAUDE_CONFIG_DIR HOME="$dir/home" XDG_CONFIG_HOME="$dir/home/.config" \
    XDG_DATA_HOME="$dir/home/.local/share" XDG_CACHE_HOME="$dir/home/.cache" \
    "$BIN" --openclaw-dir "$dir/empty" --claude-dir "$dir/empty" --store "$dir/store.db" serve \
    --listen "127.0.0.1:$api" --no-gateway --no-event-socket \
    --otlp-http "127.0.0.1:$otlp" --no-otlp-grpc >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  wait_http "http://127.0.0.1:$api/api/v1/health" 30
  "${H[@]}" proc "$SERVER_PID" >"$dir/before.json"
  generate "$dir" "http://127.0.0.1:$otlp/v1/traces"
  "${H[@]}" proc "$SERVER_PID" >"$dir/after.json"
  local n
  n=$("${H[@]}" count "$dir/store.db")
  stop_server
  record "$dir" clawscope "$n" "$(bytes_of "$dir"/store.db*)"
}

run_phoenix() {
  local dir=$WORK/$k-b-phoenix
  mkdir -p "$dir/wd"
  local port grpc
  port=$("${H[@]}" port)
  grpc=$("${H[@]}" port)
  echo "== phoenix $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("arize-phoenix"))'), $k sender(s)" >&2
  PHOENIX_WORKING_DIR="$dir/wd" PHOENIX_PORT=$port PHOENIX_GRPC_PORT=$grpc PHOENIX_HOST=127.0.0.1 \
    PHOENIX_TELEMETRY_ENABLED=false "$VENV/bin/phoenix" serve >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  wait_http "http://127.0.0.1:$port/" 120
  local db
  db=$(find "$dir/wd" -maxdepth 2 -name '*.db' | head -1)
  db=${db:-$dir/wd/phoenix.db}
  "${H[@]}" proc "$SERVER_PID" >"$dir/before.json"
  "${H[@]}" poll "$db" "$dir/gen.json" "$DRAIN" "$dir/poll.json" "$SERVER_PID" &
  POLL_PID=$!
  generate "$dir" "http://127.0.0.1:$port/v1/traces"
  echo "   waiting for Phoenix to persist (up to ${DRAIN}s)" >&2
  wait "$POLL_PID"
  POLL_PID=""
  "${H[@]}" proc "$SERVER_PID" >"$dir/after.json"
  stop_server
  local n
  n=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["persisted"])' "$dir/poll.json")
  record "$dir" phoenix "$n" "$(bytes_of "$dir"/wd/*.db*)"
}

echo "== $(nproc) CPUs; $("$BIN" --version); $SPANS spans per run in requests of 512, senders: $SENDERS_LIST, send cap ${CAP}s, seed $SEED${GZIP_ARG:+, gzip}" >&2
for k in $SENDERS_LIST; do
  run_clawscope
  if [[ "$SKIP_PHOENIX" != 1 ]]; then run_phoenix; fi
done

echo
echo "OTLP/HTTP trace ingest, $SPANS OpenClaw-shaped spans per run (traces of 8 spans, 512 per protobuf request), $(nproc) CPUs shared by client and server"
echo
"${H[@]}" report "$WORK" 20 "${BENCH_STRICT:-0}"
