#!/usr/bin/env bash
# E-mail delivery against a real SMTP server: an aiosmtpd receiver (scripts/lib/smtp_sink.py)
# on loopback with a throwaway CA and server certificate made here by openssl, one server
# that requires STARTTLS and one with implicit TLS, both requiring AUTH. Checks that the
# server refuses mail without STARTTLS, then runs the ignored tests in
# crates/alerts/tests/delivery_email.rs against it (STARTTLS + ca_file, implicit TLS, a
# plain send refused, an untrusted certificate refused, a wrong password refused).
#
#   scripts/alerts-smtp.sh     # a few seconds once the venv exists and the test is built
#
# aiosmtpd comes from PyPI into ${XDG_CACHE_HOME:-~/.cache}/clawscope/smtp-venv (SMTP_VENV
# overrides). KEEP_RUN=1 keeps the run dir (certificates, received messages, server log).
# Exits non-zero when anything fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "[alerts-smtp $(date -u +%H:%M:%S)] $*" >&2; }

PINS="aiosmtpd==1.4.6"
VENV=${SMTP_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/clawscope/smtp-venv}
. "$ROOT/scripts/lib/venv.sh"
cached_venv "$VENV" "$PINS" 'import aiosmtpd.controller' || exit 1
PY=$VENV/bin/python
command -v openssl >/dev/null || { say "openssl is needed to make the test certificates"; exit 1; }

# Build first, so the server does not wait on the compiler.
(cd "$ROOT" && cargo test --quiet -p clawscope-alerts --test delivery_email --no-run)

RUN=$(mktemp -d "${TMPDIR:-/tmp}/clawscope-alerts-smtp.XXXXXX")
SINK=
cleanup() {
  set +e
  if [ -n "$SINK" ]; then kill "$SINK" 2>/dev/null && wait "$SINK" 2>/dev/null; fi
  if [ "${KEEP_RUN:-0}" = 1 ]; then say "run kept in $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT INT TERM

# --- a throwaway CA and a server certificate for 127.0.0.1 / localhost -------------------
# (A CA plus a leaf, not one self-signed certificate: webpki refuses a CA certificate as
# the server's own, and a real private CA looks like this.)
mkdir -p "$RUN/out"
(
  cd "$RUN"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout ca.key -out ca.pem -subj "/CN=clawscope test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout server.key -out server.csr -subj "/CN=localhost"
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -sha256 -extfile server.ext -out server.pem
) 2>"$RUN/openssl.log" || { cat "$RUN/openssl.log" >&2; say "openssl failed"; exit 1; }

# --- the server --------------------------------------------------------------------------
USER_NAME=alerts
PASSWORD=pw-$RANDOM$RANDOM
"$PY" "$ROOT/scripts/lib/smtp_sink.py" --out "$RUN/out" --cert "$RUN/server.pem" \
  --key "$RUN/server.key" --user "$USER_NAME" --password "$PASSWORD" >"$RUN/sink.log" 2>&1 &
SINK=$!
for _ in $(seq 1 100); do
  [ -f "$RUN/out/ready.json" ] && break
  kill -0 "$SINK" 2>/dev/null || break
  sleep 0.1
done
if [ ! -f "$RUN/out/ready.json" ]; then
  say "the SMTP sink did not come up"; cat "$RUN/sink.log" >&2; exit 1
fi
read -r STARTTLS_PORT TLS_PORT < <("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["starttls_port"], r["tls_port"])' "$RUN/out/ready.json")
say "SMTP sink up: STARTTLS on $STARTTLS_PORT, implicit TLS on $TLS_PORT"

# --- the server itself refuses mail without STARTTLS -------------------------------------
"$PY" - "$STARTTLS_PORT" <<'PYEOF' || { say "FAIL: the server accepted mail without STARTTLS"; exit 1; }
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5)
s.ehlo()
code, msg = s.mail("probe@example.com")
s.close()
print(f"plain MAIL FROM answered {code} {msg.decode()}", file=sys.stderr)
sys.exit(0 if code == 530 else 1)
PYEOF
say "PASS: plain MAIL FROM (no STARTTLS) is refused with 530"

# --- the tests ---------------------------------------------------------------------------
export CLAWSCOPE_SMTP_STARTTLS_PORT=$STARTTLS_PORT CLAWSCOPE_SMTP_TLS_PORT=$TLS_PORT
export CLAWSCOPE_SMTP_CA=$RUN/ca.pem CLAWSCOPE_SMTP_OUT=$RUN/out
export CLAWSCOPE_SMTP_USER=$USER_NAME CLAWSCOPE_SMTP_PASSWORD=$PASSWORD
status=0
(cd "$ROOT" && cargo test --quiet -p clawscope-alerts --test delivery_email -- --ignored) || status=$?
if [ "$status" -ne 0 ]; then
  say "FAIL: the e-mail delivery tests failed (server log follows)"
  cat "$RUN/sink.log" >&2
  exit "$status"
fi
say "PASS: e-mail delivery over STARTTLS and implicit TLS ($(ls "$RUN"/out/msg-*.eml | wc -l) messages received)"
