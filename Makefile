# AuditTrail — the two commands of the README, and a few more.
#   make demo   install what is missing, build, run the main job on the embedded Kafka
#   make test   install what is missing, build, run the whole test suite + a 20 s decoder fuzz run (what CI runs)
#   make bench  release builds (audit-trail, and the benchmarks package Benchmarks/), print every figure

SHELL := /bin/bash
APT_PACKAGES := librdkafka-dev libzstd-dev pkg-config kcat python3 python3-venv wrk docker-compose chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_BUILD_FLAGS ?=
# Tests that run a consumer group on the embedded cluster are sensitive to CPU starvation on
# 2 cores (heartbeats, session timeouts): the suite runs its tests one at a time.
SWIFT_TEST_FLAGS ?= --no-parallel

.PHONY: deps interop-deps keystone-deps build demo test bench clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# The Python side of the differential tests (pycadf, keystonemiddleware, jsonschema from PyPI)
# and moto's S3 server for the object-store tests;
# reused while interop/requirements.txt is unchanged.
interop-deps: deps
	@interop/setup-venv.sh >/dev/null

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

demo: build
	.build/debug/audit-trail demo

# FUZZ_SECONDS: how long the decoder fuzz target runs after the tests (0 skips it).
FUZZ_SECONDS ?= 20

# Keystone from PyPI for the Keystone auth tests, in a venv of its own; reused while
# interop/keystone-requirements.txt is unchanged (the tests also build it when it is missing).
keystone-deps: deps
	@interop/setup-venv.sh keystone >/dev/null

test: interop-deps keystone-deps
	docker-compose config -q   # docker-compose.yml is a valid Compose file
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	swift test --skip-build $(SWIFT_TEST_FLAGS)
	@if [ "$(FUZZ_SECONDS)" != 0 ]; then scripts/fuzz-decode.sh $(FUZZ_SECONDS); fi

# Benchmarks/ is a package of its own (it links this one by path), so `build` and `test` never
# compile ordo-one/benchmark. `bench worker` measures the worker of the release audit-trail.
BENCH := Benchmarks/.build/release/bench

bench: deps
	swift build -c release --product audit-trail
	swift build -c release --package-path Benchmarks --product bench
	$(BENCH) kafka
	$(BENCH) decode
	$(BENCH) store
	$(BENCH) client
	$(BENCH) worker --audit-trail .build/release/audit-trail
	$(BENCH) serve --audit-trail .build/release/audit-trail
	cd Benchmarks && swift package benchmark --no-progress

clean:
	rm -rf .build Benchmarks/.build .venv-interop
