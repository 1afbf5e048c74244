# Thin wrapper over cmake. The two commands of the README:
#   make run   - install what is missing, build, start aiond on ./conf.d
#   make test  - install what is missing (build + test peers), build, run every test
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

run: build
	./$(BUILD)/host/aiond --config-dir conf.d --plugin-dir $(BUILD)/plugins

test: test-deps
	@scripts/run-tests

install: build
	cmake --install $(BUILD)

bench: build
	@tools/bench/run-all

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-release-check
