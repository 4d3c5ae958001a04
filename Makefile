# The two commands (see README.md):
#   make run    install what is missing, build, and serve on http://127.0.0.1:3000
#   make test   install what is missing, build, and run every test
# Benchmarks (see docs/benchmarks.md): make bench

.PHONY: run test bench-ingest bench-query bench-page bench-live
run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

# Benchmarks print their figures; record them in docs/benchmarks.md.
ARGS ?=
bench-ingest:
	@bash scripts/bench.sh ingest $(ARGS)

bench-query:
	@bash scripts/bench.sh query $(ARGS)

bench-page:
	@bash scripts/bench-page.sh

bench-live:
	@bash scripts/bench.sh live $(ARGS)
