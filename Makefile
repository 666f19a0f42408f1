# pipectl — see README.md. Everything here needs only Go.

GO       ?= go
BIN      := bin
# What `pipectl version` reports when Go records no VCS information.
COMMIT   := $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
VERSION  := $(shell git describe --tags --always 2>/dev/null)
LDFLAGS  := -X github.com/pipectl/pipectl/internal/cli.buildCommit=$(COMMIT) -X github.com/pipectl/pipectl/internal/cli.buildVersion=$(VERSION)
PKGS     := ./...
# Extra flags for `pipectl dev` in `make demo`, e.g. DEMO_FLAGS="--port 0 --ui-port 0"
DEMO_FLAGS ?=

.PHONY: all build demo dev test bench histories lint fmt clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/pipectl ./cmd/pipectl
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/worker ./cmd/worker

# Starts Temporal + Web UI + emulator + worker in one process, runs the demo
# pipeline to completion with a live step table, and stops.
demo:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/pipectl ./cmd/pipectl
	$(BIN)/pipectl dev --run examples/pipelines/demo.yaml $(DEMO_FLAGS)

# Runs the dev stack until Ctrl-C; apply specs against it from another shell.
dev:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/pipectl ./cmd/pipectl
	$(BIN)/pipectl dev $(DEMO_FLAGS)

# The fuzz run is short: it guards against regressions on the committed
# corpus and explores a little on every run.
test:
	$(GO) test -timeout 30m $(PKGS)
	$(GO) test ./spec -run '^$$' -fuzz FuzzLoad -fuzztime 10s

# The benchmark suite (bench/, behind the build tag "bench" so that `go test
# ./...` never builds it) starts the embedded stack once per group and runs
# each benchmark once; the planner's and the emulator's benchmarks run with
# the default benchtime. The raw output goes to $(BENCH_OUT) (compare runs
# with benchstat), the report to BENCHMARKS.md. About 6 minutes on 2 cores,
# plus the build.
BENCH_OUT ?= $(BIN)/bench.txt
bench:
	@mkdir -p $(BIN)
	$(GO) test -tags bench -run '^$$' -bench . -benchtime=1x -timeout 20m ./bench 2>&1 | tee $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -benchmem ./planner ./testenv/emulator 2>&1 | tee -a $(BENCH_OUT)
	$(GO) run -tags bench ./bench/report -in $(BENCH_OUT) -out BENCHMARKS.md

# Re-records the workflow histories that go test replays (see
# docs/contributing.md), from real runs on the embedded server.
histories:
	$(GO) test ./testenv -count=1 -run '^(TestDemoPipelineEndToEnd|TestFailingJobFailsTheRunNamingTheStep|TestEveryExampleRunsEndToEnd|TestCancelStopsExternalJobs|TestSuspendedStepIsRetriedByAnOperator|TestForEachInChildWorkflowsEndToEnd|TestContinueAsNewEndToEnd|TestSubPipelineEndToEnd)$$' -update-histories
	$(GO) test ./workflows -count=1 -run TestReplayRecordedHistories

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
