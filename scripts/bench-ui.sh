#!/usr/bin/env bash
# Dashboard render latency: every page of the server-rendered dashboard of `clawscope serve`
# on the 1000-session x 2000-event OpenClaw benchmark data. Targets: p99 <= 50 ms per page,
# first page after start <= 200 ms.
#
#   scripts/bench-ui.sh                                    # 1000 sessions x 2000 events
#   UI_SESSIONS=20 UI_EVENTS=200 UI_REQUESTS=50 scripts/bench-ui.sh   # quick
#
# The data is scripts/lib/benchdata.py's OpenClaw home (the same as bench-openclaw.sh, generated
# once). It is imported into a store kept beside it (<BENCH_DATA>/ui-store-<S>x<E>-s<seed>/) and
# reused while the data set and the binary (version, size, mtime) are the same. Then
# scripts/lib/bench_ui.py starts `clawscope serve` on a free 127.0.0.1 port (gateway, event
# socket and OTLP receivers off, HOME in a temp dir) once to find the session keys through
# GET /api/v1/sessions, and once more to measure: spawn -> first 200 on GET / (polled every
# 5 ms) and that request's latency, the first (cold) request of every page, then 5 warm-up and
# UI_REQUESTS timed requests per page on one keep-alive connection. The page list is at the top
# of scripts/lib/bench_ui.py. Prints the table (p50/p95/p99/max, bytes, the Server-Timing
# render time when the server sends one, PASS/FAIL), the first-page figures, the server's peak
# RSS and the store size.
#
# Environment: UI_SESSIONS (1000), UI_EVENTS (2000, JSONL lines per parent session), UI_SEED (7),
# UI_REQUESTS (200 per page), UI_QUERY (word for /sessions?q=; default: the most frequent word in
# the first transcript's user messages), BENCH_DATA (<repo>/bench-data), BENCH_REUSE_STORE
# (unset: reuse the imported store while its key matches; 1: reuse it even after a rebuild, the
# server's startup scan brings it up to date; 0: always import afresh), CLAWSCOPE_BIN (skip the
# release build), UI_JSON (also write every figure to this file), BENCH_KEEP=1 (keep the temp dir
# with the server logs), BENCH_STRICT=1 (exit 1 when a target is missed).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DATA=${BENCH_DATA:-$REPO/bench-data}
PY=${PYTHON:-python3}
SESSIONS=${UI_SESSIONS:-1000}
EVENTS=${UI_EVENTS:-2000}
SEED=${UI_SEED:-7}
REQUESTS=${UI_REQUESTS:-200}
REUSE=${BENCH_REUSE_STORE:-}

if [[ -n "${CLAWSCOPE_BIN:-}" ]]; then
  BIN=$CLAWSCOPE_BIN
else
  echo "== cargo build --release" >&2
  cargo build --release --quiet -p clawscope
  BIN=$REPO/target/release/clawscope
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-uibench.XXXXXX")
cleanup() {
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then echo "== kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir -p "$WORK/home"

t0=$(date +%s.%N)
OCHOME=$("$PY" scripts/lib/benchdata.py openclaw-home "$SESSIONS" "$EVENTS" "$SEED" "$DATA")
STATE=$OCHOME/.openclaw
t1=$(date +%s.%N)
echo "== $(nproc) CPUs; $("$BIN" --version); data $STATE ($SESSIONS sessions x $EVENTS events, seed $SEED), ready in $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s"

STORE_DIR=$DATA/ui-store-${SESSIONS}x${EVENTS}-s${SEED}
STORE=$STORE_DIR/store.db
KEY="sessions=$SESSIONS events=$EVENTS seed=$SEED data=$(cat "$OCHOME/.generated") bin=$("$BIN" --version) $(stat -c '%s %Y' "$BIN")"
if [[ -f "$STORE_DIR/key" && -f "$STORE" && "$REUSE" != 0 ]] &&
  [[ "$REUSE" == 1 || "$(cat "$STORE_DIR/key")" == "$KEY" ]]; then
  echo "== reusing the imported store $STORE ($(cat "$STORE_DIR/key"))"
else
  echo "== importing into a fresh store $STORE"
  rm -rf "$STORE_DIR"
  mkdir -p "$STORE_DIR"
  "$PY" scripts/lib/measure.py --clean-env --env "HOME=$WORK/home" --env TZ=UTC --env LANG=C.UTF-8 \
    --label import --stdout "$WORK/import.json" --json "$WORK/m-import.json" -- \
    "$BIN" --no-progress --openclaw-dir "$STATE" --store "$STORE" import --json
  "$PY" - "$WORK/import.json" "$WORK/m-import.json" <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1]))["report"]
m = json.load(open(sys.argv[2]))
oc = rep["sources"].get("openclaw", {})
print(f"   imported {oc.get('events', 0):,} events in {m['median_wall_s']:.1f} s wall "
      f"(import elapsed {rep['elapsed_ms'] / 1000:.1f} s), peak RSS {m['median_rss_kb'] / 1024:.0f} MiB")
EOF
  printf '%s\n' "$KEY" >"$STORE_DIR/key"
fi
t2=$(date +%s.%N)
echo "== data + store ready in $(awk "BEGIN {printf \"%.1f\", $t2 - $t0}") s"

ARGS=(--bin "$BIN" --state "$STATE" --store "$STORE" --work "$WORK" --requests "$REQUESTS")
[[ -n "${UI_QUERY:-}" ]] && ARGS+=(--query "$UI_QUERY")
[[ -n "${UI_JSON:-}" ]] && ARGS+=(--json "$UI_JSON")
[[ "${BENCH_STRICT:-0}" == 1 ]] && ARGS+=(--strict)
"$PY" scripts/lib/bench_ui.py "${ARGS[@]}"
