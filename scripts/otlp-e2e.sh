#!/usr/bin/env bash
# End-to-end test of the OTLP receiver with the REAL OpenTelemetry Python SDK and its OTLP
# exporters (OTLP/HTTP protobuf and OTLP/gRPC): `clawscope serve` on free ports with a temp
# store and a temp copy of the OpenClaw fixture; spans shaped like OpenClaw's and like the
# GenAI semantic conventions (some repeating transcript messages, one before its transcript
# line is written), logs inside spans, metrics from four exporter processes (cumulative
# counters that restart, and delta), bad gRPC requests, a token-protected receiver; then checks
# everything through the API (scripts/lib/otlp_check.py) and prints a PASS/FAIL summary.
#
#   scripts/otlp-e2e.sh        # ~12 s once the venv exists (it is cached and reused)
#
# The SDK is installed from PyPI into ${XDG_CACHE_HOME:-~/.cache}/clawscope/otlp-venv
# (OTLP_VENV overrides). KEEP_RUN=1 keeps the run dir (stores, logs, what was sent).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB=$ROOT/scripts/lib
FIXTURE=$ROOT/tests/fixtures/openclaw-2026.9.6
say() { echo "[otlp-e2e $(date -u +%H:%M:%S)] $*" >&2; }
started=$(date +%s)

# --- the SDK, in a cached venv -------------------------------------------------------------
OTEL=1.45.2
PINS="opentelemetry-api==$OTEL opentelemetry-sdk==$OTEL opentelemetry-exporter-otlp-proto-http==$OTEL opentelemetry-exporter-otlp-proto-grpc==$OTEL"
VENV=${OTLP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/clawscope/otlp-venv}
. "$ROOT/scripts/lib/venv.sh"
cached_venv "$VENV" "$PINS" 'import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc' || exit 1
PY=$VENV/bin/python
# The exporters must see only what this script gives them, and reach loopback directly
# (requests, grpcio, urllib and curl all honour proxy variables).
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(OTEL_[A-Za-z0-9_]*\)=.*/\1/p')
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

# --- clawscope -----------------------------------------------------------------------------
(cd "$ROOT" && cargo build --quiet -p clawscope)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/clawscope
RUN=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-otlp-e2e.XXXXXX")
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  if [ "${KEEP_RUN:-0}" = 1 ]; then say "run kept in $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT INT TERM
mkdir -p "$RUN/home" "$RUN/claude" "$RUN/empty"
# The legacy layout (JSONL transcripts) so a transcript line can be appended later: the last
# assistant message of agent:main:main (and the line after it) are held back.
cp -r "$FIXTURE/legacy-layout/home/.openclaw" "$RUN/openclaw"
LATE=$RUN/openclaw/agents/main/sessions/8fd93529-cef6-4de5-bfa2-823b8b99dd1c.jsonl
tail -n 2 "$LATE" >"$RUN/late.jsonl"
head -n -2 "$LATE" >"$LATE.tmp" && mv "$LATE.tmp" "$LATE"
read -r API HTTP GRPC API2 HTTP2 GRPC2 < <("$PY" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)
TOKEN=e2e-$RANDOM$RANDOM

# serve NAME API HTTP GRPC OPENCLAW_DIR [extra serve args]: start one and wait for its API.
serve() {
  local name=$1 api=$2 http=$3 grpc=$4 oc=$5
  shift 5
  env -u CLAWSCOPE_TOKEN -u CLAWSCOPE_OTLP_TOKEN -u CLAWSCOPE_STORE -u CLAWSCOPE_CONFIG \
    -u OPENCLAW_STATE_DIR -u CLAUDE_CONFIG_DIR HOME="$RUN/home" \
    "$BIN" --openclaw-dir "$oc" --claude-dir "$RUN/claude" --store "$RUN/$name.db" --no-progress \
    serve --listen "127.0.0.1:$api" --no-gateway --no-event-socket \
    --otlp-http "127.0.0.1:$http" --otlp-grpc "127.0.0.1:$grpc" \
    --telemetry-retention-days 0 "$@" >"$RUN/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$api/api/v1/health" >/dev/null 2>&1 && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  say "clawscope serve ($name) did not come up"; cat "$RUN/$name.log" >&2; exit 1
}

