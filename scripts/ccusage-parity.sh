#!/usr/bin/env bash
# Parity with the real ccusage 20.0.24 on a generated Claude Code corpus.
#
#   scripts/ccusage-parity.sh [10mb|200mb|1gb]      (default 10mb)
#
# Generates bench-data/claude-<size> if missing, installs ccusage@20.0.24 into
# bench-data/ccusage if missing, then runs `ccusage claude {daily,session,blocks,monthly}
# --offline --json` and clawscope `report {daily,session,blocks,monthly} --json -z UTC`
# three ways: --no-db, through a fresh store (import + report), and --offline on that store.
# Token totals, per-day rows, per-model breakdowns, sessions (by id) and blocks (by start)
# must match exactly; costs to a relative 1e-9. Ends with "N passed, M failed"; exit 1 on any
# mismatch.
#
# Environment: CLAWSCOPE_BIN (skip the release build and use this binary), BENCH_DATA
# (default <repo>/bench-data), KEEP_OUT=1 (keep the JSON outputs and print where).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SIZE=${1:-10mb}
case "$SIZE" in 10mb|200mb|1gb) ;; *) echo "usage: $0 [10mb|200mb|1gb]" >&2; exit 2 ;; esac
DATA=${BENCH_DATA:-$REPO/bench-data}
PY=${PYTHON:-python3}

if [[ -n "${CLAWSCOPE_BIN:-}" ]]; then
  BIN=$CLAWSCOPE_BIN
else
  echo "== cargo build --release" >&2
  cargo build --release --quiet -p clawscope
  BIN=$REPO/target/release/clawscope
fi

T0=$(date +%s.%N)
CORPUS=$("$PY" scripts/lib/benchdata.py claude-corpus "$SIZE" "$DATA")
read -r CCUSAGE _NATIVE < <("$PY" scripts/lib/benchdata.py ccusage "$DATA")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-parity.XXXXXX")
cleanup() { if [[ "${KEEP_OUT:-0}" == 1 ]]; then echo "outputs kept in $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
mkdir -p "$WORK/home" "$WORK/cc" "$WORK/no-db" "$WORK/store" "$WORK/offline"
# A clean environment: empty HOME (nothing else to discover), UTC, no inherited
# CLAWSCOPE_*/XDG_*/CLAUDE_CONFIG_DIR settings.
CLEAN=(env -i "PATH=$PATH" "HOME=$WORK/home" "TZ=UTC" "LANG=C.UTF-8")

echo "== corpus $CORPUS ($(du -sh "$CORPUS" | cut -f1))"
echo "== ccusage $("${CLEAN[@]}" "$CCUSAGE" --version 2>/dev/null | head -1)"
for r in daily session blocks monthly; do
  "${CLEAN[@]}" "CLAUDE_CONFIG_DIR=$CORPUS" "$CCUSAGE" claude "$r" --offline --json >"$WORK/cc/$r.json"
done

CS=("${CLEAN[@]}" "$BIN" --no-progress --claude-dir "$CORPUS")
echo "== clawscope $("$BIN" --version)"
for r in daily session blocks monthly; do
  "${CS[@]}" report "$r" --json -z UTC --no-db >"$WORK/no-db/$r.json"
done
# fresh store: the first report imports everything, the rest import nothing new
for r in daily session blocks monthly; do
  "${CS[@]}" --store "$WORK/store.db" report "$r" --json -z UTC >"$WORK/store/$r.json"
done
for r in daily session blocks monthly; do
  "${CS[@]}" --store "$WORK/store.db" report "$r" --json -z UTC --offline >"$WORK/offline/$r.json"
done

"$PY" -c "import sys; print('== setup and runs took %.1f s' % (float(sys.argv[2]) - float(sys.argv[1])))" \
  "$T0" "$(date +%s.%N)"
# The comparison's last line is "N passed, M failed"; its exit status is the script's.
"$PY" scripts/lib/compare.py claude "$WORK/cc" "no-db=$WORK/no-db" "store=$WORK/store" \
  "offline=$WORK/offline"
