#!/usr/bin/env python3
"""The peers' side of the Dataset benchmarks: Ray Data and DuckDB.

    peer.py --job a|b|c --data DIR --engine ray|duckdb [--repeat N]
            [--warmup K] [--out DIR] [--batch-format pyarrow|numpy]
            [--budget-mb 200]

Prints one JSON line:

    {"job": "a", "engine": "ray", "seconds": 3.21, "rows": 4500000,
     "peak_rss_mb": 1234.5, ...}

seconds is the best of --repeat timed runs (after --warmup untimed ones);
peak_rss_mb is the largest resident set of the whole process tree (this
process and all its descendants: for Ray the driver, raylet, GCS and the
workers, with the object store's shared memory counted in each process that
maps it), sampled every 50 ms during the timed runs. Extra fields: every
run's time, the engine's version, and job-specific settings.

Jobs (DIR as made by gen.py):
  a  read_parquet(DIR/lab.parquet) -> y = col1 * col2 + 1 (col1, col2 kept)
     -> write_parquet to a fresh folder (Snappy)
  b  read_csv(DIR/orders.csv) -> count rows where
     order_year >= 1995 and o_totalprice > 100000 and is_urgent
  c  read_parquet(DIR/big/) (all columns) -> x = x * 2 -> count rows, under
     a memory budget (--budget-mb, default 200): Ray with
     object_store_memory and DataContext resource_limits at the budget,
     DuckDB with memory_limit at the budget
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import threading
import time

import psutil

MB = 1024 * 1024
FILTER_SQL = "order_year >= 1995 AND o_totalprice > 100000 AND is_urgent"


# ------------------------------------------------------------ RSS sampler

class TreeRSS:
    """Samples the summed RSS (and less often PSS) of this process and all
    its descendants in a background thread."""

    def __init__(self, interval=0.05, pss_every=10):
        self.interval = interval
        self.pss_every = pss_every
        self.me = psutil.Process()
        self.peak_rss = 0
        self.peak_pss = 0
        self.procs = 0
        self._force_pss = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self):
        try:
            return [self.me] + self.me.children(recursive=True)
        except psutil.Error:
            return [self.me]

    def _run(self):
        tick = 0
        while not self._stop.is_set():
            procs = self._tree()
            rss = pss = 0
            want_pss = self._force_pss or tick % self.pss_every == 0
            self._force_pss = False
            for p in procs:
                try:
                    if want_pss:
                        mi = p.memory_full_info()
                        rss += mi.rss
                        pss += mi.pss
                    else:
                        rss += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_rss = max(self.peak_rss, rss)
            if want_pss:
                self.peak_pss = max(self.peak_pss, pss)
            self.procs = max(self.procs, len(procs))
            tick += 1
            self._stop.wait(self.interval)

    def reset(self):
        self.peak_rss = self.peak_pss = self.procs = 0
        self._force_pss = True  # a PSS sample in every run, however short

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()


# -------------------------------------------------------------------- Ray

def ray_start(args):
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
    # On a busy 2-core machine the raylet can give up waiting for its agent
    # (the metrics agent port file) before the agent has imported: allow longer.
    os.environ.setdefault("RAY_agent_register_timeout_ms", "120000")
    import logging

    import ray
    kwargs = dict(num_cpus=args.cpus, log_to_driver=False, include_dashboard=False,
                  logging_level=logging.ERROR)
    if args.job == "c" and args.budget_mb > 0:
        kwargs["object_store_memory"] = int(args.budget_mb * MB)
    for attempt in range(3):
        try:
            ray.init(**kwargs)
            break
        except Exception as e:  # noqa: BLE001 - Ray raises a bare Exception here
            print("peer.py: ray.init failed (%s), try %d of 3" % (e, attempt + 1),
                  file=sys.stderr)
            ray.shutdown()
            if attempt == 2:
                raise
            time.sleep(5)
    import ray.data
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    if args.job == "c" and args.budget_mb > 0:
        ctx.execution_options.resource_limits = \
            ctx.execution_options.resource_limits.copy(object_store_memory=args.budget_mb * MB)
    return ray


def ray_job_a(args, out, batch_format):
    import ray.data
    if batch_format == "numpy":
        def add_y(batch):
            batch["y"] = batch["col1"] * batch["col2"] + 1.0
            return batch
    else:
        import pyarrow.compute as pc

        def add_y(batch):
            y = pc.add(pc.multiply(batch["col1"], batch["col2"]), 1.0)
            return batch.append_column("y", y)
    ds = ray.data.read_parquet(os.path.join(args.data, "lab.parquet"))
    ds = ds.map_batches(add_y, batch_format=batch_format)
    ds.write_parquet(out)
    return None  # rows counted from the written files


def ray_job_b(args, out):
    import ray.data
    from ray.data.expressions import col
    pred = (col("order_year") >= 1995) & (col("o_totalprice") > 100000) & \
        (col("is_urgent") == True)  # noqa: E712 - an expression, not a Python test
    ds = ray.data.read_csv(os.path.join(args.data, "orders.csv"))
    return ds.filter(expr=pred).count()


def ray_job_c(args, out):
    import pyarrow.compute as pc
    import ray.data

    def double_x(batch):
        i = batch.schema.get_field_index("x")
        return batch.set_column(i, "x", pc.multiply(batch["x"], 2.0))
    ds = ray.data.read_parquet(os.path.join(args.data, "big"))
    return ds.map_batches(double_x, batch_format="pyarrow").count()


# ----------------------------------------------------------------- DuckDB

def duckdb_start(args):
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads=%d" % args.cpus)
    if args.job == "c" and args.budget_mb > 0:
        con.execute("SET memory_limit='%dMB'" % args.budget_mb)
    return con


def q(path):
    return "'" + path.replace("'", "''") + "'"


def duckdb_job_a(con, args, out):
    os.makedirs(out, exist_ok=True)
    src = os.path.join(args.data, "lab.parquet")
    dst = os.path.join(out, "data.parquet")
    con.execute("COPY (SELECT col1, col2, col1 * col2 + 1 AS y FROM read_parquet(%s)) "
                "TO %s (FORMAT parquet, COMPRESSION snappy)" % (q(src), q(dst)))
    return con.fetchone()[0]


def duckdb_job_b(con, args, out):
    src = os.path.join(args.data, "orders.csv")
    return con.execute("SELECT count(*) FROM read_csv(%s) WHERE %s"
                       % (q(src), FILTER_SQL)).fetchone()[0]


def duckdb_job_c(con, args, out):
    src = os.path.join(args.data, "big", "*.parquet")
    # The sums make DuckDB read every column and compute x * 2 (a bare
    # count(*) would read only the row-group metadata).
    n, _, _ = con.execute("SELECT count(*), sum(x * 2), sum(strlen(payload)) "
                          "FROM read_parquet(%s)" % q(src)).fetchone()
    return n


# ------------------------------------------------------------------- main

def written_rows(out):
    import pyarrow.parquet as pq
    files = sorted(glob.glob(os.path.join(out, "**", "*.parquet"), recursive=True))
    rows = 0
    for f in files:
        md = pq.ParquetFile(f).metadata
        rows += md.num_rows
        names = [md.schema.column(i).name for i in range(md.num_columns)]
        if "y" not in names:
            raise SystemExit("peer.py: %s has no column y (columns %s)" % (f, names))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--job", choices=["a", "b", "c"], required=True)
    ap.add_argument("--engine", choices=["ray", "duckdb"], required=True)
    ap.add_argument("--data", required=True, help="folder made by gen.py")
    ap.add_argument("--repeat", type=int, default=None,
                    help="timed runs, best reported (default 3 for a/b, 1 for c)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed runs first (default 1 for a/b, 0 for c)")
    ap.add_argument("--out", default=None,
                    help="job a's output folder (default DATA/out-ENGINE); emptied per run")
    ap.add_argument("--batch-format", choices=["pyarrow", "numpy", "both"], default="pyarrow",
                    help="Ray map_batches format for job a (the two measured within noise "
                         "of each other); both: alternate them run by run (--repeat runs "
                         "of each) and report the faster")
    ap.add_argument("--budget-mb", type=float, default=200,
                    help="job c's memory budget (0: the engine's defaults, for reference)")
    ap.add_argument("--cpus", type=int, default=2, help="Ray num_cpus / DuckDB threads")
    args = ap.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (1 if args.job == "c" else 3)
    warmup = args.warmup if args.warmup is not None else (0 if args.job == "c" else 1)
    out = args.out or os.path.join(args.data, "out-%s" % args.engine)

    load_before = os.getloadavg()[0]
    sampler = TreeRSS().start()
    if args.engine == "ray":
        ray = ray_start(args)
        version = ray.__version__
        job = {"a": ray_job_a, "b": ray_job_b, "c": ray_job_c}[args.job]
        if args.job == "a":
            formats = ["pyarrow", "numpy"] if args.batch_format == "both" \
                else [args.batch_format]
        else:
            formats = [None]

        def run(dst, i):
            fmt = formats[i % len(formats)]
            return job(args, dst, fmt) if fmt else job(args, dst)
    else:
        import duckdb
        con = duckdb_start(args)
        version = duckdb.__version__
        job = {"a": duckdb_job_a, "b": duckdb_job_b, "c": duckdb_job_c}[args.job]

        formats = [None]

        def run(dst, i):
            return job(con, args, dst)

    times, rows, peak_rss, peak_pss, procs = [], None, 0, 0, 0
    by_format = {}
    warmup *= len(formats)
    for i in range(warmup + repeat * len(formats)):
        shutil.rmtree(out, ignore_errors=True)
        sampler.reset()
        t0 = time.perf_counter()
        n = run(out, i)
        dt = time.perf_counter() - t0
        if args.job == "a":
            n = written_rows(out)
        if rows is not None and n != rows:
            raise SystemExit("peer.py: run %d gave %d rows, an earlier one %d" % (i, n, rows))
        rows = n
        if i >= warmup:
            times.append(dt)
            by_format.setdefault(formats[i % len(formats)], []).append(round(dt, 4))
            peak_rss = max(peak_rss, sampler.peak_rss)
            peak_pss = max(peak_pss, sampler.peak_pss)
            procs = max(procs, sampler.procs)
    shutil.rmtree(out, ignore_errors=True)
    sampler.stop()

    result = {"job": args.job, "engine": args.engine, "seconds": round(min(times), 4),
              "rows": rows, "peak_rss_mb": round(peak_rss / MB, 1),
              "peak_pss_mb": round(peak_pss / MB, 1), "processes": procs,
              "runs": [round(t, 4) for t in times], "warmup": warmup,
              "version": version, "cpus": args.cpus,
              # Other work on the machine skews times: the 1-minute load
              # average before and after (2 cores: ~2 means busy already).
              "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    if args.job == "a" and args.engine == "ray":
        best_fmt = min(by_format, key=lambda f: min(by_format[f]))
        result["batch_format"] = best_fmt
        if len(by_format) > 1:
            result["runs_by_format"] = by_format
    if args.job == "c":
        result["budget_mb"] = args.budget_mb
    print(json.dumps(result))
    sys.stdout.flush()
    if args.engine == "ray":
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
