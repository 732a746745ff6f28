#!/usr/bin/env bash
# OpenClaw import throughput: generate a data dir, import it into a fresh store, check the
# imported usage against the generator's ground_truth.json.
#
#   scripts/bench-openclaw.sh                                  # 1000 sessions x 2000 events
#   OC_SESSIONS=100 scripts/bench-openclaw.sh                  # smaller
#
# Prints events/s (import report: events / elapsed_ms), wall time and peak RSS of the import,
# the time of a no-change re-import, and compares the store's daily/session/model reports with
# ground_truth.json (tokens exact, cost to the generator's rounding). Target: >= 400k events/s.
#
# Then, for scale, the SQLite floor: how long SQLite alone takes to copy the imported rows into
# a new file and index them (no parsing, no binds, no durability; the sqlite_floor example of
# the store crate). An import of this row-per-event schema cannot be faster than that floor.
#
# Environment: OC_SESSIONS (1000), OC_EVENTS (2000, JSONL lines per parent session), OC_SEED (7),
# IMPORT_RUNS (1; each into a fresh store, medians reported), BENCH_DATA (<repo>/bench-data),
# CLAWSCOPE_BIN (skip the release build), SQLITE_FLOOR=0 (skip the floor),
# BENCH_STRICT=1 (exit 1 when the target is missed).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DATA=${BENCH_DATA:-$REPO/bench-data}
PY=${PYTHON:-python3}
SESSIONS=${OC_SESSIONS:-1000}
EVENTS=${OC_EVENTS:-2000}
SEED=${OC_SEED:-7}
IMPORT_RUNS=${IMPORT_RUNS:-1}

if [[ -n "${CLAWSCOPE_BIN:-}" ]]; then
  BIN=$CLAWSCOPE_BIN
else
  echo "== cargo build --release" >&2
  cargo build --release --quiet -p clawscope
  BIN=$REPO/target/release/clawscope
fi
FLOOR_BIN=
if [[ "${SQLITE_FLOOR:-1}" != 0 ]]; then
  echo "== cargo build --release --example sqlite_floor" >&2
  cargo build --release --quiet -p clawscope-store --example sqlite_floor
  FLOOR_BIN=$REPO/target/release/examples/sqlite_floor
fi

OCHOME=$("$PY" scripts/lib/benchdata.py openclaw-home "$SESSIONS" "$EVENTS" "$SEED" "$DATA")
STATE=$OCHOME/.openclaw
WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-ocbench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home" "$WORK/reports"
STORE=$WORK/store.db
M=("$PY" scripts/lib/measure.py --clean-env --env "HOME=$WORK/home" --env TZ=UTC --env LANG=C.UTF-8)
CS=("$BIN" --no-progress --openclaw-dir "$STATE")

BYTES=$(find "$STATE/agents" -name '*.jsonl' -printf '%s\n' | awk '{s+=$1} END {print s}')
FILES=$(find "$STATE/agents" -name '*.jsonl' | wc -l)
echo "== OpenClaw data $STATE: $FILES transcripts, $BYTES bytes ($SESSIONS sessions x $EVENTS events, seed $SEED)"
echo "== $(nproc) CPUs; clawscope $("$BIN" --version)"
echo "== warming the page cache"
find "$STATE/agents" -name '*.jsonl' -exec cat {} + >/dev/null

echo "== import into a fresh store (x$IMPORT_RUNS)"
"${M[@]}" --repeat "$IMPORT_RUNS" --rm "$STORE" --label import \
  --stdout "$WORK/import.json" --json "$WORK/m-import.json" -- \
  "${CS[@]}" --store "$STORE" import --json
STORE_BYTES=$(du -cb "$STORE"* | tail -1 | cut -f1)
echo "== re-import, nothing changed (x3)"
"${M[@]}" --repeat 3 --label reimport \
  --stdout "$WORK/reimport.json" --json "$WORK/m-reimport.json" -- \
  "${CS[@]}" --store "$STORE" import --json
if [[ -n "$FLOOR_BIN" ]]; then
  echo "== SQLite floor: copy the imported rows into a new file, build the indexes"
  cat "$STORE" >/dev/null
  "$FLOOR_BIN" "$STORE" "$WORK" > "$WORK/floor.json"
fi
echo "== reports from the store (--offline)"
for r in daily session model; do
  "${M[@]}" --label "report $r" --stdout "$WORK/reports/$r.json" --json "$WORK/m-report-$r.json" -- \
    "${CS[@]}" --store "$STORE" report "$r" --json -z UTC --source openclaw --offline
