#!/usr/bin/env bash
# bench/llmgpu/run.sh: the one script for a GPU machine (README.md beside
# this file says what to build and copy). Run it from anywhere; it works in
# the repository root:
#
#   bash bench/llmgpu/run.sh                 # on the GPU machine
#   LLMGPU_SMOKE=1 bash bench/llmgpu/run.sh  # tiny shapes on a CPU: the control flow
#
# Steps, each independent, each under `timeout`, all inside LLMGPU_BUDGET_S
# seconds (default 460): 0 environment (nvidia-smi, the binary, torch, the
# CUDA PJRT plugin, the CUDA data directory), 1 goray throughput, 2
# transformers throughput, 3 two actors sharing GPU 0, 4 summary. A step
# whose prerequisite is missing says so and the script goes on. Results go
# to $OUT (default bench/out/llmgpu), at most 8 files: run.log, goray.json,
# torch.json, actors.json, smi.log, summary.txt (smoke: also goray-go.json,
# actors-nogpu.json).
#
# Environment:
#   OUT                where the results go
#   LLMGPU_SMOKE=1     tiny model, batches 1,2, CPU backends; GPU steps report "no GPU"
#   LLMGPU_BIN         the prebuilt binary (default bench/llmgpu/llmgpu)
#   LLMGPU_PYTHON      Python with torch and transformers (default: searched)
#   LLMGPU_VENV        a venv to search for the CUDA plugin (jax-cuda13-pjrt) and torch
#   GORAY_PJRT_PLUGIN  the CUDA PJRT plugin .so (default: searched)
#   LLMGPU_BUDGET_S    total seconds for all steps (default 460)
#   LLMGPU_BATCHES, LLMGPU_PROMPT, LLMGPU_NEW, LLMGPU_REPEAT   sizes (default 1,8,32 128 64 3)
#   LLMGPU_TORCH_VARIANTS   default float32,tf32,bfloat16
#   LLMGPU_XLA_EXTRA   appended to XLA_FLAGS (e.g. --xla_gpu_autotune_level=0 if compiling is too slow)
set -u -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$(pwd)
OUT=${OUT:-$ROOT/bench/out/llmgpu}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/run.log") 2>&1
TEE_PID=$!

SMOKE=${LLMGPU_SMOKE:-0}
BUDGET=${LLMGPU_BUDGET_S:-460}
BIN=${LLMGPU_BIN:-$ROOT/bench/llmgpu/llmgpu}
SECONDS=0
declare -a STATUS=()

say() { printf '\n==== [%3ds] %s\n' "$SECONDS" "$*"; }
note() { STATUS+=("$1: $2"); printf -- '---- %s: %s\n' "$1" "$2"; }

# step_timeout CAP: seconds the next step may take: CAP, or what is left of
# the budget; 0 when less than 15 s are left.
step_timeout() {
	local left=$((BUDGET - SECONDS)) t=$1
	((left < t)) && t=$left
	((t < 15)) && t=0
	echo "$t"
}

# run_step NAME CAP CMD...: runs CMD under timeout and records the outcome.
run_step() {
	local name=$1 cap=$2
	shift 2
	local t
	t=$(step_timeout "$cap")
	if ((t == 0)); then
		note "$name" "SKIPPED: time budget ($BUDGET s) spent"
		return 99
	fi
	echo "\$ timeout $t $*"
	timeout --kill-after=10 "$t" "$@"
	local rc=$?
	case $rc in
	0) note "$name" "ok" ;;
	3) note "$name" "no GPU / missing prerequisite (rc 3; see above)" ;;
	124 | 137) note "$name" "TIMED OUT after ${t}s (partial results may be in its JSON)" ;;
	*) note "$name" "FAILED rc=$rc" ;;
	esac
	return $rc
}

