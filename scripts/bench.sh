#!/usr/bin/env bash
# `make bench-<name>`: build in release mode and run one benchmark (server/benches/<name>.rs).
# Without DATABASE_URL it uses a private PostgreSQL cluster in .data/bench.
source "$(dirname "$0")/lib.sh"
name="$1"; shift
setup_build_tools
# The ingest benchmark drives the server with wrk (one event per request).
if [ "$name" = ingest ] && ! command -v wrk >/dev/null; then apt_install wrk; fi
# The live and export benchmarks run the real server binary.
if [ "$name" = live ] || [ "$name" = export ] || [ "$name" = insight ] || [ "$name" = forward ]; then build_release; fi
export AUDITORIUM_BIN="$BIN"
step "Benchmark: $name"
cargo bench -p server --bench "$name" -- "$@"
