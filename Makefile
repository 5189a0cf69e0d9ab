# Gatehouse: `make run` starts a node on the embedded database, `make test`
# runs every test (PostgreSQL included). Both install what they need first.

MAKEFLAGS += --no-print-directory
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps configure build run test test-sanitize test-tsan clean

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

test: build
	@scripts/test

# The tests against instrumented builds (build-asan, build-tsan); see
# docs/testing.md.
test-sanitize:
	@JOBS=$(JOBS) scripts/test-sanitizers asan

test-tsan:
	@JOBS=$(JOBS) scripts/test-sanitizers tsan

clean:
	rm -rf $(BUILD)
