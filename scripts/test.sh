#!/usr/bin/env bash
# `make test`: install what is missing (plus Chromium, the browser-test packages and rsyslog, the
# SIEM receiver of the forwarding tests), build, then run unit tests, database tests against a
# real PostgreSQL (a private cluster in .data/test, or DATABASE_URL), and browser tests in real
# Chromium. Non-zero on any failure.
source "$(dirname "$0")/lib.sh"

setup_build_tools
step "Checking browser-test tools"
command -v chromium >/dev/null || apt_install chromium
command -v node >/dev/null || die "Node.js is needed for the browser tests"
if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  note "installing end2end npm packages"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi
note "$(chromium --version 2>/dev/null | head -1), node $(node --version)"

step "Checking the SIEM receiver for the forwarding tests"
# A real rsyslog with its TLS driver; the tests start their own instances (own config, port and
# files). A system rsyslog the package may start listens on no network port: no conflict.
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
if [ ! -x /usr/sbin/rsyslogd ] || ! installed rsyslog-gnutls; then apt_install rsyslog rsyslog-gnutls; fi
command -v openssl >/dev/null || apt_install openssl
note "$(/usr/sbin/rsyslogd -v 2>/dev/null | awk 'NR == 1 { print $1, $2 }'), $(openssl version | awk '{ print $1, $2 }')"

build_release

step "Starting PostgreSQL for the tests"
if [ -n "${DATABASE_URL:-}" ]; then
  ADMIN_URL="$DATABASE_URL"
  note "using DATABASE_URL"
else
  TEST_DATA="${AUDITORIUM_TEST_DATA_DIR:-$ROOT/.data/test}"
  ADMIN_URL="$("$BIN" --data-dir "$TEST_DATA" db start | sed 's#^postgres:///auditorium?#postgres:///postgres?#')"
  trap '"$BIN" --data-dir "$TEST_DATA" db stop >/dev/null 2>&1 || true' EXIT
  note "private cluster in $TEST_DATA"
fi

step "Unit and database tests"
DATABASE_URL="$ADMIN_URL" cargo test --release -p app -p server

step "Browser tests (Chromium)"
E2E_DB="auditorium_e2e"
PGOPTIONS="-c client_min_messages=warning" psql "$ADMIN_URL" -qtA -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $E2E_DB WITH (FORCE)" -c "CREATE DATABASE $E2E_DB" >/dev/null
E2E_DATABASE_URL="$(printf '%s' "$ADMIN_URL" | sed -E "s#^(postgres(ql)?://[^/]*/)[^?]*#\1$E2E_DB#")"
DATABASE_URL="$E2E_DATABASE_URL" "$BIN" demo --events 20000 --days 30 --seed 42 >/dev/null
E2E_TOKEN="$(DATABASE_URL="$E2E_DATABASE_URL" "$BIN" token create --name e2e --scope ingest 2>/dev/null)"
E2E_EMAIL="e2e-admin@example.com"
E2E_PASSWORD="e2e password $(date +%s%N)"
printf '%s' "$E2E_PASSWORD" | DATABASE_URL="$E2E_DATABASE_URL" "$BIN" user create --email "$E2E_EMAIL" --name "E2E Admin" --role admin --password-stdin >/dev/null 2>&1
export AUDITORIUM_BIN="$BIN" E2E_DATABASE_URL E2E_TOKEN E2E_EMAIL E2E_PASSWORD E2E_PORT="${E2E_PORT:-3100}" AUDITORIUM_SITE_ROOT="$ROOT/target/site"
(cd end2end && npx playwright test)

step "All tests passed"
