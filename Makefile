# Insights — the two commands: `make run` and `make test`.
SHELL := /bin/bash
DEBIAN_PACKAGES := redis-server redis-tools libhiredis-dev pkg-config docker-compose \
  chromium chromium-driver libjs-chart.js wrk python3-venv
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

# Everything in one process: managed Redis under ./.insights/, the HTTP front, 2 workers and
# the simulator feeding agent `demo` (INSIGHTS_DEMO=0 turns it off). Ctrl-C stops it cleanly.
run: build
	$(SWIFT) run insights run

# compose/ is validated, not run: no container engine on this machine or CI.
compose-check: deps
	docker-compose -f compose/docker-compose.yml config -q

clean:
	rm -rf .build

# Tracker ingest benchmark against a private redis-server (not part of `make test`).
BENCH_DIR := $(CURDIR)/.build/bench-redis
bench: deps
	$(SWIFT) build -c release --product insights
	@mkdir -p $(BENCH_DIR); rm -f $(BENCH_DIR)/redis.pid
	redis-server --port 0 --unixsocket $(BENCH_DIR)/redis.sock --dir $(BENCH_DIR) --save '' --appendonly no \
	  --daemonize yes --pidfile $(BENCH_DIR)/redis.pid --logfile $(BENCH_DIR)/redis.log
	@for i in $$(seq 50); do redis-cli -s $(BENCH_DIR)/redis.sock ping >/dev/null 2>&1 && break; sleep 0.1; done
	-.build/release/insights bench --redis-url unix://$(BENCH_DIR)/redis.sock --events $${BENCH_EVENTS:-500000} --trackers 2
	kill $$(cat $(BENCH_DIR)/redis.pid)