if [[ $SMOKE == 1 ]]; then
	GO_SHAPE=(-layers 2 -hidden 64 -intermediate 128 -heads 4 -kv-heads 2 -head-dim 16 -vocab 1000)
	PY_SHAPE=(--layers 2 --hidden 64 --intermediate 128 --heads 4 --kv-heads 2 --head-dim 16 --vocab 1000)
	BATCHES=${LLMGPU_BATCHES:-1,2}
	PROMPT=${LLMGPU_PROMPT:-16}
	NEW=${LLMGPU_NEW:-4}
	REPEAT=${LLMGPU_REPEAT:-2}
	ACTOR_BATCH=2
	ACTOR_ROUNDS=3
else
	GO_SHAPE=()
	PY_SHAPE=()
	BATCHES=${LLMGPU_BATCHES:-1,8,32}
	PROMPT=${LLMGPU_PROMPT:-128}
	NEW=${LLMGPU_NEW:-64}
	REPEAT=${LLMGPU_REPEAT:-3}
	ACTOR_BATCH=8
	ACTOR_ROUNDS=5 # a few seconds of both actors generating, for nvidia-smi to see
fi
SIZES=(-batches "$BATCHES" -prompt "$PROMPT" -new "$NEW" -repeat "$REPEAT")
PY_SIZES=(--batches "$BATCHES" --prompt "$PROMPT" --new "$NEW" --repeat "$REPEAT")

# ---------------------------------------------------------------- 0 environment
say "0 environment (smoke=$SMOKE, budget ${BUDGET}s, out $OUT)"
date -u
uname -a
echo "cpus: $(nproc)"
free -g 2>/dev/null | head -2

GPU=0
if command -v nvidia-smi >/dev/null 2>&1; then
	if timeout 30 nvidia-smi; then
		GPU=1
		timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv
	else
		echo "nvidia-smi is there but failed"
	fi
else
	echo "nvidia-smi: not found: no GPU on this machine"
fi
ls -l /dev/nvidia* 2>/dev/null | head -5
note "gpu" "$([[ $GPU == 1 ]] && echo "nvidia-smi ok" || echo "NO GPU (nvidia-smi missing or failing)")"

# The binary.
if [[ ! -x $BIN ]] && [[ $SMOKE == 1 ]] && command -v go >/dev/null 2>&1; then
	BIN=${TMPDIR:-/tmp}/llmgpu-smoke/llmgpu
	echo "no prebuilt binary; smoke mode builds one: go build -o $BIN ./bench/llmgpu"
	timeout 300 go build -o "$BIN" ./bench/llmgpu || true
fi
HAVE_BIN=0
if [[ -x $BIN ]]; then
	HAVE_BIN=1
	echo "binary: $BIN ($(du -h "$BIN" | cut -f1))"
	ldd "$BIN" 2>&1 | sed 's/^/  /'
	if ldd "$BIN" 2>&1 | grep -q "not found"; then
		echo "  WARNING: the binary misses a shared library (above)"
	fi
	note "binary" "$BIN"
else
	note "binary" "MISSING: $BIN (build it where Go is: go build -o bench/llmgpu/llmgpu ./bench/llmgpu, and copy it)"
fi

# Python with torch + transformers.
PY=""
cands=()
[[ -n ${LLMGPU_PYTHON:-} ]] && cands+=("$LLMGPU_PYTHON")
[[ -n ${LLMGPU_VENV:-} ]] && cands+=("$LLMGPU_VENV/bin/python3" "$LLMGPU_VENV/bin/python")
[[ -n ${VIRTUAL_ENV:-} ]] && cands+=("$VIRTUAL_ENV/bin/python3")
cands+=(python3 /opt/torch/.venv/bin/python3 "$ROOT/.venv-golden/bin/python" python)
for c in "${cands[@]}"; do
	command -v "$c" >/dev/null 2>&1 || [[ -x $c ]] || continue
	if info=$(timeout 120 "$c" -c 'import sys, torch, transformers; print(sys.executable, "torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "transformers", transformers.__version__)' 2>&1); then
		PY=$c
		echo "python with torch: $info"
		break
	else
		echo "python $c: no torch/transformers ($(echo "$info" | tail -1))"
	fi
done
if [[ -n $PY ]]; then note "torch" "$PY"; else note "torch" "MISSING: no python with torch and transformers (looked in ${cands[*]})"; fi

