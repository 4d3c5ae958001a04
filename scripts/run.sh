#!/usr/bin/env bash
# `make run`: install what is missing, build, start PostgreSQL (embedded unless DATABASE_URL),
# add demo data on first run, serve on http://127.0.0.1:3000 (AUDITORIUM_ADDR to change).
source "$(dirname "$0")/lib.sh"

setup_build_tools
build_release
export AUDITORIUM_SITE_ROOT="${AUDITORIUM_SITE_ROOT:-$ROOT/target/site}"
export AUDITORIUM_ADDR="${AUDITORIUM_ADDR:-127.0.0.1:${PORT:-3000}}"
step "Starting Auditorium on http://$AUDITORIUM_ADDR (Ctrl-C stops it)"
exec "$BIN" serve --demo
