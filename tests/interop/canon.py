"""Canonical types and values shared by peer_write.py and peer_read.py.

A table read by any engine is turned into plain JSON: a list of
[name, canonical_type] pairs and a list of rows (one JSON array per row,
values in column order). README.md in this folder describes the format;
this module is the reference implementation of it.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import math

import pyarrow as pa

_EPOCH = _dt.datetime(1970, 1, 1)
_EPOCH_DATE = _dt.date(1970, 1, 1)
_UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Z",
              "+00:00", "+0000", "+00", "GMT", "Etc/GMT"}


# --------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------

def canon_tz(tz: str) -> str:
    return "UTC" if tz in _UTC_NAMES else tz


def canon_type(t: pa.DataType) -> str:
    """The canonical name of an Arrow type (see README.md, "Types").

    It is pyarrow's str(type) where that is short and stable, and drops what
    is a storage detail rather than a logical type: list item field names,
    32- against 64-bit offsets (large_*), views, dictionary index width.
    """
    if isinstance(t, pa.BaseExtensionType):
        if isinstance(t, pa.FixedShapeTensorType):
            name = "fixed_shape_tensor<%s>[%s]" % (
                canon_type(t.value_type), ",".join(str(d) for d in t.shape))
            perm = list(t.permutation or [])
            if perm and perm != list(range(len(perm))):
                name += "{permutation=[%s]}" % ",".join(str(p) for p in perm)
            return name
        return "extension<%s>" % t.extension_name
    if pa.types.is_dictionary(t):
        return "dictionary<%s>" % canon_type(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is(t, "is_string_view"):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or _is(t, "is_binary_view"):
        return "binary"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_timestamp(t):
        if t.tz is None:
            return "timestamp[%s]" % t.unit
        return "timestamp[%s, tz=%s]" % (t.unit, canon_tz(t.tz))
    if pa.types.is_date32(t):
        return "date32"
    if pa.types.is_date64(t):
        return "date64"
    if pa.types.is_decimal(t):
        return "decimal%d(%d, %d)" % (t.bit_width, t.precision, t.scale)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or _is(t, "is_list_view") \
            or _is(t, "is_large_list_view"):
        return "list<%s>" % canon_type(t.value_type)
    if pa.types.is_fixed_size_list(t):
        return "fixed_size_list<%s>[%d]" % (canon_type(t.value_type), t.list_size)
    if pa.types.is_map(t):
        return "map<%s, %s>" % (canon_type(t.key_type), canon_type(t.item_type))
    if pa.types.is_struct(t):
        return "struct<%s>" % ", ".join(
            "%s: %s" % (t.field(i).name, canon_type(t.field(i).type))
            for i in range(t.num_fields))
    # Integers, floats (float, double, halffloat), null, time32/64,
    # duration, fixed_size_binary[n]: pyarrow's own name.
    return str(t)


def _is(t, pred):
    f = getattr(pa.types, pred, None)
    return bool(f and f(t))


def canon_schema(schema: pa.Schema):
    return [[f.name, canon_type(f.type)] for f in schema]


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

def fmt_float(x):
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def fmt_decimal(d):
    if d is None:
        return None
    return format(d, "f")


def fmt_timestamp(v: int, unit: str, tz) -> str:
    """Integer ticks since the epoch -> 'YYYY-MM-DDTHH:MM:SS.ffffff[Z]'.

    Six fraction digits always; nine when a nanosecond value has a
    sub-microsecond part. 'Z' marks a time-zone-aware type (the instant is
    printed in UTC); a naive timestamp has no suffix.
    """
    per = _UNIT_PER_SECOND[unit]
    secs, frac = divmod(v, per)
    base = _EPOCH + _dt.timedelta(seconds=secs)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (
        base.year, base.month, base.day, base.hour, base.minute, base.second)
    if unit == "ns":
        text += ".%06d" % (frac // 1000) if frac % 1000 == 0 else ".%09d" % frac
    else:
        text += ".%06d" % (frac * (1_000_000 // per))
    return text + ("Z" if tz is not None else "")


def canon_value(v, t: pa.DataType):
    """One Python value (as from Array.to_pylist on a plain, non-extension,
    non-timestamp array) -> canonical JSON value."""
    if v is None:
        return None
    if pa.types.is_floating(t):
        return fmt_float(v)
    if pa.types.is_decimal(t):
        return fmt_decimal(v)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or _is(t, "is_binary_view") \
            or pa.types.is_fixed_size_binary(t):
        return base64.b64encode(v).decode("ascii")
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    if isinstance(v, _dt.timedelta):
        return v // _dt.timedelta(microseconds=1)
    if isinstance(v, decimal.Decimal):
        return fmt_decimal(v)
    if isinstance(v, float):
        return fmt_float(v)
    return v


def canon_array(arr) -> list:
    """A pyarrow Array or ChunkedArray -> list of canonical JSON values."""
    if isinstance(arr, pa.ChunkedArray):
        out = []
        for chunk in arr.chunks:
            out.extend(canon_array(chunk))
        return out
    t = arr.type
    n = len(arr)
    valid = arr.is_valid().to_pylist() if arr.null_count else [True] * n
    if isinstance(t, pa.FixedShapeTensorType):
        return _canon_tensor(arr, t, valid)
    if isinstance(t, pa.BaseExtensionType):
        return canon_array(arr.storage)
    if pa.types.is_dictionary(t):
        return canon_array(arr.dictionary_decode())
    if pa.types.is_timestamp(t):
        ticks = arr.cast(pa.int64()).to_pylist()
        return [fmt_timestamp(x, t.unit, t.tz) if x is not None else None for x in ticks]
    if pa.types.is_date32(t):
        days = arr.cast(pa.int32()).to_pylist()
        return [(_EPOCH_DATE + _dt.timedelta(days=d)).isoformat() if d is not None else None
                for d in days]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = arr.offsets.to_pylist()  # already shifted by arr.offset
        lo, hi = offsets[0], offsets[-1]
        child = canon_array(arr.values.slice(lo, hi - lo))
        return [child[offsets[i] - lo:offsets[i + 1] - lo] if valid[i] else None
                for i in range(n)]
    if pa.types.is_fixed_size_list(t):
        size = t.list_size
        child = canon_array(arr.values.slice(arr.offset * size, n * size))
        return [child[i * size:(i + 1) * size] if valid[i] else None for i in range(n)]
    if pa.types.is_struct(t):
        fields = [t.field(i).name for i in range(t.num_fields)]
        cols = [canon_array(c) for c in arr.flatten()]
        return [dict(zip(fields, (c[i] for c in cols))) if valid[i] else None
                for i in range(n)]
    if pa.types.is_map(t):
        return [[[canon_value(k, t.key_type), canon_value(x, t.item_type)] for k, x in v]
                if v is not None else None for v in arr.to_pylist()]
    return [canon_value(v, t) for v in arr.to_pylist()]


def _canon_tensor(arr, t, valid):
    shape = list(t.shape)
    size = 1
    for d in shape:
        size *= d
    storage = arr.storage
    flat = canon_array(storage.values.slice(storage.offset * size, len(arr) * size))

    def nest(vals, dims):
        if len(dims) == 1:
            return vals
        step = len(vals) // dims[0]
        return [nest(vals[k * step:(k + 1) * step], dims[1:]) for k in range(dims[0])]

    return [nest(flat[i * size:(i + 1) * size], shape) if valid[i] else None
            for i in range(len(arr))]


def canon_table(table: pa.Table):
    """pyarrow Table -> (schema, rows) in canonical form."""
    schema = canon_schema(table.schema)
    cols = [canon_array(table.column(i)) for i in range(table.num_columns)]
    rows = [list(r) for r in zip(*cols)] if cols else [[] for _ in range(table.num_rows)]
    return schema, rows


# --------------------------------------------------------------------------
# Comparison (peer_read.py --check)
# --------------------------------------------------------------------------

def _flatten(v):
    if isinstance(v, list):
        out = []
        for x in v:
            out.extend(_flatten(x))
        return out
    return [v]


def _decimals_to_numbers(v):
    if isinstance(v, list):
        return [_decimals_to_numbers(x) for x in v]
    if isinstance(v, str):
        d = decimal.Decimal(v)
        return int(d) if d == d.to_integral_value() else float(d)
    return v


def values_equal(a, b) -> bool:
    """Canonical JSON values: exact, except that numbers compare by value
    (1 == 1.0) and nested lists/objects compare element-wise."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (a == b and type(a) is type(b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return a == b


