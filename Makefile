# Ambit — the two commands of the quick start are `make demo` and `make test`.
BUILD ?= build
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 20

# The sanitizer trees (docs/testing.md): clang with line tables only (reports
# need file:line, not a debugger) and assertions on. The ASan+UBSan tree at
# -O0 (half the compile CPU of -O1; its tests wait on I/O, not on code), the
# ThreadSanitizer tree at -O1 (TSan at -O0 instruments every spilled access and
# runs much slower).
SAN_FLAGS = -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_FLAGS = $(SAN_FLAGS) "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -gline-tables-only"
TSAN_FLAGS = $(SAN_FLAGS) "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only"

.PHONY: all deps configure build test unit e2e asan asan-build tsan tsan-build sanitizer-builds fuzz fuzz-build demo demo-down bench install clean format

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

# Every test, tree by tree, going on after a failure; one summary line at the end:
# the release tree (unit, integration and, as root, e2e), the ASan+UBSan tree
# (unit and integration), the ThreadSanitizer tree (tests labelled threaded),
# then the fuzz targets for a bounded time. The sanitizer trees compile at the
# lowest CPU priority while the release tests run (mostly waiting on
# namespaces, daemons and timers), so their build hides behind those tests;
# docs/testing.md has the measurements. `make demo` and `make bench` use only
# the release tree.
test: build
	@t0=$$(date +%s); log=$(BUILD)/sanitizer-builds.log; \
	( nice -n 19 $(MAKE) --no-print-directory sanitizer-builds >$$log 2>&1; echo $$? >$$log.rc ) & bg=$$!; \
	scripts/run-tests.sh $(BUILD); r=$$?; t1=$$(date +%s); \
	echo "== waiting for the sanitizer trees to finish building ($$log)"; wait $$bg; \
	if [ "$$(cat $$log.rc)" != 0 ]; then tail -n 60 $$log; fi; t2=$$(date +%s); \
	$(MAKE) --no-print-directory asan; a=$$?; t3=$$(date +%s); \
	$(MAKE) --no-print-directory tsan; t=$$?; t4=$$(date +%s); \
	$(MAKE) --no-print-directory fuzz; f=$$?; t5=$$(date +%s); \
	st() { if [ "$$1" -eq 0 ]; then s=passed; else s=FAILED; fi; echo "$$s ($$(( $$2 / 60 ))m$$(( $$2 % 60 ))s)"; }; \
	echo "make test: release tree $$(st $$r $$((t1 - t0))); sanitizer builds after it $$((t2 - t1))s;" \
	  "asan+ubsan $$(st $$a $$((t3 - t2))), tsan $$(st $$t $$((t4 - t3))), fuzz $$(st $$f $$((t5 - t4)))"; \
	[ "$$r$$a$$t$$f" = 0000 ]

unit: build
	cd $(BUILD) && ctest -L unit -j $(JOBS) --output-on-failure

e2e: build
	cd $(BUILD) && ctest -L e2e -j 1 --output-on-failure

# The ASan+UBSan tree is the fuzz tree: its libraries are built once for the
# fuzz targets and the tests.
asan-build: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DAMBIT_FUZZ=ON $(ASAN_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target test_binaries

fuzz-build: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DAMBIT_FUZZ=ON $(ASAN_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all

# Only the binaries labelled threaded are built with ThreadSanitizer.
tsan-build: deps
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DAMBIT_TSAN=ON $(TSAN_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target threaded_tests

sanitizer-builds: asan-build fuzz-build tsan-build

# Unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: asan-build
	scripts/run-tests.sh --asan $(FUZZ_BUILD)

# The tests labelled threaded under ThreadSanitizer.
tsan: tsan-build
	scripts/run-tests.sh --tsan $(TSAN_BUILD)

fuzz: fuzz-build
	scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	scripts/demo.sh $(BUILD)

demo-down:
	$(BUILD)/bin/ambitctl cluster down

bench: build
	scripts/bench.sh $(BUILD)

# Binaries to $(PREFIX)/bin and the systemd unit (deploy/systemd) to $(PREFIX)/lib/systemd/system.
PREFIX ?= /usr/local
install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS)
	cmake --install $(BUILD)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(TSAN_BUILD)
