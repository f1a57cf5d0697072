# gatehouse — OAuth 2.0 / OpenID Connect provider. `make run` and `make test` are the whole set-up.
# Objects go to build/, the binary is ./gatehouse. See STYLE.md §10 for the targets.

CC        ?= cc
BUILD     ?= build
BIN       ?= gatehouse
PYTHON    ?= /usr/bin/python3

# Build dependencies: pkg-config module => Debian package, the one list `make deps` installs from.
PKG_DEPS  = libmicrohttpd:libmicrohttpd-dev openssl:libssl-dev jansson:libjansson-dev \
            sqlite3:libsqlite3-dev libargon2:libargon2-dev cjose:libcjose-dev \
            libcurl:libcurl4-openssl-dev libpq:libpq-dev
# Other build inputs: file => Debian package (the common-password list is Openwall's, from john-data).
FILE_DEPS = /usr/share/john/password.lst:john-data /usr/bin/pkg-config:pkg-config \
            /usr/bin/cc:gcc /usr/bin/make:make
# What `make test` needs on top: file => Debian package.
TEST_DEPS = /usr/lib/python3/dist-packages/pytest/__init__.py:python3-pytest \
            /usr/lib/python3/dist-packages/requests/__init__.py:python3-requests \
            /usr/lib/python3/dist-packages/jwt/__init__.py:python3-jwt \
            /usr/lib/python3/dist-packages/cryptography/__init__.py:python3-cryptography \
            /usr/bin/sqlite3:sqlite3 /usr/bin/curl:curl \
            /usr/bin/chromium:chromium /usr/bin/chromedriver:chromium-driver \
            /usr/lib/python3/dist-packages/selenium/__init__.py:python3-selenium \
            /usr/sbin/apache2:apache2 \
            /usr/lib/apache2/modules/mod_auth_openidc.so:libapache2-mod-auth-openidc \
            /usr/bin/node:nodejs /usr/bin/npm:npm \
            /usr/lib/postgresql/15/bin/initdb:postgresql \
            /usr/lib/python3/dist-packages/psycopg2/__init__.py:python3-psycopg2 \
            /usr/sbin/nginx:nginx-light
# `make bench` only.
BENCH_DEPS = /usr/bin/wrk:wrk /usr/sbin/nginx:nginx-light /usr/bin/hyperfine:hyperfine \
             /usr/lib/python3/dist-packages/cryptography/__init__.py:python3-cryptography
# `make fuzz` only (libFuzzer comes with clang's runtime libraries).
FUZZ_DEPS  = /usr/bin/clang:clang \
             /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev

PKGS      = $(foreach d,$(PKG_DEPS),$(firstword $(subst :, ,$(d))))

CFLAGS_STD  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
CFLAGS_WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wpointer-arith -Wcast-qual -Wformat=2 -Wimplicit-fallthrough -Wvla -Wundef
CFLAGS_HARD = -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fPIE
LDFLAGS_HARD= -pie -Wl,-z,relro,-z,now
SAN         = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT        ?= $(CFLAGS_HARD)
LDOPT      ?= $(LDFLAGS_HARD)

# Recursive (=) so pkg-config runs after `make deps` has installed what it asks about.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread
ALL_CFLAGS = $(CFLAGS_STD) $(CFLAGS_WARN) $(OPT) -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS= $(LDOPT) $(LDFLAGS)

