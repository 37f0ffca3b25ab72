# Insights — the two commands: `make run` and `make test`.
SHELL := /bin/bash
# libcurl4: Foundation's URLSession (alert webhooks) runs on it.
DEBIAN_PACKAGES := redis-server redis-tools libhiredis-dev zlib1g-dev pkg-config docker-compose \
  chromium chromium-driver libjs-chart.js wrk python3-venv libcurl4
SWIFT ?= swift

.PHONY: deps build test run clean bench compose-check venv e2e

# Installs the Debian packages the build and the tests need, if any is missing.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# Every test starts its own redis-server in a temp dir (unix socket) and stops it by PID.
test: deps compose-check venv
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(MAKE) e2e

# Python tools for the end-to-end tests and the benchmark peers, in a private venv.
VENV := $(CURDIR)/.venv
venv: $(VENV)/.installed
$(VENV)/.installed: e2e/requirements.txt bench/requirements.txt
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r e2e/requirements.txt -r bench/requirements.txt
	touch $@

# End-to-end tests against real processes (redis-server, `insights serve`, workers, headless Chromium).
e2e: venv
	cd e2e && $(VENV)/bin/python -m pytest -q

# Chaos suite (issues 7, 14): kill -9 workers, duplicate batches, SIGSTOP/kill -9 of Redis, SCRIPT FLUSH, the stream
# cap, poison entries; on a Redis Cluster: failovers, kill -9 of primaries (with and without --replica-acks),
# resharding live agents, dead consumers on every primary. The ledger of acknowledged events must match
# Redis exactly (docs/reliability.md).
# CHAOS_EVENTS=N sets the events per scenario; CHAOS_ARGS="--scenario 4" runs one. Not part of `make test`.
.PHONY: chaos
chaos: build venv
	$(VENV)/bin/python chaos/run.py $(CHAOS_ARGS)

# Everything in one process: managed Redis under ./.insights/, the HTTP front, 2 workers and
# the simulator feeding agent `demo` (INSIGHTS_DEMO=0 turns it off). Ctrl-C stops it cleanly.
run: build
	$(SWIFT) run insights run --webhook-allow-private

# compose/ is validated, not run: no container engine on this machine or CI.
compose-check: deps
	docker-compose -f compose/docker-compose.yml config -q
	docker-compose -f compose/docker-compose.cluster.yml config -q

clean:
	rm -rf .build

# Every benchmark of issue 6 (tracker vs Redis' ceiling and a Python peer, HTTP ingest, workers and
# freshness, queries vs the seed's design, memory) against private redis-servers that bench/run.py
# starts and stops; one table, also written to bench/results/LATEST.md. Not part of `make test`.
# Sizes: BENCH_EVENTS, BENCH_WRK_SECONDS, BENCH_QUERY_SIZES, ... (bench/run.py).
bench: deps venv
	$(SWIFT) build -c release --product insights --scratch-path .build-bench
	$(VENV)/bin/python bench/run.py
