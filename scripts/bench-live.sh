#!/usr/bin/env bash
# Live latency: append → SSE delivery at subscribed clients of `clawscope serve`.
#
#   scripts/bench-live.sh                      # {jsonl, sqlite} x {1, 500 clients}, 50 lines/s, 15 s each
#   LIVE_RATE=100 LIVE_SECONDS=30 scripts/bench-live.sh
#
# Each run starts the release binary on a fresh store and fresh data dirs (a temp dir), opens the
# clients on /api/v1/stream, appends at a steady rate (OpenClaw legacy JSONL: one open-append-close
# per line; OpenClaw agent SQLite: one WAL transaction per row, schema from the 2026.9.6 fixture)
# after a 1 s warm-up, and measures the time from the start of each append to its arrival at every
# client. Everything stays on 127.0.0.1; nothing is downloaded at run time.
# Target: p99 <= 50 ms, no missed or duplicate deliveries.
#
# Environment: LIVE_RATE (50 lines/s), LIVE_SECONDS (15, measured, per run), LIVE_SOURCES
# ("jsonl sqlite"; also "claude"), LIVE_CLIENTS ("1 500"), LIVE_ARGS (extra arguments for the
# benchmark, e.g. "--filter event" or "--meta-every 10"), CLAWSCOPE_BIN (skip the release build;
# the benchmark program must then exist too), BENCH_STRICT=1 (exit 1 when a run misses the target).
# CLAWSCOPE_LOG=clawscope_live=trace makes the benchmark summarise the writer's per-round timings.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RATE=${LIVE_RATE:-50}
SECONDS_EACH=${LIVE_SECONDS:-15}
SOURCES=${LIVE_SOURCES:-jsonl sqlite}
CLIENTS=${LIVE_CLIENTS:-1 500}
EXTRA=${LIVE_ARGS:-}

if [[ -n "${CLAWSCOPE_BIN:-}" ]]; then
  BIN=$CLAWSCOPE_BIN
else
  echo "== cargo build --release (clawscope + the live_latency example)" >&2
  cargo build --release --quiet -p clawscope --bin clawscope --example live_latency
  BIN=$REPO/target/release/clawscope
fi
BENCH=$REPO/target/release/examples/live_latency
[[ -x "$BENCH" ]] || { echo "missing $BENCH (cargo build --release -p clawscope --example live_latency)" >&2; exit 1; }

# 500 clients need 500+ descriptors on each side.
ulimit -n 4096 2>/dev/null || true

echo "== $(nproc) CPUs; $("$BIN" --version); $RATE lines/s, ${SECONDS_EACH}s measured per run"
ROWS=()
missed=0
for src in $SOURCES; do
  for n in $CLIENTS; do
    # shellcheck disable=SC2086
    if row=$("$BENCH" --bin "$BIN" --source "$src" --clients "$n" --rate "$RATE" \
      --seconds "$SECONDS_EACH" --no-header $EXTRA); then
      ROWS+=("$row")
      [[ "$row" == *MISSED* ]] && missed=$((missed + 1))
    else
      ROWS+=("$(printf '%-7s %7s  run failed' "$src" "$n")")
      missed=$((missed + 1))
    fi
  done
done

echo
printf '%-7s %7s %6s %11s %8s %8s %8s %8s %7s %6s  %s\n' \
  source clients events deliveries "p50 ms" "p90 ms" "p99 ms" "max ms" missed dupes "p99<=50ms"
printf '%s\n' "${ROWS[@]}"
if [[ "${BENCH_STRICT:-0}" == 1 && $missed -gt 0 ]]; then exit 1; fi
