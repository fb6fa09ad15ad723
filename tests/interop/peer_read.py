#!/usr/bin/env python3
"""Read files with the peers (pyarrow, DuckDB) and print what they see.

    peer_read.py [--reader pyarrow|duckdb|all] [--check] FILE_OR_DIR [...]

For every path and every reader, one JSON document on one line of stdout:

    {"path": ..., "reader": "pyarrow"|"duckdb", "format": "parquet"|"csv"|"json",
     "schema": [[name, canonical_type], ...], "raw_schema": [[name, engine_type], ...],
     "num_rows": n, "rows": [[v, ...], ...]}

Canonical types and values are described in README.md (canon.py implements
them). Parquet: pyarrow.parquet.read_table and DuckDB read_parquet. CSV:
pyarrow.csv.read_csv and DuckDB read_csv_auto. JSON lines: pyarrow.json and
DuckDB read_json_auto. A folder is read as one dataset (pyarrow.dataset,
DuckDB with a glob); a folder with key=value sub-folders with hive
partitioning on both.

--check compares each document with PATH.expected.json (for a folder:
the folder's path + ".expected.json") and reports differences on stderr.

Exit status: 0 when every read (and check) succeeded, 1 when a read failed
or a check found differences, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import canon  # noqa: E402

FORMATS = {
    ".parquet": "parquet", ".pq": "parquet",
    ".csv": "csv",
    ".json": "json", ".jsonl": "json", ".ndjson": "json",
}


class ReadError(Exception):
    pass


def _visible(name):
    return not (name.startswith(".") or name.startswith("_"))


def data_files(folder):
    """Files of a dataset folder, sorted, skipping hidden/underscore names
    (the same rule as pyarrow.dataset and Spark/Hive)."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if _visible(d))
        for f in sorted(files):
            if _visible(f) and not f.endswith(".expected.json"):
                out.append(os.path.join(root, f))
    return sorted(out)


def detect(path, forced=None):
    """(format, is_dir, is_hive) for a path."""
    if not os.path.exists(path):
        raise ReadError("no such file or directory")
    is_dir = os.path.isdir(path)
    hive = False
    if is_dir:
        files = data_files(path)
        if not files:
            raise ReadError("folder holds no data files")
        exts = {os.path.splitext(f)[1].lower() for f in files}
        hive = any("=" in part for f in files
                   for part in os.path.relpath(f, path).split(os.sep)[:-1])
    else:
        exts = {os.path.splitext(path)[1].lower()}
    if forced:
        return forced, is_dir, hive
    fmts = {FORMATS.get(e) for e in exts}
    if len(fmts) != 1 or None in fmts:
        raise ReadError("cannot tell the format from the file names %s (use --format)"
                        % sorted(exts))
    return fmts.pop(), is_dir, hive


# ---------------------------------------------------------------- pyarrow

def pyarrow_csv_options():
    import pyarrow.csv as pcsv
    # Empty unquoted field = null (also in string columns); a quoted empty
    # field ("") = the empty string. Only "" is null: "nan", "NA", "null"
    # stay values (so a NaN double written as nan reads back as NaN).
    return (pcsv.ParseOptions(newlines_in_values=True),
            pcsv.ConvertOptions(null_values=[""], strings_can_be_null=True,
                                quoted_strings_can_be_null=False))


def read_pyarrow(path, fmt, is_dir, hive):
    import pyarrow.dataset as ds
    if is_dir:
        if fmt == "csv":
            parse, convert = pyarrow_csv_options()
            file_format = ds.CsvFileFormat(parse_options=parse, convert_options=convert)
        elif fmt == "json":
            file_format = ds.JsonFileFormat()
        else:
            file_format = ds.ParquetFileFormat()
        dataset = ds.dataset(path, format=file_format,
                             partitioning="hive" if hive else None,
                             exclude_invalid_files=False)
        return dataset.to_table()
    if fmt == "parquet":
        import pyarrow.parquet as pq
        return pq.read_table(path)
    if fmt == "csv":
        import pyarrow.csv as pcsv
        parse, convert = pyarrow_csv_options()
        return pcsv.read_csv(path, parse_options=parse, convert_options=convert)
    import pyarrow.json as pjson
    return pjson.read_json(path)


