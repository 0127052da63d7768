# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go

.PHONY: demo test test-ollama-versions generate generate-python lint check-generated build rig perf

# As nix/package.nix builds: static (no cgo) and with its build tags, so
# that bin/ holds what it ships.
PACKAGE_TAGS := $(shell sed -nE '/^ *tags = \[/{s/^ *tags = \[ *//;s/ *\];.*//;s/"//g;s/ +/,/g;p}' nix/package.nix)

build:
	CGO_ENABLED=0 $(GO) build -buildvcs=true -trimpath -tags '$(PACKAGE_TAGS)' -o bin/ ./cmd/...

# Builds the ollama rig if needed, starts it, runs benchd and benchctl.
demo:
	bash script/demo.sh

generate:
	$(GO) tool buf generate

# The Python client's stubs (client/python/src/benchd_client/_gen, see
# buf.gen.python.yaml): protoc's own python and pyi generators and gRPC's
# python plugin, Debian's (protobuf-compiler, protobuf-compiler-grpc). Their
# output depends on protoc's version, so the version is pinned here as the Go
# plugins are in go.mod.
PYTHON_PROTOC := libprotoc 3.21.12
PYTHON_GEN := client/python/src/benchd_client/_gen

# protoc's python code imports other generated modules by their proto
# package (`from benchd.v1 import benchd_pb2`) and names itself by it
# ('benchd.v1.benchd_pb2', which becomes the messages' __module__), as if
# _gen/ were on sys.path. The sed below puts both under benchd_client._gen,
# so the package needs no sys.path edit and owns no top-level `benchd`
# module; an empty __init__.py in each folder makes them regular packages.
# Deterministic: the same input gives the same files, so check-generated
# still sees drift.
generate-python:
	@command -v protoc >/dev/null && command -v grpc_python_plugin >/dev/null || { echo "generate-python: needs protoc and grpc_python_plugin (Debian: apt-get install protobuf-compiler protobuf-compiler-grpc)"; exit 1; }
	@test "$$(protoc --version)" = "$(PYTHON_PROTOC)" || { echo "generate-python: protoc is '$$(protoc --version)'; the committed code is from $(PYTHON_PROTOC) (Debian 12)"; exit 1; }
	$(GO) tool buf generate --template buf.gen.python.yaml
	find $(PYTHON_GEN) -name '*.py' -o -name '*.pyi' | LC_ALL=C sort | xargs sed -i -E \
		-e 's/^from (benchd(\.[a-z0-9_]+)*) import /from benchd_client._gen.\1 import /' \
		-e "s/'(benchd(\.[a-z0-9_]+)*\.[a-z0-9_]+_pb2)'/'benchd_client._gen.\1'/"
	find $(PYTHON_GEN) -type d -exec touch {}/__init__.py \;

# The contract as it was before the architecture change (issue 10); the
# wire contract may grow but never break against it. A fresh clone has the
# history buf reads this from.
BREAKING_AGAINST := .git\#ref=510f8a3df72b573a3f0a7515af5f2ee236c5afd2

# Modules of their own inside this tree (see go.mod's replace block): the
# root's ./... does not reach them, so lint and test run in each.
MODULES := proto certs client

lint:
	$(GO) tool buf lint
	$(GO) tool buf breaking --against '$(BREAKING_AGAINST)'
	$(GO) vet ./...
	for m in $(MODULES); do (cd $$m && $(GO) vet ./...) || exit 1; done
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

# Fails when the committed generated code differs from what the pinned
# plugins produce from the proto.
check-generated: generate generate-python
	@git diff --exit-code -- proto/ $(PYTHON_GEN) || { echo "generated code is stale: run make generate generate-python and commit"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard proto/ $(PYTHON_GEN))" || { git ls-files --others --exclude-standard proto/ $(PYTHON_GEN); echo "untracked generated files"; exit 1; }

# The ollama versions the rig builds (testdata/rig/versions), the default
# first: `make rig` builds an image for each.
RIG_VERSIONS = $(shell bash testdata/rig/rig.sh versions)

rig:
	for v in $(RIG_VERSIONS); do BENCHD_RIG_OLLAMA=$$v bash testdata/rig/rig.sh build || exit 1; done

# Everything CI runs. Tests that need Docker fail (not skip) under CI=true.
test: lint check-generated rig
	# -p 1: the integration packages share one ollama container, and cold
	# trials need the model to themselves; in parallel they unload each
	# other's model.
	$(GO) test -count=1 -p 1 -timeout 60m ./...
	for m in $(MODULES); do (cd $$m && $(GO) test -count=1 -timeout 10m ./...) || exit 1; done
	$(GO) test -count=1 -race -timeout 20m ./internal/vram/... ./internal/stats/... ./internal/unixsock/... ./internal/history/... ./internal/runner/... ./internal/daemon/...
	cd client && $(GO) test -count=1 -race -timeout 10m ./...
	$(MAKE) test-ollama-versions

# The compatibility subset: the packages whose tests talk to ollama
# (benchmarks, cold/warm, cancel, history, VRAM, faults, sweeps,
# concurrency, models, token timing), run again against every other rig
# version (docs/ollama-versions.md; BENCHD_RIG_OLLAMA set: that version
# only). A new test there runs on every version unless named in
# OLLAMA_SKIP. Left out, to keep CI under 30 minutes (they took 6 of the
# 10 minutes on v0.17.4): tests of benchd's own limits and of the
# deployment, where ollama only serves the trials and its answers are
# those the subset checks — the store cap under hostile requests, the load
# soak, the 100-cancellation leak count, the VRAM tool faults, Docker Engine
# faults, the store surviving SIGKILL, the SSH deployments, and the Python
# and Hermes clients (internal/e2e/pyclient, internal/e2e/hermes).
OLLAMA_PACKAGES := ./service/... ./cmd/benchd/... ./cmd/benchctl/... ./internal/dockerx/... ./internal/faults/... ./internal/e2e
OLLAMA_SKIP := ^(TestHostileRequestsLeaveTheStoreUnderItsCap|TestLoad|TestNoLeaksAfter100CancelledBenchmarks|TestVRAMToolGarbage|TestVRAMToolFloodIsStoppedUnderTheUnitSandbox|TestDockerEngineFaults|TestSIGKILLMidWriteKeepsTheStore|TestSSHDialStdio|TestSSHDeployment)$$

test-ollama-versions: rig
	for v in $(or $(BENCHD_RIG_OLLAMA),$(wordlist 2,$(words $(RIG_VERSIONS)),$(RIG_VERSIONS))); do \
		echo "== ollama $$v: $(OLLAMA_PACKAGES) (all but $(OLLAMA_SKIP))"; \
		BENCHD_RIG_OLLAMA=$$v $(GO) test -count=1 -p 1 -timeout 30m -skip '$(OLLAMA_SKIP)' $(OLLAMA_PACKAGES) || exit 1; \
	done

# benchd side by side with the seed's ssh + docker exec path on the real
# deployment (rig, unit, sshd policy, ssh -N -L), then the Go benchmarks
# (-count 6, benchstat's input). Needs what `make test` needs; see cmd/benchperf.
perf: rig
	$(GO) run ./cmd/benchperf $(if $(BEFORE),-before $(BEFORE))
