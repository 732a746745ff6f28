#!/usr/bin/env bash
# Browser tests of the web dashboard in headless Chromium, driven by chromedriver through
# Selenium (scripts/lib/ui_check.py): every page on the real OpenClaw fixture with its numbers
# compared to the JSON API's and the fixture's own totals, clicks from the overview to a
# session to its sub-agent, a transcript line appended while the session page is open
# (shown within 1 s), hostile markup and fake secrets in transcripts / logs / memory files,
# the login with its cookie and CSRF, a phone-size pass, the keyboard and the dark theme.
#
#   scripts/ui-e2e.sh        # ~1 minute once Chromium and the venv are there
#
# Chromium and chromedriver come from the distribution's packages (`apt-get install chromium
# chromium-driver` when missing; CHROMIUM / CHROMEDRIVER override the binaries). Selenium is
# installed from PyPI into ${XDG_CACHE_HOME:-~/.cache}/clawscope/ui-venv (UI_VENV overrides).
# Screenshots of every page (light, dark, phone) land in target/ui-artifacts/
# (UI_ARTIFACTS overrides). KEEP_RUN=1 keeps the run dir (fixture copies, stores, server and
# chromedriver logs); UI_VERBOSE=1 prints details of passing checks too.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB=$ROOT/scripts/lib
FIXTURE=$ROOT/tests/fixtures/openclaw-2026.9.6
say() { echo "[ui-e2e $(date -u +%H:%M:%S)] $*" >&2; }
started=$(date +%s)

# --- Chromium and chromedriver ---------------------------------------------------------------
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
CHROMEDRIVER=${CHROMEDRIVER:-$(command -v chromedriver || true)}
if [ -z "$CHROMIUM" ] || [ -z "$CHROMEDRIVER" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing chromium and chromium-driver"
    apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }
    CHROMIUM=$(command -v chromium) CHROMEDRIVER=$(command -v chromedriver)
  else
    say "chromium and chromedriver are needed: apt-get install chromium chromium-driver"; exit 1
  fi
fi

# --- Selenium, in a cached venv ----------------------------------------------------------------
PINS="selenium==4.51.0"
VENV=${UI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/clawscope/ui-venv}
. "$ROOT/scripts/lib/venv.sh"
cached_venv "$VENV" "$PINS" 'import selenium' || exit 1
# Chromium, chromedriver and Selenium talk over loopback; no proxy in between.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
# Selenium must use the given chromedriver, never download one.
export SE_OFFLINE=true

# --- clawscope -------------------------------------------------------------------------------
(cd "$ROOT" && cargo build --quiet -p clawscope)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/clawscope
ARTIFACTS=${UI_ARTIFACTS:-${CARGO_TARGET_DIR:-$ROOT/target}/ui-artifacts}
RUN=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-ui-e2e.XXXXXX")
cleanup() {
  if [ "${KEEP_RUN:-0}" = 1 ]; then say "run kept in $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT INT TERM

say "$("$CHROMIUM" --version 2>/dev/null | head -n 1), $("$CHROMEDRIVER" --version | cut -d' ' -f1-2)"
rc=0
"$VENV/bin/python" "$LIB/ui_check.py" --bin "$BIN" --fixture "$FIXTURE" --run "$RUN" \
  --artifacts "$ARTIFACTS" --chromium "$CHROMIUM" --chromedriver "$CHROMEDRIVER" || rc=$?
if [ "$rc" != 0 ]; then
  for f in "$RUN"/*.log; do
    case $f in *chromedriver*) continue ;; esac
    [ -f "$f" ] && { echo "--- $(basename "$f") (tail)" >&2; tail -n 15 "$f" >&2; }
  done
  say "FAIL after $(($(date +%s) - started)) s (screenshots in $ARTIFACTS)"
  exit 1
fi
say "PASS in $(($(date +%s) - started)) s (screenshots in $ARTIFACTS)"
