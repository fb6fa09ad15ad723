"""Self-test of the interop scripts: the peers read back what the peers
wrote, and agree with the .expected.json files (needs the venv:
pyarrow, pandas, DuckDB)."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)


def test_write_then_verify(tmp_path):
    r = run(os.path.join(HERE, "peer_write.py"), str(tmp_path), "--verify")
    assert r.returncode == 0, r.stdout + r.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    paths = {e["path"] for e in manifest["fixtures"]}
    assert {"pyarrow/types.parquet", "duckdb/types.parquet", "pyarrow/types.csv",
            "duckdb/types.csv", "pandas/types.jsonl", "pyarrow/tensor.parquet",
            "hive", "multi"} <= paths
    for e in manifest["fixtures"]:
        assert (tmp_path / e["expected"]).exists()
    assert (tmp_path / "hive" / "year=2024" / "part-0.parquet").exists()
    assert (tmp_path / "hive" / "year=2025" / "part-0.parquet").exists()

    r = run(os.path.join(HERE, "peer_read.py"), str(tmp_path / "pyarrow" / "types.parquet"))
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["reader"] for d in docs] == ["pyarrow", "duckdb"]
    assert all(d["num_rows"] == 1000 for d in docs)


def test_detects_differences(tmp_path):
    r = run(os.path.join(HERE, "peer_write.py"), str(tmp_path), "--rows", "50")
    assert r.returncode == 0, r.stderr
    exp_path = tmp_path / "pyarrow" / "types.parquet.expected.json"
    exp = json.loads(exp_path.read_text())
    exp["rows"][5][2] = 1.0  # was NaN
    exp_path.write_text(json.dumps(exp))
    r = run(os.path.join(HERE, "peer_read.py"), "--check", "--reader", "pyarrow",
            str(tmp_path / "pyarrow" / "types.parquet"))
    assert r.returncode == 1
    assert "row 5 column 'f64'" in r.stderr


def test_read_failure(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    r = run(os.path.join(HERE, "peer_read.py"), str(bad))
    assert r.returncode == 1
    assert "could not read" in r.stderr
    assert r.stdout == ""
