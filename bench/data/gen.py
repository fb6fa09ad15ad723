#!/usr/bin/env python3
"""Generate the input data of the Dataset benchmarks (bench/data).

    gen.py DIR [--only lab,orders,big] [--csv-mb 1024] [--big-files 20]
           [--big-file-mb 100] [--force]

Writes, deterministically (fixed seeds), into DIR:

  lab.parquet   job (a): 4,500,000 rows x 2 float64 columns col1, col2,
                uniform in [0, 1), Snappy, row groups of 1,048,576 rows
                (about 72 MB)
  orders.csv    job (b): about 1 GB of CSV with a header:
                o_orderkey     int, 1..N in order
                o_custkey      int, 1..1,500,000
                o_totalprice   float with 2 decimals, 900.00..500000.00
                order_year     int, 1992..1998
                is_urgent      true / false
                o_orderpriority  one of 1-URGENT, 2-HIGH, 3-MEDIUM,
                               4-NOT SPECIFIED, 5-LOW
                o_comment      20..60 letters and spaces
  big/part-NNNNN.parquet  job (c): --big-files files of about --big-file-mb
                MB each (default 20 x 100 MB): id int64, x float64,
                payload string of 80..120 random letters; Snappy, no
                dictionary on payload

Existing files of the right name are kept unless --force (a file
DIR/.gen-params.json records the parameters they were made with; other
parameters regenerate). Everything is vectorised with numpy/pyarrow: the
CSV takes well under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

LAB_ROWS = 4_500_000
PRIORITIES = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
CSV_CHUNK = 1_000_000
# Bytes per CSV row on average, measured on this generator (no field needs
# quotes, so none are written); sizes the row
# count for --csv-mb.
CSV_BYTES_PER_ROW = 84.7
BIG_BYTES_PER_ROW = 8 + 8 + 100 + 4  # id, x, payload, its offset (~Parquet size)

_LETTERS = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_TEXT = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz     ", dtype=np.uint8)  # 31: ~1 in 6 spaces


def random_strings(rng, n, lo, hi, alphabet):
    """n strings of lo..hi characters from alphabet, built straight into an
    Arrow string array (no Python objects)."""
    lens = rng.integers(lo, hi + 1, n, dtype=np.int32)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lens, out=offsets[1:])
    raw = np.frombuffer(rng.bytes(int(offsets[-1])), dtype=np.uint8)
    data = alphabet[raw % len(alphabet)]
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def gen_lab(path, seed=1):
    rng = np.random.default_rng(seed)
    table = pa.table({"col1": rng.random(LAB_ROWS), "col2": rng.random(LAB_ROWS)})
    pq.write_table(table, path, compression="snappy", row_group_size=1 << 20)
    return LAB_ROWS


def orders_chunk(rng, start, n):
    cents = rng.integers(90_000, 50_000_001, n)
    pri = rng.integers(0, len(PRIORITIES), n)
    prio = pa.DictionaryArray.from_arrays(pa.array(pri.astype(np.int8)),
                                          pa.array(PRIORITIES)).cast(pa.string())
    comment = random_strings(rng, n, 20, 60, _TEXT)
    return pa.table({
        "o_orderkey": pa.array(np.arange(start + 1, start + n + 1, dtype=np.int64)),
        "o_custkey": pa.array(rng.integers(1, 1_500_001, n)),
        # cents / 100: the double nearest to the 2-decimal value, which the
        # writer prints in its shortest form (e.g. 1234.5, 99.99).
        "o_totalprice": pa.array(cents / 100.0),
        "order_year": pa.array(rng.integers(1992, 1999, n)),
        "is_urgent": pa.array(rng.random(n) < 0.4),
        "o_orderpriority": prio,
        "o_comment": comment,
    })


def gen_orders(path, target_mb, seed=2):
    rows = int(target_mb * 1024 * 1024 / CSV_BYTES_PER_ROW)
    rng = np.random.default_rng(seed)
    # pyarrow quotes header names whatever the quoting style: write the
    # header line here, then the rows unquoted (no value needs quotes).
    opts = pcsv.WriteOptions(include_header=False, quoting_style="none")
    tmp = path + ".tmp"
    writer = None
    done = 0
    with open(tmp, "wb") as f:
        while done < rows:
            n = min(CSV_CHUNK, rows - done)
            chunk = orders_chunk(rng, done, n)
            if writer is None:
                f.write((",".join(chunk.column_names) + "\n").encode())
                writer = pcsv.CSVWriter(f, chunk.schema, write_options=opts)
            writer.write_table(chunk)
            done += n
        if writer is not None:
            writer.close()
    os.replace(tmp, path)
    return rows


def gen_big(folder, files, file_mb, seed=3):
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".parquet"):
            os.remove(os.path.join(folder, name))
    rows_per_file = int(file_mb * 1024 * 1024 / BIG_BYTES_PER_ROW)
    total = 0
    for k in range(files):
        rng = np.random.default_rng([seed, k])
        n = rows_per_file
        table = pa.table({
            "id": pa.array(np.arange(total, total + n, dtype=np.int64)),
            "x": pa.array(rng.random(n)),
            "payload": random_strings(rng, n, 80, 120, _LETTERS),
        })
        pq.write_table(table, os.path.join(folder, "part-%05d.parquet" % k),
                       compression="snappy", use_dictionary=["id", "x"],
                       row_group_size=128 * 1024)
        total += n
    return total


def size_mb(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)) / 2**20
    return os.path.getsize(path) / 2**20


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--only", default="lab,orders,big",
                    help="comma-separated subset of lab, orders, big")
    ap.add_argument("--csv-mb", type=float, default=1024, help="size of orders.csv")
    ap.add_argument("--big-files", type=int, default=20)
    ap.add_argument("--big-file-mb", type=float, default=100)
    ap.add_argument("--force", action="store_true", help="regenerate even if present")
    args = ap.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    params_path = os.path.join(args.dir, ".gen-params.json")
    try:
        with open(params_path) as f:
            made = json.load(f)
    except (OSError, ValueError):
        made = {}
    want = {
        "lab": {"rows": LAB_ROWS, "v": 1},
        "orders": {"csv_mb": args.csv_mb, "v": 1},
        "big": {"files": args.big_files, "file_mb": args.big_file_mb, "v": 1},
    }
    targets = {
        "lab": (os.path.join(args.dir, "lab.parquet"), lambda p: gen_lab(p)),
        "orders": (os.path.join(args.dir, "orders.csv"), lambda p: gen_orders(p, args.csv_mb)),
        "big": (os.path.join(args.dir, "big"),
                lambda p: gen_big(p, args.big_files, args.big_file_mb)),
    }
    for name in [s.strip() for s in args.only.split(",") if s.strip()]:
        if name not in targets:
            ap.error("unknown data set %r (lab, orders, big)" % name)
        path, fn = targets[name]
        if not args.force and os.path.exists(path) and made.get(name) == want[name]:
            print("%-8s kept      %s (%.0f MB)" % (name, path, size_mb(path)))
            continue
        t0 = time.perf_counter()
        rows = fn(path)
        made[name] = want[name]
        with open(params_path, "w") as f:
            json.dump(made, f)
        print("%-8s %6.1f s  %s: %d rows, %.0f MB"
              % (name, time.perf_counter() - t0, path, rows, size_mb(path)))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
