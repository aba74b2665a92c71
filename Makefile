# timepipe — secure network time as small composable tools.
#
#   make            build libtime and every tool into build/
#   make check      install what is missing, build plain and sanitized, run every test
#   make demo       install, build, and run a client/server exchange on loopback
#   make fuzz       build the libFuzzer targets into build-fuzz/
#   make bench      run the benchmarks (not a test)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Files are found by wildcard: a new libtime/WING/*.cpp, tools/NAME/*.cpp, tests/unit/WING/*_test.cpp,
# tests/fuzz/fuzz_*.cpp or bench/*_bench.cpp needs no edit here. While several people work at
# once, each may build into its own tree and name the sources it needs, e.g.
#   make BUILD=build-me LIB_SRCS="libtime/base/log.cpp libtime/ntp/packet.cpp" UNIT_SRCS=tests/unit/ntp/packet_test.cpp unit

PREFIX  ?= /usr/local
DESTDIR ?=
CXX     ?= g++
SAN     ?=
# The sanitized build uses clang unless CXX is given: with ASan+UBSan it compiles this code in
# about 60 % of g++'s time (make check builds three trees), and a second compiler's warnings
# are worth having. Give CXX="ccache clang++" for a cached one; never mix compilers in a tree.
ifneq ($(SAN),)
ifeq ($(origin CXX),default)
CXX := clang++
endif
endif
BUILD   ?= $(if $(SAN),build-san,build)

PKGS := libuv libcbor libsodium libssl libcrypto nlohmann_json
# Asked of pkg-config when first used, not when make reads this file: on a bare machine the
# libraries arrive with `deps`, after the Makefile was read (`make demo` must work first time).
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)

WARN     := -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align \
            -Wunused -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough
SAN_ON   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SANFLAGS := $(if $(SAN),$(SAN_ON))
# The sanitized tree is built at -O0: ASan and UBSan find the same faults there, and clang
# compiles this code with them in about two thirds of -O1's time (make check builds three trees).
OPT      := $(if $(SAN),-O0,-O2)
# Sanitizer reports need line tables only; full debug info is for the plain build.
DEBUG    := $(if $(SAN),-g1,-g)
CXXFLAGS ?= $(OPT) $(DEBUG)
ALL_CXXFLAGS = -std=c++20 $(WARN) $(CXXFLAGS) $(SANFLAGS) -I. -isystem $(LLHTTP_INC) $(PKG_CFLAGS) $(PCH_FLAGS) -MMD -MP
ALL_LDFLAGS  := $(LDFLAGS) $(SANFLAGS)
LIBS = $(PKG_LIBS) -lwslay -lpthread

# HTTP/1.1 is parsed by llhttp, compiled from the C sources Debian's node-llhttp ships (it has
# no library package); WebSocket framing is Debian's libwslay (no .pc file: -lwslay above).
LLHTTP_SRC := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp
LLHTTP_OBJS := $(addprefix $(BUILD)/obj/llhttp/,api.o http.o llhttp.o)
# The C compiler of the tree's C++ compiler (g++ -> gcc, clang++ -> clang, ccache kept).
TREE_CC = $(subst g++,gcc,$(subst clang++,clang,$(CXX)))

