#!/usr/bin/env bash
# clawscope vs ccusage 20.0.24 on a generated Claude Code corpus, side by side.
#
#   scripts/bench-claude.sh                  # 1 GB corpus (generated on first use, a few minutes)
#   BENCH_SIZE=200mb scripts/bench-claude.sh # or 10mb
#
# Measures (wall time with ms resolution, peak RSS of the process tree):
#   ccusage   `claude daily --offline --json` (the native binary, as npm's launcher would run it)  median of 3
#   cold      clawscope `report daily --json` into a fresh, empty store each run           median of 3
#   no-db     clawscope `report daily --json --no-db` (throw-away scratch store)           median of 3
#   warm      clawscope `report daily --json` on the imported store (checks for new data) median of 10
#   offline   clawscope `report daily --json --offline` on the imported store              median of 10
# Targets: cold <= 1/2 of ccusage's time, peak RSS <= 100 MB, warm <= 20 ms.
# Token totals of every clawscope run must equal ccusage's exactly (exit 1 otherwise).
#
# Environment: BENCH_SIZE (10mb|200mb|1gb, default 1gb), BENCH_DATA (default <repo>/bench-data),
# CLAWSCOPE_BIN (skip the release build), COLD_RUNS/CCUSAGE_RUNS (3), WARM_RUNS (10),
# BENCH_STRICT=1 (exit 1 when a target is missed, too).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SIZE=${BENCH_SIZE:-1gb}
case "$SIZE" in 10mb|200mb|1gb) ;; *) echo "BENCH_SIZE must be 10mb, 200mb or 1gb" >&2; exit 2 ;; esac
DATA=${BENCH_DATA:-$REPO/bench-data}
PY=${PYTHON:-python3}
COLD_RUNS=${COLD_RUNS:-3}
CCUSAGE_RUNS=${CCUSAGE_RUNS:-3}
WARM_RUNS=${WARM_RUNS:-10}

if [[ -n "${CLAWSCOPE_BIN:-}" ]]; then
  BIN=$CLAWSCOPE_BIN
else
  echo "== cargo build --release" >&2
  cargo build --release --quiet -p clawscope
  BIN=$REPO/target/release/clawscope
fi

CORPUS=$("$PY" scripts/lib/benchdata.py claude-corpus "$SIZE" "$DATA")
read -r _LAUNCHER CCUSAGE < <("$PY" scripts/lib/benchdata.py ccusage "$DATA")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"
STORE=$WORK/store.db
M=("$PY" scripts/lib/measure.py --clean-env --env "HOME=$WORK/home" --env TZ=UTC --env LANG=C.UTF-8)
CS=("$BIN" --no-progress --claude-dir "$CORPUS")

BYTES=$(find "$CORPUS/projects" -name '*.jsonl' -printf '%s\n' | awk '{s+=$1} END {print s}')
FILES=$(find "$CORPUS/projects" -name '*.jsonl' | wc -l)
echo "== corpus $CORPUS: $FILES files, $BYTES bytes"
echo "== $(nproc) CPUs; ccusage $("$CCUSAGE" --version 2>/dev/null | head -1) (native binary $CCUSAGE); clawscope $("$BIN" --version)"
echo "== warming the page cache"
find "$CORPUS/projects" -name "*.jsonl" -exec cat {} + >/dev/null

echo "== ccusage claude daily (x$CCUSAGE_RUNS)"
"${M[@]}" --env "CLAUDE_CONFIG_DIR=$CORPUS" --repeat "$CCUSAGE_RUNS" --label ccusage \
  --stdout "$WORK/cc-daily.json" --json "$WORK/m-ccusage.json" -- \
  "$CCUSAGE" claude daily --offline --json

echo "== clawscope cold: fresh store each run (x$COLD_RUNS)"
"${M[@]}" --repeat "$COLD_RUNS" --rm "$STORE" --label cold \
  --stdout "$WORK/cs-cold.json" --json "$WORK/m-cold.json" -- \
  "${CS[@]}" --store "$STORE" report daily --json -z UTC
STORE_BYTES=$(du -cb "$STORE"* | tail -1 | cut -f1)

echo "== clawscope --no-db (x$COLD_RUNS)"
"${M[@]}" --repeat "$COLD_RUNS" --label no-db \
  --stdout "$WORK/cs-nodb.json" --json "$WORK/m-nodb.json" -- \
  "${CS[@]}" report daily --json -z UTC --no-db

