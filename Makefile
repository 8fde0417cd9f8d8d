# Build, test, run and install dialerd. Flags come from pkg-config and pg_config.
#
#   make            build dialerd (build/) ; SAN=1 builds with ASan + UBSan (build/san/)
#   make test       install missing packages, build, run every test
#   make run        demo: private PostgreSQL, migrations, dialerd
#   make install    PREFIX=/usr/local DESTDIR=
#   make migrate    apply sql/ migrations to $DIALER_DATABASE_URL

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
SAN      ?= 0
CC       ?= cc

ifeq ($(SAN),1)
BUILD    := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD    := build
SANFLAGS :=
endif

PKGS       := libevent libcurl libcjson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
PG_INC     := $(shell pg_config --includedir 2>/dev/null)
PG_LIBDIR  := $(shell pg_config --libdir 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2
CFLAGS   ?= -O2 -g
# The daemon refuses a database whose schema is older than the newest migration it ships with.
SCHEMA_VERSION := $(shell ls sql/[0-9][0-9][0-9][0-9]_*.sql 2>/dev/null | sed -n 's|^sql/0*\([0-9][0-9]*\)_.*|\1|p' | sort -n | tail -1)
CPPFLAGS += -Iinclude -D_GNU_SOURCE -DDIALERD_VERSION='"$(VERSION)"' -DDIALERD_SCHEMA_VERSION=$(or $(SCHEMA_VERSION),0)
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -I$(PG_INC) -MMD -MP
LDLIBS   := $(PKG_LIBS) -L$(PG_LIBDIR) -lpq -lm

# Pure core: no I/O, unit-tested in isolation.
CORE_SRC   := src/pacing.c src/outcome.c src/recall.c src/alloc.c src/callers.c src/window.c
# I/O shell.
SHELL_SRC  := src/util.c src/log.c src/config.c src/db.c src/api.c src/httpc.c src/hmap.c \
              src/store.c src/carrier.c src/scheduler.c
DAEMON_SRC := src/main.c $(SHELL_SRC) $(CORE_SRC)
# dialer-bench: discrete-event benchmark of the pacing policies (links the daemon's pacing.c).
BENCH_SRC  := $(wildcard src/bench/*.c) src/pacing.c src/scenario.c src/util.c
# dialer-sim: carrier + ACD + agents + SMS gateway, driven by a scenario file.
SCENARIO_SRC := src/scenario.c
SIM_SRC    := $(wildcard src/sim/*.c) $(SCENARIO_SRC) src/util.c src/log.c src/httpc.c src/hmap.c

UNIT_TESTS := test_config test_log test_util test_core test_scenario test_bench
# C programs the end-to-end suites drive against a real PostgreSQL.
ITESTS     := itest_db

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

DAEMON   := $(BUILD)/dialerd
SIM      := $(BUILD)/dialer-sim
BENCHBIN := $(BUILD)/dialer-bench
UNIT_BIN := $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
ITEST_BIN := $(addprefix $(BUILD)/tests/,$(ITESTS))

.PHONY: all test test-run deps run migrate bench bench-pacing install clean

all: $(DAEMON) $(SIM) $(BENCHBIN)

# V=1 shows the full command lines.
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(DAEMON): $(call obj,$(DAEMON_SRC))
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BENCHBIN): $(call obj,$(BENCH_SRC))
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(SIM): $(call obj,$(SIM_SRC))
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests link the module under test plus what it needs (never main.c).
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(call obj,$(SHELL_SRC) $(CORE_SRC) $(SCENARIO_SRC))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/itest_%: $(BUILD)/obj/tests/e2e/itest_%.o $(call obj,$(SHELL_SRC) $(CORE_SRC))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# The benchmark's own tests link its model (everything but its main).
$(BUILD)/tests/test_bench: $(BUILD)/obj/tests/unit/test_bench.o $(call obj,$(filter-out src/bench/main.c,$(BENCH_SRC)))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# Objects of test programs are kept between runs.
.SECONDARY:

# `make test` first makes sure the packages exist, then re-enters make so that the
# pkg-config / pg_config results above are read after any installation.
test: deps
	@$(MAKE) --no-print-directory test-run

test-run: $(DAEMON) $(SIM) $(UNIT_BIN) $(ITEST_BIN)
	@BUILD=$(BUILD) SAN=$(SAN) UNIT_BINS="$(UNIT_BIN)" tests/run.sh

deps:
	@deploy/deps.sh

run: deps
	@$(MAKE) --no-print-directory $(DAEMON)
	@BUILD=$(BUILD) deploy/run-demo.sh

migrate:
	@sql/migrate.sh

# Pacing benchmark: every scenario of bench/scenarios x every policy, 30 replications each.
# Decisions at most every 0.25 s of virtual time (the daemon's longest tick).
BENCH_ARGS ?= --reps 30 --jobs 2 --decision-gap 0.25
bench: bench-pacing

bench-pacing: deps
	@$(MAKE) --no-print-directory $(BENCHBIN)
	$(BENCHBIN) $(BENCH_ARGS) --json build/bench-pacing.json

install: $(DAEMON) $(SIM) $(BENCHBIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/dialerd/sql $(DESTDIR)$(PREFIX)/etc/dialerd
	install -m 755 $(DAEMON) $(DESTDIR)$(PREFIX)/bin/dialerd
	install -m 755 $(SIM) $(DESTDIR)$(PREFIX)/bin/dialer-sim
	install -m 755 $(BENCHBIN) $(DESTDIR)$(PREFIX)/bin/dialer-bench
	install -m 644 sql/*.sql $(DESTDIR)$(PREFIX)/share/dialerd/sql/
	install -m 755 sql/migrate.sh $(DESTDIR)$(PREFIX)/share/dialerd/sql/migrate.sh
	install -m 644 deploy/dialerd.conf $(DESTDIR)$(PREFIX)/etc/dialerd/dialerd.conf.sample

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
$(BUILD)/obj/src/main.o: $(wildcard sql/[0-9][0-9][0-9][0-9]_*.sql)