# The CUDA PJRT plugin (jax-cuda13-pjrt's xla_cuda_plugin.so) and its nvidia/ dir.
PLUGIN=${GORAY_PJRT_PLUGIN:-}
SITES=()
for c in "${cands[@]}"; do
	command -v "$c" >/dev/null 2>&1 || [[ -x $c ]] || continue
	s=$(timeout 30 "$c" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null) && [[ -d $s ]] && SITES+=("$s")
done
for v in "${LLMGPU_VENV:-}" "${VIRTUAL_ENV:-}" /opt/torch/.venv "$ROOT/.venv"; do
	[[ -n $v ]] || continue
	for s in "$v"/lib/python3*/site-packages; do [[ -d $s ]] && SITES+=("$s"); done
done
# Deduplicate, keeping the order.
declare -A seen_site=()
uniq_sites=()
for s in "${SITES[@]}"; do
	[[ -n ${seen_site[$s]:-} ]] && continue
	seen_site[$s]=1
	uniq_sites+=("$s")
done
SITES=("${uniq_sites[@]}")
echo "site-packages searched: ${SITES[*]:-none}"
if [[ -z $PLUGIN ]]; then
	for s in "${SITES[@]}"; do
		for p in "$s"/jax_plugins/xla_cuda13/xla_cuda_plugin.so "$s"/jax_plugins/xla_cuda12/xla_cuda_plugin.so; do
			if [[ -f $p ]]; then PLUGIN=$p; break 2; fi
		done
	done
fi
if [[ -z $PLUGIN ]] && [[ $GPU == 1 ]]; then
	PLUGIN=$(timeout 30 find / -xdev \( -path /proc -o -path /sys \) -prune -o -name xla_cuda_plugin.so -path '*jax_plugins*' -print 2>/dev/null | head -1)
fi

if [[ -n $PLUGIN ]]; then
	echo "CUDA PJRT plugin: $PLUGIN"
	pdir=$(dirname "$PLUGIN")
	ls -l "$pdir" | head -10
	for s in "${SITES[@]}"; do
		[[ -f $s/jax_plugins/xla_cuda13/xla_cuda_plugin.so || -f $s/jax_plugins/xla_cuda12/xla_cuda_plugin.so ]] || continue
		ls -d "$s"/jax_cuda1*_pjrt* "$s"/jax_cuda1*_plugin* "$s"/jax-* 2>/dev/null | head -5
	done
	if missing=$(ldd "$PLUGIN" 2>&1 | grep "not found"); then
		echo "  the plugin's unresolved libraries (ldd; some are dlopened later from nvidia/ anyway):"
		echo "$missing" | sed 's/^/    /'
	fi
	if [[ $HAVE_BIN == 1 ]]; then
		echo "\$ $BIN -check-plugin $PLUGIN   (go-xla loads it; no client yet)"
		if timeout 120 "$BIN" -check-plugin "$PLUGIN"; then
			note "cuda-plugin" "$PLUGIN (go-xla loads it)"
		else
			note "cuda-plugin" "$PLUGIN: go-xla could NOT load it (see above)"
		fi
	else
		note "cuda-plugin" "$PLUGIN"
	fi
else
	note "cuda-plugin" "MISSING: no jax_plugins/xla_cuda1[23]/xla_cuda_plugin.so (the wheel jax-cuda13-pjrt) in ${SITES[*]:-no site-packages}; set GORAY_PJRT_PLUGIN"
fi

