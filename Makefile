# Gatehouse: `make run` starts a node on the embedded database, `make test`
# runs every test (PostgreSQL included). Both install what they need first.

MAKEFLAGS += --no-print-directory
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps configure build run test clean

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

clean:
	rm -rf $(BUILD)
