# hvagent — common tasks. The test suite itself is plain `go test`.
GO      ?= go
VERSION ?= $(shell sed -n 's/^var Version = "\(.*\)"/\1/p' agent/version.go)
LDFLAGS := -s -w -X github.com/hvagent/hvagent/agent.Version=$(VERSION)
DIST    := dist

# The packages' entries carry the time of the last commit, so that two
# builds of one commit are the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
FREEBSD_MAJOR     ?= 14

.PHONY: build test lint cross package package-linux demo man-lint fuzz bench bench-e2e bench-ipinfo load clean

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/hvagent ./cmd/hvagent

test:
	$(GO) test -race ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	GOOS=freebsd GOARCH=amd64 $(GO) vet ./...
	GOOS=freebsd GOARCH=arm64 $(GO) vet ./...

cross:
	GOOS=freebsd GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/freebsd-amd64/hvagent ./cmd/hvagent
	GOOS=freebsd GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/freebsd-arm64/hvagent ./cmd/hvagent

# dist/FreeBSD:$(FREEBSD_MAJOR):{amd64,aarch64}/hvagent-$(VERSION).pkg, for
# "pkg add", from the port skeleton in packaging/freebsd/sysutils/hvagent
# (cmd/mkpkg): a directory per pkg ABI, each one "pkg repo" can publish.
PKG_ABIS := FreeBSD:$(FREEBSD_MAJOR):amd64 FreeBSD:$(FREEBSD_MAJOR):aarch64
package: cross
	for arch in amd64 arm64; do \
		$(GO) run ./cmd/mkpkg -bin $(DIST)/freebsd-$$arch/hvagent -arch $$arch \
			-version $(VERSION) -freebsd $(FREEBSD_MAJOR) -mtime $(SOURCE_DATE_EPOCH) -o $(DIST) || exit 1; \
	done
	$(GO) run ./cmd/mkpkg -verify $(foreach abi,$(PKG_ABIS),'$(DIST)/$(abi)/hvagent-$(VERSION).pkg')
	$(MAKE) package-linux

# dist/hvagent_$(VERSION)-1_{amd64,arm64}.deb and
# dist/hvagent-$(VERSION)-1.{x86_64,aarch64}.rpm (cmd/mkpkg -linux, nfpm),
# from packaging/linux; the changelog's newest entry must be $(VERSION)-1.
package-linux:
	for arch in amd64 arm64; do \
		GOOS=linux GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/linux-$$arch/hvagent ./cmd/hvagent || exit 1; \
		$(GO) run ./cmd/mkpkg -linux -bin $(DIST)/linux-$$arch/hvagent -arch $$arch \
			-version $(VERSION) -mtime $(SOURCE_DATE_EPOCH) -o $(DIST) || exit 1; \
	done

demo:
	$(GO) build -o $(DIST)/hvsim ./cmd/hvsim && exec $(DIST)/hvsim

man-lint:
	mandoc -Tlint -Wwarning man/*.8

FUZZ_TIME ?= 15s
FUZZ_PKGS ?= ./kvp/ ./netinfo/ ./vss/ ./vf/ ./internal/pkgbuild/
fuzz:
	for p in $(FUZZ_PKGS); do \
		for t in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZ_TIME) $$p || exit 1; done; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./kvp/ ./netinfo/ ./vss/ ./vf/

# KVP requests end to end through the socket transport, against the echo
# floor measured in the same run (cmd/hvbench), on both kernels' wire
# formats.
BENCH_RECORDS ?= 10,1024,4096
bench-e2e:
	for p in freebsd linux; do \
		$(GO) run ./cmd/hvbench -protocol $$p -records $(BENCH_RECORDS) || exit 1; done

# GET_IP_INFO end to end, the agent in a network namespace with one veth
# adapter with three addresses (root and ip(8); skipped otherwise).
IPINFO_REQUESTS ?= 2000
bench-ipinfo:
	for p in freebsd linux; do \
		$(GO) run ./cmd/hvbench -protocol $$p -ipinfo $(IPINFO_REQUESTS) || exit 1; done

# Resource figures: the agent under a steady simulated host load.
LOAD_DURATION ?= 60s
load:
	$(GO) run ./cmd/hvload -duration $(LOAD_DURATION)

clean:
	rm -rf $(DIST)
