# pipectl — see README.md. Everything here needs only Go.

GO       ?= go
BIN      := bin
PKGS     := ./...
# Extra flags for `pipectl dev` in `make demo`, e.g. DEMO_FLAGS="--port 0 --ui-port -1"
DEMO_FLAGS ?=

.PHONY: all build demo dev test bench lint fmt clean

all: build

build:
	$(GO) build -o $(BIN)/pipectl ./cmd/pipectl
	$(GO) build -o $(BIN)/worker ./cmd/worker

# Starts Temporal + Web UI + emulator + worker in one process, runs the demo
# pipeline to completion with a live step table, and stops.
demo:
	$(GO) build -o $(BIN)/pipectl ./cmd/pipectl
	$(BIN)/pipectl dev --run examples/pipelines/demo.yaml $(DEMO_FLAGS)

# Runs the dev stack until Ctrl-C; apply specs against it from another shell.
dev:
	$(GO) build -o $(BIN)/pipectl ./cmd/pipectl
	$(BIN)/pipectl dev $(DEMO_FLAGS)

# The fuzz run is short: it guards against regressions on the committed
# corpus and explores a little on every run.
test:
	$(GO) test -timeout 30m $(PKGS)
	$(GO) test ./spec -run '^$$' -fuzz FuzzLoad -fuzztime 10s

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
