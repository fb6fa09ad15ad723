# goray: `make lab` runs the lab, `make test` runs every test.
# Nothing else is needed first: targets install what they need.

SHELL := /bin/bash
GO ?= go
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
# Race-detector runs are slower; give the suite room on 2 cores.
TEST_TIMEOUT ?= 15m

.PHONY: all lab test vet fmt-check go-test examples bench bench-core venv clean help

all: test

help:
	@echo "make lab         run the lab (the code/ examples until the kernel lands)"
	@echo "make test        go vet, gofmt check, go test -race, examples"
	@echo "make bench       every side-by-side benchmark (needs the venv; not in CI)"
	@echo "make bench-core  tasks, actor calls, put/get and wait against Ray 2.60"

## lab: the main job. Until the Jupyter kernel exists it runs the code/
## examples of the lab's first section.
lab:
	@echo "== sequential_process"; $(GO) run ./code/sequential_process
	@echo "== parallel_process (machine CPUs)"; $(GO) run ./code/parallel_process
	@echo "== parallel_process (8 logical CPUs)"; $(GO) run ./code/parallel_process -cpus 8
	@echo "== ray_actor_counter"; $(GO) run ./code/ray_actor_counter
	@echo "== counter"; $(GO) run ./code/counter

test: vet fmt-check go-test

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.venv/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

go-test:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## venv: the Python tools with pinned versions (requirements.txt).
venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install -q --upgrade pip==23.2.1
	$(VENV_PY) -m pip install -q -r requirements.txt
	touch $@

bench: bench-core

bench-core: venv
	$(GO) run ./bench/core -python $(VENV_PY)

clean:
	rm -rf $(VENV) bin bench/out
