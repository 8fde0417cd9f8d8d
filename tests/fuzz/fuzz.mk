# libFuzzer targets (clang), included by the top-level Makefile.
#
#   make fuzz-build   builds build/fuzz/fuzz_push, fuzz_config and fuzz_window with
#                     clang -fsanitize=fuzzer,address,undefined -g -O1; each links only the
#                     sources it fuzzes and what they need (cjson, libevent from pkg-config).
#   make fuzz         the long run: each target for FUZZ_SECONDS seconds (default 600) on its
#                     corpus copy in build/fuzz/corpus/<target> (refreshed from
#                     tests/fuzz/corpus/<target>, kept between runs), one summary line per
#                     target (execs, exec/s, coverage, corpus, crashes); fails on any crash,
#                     leak, UB report or hang. Logs in build/fuzz/logs/, reproducers in
#                     build/fuzz/artifacts/<target>/.
#
# The short run that `make test` does is tests/fuzz/run.sh (FUZZ_SHORT_S seconds per target).
# How to run, where corpora live, how to reproduce a crash: docs/fuzzing.md.

FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 600
FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=c11 $(WARN) -g -O1 $(FUZZ_SAN) $(CPPFLAGS) $(PKG_CFLAGS) -MMD -MP
FUZZ_TARGETS := push config window

# What each target links: the module under test and what it calls.
FUZZ_SRC_push   := tests/fuzz/fuzz_push.c src/push.c src/outcome.c src/util.c
FUZZ_SRC_config := tests/fuzz/fuzz_config.c src/config.c src/log.c
FUZZ_SRC_window := tests/fuzz/fuzz_window.c src/window.c
FUZZ_LIBS_push   := $(shell pkg-config --libs libcjson 2>/dev/null) -lm
FUZZ_LIBS_config := $(shell pkg-config --libs libevent 2>/dev/null)
FUZZ_LIBS_window := $(shell pkg-config --libs libcjson 2>/dev/null)

FUZZ_BINS := $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_TARGETS))
fuzz_obj   = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))

.PHONY: fuzz-build fuzz fuzz-check-cc

# clang and its libFuzzer runtime come with deploy/deps.sh --test (clang, libclang-rt-14-dev).
fuzz-check-cc:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { echo "fuzz-build: $(FUZZ_CC) not found;" \
	    "deploy/deps.sh --test installs clang and libclang-rt-14-dev" >&2; exit 1; }

fuzz-build: $(FUZZ_BINS)
	@:

# clang, unlike gcc, warns on log.c's vsnprintf through a va_list helper without a format
# attribute (log_vformat); not a bug, and log.c is not ours to change here.
$(FUZZ_BUILD)/obj/src/log.o: FUZZ_CFLAGS += -Wno-format-nonliteral

$(FUZZ_BUILD)/obj/%.o: %.c | fuzz-check-cc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_push: $(call fuzz_obj,$(FUZZ_SRC_push))
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -g -o $@ $^ $(FUZZ_LIBS_push)

$(FUZZ_BUILD)/fuzz_config: $(call fuzz_obj,$(FUZZ_SRC_config))
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -g -o $@ $^ $(FUZZ_LIBS_config)

$(FUZZ_BUILD)/fuzz_window: $(call fuzz_obj,$(FUZZ_SRC_window))
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -g -o $@ $^ $(FUZZ_LIBS_window)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) tests/fuzz/long.sh $(FUZZ_TARGETS)

-include $(wildcard $(FUZZ_BUILD)/obj/src/*.d $(FUZZ_BUILD)/obj/tests/fuzz/*.d)