def compare(expected: dict, got: dict, max_report: int = 10) -> list:
    """Differences between an expected document and a peer_read document,
    as human-readable strings (empty list: they agree).

    expected may carry:
      accept_types: {column: [canonical type, ...]} other types that a
        reader may legitimately report for that column (for example a
        reader that ignores the Arrow schema stored in a Parquet file sees
        dictionary<string> as string);
      key: a column name; rows are sorted by it on both sides first
        (for folders, whose file order a reader may not keep).
    """
    problems = []
    exp_schema = [tuple(x) for x in expected["schema"]]
    got_schema = [tuple(x) for x in got["schema"]]
    accept = expected.get("accept_types", {})
    if [n for n, _ in exp_schema] != [n for n, _ in got_schema]:
        problems.append("columns differ: expected %s, got %s"
                        % ([n for n, _ in exp_schema], [n for n, _ in got_schema]))
        return problems
    flat_cols, num_cols = set(), set()
    for (name, et), (_, gt) in zip(exp_schema, got_schema):
        if et != gt and gt not in accept.get(name, []):
            problems.append("column %r: expected type %s, got %s" % (name, et, gt))
        if et.startswith("fixed_shape_tensor<") and gt.startswith("list<"):
            flat_cols.add(name)  # a reader without the extension: flat values
        if "decimal" in gt and "decimal" not in et:
            num_cols.add(name)  # integers read as decimal(38, 0): compare numbers
    exp_rows = expected["rows"]
    got_rows = got["rows"]
    if len(exp_rows) != len(got_rows):
        problems.append("rows: expected %d, got %d" % (len(exp_rows), len(got_rows)))
        return problems
    key = expected.get("key")
    if key is not None:
        k = [n for n, _ in exp_schema].index(key)
        exp_rows = sorted(exp_rows, key=lambda r: r[k])
        got_rows = sorted(got_rows, key=lambda r: r[k])
    names = [n for n, _ in exp_schema]
    bad = 0
    for i, (er, gr) in enumerate(zip(exp_rows, got_rows)):
        for j, name in enumerate(names):
            ev, gv = er[j], gr[j]
            if name in flat_cols and ev is not None:
                ev = _flatten(ev)
            if name in num_cols:
                gv = _decimals_to_numbers(gv)
            if not values_equal(ev, gv):
                bad += 1
                if bad <= max_report:
                    problems.append("row %d column %r: expected %r, got %r" % (i, name, ev, gv))
    if bad > max_report:
        problems.append("... %d differing values in all" % bad)
    return problems
