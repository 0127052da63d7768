# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go

.PHONY: demo test generate lint check-generated build rig

build:
	$(GO) build -o bin/ ./cmd/...

# Builds the ollama rig if needed, starts it, runs benchd and benchctl.
demo:
	bash script/demo.sh

generate:
	$(GO) tool buf generate

lint:
	$(GO) tool buf lint
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

# Fails when the committed generated code differs from what the pinned
# plugins produce from the proto.
check-generated: generate
	@git diff --exit-code -- proto/ || { echo "generated code is stale: run make generate and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard proto/)" || { git ls-files --others --exclude-standard proto/; echo "untracked generated files"; exit 1; }

rig:
	bash testdata/rig/rig.sh build

# Everything CI runs. Tests that need Docker fail (not skip) under CI=true.
test: lint check-generated rig
	$(GO) test -count=1 -timeout 45m ./...
	$(GO) test -count=1 -race -timeout 20m ./service/vram/... ./service/stats/... ./service/unixsock/... ./client/...
