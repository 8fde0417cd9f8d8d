# Throughput benchmark (`make bench-throughput`, included by the Makefile): dialerd + dialer-sim
# (agentless dials end at once) + a private PostgreSQL: attempts completed per second for a minute
# with every outcome committed, daemon RSS at 10k / 100k / 1M callees, agent free -> dial latency.
# About 5 minutes; figures in build/bench-throughput.json. BENCH_TP_* variables change the run
# (tests/perf/bench_throughput.sh lists them); BENCH_TP_PROFILE=1 adds pg_stat_statements and perf.
# Not part of `make test`.

.PHONY: bench-throughput
bench-throughput: deps
	@$(MAKE) --no-print-directory $(DAEMON) $(SIM)
	@BUILD=$(BUILD) tests/perf/bench_throughput.sh
