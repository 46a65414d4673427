# Set-up and everyday commands. `make sample-report` and `make test` work on a fresh machine:
# they install the Debian packages the build links against (and, for the tests, the PostgreSQL
# server the PostgreSQL reader is tested against) when they are missing.

SWIFT      ?= swift
BIN        := .build/debug/access-evidence
DEB_PACKAGES := libsqlite3-dev libxml2-dev libxlsxwriter-dev zlib1g-dev libjemalloc-dev unzip
# man renders the generated page in the install check; dpkg-dev computes the package's Depends.
TEST_PACKAGES := postgresql python3-venv man-db dpkg-dev libreoffice-calc-nogui openssl
SAMPLE_OUT ?= out/sample-report

# The static Swift runtime's URLSession (the alert webhook) links libcurl by name at build time.
RELEASE_PACKAGES := libcurl4-openssl-dev

# Installation (`make install`, `make deb`). CONFIGURATION=debug installs the debug build (the test
# run checks the install layout with it, sparing CI a release build); release links the Swift
# runtime statically, so the binary needs only the Debian libraries it links.
PREFIX     ?= /usr/local
DESTDIR    ?=
CONFIGURATION ?= release
VERSION    := $(shell sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/AccessEvidence/Run/ReportRun.swift)
ARCH       := $(shell dpkg --print-architecture 2>/dev/null || uname -m)
BUILT      := .build/$(CONFIGURATION)/access-evidence
DIST       := .build/dist/$(CONFIGURATION)
DEB        := $(DIST)/access-evidence_$(VERSION)_$(ARCH).deb
# What `make install` puts under $(DESTDIR)$(PREFIX), and all `make uninstall` removes.
INSTALLED  := bin/access-evidence share/man/man1/access-evidence.1 \
              share/bash-completion/completions/access-evidence share/zsh/site-functions/_access-evidence \
              share/fish/vendor_completions.d/access-evidence.fish share/doc/access-evidence/README.md

.PHONY: deps test-deps build sample-report sample-data test benchmark clean release dist dist-files install uninstall deb check-install

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

# What tests validate OCSF events (Schemas/validate_ocsf.py) and OSCAL documents (Schemas/validate_oscal.py)
# with; versions pinned so what they check is fixed.
INTERCHANGE_VALIDATORS = 'py-ocsf-models==0.10.0' 'ocsf-lib==0.10.4' 'ocsf-json-schema==1.2.0' 'compliance-trestle==5.2.0'

# The PostgreSQL tests start their own throwaway cluster from these binaries; the CSV tests open the
# files with LibreOffice. The schema tests validate report.json and populations.jsonl with Python's
# jsonschema (Schemas/validate.py), the OCSF and OSCAL tests with the validators above, from a virtual
# environment in .build/venv made here when it lacks any of them (or jsonschema 4.18 or later).
test-deps:
	$(call apt_install,$(TEST_PACKAGES))
	@if ! .build/venv/bin/python -c 'import importlib.metadata as m, sys, py_ocsf_models, ocsf.schema, ocsf_json_schema, trestle; sys.exit(tuple(map(int, m.version("jsonschema").split(".")[:2])) < (4, 18))' 2>/dev/null; then \
	  echo "creating .build/venv with jsonschema and the OCSF and OSCAL validators (py-ocsf-models, ocsf-lib, ocsf-json-schema, compliance-trestle)"; \
	  python3 -m venv .build/venv && .build/venv/bin/pip install --quiet 'jsonschema>=4.18' $(INTERCHANGE_VALIDATORS); \
	fi

build: deps
	$(SWIFT) build

# The quarter's report for the committed sample store.
sample-report: build
	$(BIN) report --store SampleData/gateway-store.sqlite --period 2026-Q3 --out $(SAMPLE_OUT) --format html,xlsx,json,csv,ocsf,oscal \
	  --framework soc2,iso27001,pci-dss,hipaa,nist-800-53 --organization "Acme Payments (sample data)" \
	  --roster SampleData/roster.csv --exceptions SampleData/accepted-exceptions.yaml \
	  --generated-at 2026-10-01T00:00:00Z
	$(BIN) report --store teleport:SampleData/teleport/log --period 2026-Q3 --out $(SAMPLE_OUT)-teleport \
	  --format html,xlsx,json --organization "Acme Payments (sample Teleport log)" --generated-at 2026-10-01T00:00:00Z

# Regenerates the committed samples and their ground truth (same bytes for the same arguments).
sample-data: build
	$(BIN) sample-data --out SampleData/gateway-store.sqlite --ground-truth SampleData/planted-gaps.json \
	  --roster SampleData/roster.csv
	$(BIN) sample-data --gateway teleport --out SampleData/teleport/log --ground-truth SampleData/teleport/planted-gaps.json

test: build test-deps
	$(SWIFT) test
	$(MAKE) --no-print-directory check-install CONFIGURATION=debug

# Release build, then markdown on stdout: scanner and classifier throughput; `report --format html,xlsx,json`
# (median of 3 child runs, peak RSS, output sizes) over 100k and 1M session stores against a floor measured in
# the same run; the same report on PostgreSQL (100k; throwaway cluster, hence test-deps). Stores are generated
# once into .build/benchmark-stores/ (1M: about 2.3 GB). Options: BENCHMARK_ARGS="--sizes 100k --runs 1", see
# `access-evidence benchmark --help`.
BENCHMARK_ARGS ?=
# The binary measured is the one `make release` ships (static Swift runtime), which also keeps the two
# from rebuilding each other's release folder.
benchmark: deps test-deps
	$(call apt_install,$(RELEASE_PACKAGES))
	$(SWIFT) build -c release --static-swift-stdlib
	.build/release/access-evidence benchmark --cache .build/benchmark-stores \
	  --label "$$(git describe --always --dirty 2>/dev/null || echo unknown commit)" $(BENCHMARK_ARGS)

