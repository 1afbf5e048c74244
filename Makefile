# Thin wrapper over cmake and scripts/. The README's two commands are
#   sh scripts/run    (same as `make run`)
#   sh scripts/test   (same as `make test`)
JOBS ?= $(shell nproc)
BUILD ?= build
TEST_BUILD ?= build-test

.PHONY: all build run test test-only deps test-deps install bench clean

all: build

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAION_TESTS=OFF >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

run:
	@sh scripts/run

test:
	@sh scripts/test

install: build
	cmake --install $(BUILD)

bench: build
	@tools/bench/run-all

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-release-check
