# Insights — the two commands: `make run` and `make test`.
SHELL := /bin/bash
DEBIAN_PACKAGES := redis-server redis-tools libhiredis-dev pkg-config
SWIFT ?= swift

.PHONY: deps build test run clean

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
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

run: build
	$(SWIFT) run insights

clean:
	rm -rf .build
