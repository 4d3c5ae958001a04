#!/usr/bin/env bash
# `make bench-page`: the page in real Chromium on the 1M-event benchmark dataset — navigation
# to server-rendered rows (p50/p95), the WebAssembly bundle size, and how long re-rendering
# takes after new data arrives. Uses the embedded cluster in .data/bench.
source "$(dirname "$0")/lib.sh"
EVENTS="${EVENTS:-1000000}"
setup_build_tools
build_release
step "Preparing the $EVENTS-event dataset (kept for later runs)"
cargo bench -p server --bench query -- --events "$EVENTS" --prepare-only
URL="$("$BIN" --data-dir .data/bench db start 2>/dev/null | sed "s#/auditorium?#/bench_query_${EVENTS}?#")"
trap '"$BIN" --data-dir .data/bench db stop >/dev/null 2>&1 || true; kill $SERVER 2>/dev/null || true' EXIT
PORT=3200
DATABASE_URL="$URL" AUDITORIUM_SITE_ROOT="$ROOT/target/site" RUST_LOG=warn "$BIN" serve --addr "127.0.0.1:$PORT" &
SERVER=$!
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.5; done
# The page needs someone signed in: an admin account for this run.
BENCH_EMAIL="bench-$(date +%s)@example.com"
BENCH_PASSWORD="bench password $(date +%s%N)"
printf '%s' "$BENCH_PASSWORD" | DATABASE_URL="$URL" "$BIN" user create --email "$BENCH_EMAIL" --name "Bench" --role admin --password-stdin >/dev/null 2>&1 \
  || die "could not create the benchmark account"
RANGE="$(psql "$URL" -tA -c "SELECT to_char(from_t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' ' || to_char(to_t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM bench_dataset")"
step "Page benchmark ($EVENTS events)"
note "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(date -u +%F)"
note "WebAssembly bundle: $(stat -c %s target/site/pkg/auditorium.wasm) bytes, $(gzip -9 -c target/site/pkg/auditorium.wasm | wc -c) bytes gzipped (target: 400 KB); JS glue $(gzip -9 -c target/site/pkg/auditorium.js | wc -c) bytes gzipped"
(cd end2end && BENCH_EMAIL="$BENCH_EMAIL" BENCH_PASSWORD="$BENCH_PASSWORD" node bench-page.mjs "http://127.0.0.1:$PORT" $RANGE)
