# hvagent — common tasks. The test suite itself is plain `go test`.
GO      ?= go
VERSION ?= $(shell sed -n 's/^var Version = "\(.*\)"/\1/p' agent/version.go)
LDFLAGS := -s -w -X github.com/hvagent/hvagent/agent.Version=$(VERSION)
DIST    := dist

.PHONY: build test lint cross demo man-lint fuzz bench clean

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

demo:
	$(GO) run ./cmd/hvsim

man-lint:
	mandoc -Tlint -Wwarning man/*.8

FUZZ_TIME ?= 15s
FUZZ_PKGS ?= ./kvp/ ./netinfo/ ./vss/ ./vf/
fuzz:
	for p in $(FUZZ_PKGS); do \
		for t in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZ_TIME) $$p || exit 1; done; done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./kvp/ ./netinfo/ ./vss/ ./vf/

clean:
	rm -rf $(DIST)