echo "== clawscope warm on the imported store (x$WARM_RUNS)"
"${M[@]}" --repeat "$WARM_RUNS" --label warm \
  --stdout "$WORK/cs-warm.json" --json "$WORK/m-warm.json" -- \
  "${CS[@]}" --store "$STORE" report daily --json -z UTC

echo "== clawscope warm --offline (x$WARM_RUNS)"
"${M[@]}" --repeat "$WARM_RUNS" --label offline \
  --stdout "$WORK/cs-offline.json" --json "$WORK/m-offline.json" -- \
  "${CS[@]}" --store "$STORE" report daily --json -z UTC --offline

"$PY" - "$WORK" "$SIZE" "$BYTES" "$STORE_BYTES" <<'EOF'
import json, os, sys
work, size, nbytes, store_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
m = {k: json.load(open(os.path.join(work, f"m-{k}.json")))
     for k in ("ccusage", "cold", "nodb", "warm", "offline")}
cc_t, cc_r = m["ccusage"]["median_wall_s"], m["ccusage"]["median_rss_kb"] / 1024
MB = 1e6 / 1024 / 1024  # 100 MB target, RSS in MiB
rows = [("ccusage claude daily", "ccusage", None),
        ("clawscope cold (fresh store)", "cold", "cold"),
        ("clawscope --no-db", "nodb", "nodb"),
        ("clawscope warm", "warm", "warm"),
        ("clawscope warm --offline", "offline", "warm")]
print()
print(f"Claude Code corpus {size}: {nbytes / 1e6:.1f} MB; store after import {store_bytes / 1e6:.1f} MB; "
      f"peak RSS via {m['cold']['rss_via']}")
hdr = (f"{'run':<30} {'n':>3} {'wall median':>12} {'min':>9} {'max':>9} {'MB/s':>8} "
       f"{'peak RSS':>10} {'time vs cc':>11} {'RSS vs cc':>10}  target")
print(hdr)
print("-" * (len(hdr) + 30))
missed = []
for name, key, kind in rows:
    r = m[key]
    t, rss = r["median_wall_s"], r["median_rss_kb"] / 1024
    rss_mb = r["median_rss_kb"] * 1024 / 1e6
    tgt = ""
    if kind:
        checks = []
        if kind == "cold":
            checks.append(("time <= 1/2 ccusage", t <= cc_t / 2))
        if kind == "warm":
            checks.append(("time <= 20 ms", t <= 0.020))
        checks.append(("RSS <= 100 MB", rss_mb <= 100.0))
        for label, ok in checks:
            if not ok:
                missed.append(f"{name}: {label}")
        tgt = ", ".join(f"{label} {'ok' if ok else 'MISSED'}" for label, ok in checks)
    tput = f"{nbytes / 1e6 / t:8.0f}" if key in ("ccusage", "cold", "nodb") else f"{'':>8}"
    print(f"{name:<30} {len(r['runs']):>3} {t * 1000:>9.1f} ms {r['min_wall_s'] * 1000:>6.1f} ms "
          f"{r['max_wall_s'] * 1000:>6.1f} ms {tput} {rss_mb:>7.1f} MB {t / cc_t:>10.3f}x "
          f"{rss / cc_r:>9.2f}x  {tgt}")
print()
print("runs (wall ms / peak RSS MB):")
for name, key, _ in rows:
    print(f"  {name:<30} " + "  ".join(f"{x['wall_s'] * 1000:.1f}/{x['rss_kb'] * 1024 / 1e6:.0f}"
                                     for x in m[key]["runs"]))
bad = [k for k in m if any(x["rc"] for x in m[k]["runs"])]
if bad:
    print("non-zero exit in:", ", ".join(bad))
print()
print("targets missed: " + ("; ".join(missed) if missed else "none"))
open(os.path.join(work, "missed"), "w").write(str(len(missed) + len(bad)))
EOF

# token totals: every clawscope variant against ccusage, exactly
set +e
"$PY" scripts/lib/compare.py totals "$WORK/cc-daily.json" "cold=$WORK/cs-cold.json" \
  "no-db=$WORK/cs-nodb.json" "warm=$WORK/cs-warm.json" "offline=$WORK/cs-offline.json"
RC=$?
set -e
if [[ $RC -eq 0 && "${BENCH_STRICT:-0}" == 1 && "$(cat "$WORK/missed")" != 0 ]]; then RC=1; fi
exit $RC
