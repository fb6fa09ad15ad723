"""Notebooks executed headlessly with nbclient, as `jupyter nbconvert
--execute` or papermill would run them, on the goray kernel.

The committed notebook is read, executed in memory and never written back.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from kernel_helpers import KERNEL_NAME, alive, descendants, strip_html, wait_until

REPO = Path(__file__).resolve().parents[2]
VHOL = REPO / "notebooks" / "VHOL.ipynb"
CELL_TIMEOUT = 600  # seconds per cell: the first cell may compile the goray packages

KERNELSPEC_METADATA = {"display_name": "Go (goray)", "language": "go", "name": KERNEL_NAME}


def run_notebook(nb: nbformat.NotebookNode, cwd: Path, kernel_name: str, log: Path) -> nbformat.NotebookNode:
    """Execute nb in a fresh kernel started in cwd; errors are recorded as
    outputs rather than raised, so that a test can report all of them.
    Whatever the kernel started is killed afterwards if it outlived it."""
    seen: dict[int, psutil.Process] = {}
    client: NotebookClient | None = None

    def remember(**_: object) -> None:
        if client is not None and client.km is not None and client.km.has_kernel:
            for p in descendants(client.km.provisioner.process.pid):
                seen.setdefault(p.pid, p)

    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": str(cwd)}},
        on_cell_executed=remember,
    )
    with open(log, "wb") as kernel_log:
        try:
            # Extra keywords reach the kernel's Popen: GoNB's log goes to a file.
            client.execute(stderr=kernel_log, stdout=kernel_log)
        finally:
            wait_until(lambda: not any(alive(p) for p in seen.values()), timeout=5)
            for p in seen.values():
                if alive(p):
                    p.kill()
    return nb


def _text(v: object) -> str:
    return "".join(v) if isinstance(v, list) else str(v or "")


def error_report(nb: nbformat.NotebookNode) -> list[str]:
    """One entry per error output: which cell, its first lines, the error,
    and GoNB's HTML error display for that cell (where compile errors and
    their cell line numbers are)."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if not errors:
            continue
        details = [strip_html(_text(o.data["text/html"])).strip()
                   for o in cell.outputs
                   if o.output_type == "display_data" and "gonb-err" in _text(o.data.get("text/html"))]
        stderr = [_text(o.text) for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        head = " | ".join(cell.source.splitlines()[:3])
        for e in errors:
            found.append("\n".join([f"cell {i} [{head}]: {e.ename}: {e.evalue}",
                                    *e.traceback, *stderr, *details]))
    return found


def html_tables(nb: nbformat.NotebookNode) -> int:
    count = 0
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            html = _text(o.get("data", {}).get("text/html"))
            count += len(re.findall(r"<table\b", html, flags=re.I))
    return count


def stdout_of(cell: nbformat.NotebookNode) -> str:
    return "".join(_text(o.text) for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_small_notebook(tmp_path: Path) -> None:
    """A notebook exercising each kind of cell VHOL uses runs cleanly:
    declarations, `%%` main cells with ray and no imports, shell lines,
    and HTML tables; and it runs in the folder it was given."""
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC_METADATA})
    nb.cells = [
        new_markdown_cell("# smoke"),
        new_code_cell("!pwd"),
        new_code_cell("func double(x int) int { return 2 * x }"),
        new_code_cell("%%\nv, err := ray.Remote1(double).Remote(21).Get()\nfmt.Println(v, err)"),
        # gonbui.Sync(): see GorayKernelTests.code_display_data.
        new_code_cell('%%\ngonbui.DisplayHTML("<table><tr><th>n</th></tr><tr><td>42</td></tr></table>")\n'
                      "gonbui.Sync()"),
    ]
    path = tmp_path / "small.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()

    run_notebook(nb, cwd=tmp_path, kernel_name=KERNEL_NAME, log=tmp_path / "kernel.log")

    assert not error_report(nb), "\n\n".join(error_report(nb))
    assert os.path.realpath(stdout_of(nb.cells[1]).strip()) == os.path.realpath(tmp_path)
    assert stdout_of(nb.cells[3]).strip() == "42 <nil>"
    assert html_tables(nb) == 1
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    assert path.read_bytes() == before


def test_failing_notebook_is_reported(tmp_path: Path) -> None:
    """The checks above would catch a failure: a panicking cell becomes an
    error output whose report carries the panic message."""
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC_METADATA})
    nb.cells = [new_code_cell('%%\npanic("planned failure")'), new_code_cell('%%\nfmt.Println("after")')]
    run_notebook(nb, cwd=tmp_path, kernel_name=KERNEL_NAME, log=tmp_path / "kernel.log")
    report = error_report(nb)
    assert len(report) == 1 and "panic: planned failure" in report[0], report
    assert stdout_of(nb.cells[1]).strip() == "after"  # GoNB keeps going after an error


@pytest.mark.skipif(not VHOL.exists(), reason="notebooks/VHOL.ipynb is not in the tree yet")
def test_vhol_notebook(tmp_path: Path) -> None:
    """The lab notebook runs top to bottom with no error output and shows
    at least one HTML table, run from notebooks/ as JupyterLab would."""
    before = VHOL.read_bytes()
    nb = nbformat.read(VHOL, as_version=4)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name")
    assert kernel_name == KERNEL_NAME, f"VHOL.ipynb names kernelspec {kernel_name!r}"

    run_notebook(nb, cwd=VHOL.parent, kernel_name=kernel_name, log=tmp_path / "kernel.log")

    report = error_report(nb)
    assert not report, f"{len(report)} error output(s):\n\n" + "\n\n".join(report)
    unexecuted = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.execution_count]
    assert not unexecuted, f"cells never executed: {unexecuted}"
    assert html_tables(nb) >= 1, "no cell output holds an HTML <table>"
    assert VHOL.read_bytes() == before, "VHOL.ipynb changed on disk"
