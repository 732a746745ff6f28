#!/usr/bin/env bash
# Scripted turns against a gateway started with gateway.sh (about 30 s with the mock provider):
#
#   RUN=<run dir> scripts/harness/scenario-live.sh
#
# Turns (CLI `openclaw agent`, session agent:<agent>:main):
#   main  plain text turn
#   main  TOOL      -> exec `echo hello-from-exec` (toolCall + toolResult isError=false)
#   main  FAILTOOL  -> read of a missing file (toolResult isError=true)
#   ops   plain text turn on the second agent (Anthropic Messages wire format)
#   main  SPAWN     -> sessions_spawn through tool_call; waits until the sub-agent run has ended and its
#                      completion was delivered back to agent:main:main (SUBAGENT_TIMEOUT, 120 s)
# then prints a store summary and checks it (store.py summary --check). The slow ERR500 behaviour
# (about a minute of provider retries) is left out. SETTLE (2) seconds pass between turns.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${RUN:?set RUN to the run dir of a started gateway (see gateway.sh start)}"
export RUN
G=$HERE/gateway.sh
SETTLE=${SETTLE:-2}
SUBAGENT_TIMEOUT=${SUBAGENT_TIMEOUT:-120}
STATE=$RUN/.openclaw
say() { echo "[scenario $(date -u +%H:%M:%S)] $*" >&2; }
settle() { sleep "${1:-$SETTLE}"; }

"$G" status >/dev/null || { "$G" status >&2 || true; say "the gateway is not running; start it with: RUN=$RUN $G start"; exit 1; }
t0=$SECONDS

"$G" turn main "Hello there, this is a plain turn"; settle
"$G" turn main "Please run a TOOL for me"; settle
"$G" turn main "Please FAILTOOL: read the missing notes file"; settle
"$G" turn ops "Hello ops agent, a plain turn for you"; settle

before=$(python3 - "$STATE" <<'PY'
import sqlite3, sys, os
p = os.path.join(sys.argv[1], "state", "openclaw.sqlite")
try:
    print(sqlite3.connect("file:%s?mode=ro" % p, uri=True).execute("SELECT count(*) FROM subagent_runs").fetchone()[0])
except Exception:
    print(0)
PY
)
"$G" turn main "Please SPAWN a helper sub-agent"
say "waiting for the sub-agent run (${SUBAGENT_TIMEOUT}s limit)"
python3 "$HERE/store.py" wait-subagents "$STATE" --min $((before + 1)) --timeout "$SUBAGENT_TIMEOUT" >&2
settle

say "scenario done in $((SECONDS - t0))s"
python3 "$HERE/store.py" summary "$STATE" --check
