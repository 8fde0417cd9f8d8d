# Build, test, run and install dialerd. Flags come from pkg-config and pg_config.
#
#   make            build dialerd (build/) ; SAN=1 builds with ASan + UBSan (build/san/)
#   make test       install missing packages, build, run every test
#   make run        demo: private PostgreSQL, migrations, dialerd
#   make install    PREFIX=/usr/local DESTDIR=
#   make migrate    apply sql/ migrations to $DIALER_DATABASE_URL
#   make bench      pacing benchmarks: bench-pacing (virtual time), bench-e2e (dialerd + dialer-sim)
#   make bench-api  REST throughput: wrk against GET /v1/campaigns/{id} (BENCHMARKS.md)
#   make bench-views  dashboard views on 1M callees / 3M attempts, counter trigger overhead (BENCHMARKS.md)

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
# REST resource routes (campaigns, callees, agents) and the pure checks of their bodies.
CORE_SRC   += src/campaign_check.c
SHELL_SRC  += src/api_rest.c src/api_campaigns.c src/api_callees.c src/api_agents.c
# Request authentication (SHA-256 / HMAC, tokens, replay cache) and the push routes.
CORE_SRC   += src/sha256.c src/auth.c src/push.c
SHELL_SRC  += src/api_push.c
# SMS: trigger rules and templates (pure), the outbox dispatcher (libcurl through httpc).
CORE_SRC   += src/smsrule.c
SHELL_SRC  += src/sms.c
# Metrics registry (GET /metrics) and the status page (GET /), embedded from web/status.html.
GEN_SRC    := $(BUILD)/gen/status_html.c
SHELL_SRC  += src/metrics.c src/api_status.c $(GEN_SRC)
DAEMON_SRC := src/main.c $(SHELL_SRC) $(CORE_SRC)
# dialer-bench: discrete-event benchmark of the pacing policies (links the daemon's pacing.c).
BENCH_SRC  := $(wildcard src/bench/*.c) src/pacing.c src/scenario.c src/util.c
# dialer-sim: carrier + ACD + agents + SMS gateway, driven by a scenario file.
SCENARIO_SRC := src/scenario.c
SIM_SRC    := $(wildcard src/sim/*.c) $(SCENARIO_SRC) src/util.c src/log.c src/httpc.c src/hmap.c
# The simulator signs its requests to dialerd with the daemon's own code.
SIM_SRC    += src/sha256.c src/auth.c

UNIT_TESTS := test_config test_log test_util test_core test_scenario test_bench
UNIT_TESTS += test_campaign_check
UNIT_TESTS += test_sha256 test_auth test_push
UNIT_TESTS += test_smsrule
UNIT_TESTS += test_metrics
UNIT_TESTS += test_pacing_tail
# C programs the end-to-end suites drive against a real PostgreSQL.
ITESTS     := itest_db

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

DAEMON   := $(BUILD)/dialerd
SIM      := $(BUILD)/dialer-sim
BENCHBIN := $(BUILD)/dialer-bench
UNIT_BIN := $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))
ITEST_BIN := $(addprefix $(BUILD)/tests/,$(ITESTS))

.PHONY: all test test-run deps deps-test run migrate bench bench-pacing bench-e2e install clean

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

# The pacer's tail estimate is tested from inside (it includes src/pacing.c): nothing else.
$(BUILD)/tests/test_pacing_tail: $(BUILD)/obj/tests/unit/test_pacing_tail.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ -lm

# The benchmark's own tests link its model (everything but its main).
$(BUILD)/tests/test_bench: $(BUILD)/obj/tests/unit/test_bench.o $(call obj,$(filter-out src/bench/main.c,$(BENCH_SRC)))
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# web/status.html as a C array (od is in coreutils: no xxd needed), NUL-terminated.
$(BUILD)/gen/status_html.c: web/status.html
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q){ echo '/* Generated by the Makefile from web/status.html: the page served at GET /. */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char status_html[];'; \
	  echo 'extern const size_t status_html_len;'; \
	  echo 'const unsigned char status_html[] = {'; \
	  od -An -v -tx1 $< | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; \
	  echo 'const size_t status_html_len = sizeof(status_html) - 1;'; } >$@.tmp && mv $@.tmp $@

# Objects of test programs are kept between runs.
.SECONDARY:

# Fuzz targets (make fuzz), the throughput benchmark (make bench-throughput) and the
# valgrind run (make test-valgrind) keep their rules next to their sources.
-include tests/fuzz/fuzz.mk tests/perf/throughput.mk tests/valgrind/valgrind.mk

# `make test` first makes sure the packages exist, then re-enters make so that the
# pkg-config / pg_config results above are read after any installation.
test: deps-test
	@$(MAKE) --no-print-directory test-run

test-run: $(DAEMON) $(SIM) $(UNIT_BIN) $(ITEST_BIN)
	@BUILD=$(BUILD) SAN=$(SAN) UNIT_BINS="$(UNIT_BIN)" tests/run.sh

deps:
	@deploy/deps.sh

# The build's packages plus what only the tests use (Chromium, promtool, man, systemd-analyze).
deps-test:
	@deploy/deps.sh --test

run: deps
	@$(MAKE) --no-print-directory $(DAEMON)
	@BUILD=$(BUILD) deploy/run-demo.sh

migrate:
	@sql/migrate.sh

# Pacing benchmark: every scenario of bench/scenarios x every policy, 30 replications each.
# Decisions at most every 0.25 s of virtual time (the daemon's longest tick).
BENCH_ARGS ?= --reps 30 --jobs 2 --decision-gap 0.25
# Both pacing benchmarks, one after the other: bench-e2e compares itself with the JSON that
# bench-pacing writes, and the two would only slow each other down on the same cores.
bench:
	@$(MAKE) --no-print-directory bench-pacing
	@$(MAKE) --no-print-directory bench-e2e

bench-pacing: deps
	@$(MAKE) --no-print-directory $(BENCHBIN)
	$(BENCHBIN) $(BENCH_ARGS) --json build/bench-pacing.json

# Pacing end to end: dialerd + dialer-sim on medium-high, time-scaled, about 5½ minutes; figures
# in build/bench-e2e.json (docs/dialer-bench.md, "End to end"). Not part of `make test`.
bench-e2e: deps
	@$(MAKE) --no-print-directory $(DAEMON) $(SIM) $(BENCHBIN)
	@BUILD=$(BUILD) bench/e2e-pacing.sh

# REST throughput: wrk (installed when missing and root) against GET /v1/campaigns/{id} on
# loopback with a bearer token, 20 s, 2 threads, 50 connections; figures in build/bench-api.json.
.PHONY: bench-api
bench-api: deps
	@$(MAKE) --no-print-directory $(DAEMON)
	@BUILD=$(BUILD) tests/perf/bench_api.sh

# Dashboard views (docs/dashboards.md): a private PostgreSQL with 1M callees and 3M attempts,
# EXPLAIN ANALYZE of every view (median under 50 ms) and the overhead of the counter triggers
# on dialerd's statements, a few minutes; figures into BENCHMARKS.md. Not part of `make test`.
.PHONY: bench-views
bench-views: deps
	@tests/perf/bench_views.sh

# Installation layout; DESTDIR stages it elsewhere (packaging, tests/e2e/install.sh).
SYSCONFDIR  ?= /etc
SBINDIR     ?= $(PREFIX)/sbin
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share/dialerd
DOCDIR      ?= $(PREFIX)/share/doc/dialerd
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
# The unit and the man page name /usr/local/... and /etc/...: rewritten for this layout.
INSTALL_PATHS := sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' -e 's|/usr/local/share/dialerd/|$(DATADIR)/|g' \
                 -e 's|/usr/local/share/doc/dialerd/|$(DOCDIR)/|g' -e 's|/usr/local/lib/|$(PREFIX)/lib/|g' \
                 -e 's|/etc/dialerd/|$(SYSCONFDIR)/dialerd/|g'

# Binaries, migrations (migrate.sh finds the .sql files beside it), roles, man page, systemd
# unit and user, docs; the sample configuration and secrets file only where none exists yet:
# they hold the site's settings.
install: $(DAEMON) $(SIM) $(BENCHBIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/sql \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/dialerd
	install -m 755 $(DAEMON) $(DESTDIR)$(SBINDIR)/dialerd
	install -m 755 $(SIM) $(DESTDIR)$(BINDIR)/dialer-sim
	install -m 755 $(BENCHBIN) $(DESTDIR)$(BINDIR)/dialer-bench
	install -m 644 sql/[0-9][0-9][0-9][0-9]_*.sql $(DESTDIR)$(DATADIR)/sql/
	install -m 755 sql/migrate.sh $(DESTDIR)$(DATADIR)/sql/migrate.sh
	install -m 644 deploy/roles.sql $(DESTDIR)$(DATADIR)/roles.sql
	$(INSTALL_PATHS) docs/dialerd.8 >$(DESTDIR)$(MANDIR)/man8/dialerd.8
	$(INSTALL_PATHS) deploy/dialerd.service >$(DESTDIR)$(UNITDIR)/dialerd.service
	chmod 644 $(DESTDIR)$(MANDIR)/man8/dialerd.8 $(DESTDIR)$(UNITDIR)/dialerd.service
	install -m 644 deploy/dialerd.sysusers $(DESTDIR)$(SYSUSERSDIR)/dialerd.conf
	install -m 644 deploy/prometheus.yml docs/*.md docs/openapi.yaml $(DESTDIR)$(DOCDIR)/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/dialerd/dialerd.conf ]; then \
	    echo "kept $(DESTDIR)$(SYSCONFDIR)/dialerd/dialerd.conf; the new sample is dialerd.conf.sample"; \
	    install -m 644 deploy/dialerd.conf $(DESTDIR)$(SYSCONFDIR)/dialerd/dialerd.conf.sample; \
	else \
	    echo "install -m 644 deploy/dialerd.conf $(DESTDIR)$(SYSCONFDIR)/dialerd/dialerd.conf"; \
	    install -m 644 deploy/dialerd.conf $(DESTDIR)$(SYSCONFDIR)/dialerd/dialerd.conf; \
	fi
	@if [ ! -e $(DESTDIR)$(SYSCONFDIR)/dialerd/dialerd.env ]; then \
	    echo "install -m 600 deploy/dialerd.env $(DESTDIR)$(SYSCONFDIR)/dialerd/dialerd.env"; \
	    install -m 600 deploy/dialerd.env $(DESTDIR)$(SYSCONFDIR)/dialerd/dialerd.env; \
	fi

# deploy/dialerd.conf and the key list of docs/dialerd.8 from `dialerd --help-config`.
.PHONY: regen
regen: $(DAEMON)
	@deploy/gen-docs.sh $(DAEMON)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
$(BUILD)/obj/src/main.o: $(wildcard sql/[0-9][0-9][0-9][0-9]_*.sql)
