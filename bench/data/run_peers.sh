#!/usr/bin/env bash
# Run every peer job of the Dataset benchmarks, one process per job and
# engine, and print their JSON lines on stdout (peer.py's stderr goes to
# $LOG, default /tmp/bench-data-peers.log).
#
#   bench/data/run_peers.sh PYTHON DATA_DIR [JOBS] [ENGINES]
#
# JOBS defaults to "a b c", ENGINES to "ray duckdb". Extra peer.py flags can
# be given in PEER_FLAGS (e.g. PEER_FLAGS="--repeat 5").
set -euo pipefail
py=${1:?usage: run_peers.sh PYTHON DATA_DIR [JOBS] [ENGINES]}
data=${2:?usage: run_peers.sh PYTHON DATA_DIR [JOBS] [ENGINES]}
jobs=${3:-a b c}
engines=${4:-ray duckdb}
log=${LOG:-/tmp/bench-data-peers.log}
here=$(cd "$(dirname "$0")" && pwd)
: > "$log"
for job in $jobs; do
  for engine in $engines; do
    # shellcheck disable=SC2086 # PEER_FLAGS is a list of flags
    if ! "$py" "$here/peer.py" --job "$job" --engine "$engine" --data "$data" \
        ${PEER_FLAGS:-} 2>>"$log"; then
      echo "run_peers.sh: job $job on $engine failed; see $log" >&2
      exit 1
    fi
  done
done
