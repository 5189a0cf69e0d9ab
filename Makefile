# Gatehouse: `make run` starts a node on the embedded database, `make test`
# runs every test (PostgreSQL included). Both install what they need first.

MAKEFLAGS += --no-print-directory
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
FUZZ_BUILD ?= build-fuzz

.PHONY: all deps configure build run test test-sanitize test-tsan fuzz-build fuzz clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

run: configure
	@cmake --build $(BUILD) -j$(JOBS) --target gatehouse
	@scripts/run

test: build fuzz-build
	@scripts/test

# The libFuzzer harnesses (clang, ASan + UBSan) in their own build; `make
# test` runs each for a bounded time. See docs/testing.md.
fuzz-build: deps
	@scripts/fuzz --build-only --build-dir $(FUZZ_BUILD) --jobs $(JOBS)

fuzz: fuzz-build
	@scripts/fuzz --no-build --build-dir $(FUZZ_BUILD)

# The tests against instrumented builds (build-asan, build-tsan); see
# docs/testing.md.
test-sanitize:
	@JOBS=$(JOBS) scripts/test-sanitizers asan

test-tsan:
	@JOBS=$(JOBS) scripts/test-sanitizers tsan

clean:
	rm -rf $(BUILD)