URL=http://127.0.0.1:$API
serve main "$API" "$HTTP" "$GRPC" "$RUN/openclaw" --rescan 5
# The fixture's four sessions are imported before any span arrives.
for _ in $(seq 1 200); do
  curl -sf "$URL/api/v1/sessions" | grep -q '"total":4' && break
  sleep 0.05
done
curl -sf "$URL/api/v1/sessions" | grep -q '"total":4' || { say "fixture not imported"; exit 1; }
serve auth "$API2" "$HTTP2" "$GRPC2" "$RUN/empty" --otlp-token "$TOKEN"
say "clawscope serving (API $API, OTLP/HTTP $HTTP, OTLP/gRPC $GRPC; with a token: $HTTP2, $GRPC2)"

since=$(($(date +%s%3N) - 120000))
emit() { timeout 60 "$PY" "$LIB/otlp_emit.py" "$@" 2>>"$RUN/emit.log"; }
say "traces and logs over OTLP/HTTP (protobuf), then over OTLP/gRPC (gzip)"
emit traces --transport http --endpoint "http://127.0.0.1:$HTTP" --service e2e-http --label http \
  --late-twin --api "$URL" --out "$RUN/traces-http.json"
emit traces --transport grpc --endpoint "127.0.0.1:$GRPC" --service e2e-grpc --label grpc --gzip \
  --api "$URL" --out "$RUN/traces-grpc.json"
say "metrics from four exporter processes (HTTP, HTTP gzip, gRPC: each restarts the counters; HTTP delta)"
# The second process starts above where the first ended (only its new start time tells the
# restart), the third below (its values drop too).
emit metrics --transport http --endpoint "http://127.0.0.1:$HTTP" --service e2e-metrics --seed 1 \
  --first 1000 --out "$RUN/metrics-1.json"
emit metrics --transport http --endpoint "http://127.0.0.1:$HTTP" --service e2e-metrics --seed 2 \
  --first 50000 --gzip --out "$RUN/metrics-2.json"
emit metrics --transport grpc --endpoint "127.0.0.1:$GRPC" --service e2e-metrics --seed 3 \
  --first 10 --out "$RUN/metrics-3.json"
emit metrics --transport http --endpoint "http://127.0.0.1:$HTTP" --service e2e-metrics-delta \
  --seed 4 --temporality delta --out "$RUN/metrics-delta.json"
say "bad gRPC requests (garbage, truncated, a gzip bomb, over the size limit)"
emit grpc-bad --grpc "127.0.0.1:$GRPC" --out "$RUN/grpc-bad.json"
say "exporters against a receiver that wants a token"
emit auth --http "http://127.0.0.1:$HTTP2" --grpc "127.0.0.1:$GRPC2" --token "$TOKEN" \
  --out "$RUN/auth.json"

say "appending the held-back transcript lines"
cat "$RUN/late.jsonl" >>"$LATE"

rc=0
"$PY" "$LIB/otlp_check.py" --api "$URL" --run "$RUN" --since "$since" \
  --fixture "$FIXTURE/expected_totals.json" --auth-api "http://127.0.0.1:$API2" \
  --auth-http "http://127.0.0.1:$HTTP2" --token "$TOKEN" || rc=$?
for p in "${PIDS[@]}"; do
  kill -0 "$p" 2>/dev/null || { say "a clawscope serve exited during the test"; rc=1; }
done
if [ "$rc" != 0 ]; then
  for f in main auth; do echo "--- $f serve log (tail)" >&2; tail -n 30 "$RUN/$f.log" >&2; done
  echo "--- exporter log (tail)" >&2; tail -n 30 "$RUN/emit.log" >&2
  say "FAIL after $(($(date +%s) - started)) s"
  exit 1
fi
say "PASS in $(($(date +%s) - started)) s"
