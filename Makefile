# The two commands (see README.md):
#   make run    install what is missing, build, and serve on http://127.0.0.1:3000
#   make test   install what is missing, build, and run every test
# Benchmarks (see docs/benchmarks.md): make bench, or one of make bench-ingest|query|page|live|export|insight|integrity|forward

.PHONY: run test bench bench-ingest bench-query bench-page bench-live bench-export bench-insight bench-integrity bench-forward
run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

# Benchmarks print their figures; record them in docs/benchmarks.md.
ARGS ?=
# Everything, at the sizes the targets are stated for (the 10M dataset takes ~20 min to load once).
bench:
	@bash scripts/bench.sh ingest
	@bash scripts/bench.sh query --events 10000000
	@bash scripts/bench-page.sh
	@bash scripts/bench.sh live
	@bash scripts/bench.sh export --events 10000000
	@bash scripts/bench.sh insight --events 10000000
	@bash scripts/bench.sh integrity
	@bash scripts/bench.sh forward

bench-ingest:
	@bash scripts/bench.sh ingest $(ARGS)

bench-query:
	@bash scripts/bench.sh query $(ARGS)

bench-page:
	@bash scripts/bench-page.sh

bench-live:
	@bash scripts/bench.sh live $(ARGS)

bench-export:
	@bash scripts/bench.sh export $(ARGS)

bench-insight:
	@bash scripts/bench.sh insight $(ARGS)

bench-integrity:
	@bash scripts/bench.sh integrity $(ARGS)

bench-forward:
	@bash scripts/bench.sh forward $(ARGS)