done

set +e
"$PY" - "$WORK" "$BYTES" "$STORE_BYTES" "$STATE/ground_truth.json" <<'EOF'
import json, os, sys
work, nbytes, store_bytes, gt_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
imp = json.load(open(os.path.join(work, "import.json")))
rep = imp["report"]
oc = rep["sources"]["openclaw"]
gt = json.load(open(gt_path))
m = json.load(open(os.path.join(work, "m-import.json")))
rm = json.load(open(os.path.join(work, "m-reimport.json")))
re = json.load(open(os.path.join(work, "reimport.json")))["report"]["sources"].get("openclaw", {})
el = rep["elapsed_ms"] / 1000.0
wall = m["median_wall_s"]
rss_mb = m["median_rss_kb"] * 1024 / 1e6
eps = oc["events"] / el if el else float("inf")
print()
print(f"OpenClaw import: {gt['sessions']} sessions ({gt['subagent_sessions']} sub-agents), "
      f"{gt['lines']} JSONL lines, {nbytes / 1e6:.1f} MB; peak RSS via {m['rss_via']}")
rows = [
    ("events (import report)", f"{oc['events']}"),
    ("records / JSONL lines read", f"{oc['records']} (ground truth {gt['lines']})"),
    ("inserted / unchanged / updated", f"{oc['inserted']} / {oc.get('unchanged')} / {oc.get('updated')}"),
    ("skipped", json.dumps(oc.get("skipped"))),
    ("import elapsed_ms (last run)", f"{rep['elapsed_ms']} ms (store {rep.get('store_ms')} ms; text index "
     f"{imp.get('text_index', {}).get('elapsed_ms')} ms, {imp.get('text_index', {}).get('rows')} rows)"),
    ("import wall (median of %d)" % len(m["runs"]), f"{wall * 1000:.0f} ms  runs: "
     + ", ".join(f"{x['wall_s'] * 1000:.0f}" for x in m["runs"])),
    ("peak RSS", f"{rss_mb:.1f} MB"),
    ("events/s (events / elapsed, last run)", f"{eps:,.0f}   target >= 400,000: {'ok' if eps >= 400_000 else 'MISSED'}"),
    ("events/s (events / wall)", f"{oc['events'] / wall:,.0f}"),
    ("lines/s (records / elapsed)", f"{oc['records'] / el:,.0f}"),
    ("MB/s (bytes / elapsed)", f"{nbytes / 1e6 / el:,.1f}"),
    ("store size", f"{store_bytes / 1e6:.1f} MB"),
    ("re-import, no change (median of 3)", f"{rm['median_wall_s'] * 1000:.1f} ms, peak RSS "
     f"{rm['median_rss_kb'] * 1024 / 1e6:.1f} MB, inserted {re.get('inserted')}"),
]
floor_path = os.path.join(work, "floor.json")
if os.path.exists(floor_path):
    f = json.load(open(floor_path))
    idx = ", ".join(f"{k} {v / 1000:.1f} s" for k, v in f["index_ms"].items())
    rows.append(("SQLite floor (same rows, no parsing)",
                 f"{f['total_ms'] / 1000:.1f} s = {f['events_per_s']:,.0f} events/s max: copy "
                 f"{f['copy_ms'] / 1000:.1f} s, {idx} (SQLite {f['sqlite_version']})"))
    rows.append(("import elapsed / floor", f"{rep['elapsed_ms'] / f['total_ms']:.2f}x"))
for r in ("daily", "session", "model"):
    x = json.load(open(os.path.join(work, f"m-report-{r}.json")))
    rows.append((f"report {r} --offline", f"{x['median_wall_s'] * 1000:.1f} ms"))
w = max(len(a) for a, _ in rows)
for a, b in rows:
    print(f"  {a:<{w}}  {b}")
bad = [k for k, x in (("import", m), ("re-import", rm)) if any(r["rc"] for r in x["runs"])]
if bad:
    print("non-zero exit in: " + ", ".join(bad))
missed = (eps < 400_000) + len(bad)
open(os.path.join(work, "missed"), "w").write(str(missed))
EOF
set -e

"$PY" scripts/lib/compare.py openclaw "$STATE/ground_truth.json" "$WORK/reports" || exit 1
if [[ "${BENCH_STRICT:-0}" == 1 && "$(cat "$WORK/missed")" != 0 ]]; then exit 1; fi