# The portable binary: Swift runtime linked in; fails if anything from the toolchain is still linked.
# Then the files `make install` copies (dist).
release: deps
	$(call apt_install,$(RELEASE_PACKAGES))
	$(SWIFT) build -c release --static-swift-stdlib --product access-evidence
	@if ldd .build/release/access-evidence | grep -E 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|/opt/swift|/usr/share/swift'; then \
	  echo "release: .build/release/access-evidence still links the Swift toolchain's libraries (above)"; exit 1; fi
	@echo ".build/release/access-evidence links: $$(ldd .build/release/access-evidence | awk '{print $$1}' | tr '\n' ' ')"
	$(MAKE) --no-print-directory dist-files CONFIGURATION=release

# Everything install copies, into $(DIST): the binary, the man page (swift-argument-parser's
# generate-manual run on the built binary, dated by the commit so a rebuild gives the same page) and
# the shell completions.
dist:
ifeq ($(CONFIGURATION),release)
	$(MAKE) --no-print-directory release
else
	$(MAKE) --no-print-directory build
	$(MAKE) --no-print-directory dist-files
endif

dist-files:
	$(SWIFT) build -c release --package-path .build/checkouts/swift-argument-parser \
	  --scratch-path .build/generate-manual --product generate-manual
	rm -rf $(DIST) && mkdir -p $(DIST)/man $(DIST)/completions
	.build/generate-manual/release/generate-manual $(BUILT) --output-directory $(DIST)/man \
	  --date "$$(git log -1 --format=%cs 2>/dev/null || date -u +%F)"
	$(BUILT) --generate-completion-script bash > $(DIST)/completions/access-evidence
	$(BUILT) --generate-completion-script zsh > $(DIST)/completions/_access-evidence
	$(BUILT) --generate-completion-script fish > $(DIST)/completions/access-evidence.fish
	cp $(BUILT) $(DIST)/access-evidence
ifeq ($(CONFIGURATION),release)
	strip $(DIST)/access-evidence   # symbols are half the size; a debug build keeps them
endif

# Made when missing or older than the build, so `make release && sudo make install` builds nothing as
# root, and a binary rebuilt since is never left behind by an older copy.
$(DIST)/access-evidence: $(wildcard $(BUILT))
	$(MAKE) --no-print-directory dist

install: $(DIST)/access-evidence
	install -D -m 755 $(DIST)/access-evidence $(DESTDIR)$(PREFIX)/bin/access-evidence
	install -D -m 644 $(DIST)/man/access-evidence.1 $(DESTDIR)$(PREFIX)/share/man/man1/access-evidence.1
	install -D -m 644 $(DIST)/completions/access-evidence $(DESTDIR)$(PREFIX)/share/bash-completion/completions/access-evidence
	install -D -m 644 $(DIST)/completions/_access-evidence $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_access-evidence
	install -D -m 644 $(DIST)/completions/access-evidence.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/access-evidence.fish
	install -D -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/access-evidence/README.md

# Removes the files install put there and its doc folder when empty; nothing else.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED))
	-rmdir $(DESTDIR)$(PREFIX)/share/doc/access-evidence 2>/dev/null

# A Debian package of the install under /usr. Depends: the runtime libraries the binary links
# (dpkg-shlibdeps, from their packages' shlibs; never the -dev packages).
deb: $(DIST)/access-evidence
	@command -v dpkg-shlibdeps >/dev/null || $(MAKE) --no-print-directory test-deps
	rm -rf .build/deb && mkdir -p .build/deb/debian
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/.build/deb/root PREFIX=/usr
	printf 'Source: access-evidence\n\nPackage: access-evidence\nArchitecture: any\n' > .build/deb/debian/control
	cd .build/deb && dpkg-shlibdeps -O $(if $(filter debug,$(CONFIGURATION)),--ignore-missing-info) -eroot/usr/bin/access-evidence \
	  | sed -n 's/^shlibs:Depends=//p' > depends
	mkdir -p .build/deb/root/DEBIAN
	{ echo "Package: access-evidence"; echo "Version: $(VERSION)"; echo "Architecture: $(ARCH)"; \
	  echo "Maintainer: access-evidence developers <access-evidence@localhost>"; \
	  echo "Depends: $$(cat .build/deb/depends)"; echo "Section: admin"; echo "Priority: optional"; \
	  echo "Installed-Size: $$(du -sk .build/deb/root/usr | cut -f1)"; \
	  echo "Description: SOC 2, ISO 27001, PCI DSS, HIPAA and NIST 800-53 evidence from an access gateway's audit trail"; \
	  echo " Reads hoop.dev's store (SQLite or PostgreSQL), tests the period's sessions against a"; \
	  echo " control catalog and writes HTML, XLSX, JSON, CSV, OCSF and OSCAL evidence an auditor samples from."; \
	} > .build/deb/root/DEBIAN/control
	SOURCE_DATE_EPOCH="$$(git log -1 --format=%ct 2>/dev/null || date +%s)" dpkg-deb --root-owner-group --build .build/deb/root $(DEB)
	@echo "wrote $(DEB)"

# Installs into a temporary DESTDIR and checks the result from an unrelated folder (used by `make test`).
check-install:
	.ci/check-install "$(CONFIGURATION)"

clean:
	rm -rf .build out
