#!/usr/bin/env python3
"""Compare goray's Dataset benchmark results with the peers'.

    compare.py [--strict] [--markdown] [FILE ...]      (no FILE: stdin)

Input: JSON lines, one result each, as printed by peer.py and by goray's
Go benchmark (same fields, "engine": "goray"):

    {"job": "a", "engine": "goray", "seconds": 0.41, "rows": 4500000,
     "peak_rss_mb": 310.2, "budget_mb": 200}

Other lines are ignored. With several results for one job and engine the
fastest counts. Speed-ups are peer_seconds / goray_seconds (above 1: goray
is faster). Targets: jobs a and b at least 5x Ray and at least 0.5x DuckDB;
job c: goray's peak RSS below 1.5 x budget + 200 MB (budget_mb of the goray
line, else of a peer's line, else 200).

--strict exits 1 when a target is missed or a result is missing.
"""

from __future__ import annotations

import argparse
import json
import sys

RAY_TARGET = 5.0
DUCKDB_TARGET = 0.5
SPEED_JOBS = ("a", "b")
JOB_NAMES = {
    "a": "read_parquet -> map_batches(y) -> write_parquet",
    "b": "read_csv -> filter -> count",
    "c": "read_parquet 2 GB -> map(x*2) -> count, memory budget",
}


def load(streams):
    best = {}
    for stream in streams:
        for line in stream:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if not {"job", "engine", "seconds"} <= r.keys():
                continue
            key = (str(r["job"]), str(r["engine"]))
            if key not in best or r["seconds"] < best[key]["seconds"]:
                best[key] = r
    return best


def fmt_s(r):
    return "%.3f" % r["seconds"] if r else "-"


def fmt_mb(r):
    return "%.0f" % r["peak_rss_mb"] if r and r.get("peak_rss_mb") is not None else "-"


def ratio(peer, ours, target):
    """'8.52x ok' style cell and whether the target (if any) is met."""
    if not peer or not ours or not ours["seconds"]:
        return "-", None
    x = peer["seconds"] / ours["seconds"]
    if target is None:
        return "%.2fx" % x, None
    met = x >= target
    return "%.2fx %s" % (x, "ok" if met else "MISS"), met


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--strict", action="store_true")
    ap.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = ap.parse_args(argv)

    streams = [open(f) for f in args.files] if args.files else [sys.stdin]
    best = load(streams)
    jobs = sorted({j for j, _ in best} | {"a", "b", "c"})

    header = ["job", "goray s", "ray s", "duckdb s",
              "ray/goray (>=%gx)" % RAY_TARGET, "duckdb/goray (>=%gx)" % DUCKDB_TARGET,
              "RSS MB goray", "ray", "duckdb", "memory (c)", "rows"]
    rows, misses, notes = [], [], []
    for job in jobs:
        g, r, d = best.get((job, "goray")), best.get((job, "ray")), best.get((job, "duckdb"))
        if not (g or r or d):
            continue
        speed = job in SPEED_JOBS
        vs_ray, ok_ray = ratio(r, g, RAY_TARGET if speed else None)
        vs_duck, ok_duck = ratio(d, g, DUCKDB_TARGET if speed else None)
        for ok, what in [(ok_ray, "%s: %gx Ray" % (job, RAY_TARGET)),
                         (ok_duck, "%s: %gx DuckDB" % (job, DUCKDB_TARGET))]:
            if ok is False:
                misses.append(what)
        mem = "-"
        if job == "c":
            budget = next((x["budget_mb"] for x in (g, r, d) if x and x.get("budget_mb")), 200)
            limit = 1.5 * budget + 200
            if g and g.get("peak_rss_mb") is not None:
                ok = g["peak_rss_mb"] < limit
                mem = "%.0f < %.0f %s" % (g["peak_rss_mb"], limit, "ok" if ok else "MISS")
                if not ok:
                    misses.append("c: peak RSS %.0f MB >= %.0f MB" % (g["peak_rss_mb"], limit))
            else:
                mem = "limit %.0f" % limit
        if g is None:
            misses.append("%s: no goray result" % job)
        counts = {x["engine"]: x.get("rows") for x in (g, r, d) if x}
        distinct = {v for v in counts.values() if v is not None}
        row_cell = str(distinct.pop()) if len(distinct) == 1 else \
            " ".join("%s=%s" % kv for kv in counts.items())
        if len(set(counts.values()) - {None}) > 1:
            notes.append("job %s: row counts differ: %s" % (job, counts))
            misses.append("%s: row counts differ" % job)
        rows.append([job, fmt_s(g), fmt_s(r), fmt_s(d), vs_ray, vs_duck,
                     fmt_mb(g), fmt_mb(r), fmt_mb(d), mem, row_cell])

    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
                  for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print()
    for job in jobs:
        if job in JOB_NAMES:
            print("%s: %s" % (job, JOB_NAMES[job]))
    versions = {e: x.get("version") for (_, e), x in best.items() if x.get("version")}
    if versions:
        print("versions: " + ", ".join("%s %s" % kv for kv in sorted(versions.items())))
    print("speed-up = peer seconds / goray seconds; peak RSS of the whole process tree")
    for n in notes:
        print("note: " + n)
    if misses:
        print("missed: " + "; ".join(misses))
    return 1 if (args.strict and misses) else 0


if __name__ == "__main__":
    sys.exit(main())
