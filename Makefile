# Set-up and everyday commands. `make sample-report` and `make test` work on a fresh machine:
# they install the Debian packages the build links against (and, for the tests, the PostgreSQL
# server the PostgreSQL reader is tested against) when they are missing.

SWIFT      ?= swift
BIN        := .build/debug/access-evidence
DEB_PACKAGES := libsqlite3-dev libxml2-dev libxlsxwriter-dev zlib1g-dev unzip
TEST_PACKAGES := postgresql python3-venv
SAMPLE_OUT ?= out/sample-report

.PHONY: deps test-deps build sample-report sample-data test benchmark clean

# Installs the Debian packages in $(1) that are not installed (removed-but-not-purged counts as missing).
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(DEB_PACKAGES))

# The PostgreSQL tests start their own throwaway cluster from these binaries. The schema tests
# validate report.json and populations.jsonl with Python's jsonschema (Schemas/validate.py), from a
# virtual environment in .build/venv made here when it lacks jsonschema 4.18 or later.
test-deps:
	$(call apt_install,$(TEST_PACKAGES))
	@if ! .build/venv/bin/python -c 'import importlib.metadata as m, sys; sys.exit(tuple(map(int, m.version("jsonschema").split(".")[:2])) < (4, 18))' 2>/dev/null; then \
	  echo "creating .build/venv with jsonschema"; \
	  python3 -m venv .build/venv && .build/venv/bin/pip install --quiet 'jsonschema>=4.18'; \
	fi

build: deps
	$(SWIFT) build

# The quarter's report for the committed sample store.
sample-report: build
	$(BIN) report --store SampleData/gateway-store.sqlite --period 2026-Q3 --out $(SAMPLE_OUT) --format html,xlsx,json \
	  --organization "Acme Payments (sample data)" \
	  --roster SampleData/roster.csv --exceptions SampleData/accepted-exceptions.yaml \
	  --generated-at 2026-10-01T00:00:00Z

# Regenerates the committed sample store and its ground truth (same bytes for the same arguments).
sample-data: build
	$(BIN) sample-data --out SampleData/gateway-store.sqlite --ground-truth SampleData/planted-gaps.json \
	  --roster SampleData/roster.csv

test: build test-deps
	$(SWIFT) test

# Release build, then markdown on stdout: scanner and classifier throughput; `report --format html,xlsx,json`
# (median of 3 child runs, peak RSS, output sizes) over 100k and 1M session stores against a floor measured in
# the same run; the same report on PostgreSQL (100k; throwaway cluster, hence test-deps). Stores are generated
# once into .build/benchmark-stores/ (1M: about 2.3 GB). Options: BENCHMARK_ARGS="--sizes 100k --runs 1", see
# `access-evidence benchmark --help`.
BENCHMARK_ARGS ?=
benchmark: deps test-deps
	$(SWIFT) build -c release
	.build/release/access-evidence benchmark --cache .build/benchmark-stores \
	  --label "$$(git describe --always --dirty 2>/dev/null || echo unknown commit)" $(BENCHMARK_ARGS)

clean:
	rm -rf .build out