LIB_SRCS  := $(sort $(wildcard libtime/*/*.cpp))
# libtime is compiled a wing at a time (LIB_UNITY=1, the default): one translation unit that
# includes each of the wing's files, so the headers every file of a wing includes (nlohmann,
# libstdc++, the wing's own) are parsed and their templates instantiated once per wing, not once
# per file — less than half the compile time of file by file (measured on ntp and server: 38 s
# -> 16 s and 74 s -> 30 s with g++ -O2), and make check builds libtime twice. A wing's files
# therefore share one namespace scope: a helper two of them need lives in one header
# (base/bytes.hpp, sys/os_error.hpp, ...), never twice. LIB_UNITY=0 compiles file by file, for
# an edit loop on one file.
LIB_UNITY ?= 1
LIB_WINGS := $(sort $(patsubst libtime/%/,%,$(dir $(LIB_SRCS))))
ifeq ($(LIB_UNITY),1)
LIB_OBJS  := $(LIB_WINGS:%=$(BUILD)/obj/libtime/%.wing.o)
else
LIB_OBJS  := $(LIB_SRCS:%.cpp=$(BUILD)/obj/%.o)
endif
LIB       := $(BUILD)/libtime.a
TOOLS     := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard tools/*/main.cpp)))))
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRCS := $(sort $(wildcard tests/unit/*/*_test.cpp))
# Unit tests are compiled a wing at a time (UNIT_UNITY=1, the default): one translation unit
# that includes each of the wing's test files, so GoogleTest, nlohmann and the precompiled header
# are loaded and instantiated once per wing, not once per file (make check compiles them twice).
# Test files of a wing therefore share one namespace scope: a helper two files need goes into a
# shared header (tests/unit/test_support.hpp, tests/unit/WING/*_support.hpp), never twice.
# UNIT_UNITY=0 compiles them file by file.
UNIT_UNITY ?= 1
UNIT_WINGS := $(sort $(patsubst tests/unit/%/,%,$(dir $(UNIT_SRCS))))
ifeq ($(UNIT_UNITY),1)
UNIT_OBJS := $(UNIT_WINGS:%=$(BUILD)/obj/tests/unit/%.wing.o)
else
UNIT_OBJS := $(UNIT_SRCS:%.cpp=$(BUILD)/obj/%.o)
endif
UNIT_BIN  := $(BUILD)/unit-tests
BENCH_SRCS:= $(sort $(wildcard bench/*_bench.cpp))
BENCH_OBJS:= $(BENCH_SRCS:%.cpp=$(BUILD)/obj/%.o)
BENCH_BIN := $(BUILD)/micro-bench
LOADCORE_SRCS := $(sort $(wildcard bench/loadcore/*.cpp))
LOADGEN_SRCS := $(sort $(wildcard bench/loadgen/*.cpp)) $(LOADCORE_SRCS)
LOADGEN_BIN  := $(BUILD)/bin-bench/ntp-loadgen
RT_LOADGEN_SRCS := $(sort $(wildcard bench/roughtime-loadgen/*.cpp)) $(LOADCORE_SRCS)
RT_LOADGEN_BIN  := $(BUILD)/bin-bench/roughtime-loadgen
KE_LOADGEN_SRCS := bench/nts-ke-loadgen/main.cpp $(LOADCORE_SRCS)
KE_LOADGEN_BIN  := $(BUILD)/bin-bench/nts-ke-loadgen
WEBNTP_LOADGEN_SRCS := $(sort $(wildcard bench/webntp-loadgen/*.cpp))
WEBNTP_LOADGEN_BIN  := $(if $(WEBNTP_LOADGEN_SRCS),$(BUILD)/bin-bench/webntp-loadgen)
FLOOR_SRCS := $(sort $(wildcard bench/ntp-floor/*.cpp))
FLOOR_BIN  := $(BUILD)/bin-bench/ntp-floor

FORCE:
.PHONY: FORCE all tools unit loadgen check check-fast demo fuzz bench install uninstall clean deps deps-build lint
all: $(LIB) $(TOOL_BINS)
tools: $(TOOL_BINS)
unit: $(UNIT_BIN)
loadgen: $(LOADGEN_BIN) $(RT_LOADGEN_BIN) $(KE_LOADGEN_BIN) $(FLOOR_BIN) $(WEBNTP_LOADGEN_BIN)

# deps: what make check needs (packages, and the test peers fetched into a cache, never
# installed); deps-build: only what building needs (make demo).
deps:
	@scripts/install-deps --check --if-missing
deps-build:
	@scripts/install-deps --build --if-missing

$(BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

# Unit tests are heavy templates (GoogleTest, nlohmann) and need no optimisation or full debug
# info: line tables are enough for sanitizer reports. -O0 compiles them in 60-85 % of -O1's time
# (clang with ASan+UBSan: about half), and they run in seconds either way.
# They are compiled by clang in every tree (ccache kept): it takes 60-65 % of g++'s time over
# these files (GoogleTest and nlohmann instantiations), and both use libstdc++, so they link with
# a g++-built libtime. libtime and the tools, what users build, keep the tree's compiler.
UNIT_CXX ?= $(if $(findstring clang++,$(CXX)),$(CXX),$(subst g++,clang++,$(CXX)))
$(BUILD)/obj/tests/unit/%.o: CXXFLAGS = -O0 -g1
$(BUILD)/obj/tests/unit/%.o: tests/unit/%.cpp
	@mkdir -p $(dir $@)
	$(UNIT_CXX) $(ALL_CXXFLAGS) -c $< -o $@
# A wing's unity source, rewritten only when its list of test files changed.
$(BUILD)/unity/tests/unit/%.wing.cpp: FORCE
	@mkdir -p $(dir $@)
	@printf '#include "%s"\n' $(filter tests/unit/$*/%,$(UNIT_SRCS)) > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@
$(BUILD)/obj/tests/unit/%.wing.o: $(BUILD)/unity/tests/unit/%.wing.cpp
	@mkdir -p $(dir $@)
	$(UNIT_CXX) $(ALL_CXXFLAGS) -c $< -o $@
# ... and they share a precompiled header (tests/unit/pch.hpp: GoogleTest, nlohmann, the standard
# library), given with -include as a copy in the tree beside its precompiled form, which clang
# (.pch) picks up by name: about 30 % less time per test file.
UNIT_PCH     := $(BUILD)/pch/unit.hpp
UNIT_PCH_BIN := $(UNIT_PCH).pch
$(BUILD)/obj/tests/unit/%.o: PCH_FLAGS = -include $(UNIT_PCH)
$(UNIT_OBJS): $(UNIT_PCH_BIN)
$(UNIT_PCH): tests/unit/pch.hpp
	@mkdir -p $(dir $@)
	cp $< $@
$(UNIT_PCH_BIN): CXXFLAGS = -O0 -g1
$(UNIT_PCH_BIN): PCH_FLAGS =
$(UNIT_PCH_BIN): $(UNIT_PCH)
	$(UNIT_CXX) $(ALL_CXXFLAGS) -x c++-header $< -o $@

# The sanitized libtime (clang) doubles as the fuzzers' libtime: it carries libFuzzer's coverage
# instrumentation (inert without libFuzzer: the sanitizer runtime defines its hooks), so make
# check compiles libtime twice, not three times.
ifneq ($(SAN),)
ifneq ($(findstring clang,$(CXX)),)
$(BUILD)/obj/libtime/%.o: SANFLAGS = $(SAN_ON) -fsanitize=fuzzer-no-link
$(BUILD)/obj/llhttp/%.o: SANFLAGS = $(SAN_ON) -fsanitize=fuzzer-no-link
endif
endif

# Third-party C: its own warnings are not ours to fix (no -Werror), the tree's sanitizers apply.
$(BUILD)/obj/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(TREE_CC) -std=c99 -O2 -g1 $(SANFLAGS) -I$(LLHTTP_INC) -MMD -MP -c $< -o $@

# A wing's unity source, rewritten only when its list of files changed; kept between runs
# (.SECONDARY: make would delete it as an intermediate, and its next run, finding it new,
# would compile every wing again — make check's fuzz step re-makes the sanitized libtime).
.SECONDARY: $(LIB_WINGS:%=$(BUILD)/unity/libtime/%.wing.cpp) $(UNIT_WINGS:%=$(BUILD)/unity/tests/unit/%.wing.cpp)
$(BUILD)/unity/libtime/%.wing.cpp: FORCE
	@mkdir -p $(dir $@)
	@printf '#include "%s"\n' $(filter libtime/$*/%,$(LIB_SRCS)) > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@
$(BUILD)/obj/libtime/%.wing.o: $(BUILD)/unity/libtime/%.wing.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS) $(LLHTTP_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar qcs $@ $^   # q, not r: wings may hold files of one name (ntp/client, roughtime/client)

define tool_rule
$(BUILD)/bin/$(1): $(patsubst %.cpp,$(BUILD)/obj/%.o,$(sort $(wildcard tools/$(1)/*.cpp))) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CXX) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

$(UNIT_BIN): $(UNIT_OBJS) $(LIB)
	$(CXX) $(ALL_LDFLAGS) -o $@ $^ $$(pkg-config --libs gtest_main gmock) $(LIBS)

$(BENCH_BIN): $(BENCH_OBJS) $(LIB)
	$(CXX) $(ALL_LDFLAGS) -o $@ $^ $$(pkg-config --libs benchmark) -lbenchmark_main $(LIBS)

$(LOADGEN_BIN): $(LOADGEN_SRCS:%.cpp=$(BUILD)/obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(FLOOR_BIN): $(FLOOR_SRCS:%.cpp=$(BUILD)/obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(RT_LOADGEN_BIN): $(RT_LOADGEN_SRCS:%.cpp=$(BUILD)/obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(KE_LOADGEN_BIN): $(KE_LOADGEN_SRCS:%.cpp=$(BUILD)/obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

ifneq ($(WEBNTP_LOADGEN_SRCS),)
$(WEBNTP_LOADGEN_BIN): $(WEBNTP_LOADGEN_SRCS:%.cpp=$(BUILD)/obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
endif

# --- tests ---------------------------------------------------------------------------------
# check: plain build, sanitized build, unit + Bats suites on both, fuzz smoke runs, lints.
# tests/run prints the closing "N passed, N failed" line CI reads.
JOBS ?= $(shell nproc)
# The plain tree is built with line tables only (DEBUG=-g1): full debug info costs a quarter of
# its compile time, and make check must stay under 15 minutes on 2 cores. `make clean all` gives -g.
# (Building the plain and sanitized trees side by side was tried: 77 s slower, not faster.)
check: deps
	$(MAKE) -j$(JOBS) DEBUG=-g1 all unit loadgen
	$(MAKE) -j$(JOBS) SAN=1 all unit
	$(MAKE) -j$(JOBS) fuzz
	tests/run

# The plain build only, for a quick edit-test loop.
check-fast: all unit loadgen
	TIMEPIPE_SUITES="unit bats" tests/run

# --- fuzzing: clang + libFuzzer, against the sanitized libtime -------------------------------
# The targets link build-san/libtime.a, built by clang with -fsanitize=fuzzer-no-link (above);
# `make fuzz` builds it first if need be. A build-san made by another compiler cannot serve.
FUZZ_BUILD ?= build-fuzz
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.cpp))
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.cpp=$(FUZZ_BUILD)/%)
# -fno-sanitize-recover=all: a UBSan finding aborts the run (and tests/run fails any log that
# holds a sanitizer report, whatever the exit status).
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS = -std=c++20 -O1 -gline-tables-only -fsanitize=fuzzer-no-link $(FUZZ_SAN) -I. -isystem $(LLHTTP_INC) $(PKG_CFLAGS) -MMD -MP
FUZZ_LIB   := build-san/libtime.a

.PHONY: fuzz-targets
fuzz:
	$(MAKE) SAN=1 $(FUZZ_LIB)
	$(MAKE) fuzz-targets
fuzz-targets: $(FUZZ_BINS)
# Keep the objects: as intermediates of a pattern chain make would delete them after each link.
.SECONDARY: $(FUZZ_SRCS:tests/fuzz/%.cpp=$(FUZZ_BUILD)/obj/tests/fuzz/%.o)

$(FUZZ_BUILD)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	clang++ $(FUZZ_FLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	clang++ -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)

# --- benchmarks (not tests) ----------------------------------------------------------------
bench: deps all $(BENCH_BIN) $(LOADGEN_BIN) $(RT_LOADGEN_BIN) $(KE_LOADGEN_BIN) $(FLOOR_BIN) $(WEBNTP_LOADGEN_BIN)
	$(BENCH_BIN)
	TIMEPIPE_BUILD=$(abspath $(BUILD)) bench/ntp-serve-vs-chronyd
	TIMEPIPE_BUILD=$(abspath $(BUILD)) bench/nts-vs-chronyd
	TIMEPIPE_BUILD=$(abspath $(BUILD)) bench/roughtime-serve-bench
	TIMEPIPE_BUILD=$(abspath $(BUILD)) bench/webntp-vs-nginx

# --- demo ------------------------------------------------------------------------------------
demo: deps-build
	$(MAKE) -j$(JOBS) all
	scripts/demo

# --- install ---------------------------------------------------------------------------------
SBIN_TOOLS := $(foreach t,$(TOOLS),$(if $(wildcard man/$(t).8),$(t)))
BIN_TOOLS  := $(filter-out $(SBIN_TOOLS),$(TOOLS))
WINGS      := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard libtime/*/*.hpp)))))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d
	$(if $(BIN_TOOLS),install -m 0755 $(BIN_TOOLS:%=$(BUILD)/bin/%) $(DESTDIR)$(PREFIX)/bin)
	$(if $(SBIN_TOOLS),install -m 0755 $(SBIN_TOOLS:%=$(BUILD)/bin/%) $(DESTDIR)$(PREFIX)/sbin)
	install -m 0644 $(LIB) $(DESTDIR)$(PREFIX)/lib
	for w in $(WINGS); do \
	  install -d $(DESTDIR)$(PREFIX)/include/libtime/$$w; \
	  install -m 0644 libtime/$$w/*.hpp $(DESTDIR)$(PREFIX)/include/libtime/$$w; \
	done
	for s in 1 5 7 8; do \
	  ls man/*.$$s >/dev/null 2>&1 || continue; \
	  install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	  install -m 0644 man/*.$$s $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	done
	for u in contrib/systemd/*.service contrib/systemd/*.socket; do \
	  [ -f "$$u" ] || continue; \
	  sed 's|/usr/local|$(PREFIX)|g' "$$u" > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); \
	done
	# the group of clockadj's FIFO: systemd-sysusers creates it at boot (or run it once now)
	install -m 0644 contrib/sysusers.d/timepipe.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@REQUIRES@|$(PKGS)|g' libtime/libtime.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libtime.pc

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