# ----------------------------------------------------------------- DuckDB

def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def duckdb_source(path, fmt, is_dir, hive):
    # A folder: the same files pyarrow.dataset takes (sorted, no hidden or
    # underscore names), as a list.
    if is_dir:
        src = "[%s]" % ", ".join(sql_str(f) for f in data_files(path))
    else:
        src = sql_str(path)
    hp = str(hive).lower()
    if fmt == "parquet":
        return "read_parquet(%s, hive_partitioning=%s)" % (src, hp)
    if fmt == "csv":
        # RFC 4180 dialect given, not sniffed: DuckDB sniffs the first file
        # only and, if it has no quotes, would keep quotes of later files.
        return ("read_csv_auto(%s, header=true, delim=',', quote='\"', escape='\"', "
                "allow_quoted_nulls=false, hive_partitioning=%s)" % (src, hp))
    return "read_json_auto(%s, format='newline_delimited', hive_partitioning=%s)" % (src, hp)


def read_duckdb(path, fmt, is_dir, hive):
    import duckdb
    con = duckdb.connect()
    try:
        # TIMESTAMPTZ values leave DuckDB in the session zone; make it UTC.
        con.execute("SET TimeZone='UTC'")
        rel = con.sql("SELECT * FROM " + duckdb_source(path, fmt, is_dir, hive))
        raw = [[n, str(t)] for n, t in zip(rel.columns, rel.types)]
        table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") \
            else rel.fetch_arrow_table()
        return table, raw
    finally:
        con.close()


# ------------------------------------------------------------------- main

def read_one(path, reader, forced_fmt=None):
    fmt, is_dir, hive = detect(path, forced_fmt)
    try:
        if reader == "pyarrow":
            table = read_pyarrow(path, fmt, is_dir, hive)
            raw = [[f.name, str(f.type)] for f in table.schema]
        else:
            table, raw = read_duckdb(path, fmt, is_dir, hive)
    except Exception as e:  # noqa: BLE001 - any engine error is a read failure
        raise ReadError("%s: %s" % (type(e).__name__, str(e).strip())) from e
    schema, rows = canon.canon_table(table)
    return {"path": path, "reader": reader, "format": fmt, "schema": schema,
            "raw_schema": raw, "num_rows": table.num_rows, "rows": rows}


def expected_path(path):
    return path.rstrip("/" + os.sep) + ".expected.json"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    ap.add_argument("--reader", choices=["pyarrow", "duckdb", "all"], default="all")
    ap.add_argument("--format", choices=["parquet", "csv", "json"],
                    help="force the format instead of guessing from file names")
    ap.add_argument("--check", action="store_true",
                    help="compare with PATH.expected.json; differences go to stderr")
    ap.add_argument("--max-rows", type=int, default=None,
                    help="print at most this many rows per document (num_rows stays exact)")
    ap.add_argument("--pretty", action="store_true", help="indent the JSON (not one line)")
    args = ap.parse_args(argv)

    readers = ["pyarrow", "duckdb"] if args.reader == "all" else [args.reader]
    failed = False
    for path in args.paths:
        expected = None
        if args.check:
            ep = expected_path(path)
            try:
                with open(ep) as f:
                    expected = json.load(f)
            except OSError as e:
                print("peer_read: %s: cannot open %s: %s" % (path, ep, e.strerror),
                      file=sys.stderr)
                failed = True
                continue
        for reader in readers:
            try:
                doc = read_one(path, reader, args.format)
            except ReadError as e:
                print("peer_read: %s could not read %s: %s" % (reader, path, e),
                      file=sys.stderr)
                failed = True
                continue
            if expected is not None:
                problems = canon.compare(expected, doc)
                doc["check"] = "ok" if not problems else problems
                if problems:
                    failed = True
                    print("peer_read: MISMATCH %s (%s):" % (path, reader), file=sys.stderr)
                    for p in problems:
                        print("  " + p, file=sys.stderr)
                else:
                    print("peer_read: ok %s (%s)" % (path, reader), file=sys.stderr)
            if args.max_rows is not None:
                doc["rows"] = doc["rows"][:args.max_rows]
            sys.stdout.write(json.dumps(doc, ensure_ascii=False,
                                        indent=2 if args.pretty else None) + "\n")
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
