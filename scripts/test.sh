#!/usr/bin/env bash
# Every test: unit and integration tests (real SQLite files, the real OpenClaw fixture,
# SIGKILLed imports, live following over real sockets), parity with the real ccusage
# 20.0.24 on a generated corpus, the OTLP receiver fed by the real OpenTelemetry SDK
# (SKIP_OTLP_E2E=1 leaves it out), the web dashboard in headless Chromium (SKIP_UI_E2E=1
# leaves it out), alert e-mail through a real SMTP server on loopback (STARTTLS), then the
# real OpenClaw gateway end to end: the live feed, and auto-pause plus the dashboard's cron
# actions (their own time limits; SKIP_GATEWAY_E2E=1 leaves both out).
set -euo pipefail
cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null 2>&1; }
if ! need python3 || ! need npm || ! need curl || ! python3 -c 'import ensurepip' 2>/dev/null; then
  echo "installing python3/python3-venv/npm/curl for the tests"
  apt-get update -qq && apt-get install -y -qq python3 python3-venv npm curl >/dev/null
fi
if [ "${SKIP_UI_E2E:-0}" != 1 ] && { ! need chromium || ! need chromedriver; }; then
  echo "installing chromium/chromium-driver for the dashboard tests"
  apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
fi
cargo test --workspace
if [ "${SKIP_OTLP_E2E:-0}" != 1 ]; then
  timeout 600 scripts/otlp-e2e.sh
fi
if [ "${SKIP_UI_E2E:-0}" != 1 ]; then
  timeout 600 scripts/ui-e2e.sh
fi
timeout 300 scripts/alerts-smtp.sh
# The debug binary the end-to-end scripts build: the same arithmetic, and no release build
# (about 5 of CI's minutes) for a 10 MB corpus.
cargo build --quiet -p clawscope
CLAWSCOPE_BIN=$PWD/target/debug/clawscope scripts/ccusage-parity.sh 10mb
if [ "${SKIP_GATEWAY_E2E:-0}" != 1 ]; then
  timeout 900 scripts/gateway-e2e.sh
  timeout 600 scripts/alerts-gateway-e2e.sh
fi
