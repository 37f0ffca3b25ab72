# Insights — the two commands: `make run` and `make test`.
SHELL := /bin/bash
DEBIAN_PACKAGES := redis-server redis-tools libhiredis-dev pkg-config docker-compose
SWIFT ?= swift

.PHONY: deps build test run clean bench compose-check

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
test: deps compose-check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

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