# The CUDA data directory (nvvm/libdevice, bin/ptxas) for XLA_FLAGS, unless given.
if [[ -n $PLUGIN ]] && [[ ${XLA_FLAGS:-} != *xla_gpu_cuda_data_dir* ]]; then
	sp=$(dirname "$(dirname "$(dirname "$PLUGIN")")") # site-packages
	best=""
	libdev=""
	for d in "$sp/nvidia/cu13" "$sp/nvidia/cuda_nvcc" "$sp/nvidia/cu12" "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda /usr/local/cuda-13* /usr/local/cuda-12*; do
		[[ -n $d && -d $d/nvvm/libdevice ]] || continue
		[[ -z $libdev ]] && libdev=$d
		if [[ -x $d/bin/ptxas ]]; then best=$d; break; fi
	done
	[[ -z $best ]] && best=$libdev
	if [[ -n $best ]]; then
		export XLA_FLAGS="${XLA_FLAGS:-} --xla_gpu_cuda_data_dir=$best"
		XLA_FLAGS=${XLA_FLAGS# }
		# go-xla's own nvidia/ check would only warn (it looks beside jax_plugins/).
		export GOPJRT_CUDA_CHECKS=${GOPJRT_CUDA_CHECKS:-0}
		echo "CUDA data dir: $best (libdevice: $(ls "$best"/nvvm/libdevice 2>/dev/null | tr '\n' ' '); ptxas: $([[ -x $best/bin/ptxas ]] && echo "$best/bin/ptxas" || echo "not there"))"
	else
		echo "CUDA data dir: no nvvm/libdevice found near the plugin, in CUDA_HOME or /usr/local/cuda: leaving it to raylib/infer/device"
	fi
fi
if [[ -n ${LLMGPU_XLA_EXTRA:-} ]]; then
	export XLA_FLAGS="${XLA_FLAGS:-} $LLMGPU_XLA_EXTRA"
fi
echo "ptxas on PATH: $(command -v ptxas || echo none); nvcc: $(command -v nvcc || echo none)"
echo "XLA_FLAGS=${XLA_FLAGS:-}"
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
ldconfig -p 2>/dev/null | grep -E 'libcuda\.so' | head -3

# nvidia-smi sampling in the background (both queries, about once a
# second) during the actor step only, so that it cannot disturb the
# throughput timings; the actor test also samples by itself.
STEPFILE=$(mktemp)
SMI_PID=""
start_smi() {
	[[ $GPU == 1 ]] || return 0
	(
		while :; do
			echo "## $(date -u +%H:%M:%S.%N | cut -c1-12) step=$(cat "$STEPFILE" 2>/dev/null)"
			timeout 10 nvidia-smi --query-gpu=memory.used,memory.total,utilization.gpu --format=csv,noheader
			timeout 10 nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader
			sleep 1
		done
	) >>"$OUT/smi.log" 2>&1 &
	SMI_PID=$!
}
stop_smi() {
	if [[ -n $SMI_PID ]]; then
		kill "$SMI_PID" 2>/dev/null
		wait "$SMI_PID" 2>/dev/null
		SMI_PID=""
	fi
}
cleanup() {
	stop_smi
	rm -f "$STEPFILE"
}
trap cleanup EXIT
step() { echo "$1" >"$STEPFILE"; }

# ---------------------------------------------------------------- 1 goray throughput
say "1 goray: Qwen2.5-0.5B shape, random float32 weights, batches $BATCHES, prompt $PROMPT, $NEW new tokens"
step goray
GORAY_JSON=""
if [[ $HAVE_BIN == 0 ]]; then
	note "goray" "SKIPPED: no binary"
elif [[ $SMOKE == 1 ]]; then
	run_step "goray xla (CPU)" 120 env -u GORAY_PJRT_PLUGIN "$BIN" "${GO_SHAPE[@]}" "${SIZES[@]}" -backend xla -out "$OUT/goray.json"
	run_step "goray go" 120 "$BIN" "${GO_SHAPE[@]}" "${SIZES[@]}" -backend go -out "$OUT/goray-go.json"
	GORAY_JSON="$OUT/goray.json,$OUT/goray-go.json"
elif [[ $GPU == 0 ]]; then
	note "goray" "SKIPPED: no GPU"
elif [[ -z $PLUGIN ]]; then
	note "goray" "SKIPPED: no CUDA PJRT plugin"
else
	GORAY_PJRT_PLUGIN=$PLUGIN run_step "goray xla:cuda" 220 "$BIN" "${GO_SHAPE[@]}" "${SIZES[@]}" -backend xla -plugin "$PLUGIN" -out "$OUT/goray.json"
	GORAY_JSON="$OUT/goray.json"
fi

# ---------------------------------------------------------------- 2 transformers
say "2 transformers: Qwen2ForCausalLM random init, same shapes"
step torch
TORCH_JSON=""
if [[ -z $PY ]]; then
	note "torch" "SKIPPED: no python with torch/transformers"
else
	if [[ $SMOKE == 1 ]]; then
		dev=cpu
		variants=${LLMGPU_TORCH_VARIANTS:-float32,bfloat16}
		PY_SIZES+=(--threads 1) # a busy small CPU makes torch's thread pool stall
	else
		dev=cuda
		variants=${LLMGPU_TORCH_VARIANTS:-float32,tf32,bfloat16}
	fi
	PYTHONUNBUFFERED=1 run_step "torch ($dev)" 170 "$PY" bench/llmgpu/torch_peer.py --device "$dev" --variants "$variants" \
		"${PY_SHAPE[@]}" "${PY_SIZES[@]}" --out "$OUT/torch.json" >/dev/null
	TORCH_JSON="$OUT/torch.json"
fi

# ---------------------------------------------------------------- 3 actors
say "3 two actors at 0.6 and 0.4 of GPU 0, one process, device.OpenShare, generating at once"
step actors
ACTORS_JSON=""
start_smi
ACT=(-actors "0.6,0.4" -actor-batch "$ACTOR_BATCH" -actor-rounds "$ACTOR_ROUNDS" -prompt "$PROMPT" -new "$NEW")
if [[ $HAVE_BIN == 0 ]]; then
	note "actors" "SKIPPED: no binary"
elif [[ $SMOKE == 1 ]]; then
	# As on a machine without a GPU: OpenShare must say so, cleanly (rc 3).
	run_step "actors (no GPU expected)" 60 "$BIN" "${GO_SHAPE[@]}" "${ACT[@]}" -out "$OUT/actors-nogpu.json"
	# The rest of the test (ray actors, concurrent generation) on the CPU backend.
	run_step "actors (CPU fallback)" 90 env -u GORAY_PJRT_PLUGIN "$BIN" "${GO_SHAPE[@]}" "${ACT[@]}" -actor-fallback xla -out "$OUT/actors.json"
	ACTORS_JSON="$OUT/actors-nogpu.json,$OUT/actors.json"
elif [[ $GPU == 0 ]]; then
	note "actors" "SKIPPED: no GPU"
elif [[ -z $PLUGIN ]]; then
	note "actors" "SKIPPED: no CUDA PJRT plugin"
else
	GORAY_PJRT_PLUGIN=$PLUGIN run_step "actors" 150 "$BIN" "${GO_SHAPE[@]}" "${ACT[@]}" -plugin "$PLUGIN" -out "$OUT/actors.json"
	ACTORS_JSON="$OUT/actors.json"
fi

stop_smi

# ---------------------------------------------------------------- 4 summary
say "4 summary"
step summary
if [[ $HAVE_BIN == 1 ]]; then
	files="$GORAY_JSON,$TORCH_JSON,$ACTORS_JSON" # empty entries are skipped by -summary
	{
		"$BIN" -summary "$files"
		if [[ -f $OUT/torch.json ]] && grep -q '"variant": "tf32"' "$OUT/torch.json"; then
			echo
			echo "(XLA's default float32 dot precision on Ampere and later GPUs may use TF32: the ratios to torch tf32:)"
			"$BIN" -summary "$files" -summary-ref "torch tf32" 2>/dev/null | sed -n '/tokens\/s/,/^$/p'
		fi
	} | tee "$OUT/summary.txt"
fi
echo
echo "step status:"
fail=0
for s in "${STATUS[@]}"; do
	echo "  $s"
	[[ $s == *FAILED* || $s == *"TIMED OUT"* ]] && fail=1
done
echo "total ${SECONDS}s; results in $OUT:"
ls -l "$OUT"
cleanup
trap - EXIT
exec 1>&- 2>&-
wait "$TEE_PID" 2>/dev/null
exit $fail
