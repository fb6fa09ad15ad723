#!/usr/bin/env python3
"""Write the interop fixtures with the peers (pyarrow, pandas, DuckDB).

    peer_write.py OUTDIR [--rows N] [--seed S] [--verify]

Every data file (or dataset folder) X gets X.expected.json beside it, and
OUTDIR/manifest.json lists them all. README.md describes the layout, the
canonical types and the value encoding. The data are generated from a fixed
seed, so two runs write the same values.

--verify reads every fixture back with pyarrow and DuckDB (peer_read.py
--check) and exits non-zero on any difference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pcsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import canon  # noqa: E402

SEED = 20240917
ROWS = 1000
PARQUET_ROW_GROUP = 128          # pyarrow: rows per row group
DUCKDB_ROW_GROUP_BYTES = 16_000  # DuckDB groups rows by bytes (threads=1)
PRIORITIES = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
SPECIAL_STRINGS = ["", "a,b", 'say "hi"', "line\nbreak", "tab\there", "é日本😀",
                   "  padded  ", "NULL", "NaN", "'single'", "back\\slash"]
PARQUET_ONLY = ["ints", "point", "blob"]

_US_PER_DAY = 86_400_000_000


def _mask(rng, n, rate, keep=()):
    m = rng.random(n) < rate
    for k in keep:
        if k < n:
            m[k] = False
    return m


def _rand_strings(rng, n, lo, hi):
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_"))
    lens = rng.integers(lo, hi + 1, n)
    chars = rng.choice(alphabet, int(lens.sum()))
    out, pos = [], 0
    for ln in lens:
        out.append("".join(chars[pos:pos + ln]))
        pos += ln
    # A letter first, so no value reads as a number or a bool in a CSV.
    return ["s" + s for s in out]


def build_types(n, seed):
    """The main table: every scalar type the fixtures cover, plus the
    nested and binary columns that only Parquet carries."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n, dtype=np.int64)

    i64 = rng.integers(-10**12, 10**12, n, dtype=np.int64)
    i64_special = {1: -2**63, 2: 2**63 - 1, 3: 0, 4: -1}
    for k, v in i64_special.items():
        i64[k % n] = v
    i64_null = _mask(rng, n, 0.1, keep=i64_special)

    f64 = np.round(rng.uniform(-1e6, 1e6, n), 4)
    f64_special = {5: float("nan"), 6: float("inf"), 7: float("-inf"), 8: 0.0}
    for k, v in f64_special.items():
        f64[k % n] = v
    f64_null = _mask(rng, n, 0.1, keep=f64_special)

    # Full-precision doubles (CSV writers must print them round-trip).
    f64_full = rng.standard_normal(n) * 10.0 ** rng.integers(-20, 20, n)
    for k, v in {9: 5e-324, 10: 1.7976931348623157e308,
                 11: -2.2250738585072014e-308, 12: 0.1}.items():
        f64_full[k % n] = v

    strs = _rand_strings(rng, n, 1, 24)
    for j, s in enumerate(SPECIAL_STRINGS):
        strs[(20 + j) % n] = s
    str_null = _mask(rng, n, 0.1, keep=range(20, 20 + len(SPECIAL_STRINGS)))
    str_vals = [None if m else s for s, m in zip(strs, str_null)]

    dict_idx = rng.integers(0, len(PRIORITIES), n).astype(np.int32)
    dict_arr = pa.DictionaryArray.from_arrays(
        pa.array(dict_idx, pa.int32(), mask=_mask(rng, n, 0.1)), pa.array(PRIORITIES))

    flag = rng.random(n) < 0.5
    flag_null = _mask(rng, n, 0.1)

    lo_us = (dt.datetime(1960, 1, 1) - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
    hi_us = (dt.datetime(2040, 1, 1) - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
    ts = rng.integers(lo_us, hi_us, n, dtype=np.int64)
    ts_special = {13: 0, 14: -1, 15: 1_700_000_000_000_000}  # epoch, just before, whole second
    for k, v in ts_special.items():
        ts[k % n] = v
    ts_null = _mask(rng, n, 0.1, keep=ts_special)
    ts_utc = rng.integers(lo_us, hi_us, n, dtype=np.int64)
    ts_utc[13 % n] = 0
    ts_utc_null = _mask(rng, n, 0.1, keep=(13,))

    day = rng.integers(-25567, 47482, n).astype(np.int32)  # 1900-01-01 .. 2099-12-31
    day_null = _mask(rng, n, 0.1)

    cents = rng.integers(-(10**12 - 1), 10**12, n, dtype=np.int64)
    for k, v in {16: 10**12 - 1, 17: -50, 18: 0}.items():
        cents[k % n] = v
    amount_null = _mask(rng, n, 0.1, keep=(16, 17, 18))
    amounts = [None if m else decimal.Decimal(int(c)).scaleb(-2)
               for c, m in zip(cents, amount_null)]

    # list<int64>: lengths 0..5, null lists, null elements.
    lens = rng.integers(0, 6, n)
    elems = rng.integers(-1000, 1000, int(lens.sum()))
    elem_null = _mask(rng, len(elems), 0.05)
    list_null = _mask(rng, n, 0.1, keep=(30, 31))
    ints, pos = [], 0
    for i, ln in enumerate(lens):
        vals = [None if elem_null[pos + k] else int(elems[pos + k]) for k in range(ln)]
        pos += ln
        ints.append(None if list_null[i] else vals)
    ints[30 % n] = []
    ints[31 % n] = [None]

    px = np.round(rng.uniform(-100, 100, n), 3)
    px_null = _mask(rng, n, 0.05)
    labels = _rand_strings(rng, n, 0, 8)
    label_null = _mask(rng, n, 0.05)
    point_null = _mask(rng, n, 0.1)
    points = [None if point_null[i] else
              {"x": None if px_null[i] else float(px[i]),
               "label": None if label_null[i] else labels[i]} for i in range(n)]

    blob_lens = rng.integers(0, 17, n)
    blob_null = _mask(rng, n, 0.1, keep=(32,))
    blobs = [None if blob_null[i] else rng.bytes(int(blob_lens[i])) for i in range(n)]
    blobs[32 % n] = b""

    return pa.table({
        "id": pa.array(idx),
        "i64": pa.array(i64, pa.int64(), mask=i64_null),
        "f64": pa.array(f64, pa.float64(), mask=f64_null),
        "f64_full": pa.array(f64_full, pa.float64()),
        "str": pa.array(str_vals, pa.string()),
        "dict": dict_arr,
        "flag": pa.array(flag, pa.bool_(), mask=flag_null),
        "ts": pa.array(ts, pa.int64(), mask=ts_null).cast(pa.timestamp("us")),
        "ts_utc": pa.array(ts_utc, pa.int64(), mask=ts_utc_null).cast(
            pa.timestamp("us", tz="UTC")),
        "day": pa.array(day, pa.int32(), mask=day_null).cast(pa.date32()),
        "amount": pa.array(amounts, pa.decimal128(12, 2)),
        "ints": pa.array(ints, pa.list_(pa.int64())),
        "point": pa.array(points, pa.struct([("x", pa.float64()), ("label", pa.string())])),
        "blob": pa.array(blobs, pa.binary()),
    })


def csv_source(types):
    """What a CSV file can hold: the scalar columns, dictionary as string."""
    t = types.drop_columns(PARQUET_ONLY)
    return t.set_column(t.schema.get_field_index("dict"), "dict",
                        t.column("dict").cast(pa.string()))


def csv_expected(types):
    """A CSV has no types: readers infer them. Both peers infer these; the
    decimal column comes back as double (the nearest double to the text)."""
    t = csv_source(types)
    amount = pa.array([None if d is None else float(d)
                       for d in t.column("amount").to_pylist()], pa.float64())
    return t.set_column(t.schema.get_field_index("amount"), "amount", amount)


CSV_ACCEPT = {
    # pyarrow.csv infers nanoseconds for timestamps with a fraction.
    "ts": ["timestamp[ns]"],
    "ts_utc": ["timestamp[ns, tz=UTC]"],
}


def json_source(types):
    """The JSON-lines table, as pandas writes it and readers infer it back:
    JSON has no NaN/Infinity (pandas writes null), no timestamps or dates
    (ts becomes an ISO string; dates are left out, since pyarrow reads
    "YYYY-MM-DD" as timestamp[s] and DuckDB as DATE), no decimals and no
    bytes (left out)."""
    f64 = [None if (v is None or v != v or v in (float("inf"), float("-inf"))) else v
           for v in types.column("f64").to_pylist()]
    # DuckDB's JSON reader takes -2**63 for a HUGEINT: use 2**53 + 1 (exact
    # as an integer, not as a double) for the extremes instead.
    big = {-2**63: -(2**53 + 1), 2**63 - 1: 2**53 + 1}
    i64 = [big.get(v, v) for v in types.column("i64").to_pylist()]
    ts = canon.canon_array(types.column("ts"))
    return pa.table({
        "id": types.column("id"),
        "i64": pa.array(i64, pa.int64()),
        "f64": pa.array(f64, pa.float64()),
        "str": types.column("str"),
        "dict": types.column("dict").cast(pa.string()),
        "flag": types.column("flag"),
        "ts": pa.array(ts, pa.string()),
        "ints": types.column("ints"),
        "point": types.column("point"),
    })


def write_jsonl_pandas(table, path, types):
    import pandas as pd
    ts = types.column("ts").to_pandas()  # datetime64[us]; pandas formats it
    df = pd.DataFrame({
        "id": table.column("id").to_pandas(),
        "i64": pd.array(table.column("i64").to_pylist(), dtype="Int64"),
        "f64": table.column("f64").to_pandas(),  # null -> NaN -> JSON null
        "str": pd.Series(table.column("str").to_pylist(), dtype=object),
        "dict": pd.Series(table.column("dict").to_pylist(), dtype=object),
        "flag": pd.array(table.column("flag").to_pylist(), dtype="boolean"),
        "ts": ts,
        "ints": pd.Series(table.column("ints").to_pylist(), dtype=object),
        "point": pd.Series(table.column("point").to_pylist(), dtype=object),
    })
    df.to_json(path, orient="records", lines=True, date_format="iso", date_unit="us",
               double_precision=10, force_ascii=False)


def build_tensor(seed, n=64):
    rng = np.random.default_rng(seed + 1)
    images = rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8)
    return pa.table({"id": pa.array(np.arange(n, dtype=np.int64)),
                     "img": pa.FixedShapeTensorArray.from_numpy_ndarray(images)})


def build_parts(seed, n):
    rng = np.random.default_rng(seed + 2)
    return pa.table({
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "value": pa.array(np.round(rng.uniform(0, 1000, n), 3), mask=_mask(rng, n, 0.1)),
        "name": pa.array(_rand_strings(rng, n, 3, 12)),
    })


# --------------------------------------------------------------- writing

class Writer:
    def __init__(self, outdir):
        self.outdir = outdir
        self.manifest = []

    def path(self, rel):
        p = os.path.join(self.outdir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def expect(self, rel, table, writer, fmt, accept=None, key="id", **extra):
        schema, rows = canon.canon_table(table)
        doc = {"path": rel, "writer": writer, "format": fmt, "schema": schema,
               "num_rows": table.num_rows, "key": key,
               "accept_types": accept or {}}
        doc.update(extra)
        doc["rows"] = rows
        with open(os.path.join(self.outdir, rel.rstrip("/") + ".expected.json"), "w") as f:
            json.dump(doc, f, ensure_ascii=False)
            f.write("\n")
        entry = {k: v for k, v in doc.items() if k != "rows"}
        entry["expected"] = rel.rstrip("/") + ".expected.json"
        self.manifest.append(entry)

    def finish(self):
        with open(os.path.join(self.outdir, "manifest.json"), "w") as f:
            json.dump({"seed": SEED, "fixtures": self.manifest}, f, indent=1,
                      ensure_ascii=False)
            f.write("\n")


def row_groups(path):
    return pq.ParquetFile(path).metadata.num_row_groups


def write_all(outdir, n, seed):
    import duckdb

    w = Writer(outdir)
    types = build_types(n, seed)
    csv_src = csv_source(types)
    csv_exp = csv_expected(types)

    # ---- pyarrow
    p = w.path("pyarrow/types.parquet")
    pq.write_table(types, p, row_group_size=PARQUET_ROW_GROUP, compression="snappy")
    w.expect("pyarrow/types.parquet", types, "pyarrow", "parquet",
             # Readers that ignore the Arrow schema stored in the file
             # (DuckDB) see the dictionary column as plain strings.
             accept={"dict": ["string"]}, row_groups=row_groups(p))

    p = w.path("pyarrow/types.csv")
    pcsv.write_csv(csv_src, p)
    w.expect("pyarrow/types.csv", csv_exp, "pyarrow", "csv", accept=CSV_ACCEPT)

    jtable = json_source(types)
    p = w.path("pandas/types.jsonl")
    write_jsonl_pandas(jtable, p, types)
    # DuckDB's JSON reader types an integer column holding both signs as
    # HUGEINT (Arrow decimal128(38, 0)); the values are the same numbers.
    w.expect("pandas/types.jsonl", jtable, "pandas", "json",
             accept={"i64": ["decimal128(38, 0)"], "ints": ["list<decimal128(38, 0)>"]})

    tensor = build_tensor(seed)
    p = w.path("pyarrow/tensor.parquet")
    pq.write_table(tensor, p, row_group_size=16)
    w.expect("pyarrow/tensor.parquet", tensor, "pyarrow", "parquet",
             accept={"img": ["list<uint8>"]}, row_groups=row_groups(p))

    # hive/year=2024/part-0.parquet, hive/year=2025/part-0.parquet
    parts = build_parts(seed, 500)
    years = [2024] * 300 + [2025] * 200
    for year, lo, hi in [(2024, 0, 300), (2025, 300, 500)]:
        pq.write_table(parts.slice(lo, hi - lo),
                       w.path("hive/year=%d/part-0.parquet" % year), row_group_size=100)
    hive_table = parts.append_column("year", pa.array(years, pa.int32()))
    hive_accept = {"year": ["int64"]}  # pyarrow infers int32, DuckDB BIGINT
    w.expect("hive", hive_table, "pyarrow", "parquet", accept=hive_accept,
             partitioning="hive")

    # multi/part-0000k.parquet: one schema, several files
    multi = build_parts(seed + 10, 1000)
    for k in range(4):
        pq.write_table(multi.slice(k * 250, 250),
                       w.path("multi/part-%05d.parquet" % k), row_group_size=100)
    w.expect("multi", multi, "pyarrow", "parquet")

    # ---- DuckDB: COPY ... TO from the same Arrow tables
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("SET threads=1")  # deterministic files and row groups
    con.register("types_src", types)
    con.register("hive_src", hive_table)

    p = w.path("duckdb/types.parquet")
    con.execute("COPY (SELECT * FROM types_src ORDER BY id) TO '%s' "
                "(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE_BYTES %d)"
                % (p, DUCKDB_ROW_GROUP_BYTES))
    # DuckDB has no dictionary type: the column is a plain string column.
    dk_types = types.set_column(types.schema.get_field_index("dict"), "dict",
                                types.column("dict").cast(pa.string()))
    w.expect("duckdb/types.parquet", dk_types, "duckdb", "parquet", row_groups=row_groups(p))

    p = w.path("duckdb/types.csv")
    con.execute("COPY (SELECT * EXCLUDE (%s) FROM types_src ORDER BY id) TO '%s' "
                "(FORMAT csv, HEADER)" % (", ".join(PARQUET_ONLY), p))
    w.expect("duckdb/types.csv", csv_exp, "duckdb", "csv", accept=CSV_ACCEPT)

    # duckdb_hive/year=2024/data_0.parquet, ... (partition column not in the files)
    p = os.path.join(outdir, "duckdb_hive")
    con.execute("COPY (SELECT * FROM hive_src ORDER BY id) TO '%s' "
                "(FORMAT parquet, PARTITION_BY (year), OVERWRITE_OR_IGNORE)" % p)
    w.expect("duckdb_hive", hive_table, "duckdb", "parquet", accept=hive_accept,
             partitioning="hive")
    con.close()

    w.finish()
    return w.manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--rows", type=int, default=ROWS)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--verify", action="store_true",
                    help="read everything back with pyarrow and DuckDB and compare")
    args = ap.parse_args(argv)
    if args.rows < 40:
        ap.error("--rows must be at least 40 (the special values sit in rows 0..39)")

    outdir = os.path.abspath(args.outdir)
    for sub in ("pyarrow", "pandas", "duckdb", "hive", "duckdb_hive", "multi"):
        shutil.rmtree(os.path.join(outdir, sub), ignore_errors=True)
    os.makedirs(outdir, exist_ok=True)
    manifest = write_all(outdir, args.rows, args.seed)
    for e in manifest:
        print("wrote %-24s %-8s %-7s %5d rows%s" % (
            e["path"], e["writer"], e["format"], e["num_rows"],
            ", %d row groups" % e["row_groups"] if "row_groups" in e else ""))

    if args.verify:
        import contextlib
        import io
        import peer_read
        paths = [os.path.join(outdir, e["path"]) for e in manifest]
        with contextlib.redirect_stdout(io.StringIO()):
            rc = peer_read.main(["--check"] + paths)
        if rc != 0:
            print("peer_write: verification FAILED", file=sys.stderr)
            return rc
        print("verified: %d fixtures x 2 readers agree with their .expected.json"
              % len(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
