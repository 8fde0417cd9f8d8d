# make test-valgrind: memcheck (valgrind) over every unit test program, itest_db and one
# end-to-end run of dialerd against dialer-sim and a private PostgreSQL (tests/valgrind/run.sh,
# which `make test` also runs). Always on the normal build (build/): valgrind cannot run the
# SAN=1 binaries, so the build is made with SAN=0 whatever SAN says.
.PHONY: test-valgrind valgrind-unit-tests

VALGRIND_BINS := build/dialerd build/dialer-sim $(addprefix build/tests/,$(UNIT_TESTS) $(ITESTS))

test-valgrind:
	@command -v valgrind >/dev/null || { echo "valgrind is missing: sudo apt-get install valgrind" >&2; exit 1; }
	@$(MAKE) --no-print-directory SAN=0 all $(VALGRIND_BINS)
	@BUILD=build SAN=0 VG_UNIT_TESTS="$(UNIT_TESTS)" tests/valgrind/run.sh

# The unit test programs, one line: tests/valgrind/run.sh asks when run on its own.
valgrind-unit-tests:
	@echo $(UNIT_TESTS)
