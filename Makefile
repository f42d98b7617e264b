# SPDX-License-Identifier: Apache-2.0
# cpnet: one non-recursive GNU Makefile. Every src/<component>/*.c except src/cli goes into
# build/libcpnet.a; src/cli links it into build/cpnet. Each tests/<component>/test_*.c is its own
# test binary linked with tests/harness.c. New files are picked up by the globs below, so adding a
# source or a test never needs an edit here.
#
#   make                       build build/cpnet
#   make check                 install missing dependencies, build, run every test
#   make SANITIZE=address,undefined check
#   make demo | validate | bench | fuzz | format | format-check | lint | install PREFIX=...

CC       ?= cc
PREFIX   ?= /usr/local
SANITIZE ?=
OPT      ?= -O2

comma := ,
ifeq ($(SANITIZE),)
BUILD := build
else
BUILD := build/san-$(subst $(comma),-,$(SANITIZE))
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wvla -Wundef -Wpointer-arith -Wcast-qual -Wwrite-strings
PKG_CFLAGS := $(shell pkg-config --cflags jansson sqlite3 libmicrohttpd libcurl 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs jansson sqlite3 libmicrohttpd libcurl 2>/dev/null || echo -ljansson -lsqlite3 -lmicrohttpd -lcurl) -lglpk -lm -lpthread
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS := -std=c17 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Iinclude -Isrc -MMD -MP
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
HARNESS  := $(BUILD)/obj/tests/harness.o
LIB      := $(BUILD)/libcpnet.a
BIN      := $(BUILD)/cpnet

.PHONY: all deps check test demo validate bench fuzz format format-check lint install clean

all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	@echo "  AR $@"; rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(PKG_LIBS)

$(BUILD)/tests/%: tests/%.c $(HARNESS) $(LIB)
	@mkdir -p $(@D) $(BUILD)/obj/tests/$(*D)
	@echo "  CC $@"; $(CC) $(ALL_CFLAGS) -Itests -MF $(BUILD)/obj/tests/$*.d -o $@ $< $(HARNESS) $(LIB) $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	@echo "  CC $@"; $(CC) $(ALL_CFLAGS) -MF $(BUILD)/bench/$*.d -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS)

$(HARNESS): tests/harness.c tests/harness.h
	@mkdir -p $(@D)
	@echo "  CC $<"; $(CC) $(ALL_CFLAGS) -Itests -c $< -o $@

deps:
	@sh scripts/install-deps.sh

# make check: every C test binary and every tests/*/*.sh script; scripts/run-tests.sh prints the
# aggregate line "check: N passed, N failed" and fails when N failed > 0.
check: deps
	@$(MAKE) --no-print-directory $(BIN) $(TEST_BIN)
	@CPNET_BIN=$(abspath $(BIN)) CPNET_BUILD=$(abspath $(BUILD)) sh scripts/run-tests.sh $(TEST_BIN)

test: check

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	@sh scripts/demo.sh $(BIN)

validate: deps
	@$(MAKE) --no-print-directory $(BIN)
	@CPNET_BIN=$(abspath $(BIN)) sh scripts/validate-lwa.sh

bench: deps
	@$(MAKE) --no-print-directory $(BIN) $(BENCH_BIN)
	@CPNET_BIN=$(abspath $(BIN)) CPNET_BUILD=$(abspath $(BUILD)) sh scripts/bench.sh

# libFuzzer harnesses (clang): the library is built once with coverage instrumentation
# (build/fuzz/libcpnet-fuzz.a), then each tests/fuzz/fuzz_X.c is linked against it and runs
# FUZZ_SECONDS on its seed corpus (tests/fuzz/corpus/fuzz_X) plus what it finds.
FUZZ_SECONDS ?= 20
FUZZ_CFLAGS := -std=c17 -D_POSIX_C_SOURCE=200809L -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -Iinclude -Isrc $(PKG_CFLAGS)
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC (fuzz) $<"; clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

build/fuzz/libcpnet-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@ && ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/libcpnet-fuzz.a
	@echo "  LD (fuzz) $@"; clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	    build/fuzz/libcpnet-fuzz.a $(PKG_LIBS)

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  mkdir -p build/fuzz/$$n.corpus; \
	  if [ -d tests/fuzz/corpus/$$n ]; then cp -r tests/fuzz/corpus/$$n/. build/fuzz/$$n.corpus/; fi; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 build/fuzz/$$n.corpus \
	    >build/fuzz/$$n.log 2>&1 || { tail -n 40 build/fuzz/$$n.log; exit 1; }; \
	  grep -E '^Done|#[0-9]+.*DONE' build/fuzz/$$n.log | tail -n 1; done

FORMAT_FILES = $(wildcard include/cpnet/*.h src/*/*.c src/*/*.h tests/*.c tests/*.h tests/*/*.c tests/*/*.h bench/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

lint:
	@sh scripts/lint.sh

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/cpnet
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/cpnet
	cp -r data $(DESTDIR)$(PREFIX)/share/cpnet/

clean:
	rm -rf build

-include $(FUZZ_OBJ:.o=.d)
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(HARNESS:.o=.d) $(TEST_BIN:$(BUILD)/tests/%=$(BUILD)/obj/tests/%.d)
