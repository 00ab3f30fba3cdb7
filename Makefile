# sqlgate: a ProxySQL-compatible MySQL proxy. See README.md.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build test vet deps bench bench-design fuzz lab lab-status lab-failover lab-promote lab-down clean deb

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/sqlgate ./cmd/sqlgate

# deps installs the real servers and clients the tests run against
# (MariaDB, sysbench, HAProxy) when they are missing.
deps:
	@scripts/deps.sh

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

test: deps build vet
	$(GO) test -count=1 -timeout 40m ./...
	$(GO) test -race -short -count=1 -timeout 20m ./internal/...
	SQLGATE_TEST_RACE=1 $(GO) test -count=1 -timeout 30m ./cmd/sqlgate

# bench: direct MariaDB, HAProxy, ProxySQL and sqlgate side by side (about
# 16 minutes); writes bench/results/<date>.json and regenerates README.md's
# Performance table from it. `make bench BENCHFLAGS="-duration 2 -only sysbench"`.
BENCHFLAGS ?=
bench: deps build
	scripts/bench.sh $(BENCHFLAGS)

# bench-design: does the I/O design cost the CPU? point_select through
# HAProxy, ProxySQL, sqlgate and three bare relays that parse nothing, on
# goroutines, epoll loops and io_uring loops (about 6 minutes); writes
# bench/results/design/<date>.json and README.md's design table.
bench-design: deps build
	scripts/bench.sh -design $(BENCHFLAGS)

# fuzz runs every fuzz target for FUZZTIME, one after another (they use
# all cores each). `make fuzz FUZZTIME=10m`; `go test ./...` runs only the
# seeds and testdata/fuzz. A failing input is written to the package's
# testdata/fuzz/<target>/: keep it there once fixed. Go 1.26 may end a run
# with "context deadline exceeded" and no failing input (go.dev/issue/75804,
# a race in its fuzz coordinator at the end of FUZZTIME): that is reported
# and the next target runs.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	wire:FuzzReadPacket wire:FuzzClientHandshake wire:FuzzHandshakeResponseRoundTrip \
	wire:FuzzGreeting wire:FuzzResultPackets wire:FuzzLenEnc \
	backend:FuzzBackendHandshake config:FuzzConfigParse \
	digest:FuzzDigest digest:FuzzDigestOptions router:FuzzClassify router:FuzzParseSet \
	admin/server:FuzzAdminStatement

fuzz:
	@log=$$(mktemp); trap 'rm -f $$log $$log.rc' EXIT; \
	for t in $(FUZZ_TARGETS); do \
		pkg=./internal/$${t%%:*}; name=$${t#*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		{ $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -timeout 0 $$pkg; echo $$? >$$log.rc; } 2>&1 | tee $$log; \
		[ "$$(cat $$log.rc)" = 0 ] && continue; \
		if grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
			echo "== $$name: no failing input; the fuzz coordinator's end-of-run race (go.dev/issue/75804), not a finding"; \
		else exit 1; fi; \
	done

# lab: the whole architecture on this machine (internal/lab): as root in
# network namespaces with keepalived and a VIP, otherwise on loopback.
# `make lab LAB_DIR=/tmp/other PREFIX=o-` runs a second one beside it.
LAB_DIR ?= /tmp/sqlgate-lab
PREFIX  ?= sgl-
LAB     := bin/sqlgate-lab

lab:
	@scripts/deps.sh lab
	@$(MAKE) --no-print-directory build
	$(GO) build -o $(LAB) ./cmd/sqlgate-lab
	$(LAB) up -dir $(LAB_DIR) -prefix $(PREFIX)

lab-status:
	@$(GO) build -o $(LAB) ./cmd/sqlgate-lab
	$(LAB) status -dir $(LAB_DIR)

lab-failover:
	@$(GO) build -o $(LAB) ./cmd/sqlgate-lab
	$(LAB) failover -dir $(LAB_DIR)

lab-promote:
	@$(GO) build -o $(LAB) ./cmd/sqlgate-lab
	$(LAB) promote -dir $(LAB_DIR)

lab-down:
	@$(GO) build -o $(LAB) ./cmd/sqlgate-lab
	$(LAB) down -dir $(LAB_DIR)

# deb: bin/sqlgate_<version>_<arch>.deb, sqlgate as a systemd service
# (packaging/, README.md "Install as a service"). The Debian version is
# VERSION made to start with a digit: a bare commit 6da9ce1-dirty becomes
# 0.0~git6da9ce1.dirty, a tag v1.2.0 1.2.0 (packaging/build-deb.sh).
DEB_DIR ?= bin
deb:
	@GO=$(GO) packaging/build-deb.sh $(DEB_DIR) $(VERSION)

clean:
	rm -rf bin
