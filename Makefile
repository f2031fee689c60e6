# Ambit — the two commands of the quick start are `make demo` and `make test`.
BUILD ?= build
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 20

.PHONY: all deps configure build test unit e2e fuzz demo demo-down bench install clean format

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

configure: $(BUILD)/build.ninja

build: deps configure
	cmake --build $(BUILD) -j $(JOBS)

# Every test: unit, integration and (as root) e2e, then the fuzz targets for a bounded time.
test: build
	scripts/run-tests.sh $(BUILD)
	$(MAKE) --no-print-directory fuzz

unit: build
	cd $(BUILD) && ctest -L unit -j $(JOBS) --output-on-failure

e2e: build
	cd $(BUILD) && ctest -L e2e -j 1 --output-on-failure

fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DAMBIT_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all
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
	rm -rf $(BUILD) $(FUZZ_BUILD)
