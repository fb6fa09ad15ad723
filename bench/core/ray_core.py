"""Ray side of goray's core benchmark (bench/core).

Runs the same four cases as bench/core/main.go against Ray and prints one
JSON object on stdout. Everything else (Ray's own logging) goes to stderr,
which the Go command keeps out of its table.

  (a) submit N no-op tasks, then get them all          -> tasks/s
  (b) submit N calls on one actor, then get them all    -> calls/s
  (c) loop: put a 1 MiB payload, get it back            -> GB/s (1e9 bytes)
  (d) Ray's "single client wait 1k refs": submit 1000
      small tasks, then ray.wait(not_ready) 1000 times,
      each taking one ready ref; one round is all that   -> rounds/s

Usage: ray_core.py --num-cpus 2 --tasks 100000 --calls 100000 \
           --puts 2000 --wait-refs 1000 --wait-rounds 5 [--cases abcd]
"""

import argparse
import json
import logging
import os
import platform
import sys
import time

# Set before Ray is imported: no usage-stats prompt, no token-auth warning.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import ray  # noqa: E402

try:  # Ray's get of a numpy array is zero-copy; use it when installed.
    import numpy as np  # noqa: E402
except ImportError:
    np = None


@ray.remote
def noop():
    return None


@ray.remote
def small_value():
    # As in ray/_private/ray_perf.py.
    return b"ok"


@ray.remote
class Actor:
    def noop(self):
        return None


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--num-cpus", type=int, required=True)
    p.add_argument("--tasks", type=int, default=100_000)
    p.add_argument("--calls", type=int, default=100_000)
    p.add_argument("--puts", type=int, default=2_000)
    p.add_argument("--put-bytes", type=int, default=1 << 20)
    p.add_argument("--wait-refs", type=int, default=1_000)
    p.add_argument("--wait-rounds", type=int, default=5)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--cases", default="abcd", help="which of a, b, c, d to run")
    args = p.parse_args()

    ray.init(
        num_cpus=args.num_cpus,
        include_dashboard=False,
        logging_level=logging.ERROR,
        log_to_driver=False,
    )
    out = {
        "ray_version": ray.__version__,
        "python_version": platform.python_version(),
        "num_cpus": args.num_cpus,
        "payload": "numpy.uint8" if np is not None else "bytes",
    }

    # Warm-up: start the workers, create the actor, touch the object store.
    ray.get([noop.remote() for _ in range(args.warmup)])
    actor = Actor.remote()
    ray.get([actor.noop.remote() for _ in range(args.warmup)])
    if np is not None:
        payload = np.zeros(args.put_bytes, dtype=np.uint8)
    else:
        payload = bytes(args.put_bytes)
    for _ in range(20):
        ray.get(ray.put(payload))

    # (a) no-op tasks: submit all, then get all.
    def tasks():
        refs = [noop.remote() for _ in range(args.tasks)]
        ray.get(refs)

    if "a" in args.cases:
        secs = timed(tasks)
        out["tasks"] = {"n": args.tasks, "seconds": secs, "per_sec": args.tasks / secs}

    # (b) calls on one actor: submit all, then get all.
    def calls():
        refs = [actor.noop.remote() for _ in range(args.calls)]
        ray.get(refs)

    if "b" in args.cases:
        secs = timed(calls)
        out["actor_calls"] = {"n": args.calls, "seconds": secs, "per_sec": args.calls / secs}

    # (c) put + get of one payload, the ref dropped each iteration.
    def put_get():
        for _ in range(args.puts):
            v = ray.get(ray.put(payload))
            assert len(v) == args.put_bytes

    if "c" in args.cases:
        secs = timed(put_get)
        moved = args.puts * args.put_bytes
        out["put_get"] = {
            "n": args.puts,
            "bytes": args.put_bytes,
            "seconds": secs,
            "gb_per_sec": moved / secs / 1e9,
        }

    # (d) single client wait 1k refs, as ray/_private/ray_perf.py does it.
    def wait_round():
        not_ready = [small_value.remote() for _ in range(args.wait_refs)]
        fetch_local = True
        for _ in range(args.wait_refs):
            _ready, not_ready = ray.wait(not_ready, fetch_local=fetch_local)
            fetch_local = False

    if "d" in args.cases:
        wait_round()  # warm-up round
        secs = timed(lambda: [wait_round() for _ in range(args.wait_rounds)])
        out["wait"] = {
            "refs": args.wait_refs,
            "rounds": args.wait_rounds,
            "seconds": secs,
            "rounds_per_sec": args.wait_rounds / secs,
        }

    ray.shutdown()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