SRC        := $(shell find src -name '*.c' | sort)
LIB_SRC    := $(filter-out src/main.c,$(SRC))
GEN_SRC    := $(BUILD)/gen/schema_sqlite.c $(BUILD)/gen/schema_pg.c $(BUILD)/gen/common_passwords.c
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o) $(GEN_SRC:$(BUILD)/gen/%.c=$(BUILD)/gen/%.o)
SCHEMA     := $(sort $(wildcard src/store/schema/sqlite/*.sql))
SCHEMA_PG  := $(sort $(wildcard src/store/schema/pg/*.sql))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Fuzz targets (STYLE.md §9): tests/fuzz/fuzz_<name>.c. Each is linked with tests/fuzz/replay.c
# as the unit test $(BUILD)/tests/test_fuzz_<name>, which replays tests/fuzz/corpus/<name>/.
FUZZ_NAMES := $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_REPLAY:= $(FUZZ_NAMES:%=$(BUILD)/tests/test_fuzz_%)
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN    = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
# -Wno-format-nonliteral: clang's -Wformat=2 also flags vsnprintf(fmt, ap) inside printf-like
# wrappers that carry a format attribute (cli.c); gcc, which builds everything else, does not.
FUZZ_VARS   = BUILD=build/fuzz BIN=build/fuzz/gatehouse CC=$(FUZZ_CC) OPT="$(FUZZ_SAN)" \
              LDOPT="-fsanitize=address,undefined" CFLAGS="-Wno-format-nonliteral $(CFLAGS)"

.PHONY: all deps test-deps bench-deps fuzz-deps fuzz fuzz-build run build-tests test test-fast test-unit test-e2e asan test-asan test-valgrind bench bench-flows bench-cc bench-mixed bench-scale screenshots lint fmt clean

all: $(BIN)

deps:
	@missing=""; \
	for d in $(PKG_DEPS); do pkg-config --exists "$${d%%:*}" 2>/dev/null || missing="$$missing $${d#*:}"; done; \
	for d in $(FILE_DEPS) $(EXTRA_DEPS); do [ -e "$${d%%:*}" ] || missing="$$missing $${d#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing missing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing \
	    || { echo "make deps: apt-get failed; install by hand:$$missing" >&2; exit 1; }; \
	fi

test-deps:
	@$(MAKE) --no-print-directory deps EXTRA_DEPS="$(TEST_DEPS)"

bench-deps:
	@$(MAKE) --no-print-directory deps EXTRA_DEPS="$(BENCH_DEPS)"

fuzz-deps:
	@$(MAKE) --no-print-directory deps EXTRA_DEPS="$(FUZZ_DEPS)"

$(BIN): $(BUILD)/src/main.o $(BUILD)/libgh.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/libgh.a: $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

# V=1 shows full command lines.
Q = $(if $(V),,@)

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Schema migrations are compiled in: one C string per numbered .sql file, in order.
$(BUILD)/gen/schema_sqlite.c: $(SCHEMA) src/store/schema/embed.sh | deps
	@mkdir -p $(@D)
	sh src/store/schema/embed.sh sqlite $(SCHEMA) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/schema_pg.c: $(SCHEMA_PG) src/store/schema/embed.sh | deps
	@mkdir -p $(@D)
	sh src/store/schema/embed.sh pg $(SCHEMA_PG) > $@.tmp && mv $@.tmp $@

# The shipped common-password list (lower-cased, sorted, unique) for model/user.c.
$(BUILD)/gen/common_passwords.c: src/model/blocklist.sh | deps
	@mkdir -p $(@D)
	sh src/model/blocklist.sh /usr/share/john/password.lst > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h tests/unit/vfs_shim.h $(BUILD)/libgh.a
	@mkdir -p $(@D)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libgh.a $(ALL_LDFLAGS) $(PKG_LIBS)

# Corpus replay: the fuzz target's entry point driven by replay.c, with this build's flags.
$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(BUILD)/libgh.a
	@mkdir -p $(@D)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/fuzz -DFUZZ_NAME='"$*"' -o $@ tests/fuzz/fuzz_$*.c \
	  tests/fuzz/replay.c $(BUILD)/libgh.a $(ALL_LDFLAGS) $(PKG_LIBS)

# libFuzzer binaries; only meaningful with $(FUZZ_VARS) (`make fuzz-build`).
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/libgh.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< $(BUILD)/libgh.a \
	  $(ALL_LDFLAGS) $(PKG_LIBS)

# --- running -----------------------------------------------------------------------------
run: $(BIN)
	./$(BIN) serve --demo --listen 127.0.0.1:8080

# npm packages of tests/e2e/test_real_rp.py (openid-client, jose), exactly as
# tests/rp/package-lock.json pins them; npm ci (re)writes the stamp.
RP_NODE_MODULES = tests/rp/node_modules/.package-lock.json
$(RP_NODE_MODULES): tests/rp/package-lock.json tests/rp/package.json
	cd tests/rp && npm ci --no-audit --no-fund
	@touch $@

# Everything a build needs to run its tests.
build-tests: $(BIN) $(UNIT_BIN) $(FUZZ_REPLAY)

ASAN_VARS = BUILD=build/asan BIN=build/asan/gatehouse OPT="$(SAN)" LDOPT="-fsanitize=address,undefined"

# `make test` runs every test twice: against the normal build and against one built with
# AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer), so a memory error fails CI.
# E2E_PG: what runs a third time, against the normal build with every test's database in a
# throw-away PostgreSQL cluster (GATEHOUSE_TEST_PG=1): the whole e2e suite (issue 7: both
# backends), SQLite-only tests skipped with their reason, test_pg_*.py run only there.
# docs/postgresql.md "Testing against PostgreSQL".
E2E_PG = tests/e2e

test: test-deps $(RP_NODE_MODULES) build-tests
	@$(MAKE) --no-print-directory $(ASAN_VARS) build-tests
	@E2E_PG="$(E2E_PG)" sh tests/run.sh $(BUILD):$(BIN) build/asan:build/asan/gatehouse

# Quicker loops while developing: one build, or one kind of test.
test-fast: test-deps $(RP_NODE_MODULES) build-tests
	@sh tests/run.sh $(BUILD):$(BIN)

test-unit: $(UNIT_BIN)
	@TESTS=unit sh tests/run.sh $(BUILD):$(BIN)

test-e2e: test-deps $(RP_NODE_MODULES) $(BIN)
	@TESTS=e2e sh tests/run.sh $(BUILD):$(BIN)

asan test-asan: test-deps $(RP_NODE_MODULES)
	@$(MAKE) --no-print-directory $(ASAN_VARS) build-tests
	@sh tests/run.sh build/asan:build/asan/gatehouse

bench: bench-deps $(BIN)
	sh bench/run.sh
	GATEHOUSE_BIN=$(BIN) sh bench/flows.sh
	GATEHOUSE_BIN=$(BIN) sh bench/cc.sh
	GATEHOUSE_BIN=$(BIN) sh bench/mixed.sh

# Sign-in flows, token latency under login load, userinfo (bench/flows.sh; needs linux-perf for
# the profile, skipped without it).
bench-flows: bench-deps $(BIN)
	GATEHOUSE_BIN=$(BIN) sh bench/flows.sh

# client_credentials tokens/s (basic, client_secret_jwt, private_key_jwt x ES256, RS256) next to
# bench/sign_probe.c, the MHD + one-signature ceiling (bench/cc.sh; needs python3-cryptography).
bench-cc: bench-deps $(BIN)
	GATEHOUSE_BIN=$(BIN) sh bench/cc.sh

# 60 s of sign-ins, SSO, client_credentials, documents, userinfo and introspection at once: the
# load figure of docs/security.md (rate, zero errors, RSS and descriptors before/after).
bench-mixed: bench-deps $(BIN)
	GATEHOUSE_BIN=$(BIN) sh bench/mixed.sh

# client_credentials tokens/s and sign-in flows/s with one instance on SQLite, one and two on
# PostgreSQL (directly and behind nginx), side by side (bench/scale.sh; issue 7). Needs
# postgresql and python3-requests from test-deps on top of bench-deps. Not part of `make bench`.
bench-scale: bench-deps $(BIN)
	GATEHOUSE_BIN=$(BIN) sh bench/scale.sh

# valgrind memcheck over the e2e suite (issue 5): a second opinion next to `make asan`
# (uninitialised reads, leaks through other allocators). A -O1 -g build in build/vg/; every
# gatehouse process runs under tests/tools/valgrind-gatehouse, one log each in build/vg/logs/.
# Hours on 2 cores, so not part of `make test`. VG_MODULES="test_x.py ..." runs only those.
VALGRIND_DEPS = /usr/bin/valgrind:valgrind
VG_VARS = BUILD=build/vg BIN=build/vg/gatehouse OPT="-O1 -g -fno-omit-frame-pointer" LDOPT=""

test-valgrind: test-deps
	@$(MAKE) --no-print-directory deps EXTRA_DEPS="$(VALGRIND_DEPS)"
	@$(MAKE) --no-print-directory $(VG_VARS) build/vg/gatehouse
	@sh tests/valgrind.sh build/vg/gatehouse $(VG_MODULES)

# Screenshots of the sign-in pages in docs/screenshots/, taken by the real-browser tests.
screenshots: test-deps $(BIN)
	GATEHOUSE_BIN=$(abspath $(BIN)) GATEHOUSE_SCREENSHOTS=$(CURDIR)/docs/screenshots \
	    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e/test_real_browser.py

# Build every target with clang + libFuzzer + ASan/UBSan into build/fuzz/ and run each for
# FUZZ_SECONDS from the committed corpus. New inputs go to build/fuzz/new/<name>/ (scratch);
# crashes to build/fuzz/crash-<name>-*. Copy a crash into tests/fuzz/corpus/<name>/.
fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_VARS) $(FUZZ_NAMES:%=build/fuzz/fuzz_%)

fuzz: fuzz-build
	@for n in $(FUZZ_NAMES); do \
	  mkdir -p build/fuzz/new/$$n; \
	  echo "fuzz $$n: $(FUZZ_SECONDS) s"; \
	  build/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/crash-$$n- build/fuzz/new/$$n tests/fuzz/corpus/$$n \
	    > build/fuzz/$$n.log 2>&1 || { tail -n 60 build/fuzz/$$n.log; \
	    echo "fuzz $$n: FAILED (log: build/fuzz/$$n.log)"; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|stat::new_units_added' build/fuzz/$$n.log; \
	done; echo "fuzz: no findings"

lint:
	@! grep -nE '\b(strcpy|strcat|strncpy|sprintf|vsprintf|gets|atoi|atol|strtok|rand)\(' $(SRC) \
	  || { echo "lint: banned function (STYLE.md §2)"; exit 1; }
	@echo "lint: ok"

fmt:
	clang-format -i $(SRC) $(shell find src -name '*.h')

clean:
	rm -rf build $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
