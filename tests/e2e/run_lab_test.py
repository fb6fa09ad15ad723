#!/usr/bin/env python3
"""Run a notebook in a real JupyterLab, driven by headless Chromium.

This is the end-to-end check behind `make e2e-test`: it starts JupyterLab
on 127.0.0.1 (random free port, random token) over a throw-away copy of
notebooks/, runs lab.mjs (playwright-core) against it, and always stops the
server and every process it started, pass or fail.

Why a copy: JupyterLab writes to the notebooks it serves (autosave, a
"Save" by mistake); working on a copy means the committed .ipynb can never
change. Autosave is switched off as well, and the committed file's hash is
compared before and after as a last guard.

Run with the project venv's python (jupyterlab and psutil come from
requirements.txt); JUPYTER_PATH must let Jupyter find the goray kernelspec
(`make e2e-test` sets it). Exit status: lab.mjs's, or 2 for a setup error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# What JupyterLab serves must be real files under its root (it refuses
# symlinks that lead outside), so the notebooks and the diagrams they show
# are copied; the kernel reads the rest (../data, ../code) through links.
COPIED = ("notebooks", "assets")

# Top-level entries that are neither copied nor linked: out/ is where
# notebooks write (../out), so the run gets a fresh one; the rest is tooling.
NOT_LINKED = {".git", ".venv", "tests", "node_modules", "out", *COPIED}

# JupyterLab settings for a quiet, deterministic run: no autosave (the
# notebook must not be written), every cell rendered in the DOM (no
# windowing, so all outputs can be checked and photographed) and no news
# or update prompts over the page.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {
        "autosave": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def log(msg: str) -> None:
    print(f"[run_lab_test] {msg}", flush=True)


def free_port() -> int:
    """A port that was free a moment ago (JupyterLab gets port_retries=0,
    so a lost race fails loudly rather than serving elsewhere)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def make_root(tmp: Path, notebooks: Path) -> Path:
    """A stand-in for the repository as `make lab` serves it: notebooks/
    and assets/ copied, the other top-level entries linked, so paths such
    as ../data/x.csv resolve as they do in the repository."""
    root = tmp / "root"
    root.mkdir()
    ignore = shutil.ignore_patterns(".ipynb_checkpoints")
    shutil.copytree(notebooks, root / "notebooks", ignore=ignore)
    shutil.copytree(REPO / "assets", root / "assets", ignore=ignore)
    for entry in REPO.iterdir():
        if entry.name not in NOT_LINKED:
            (root / entry.name).symlink_to(entry)
    return root


# Server side of the same: no news feed, no update check, no extension
# manager talking to PyPI (the run must not need the network).
LAB_CONFIG = {
    "LabApp": {
        "news_url": None,
        "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "extension_manager": "readonly",
        "expose_app_in_browser": True,
    },
}


def write_settings(settings_dir: Path, config_dir: Path) -> None:
    for rel, body in LAB_SETTINGS.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=2))
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_lab_config.json").write_text(json.dumps(LAB_CONFIG, indent=2))


def get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (localhost only)
        return json.load(r)


def wait_for_server(proc: subprocess.Popen, base: str, token: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early with status {proc.returncode}")
        try:
            get_json(f"{base}/api/status?token={token}", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            last = e
        time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer on {base} within {timeout:.0f} s ({last})")


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_server(proc: subprocess.Popen, base: str, token: str, seen: dict[int, psutil.Process]) -> list[str]:
    """Stop JupyterLab the polite way (its shutdown API shuts kernels down
    gracefully), then signals, then kill whatever it started that is still
    alive, including processes that left its process group (GoNB starts
    gopls with its own group). Returns what had to be killed by hand."""
    for p in descendants(proc.pid):
        seen.setdefault(p.pid, p)
    if proc.poll() is None:
        try:
            req = urllib.request.Request(
                f"{base}/api/shutdown", method="POST",
                headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=10).close()  # noqa: S310
        except (urllib.error.URLError, OSError):
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
    # Give kernels a moment to finish their own shutdown before judging.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in seen.values()):
        time.sleep(0.2)
    killed = []
    for p in seen.values():
        if alive(p):
            try:
                killed.append(" ".join(p.cmdline()) or p.name())
                p.kill()
            except psutil.Error:
                pass
    return killed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebook", default=os.environ.get("LAB_NOTEBOOK", "VHOL.ipynb"),
                    help="notebook path inside notebooks/ (default VHOL.ipynb)")
    ap.add_argument("--notebooks-dir", default=str(REPO / "notebooks"),
                    help="folder copied as JupyterLab's root (default: the repo's notebooks/)")
    ap.add_argument("--screenshot", default=os.environ.get("LAB_SCREENSHOT", str(HERE / "out" / "lab.png")))
    ap.add_argument("--timeout", type=float, default=600, help="seconds for the whole notebook run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, copy)")
    args = ap.parse_args()

    notebooks = Path(args.notebooks_dir).resolve()
    committed = notebooks / args.notebook
    if not committed.is_file():
        log(f"{committed} does not exist")
        return 2
    if shutil.which("node") is None:
        log("node is not on PATH")
        return 2
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        log("tests/e2e/node_modules is missing: run `npm ci` in tests/e2e (make node-deps)")
        return 2
    before = sha256(committed)

    tmp = Path(tempfile.mkdtemp(prefix="goray-e2e-"))
    lab_log = tmp / "jupyterlab.log"
    proc = None
    seen: dict[int, psutil.Process] = {}
    status = 2
    port, token = free_port(), secrets.token_hex(24)
    base = f"http://127.0.0.1:{port}"
    try:
        root = make_root(tmp, notebooks)
        settings = tmp / "lab-settings"
        write_settings(settings, tmp / "config")
        env = dict(os.environ)
        # Private config and runtime folders: no user config leaks in,
        # and nothing is written to ~/.jupyter.
        env["JUPYTER_CONFIG_DIR"] = str(tmp / "config")
        env["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
        env.pop("JUPYTER_TOKEN", None)
        # The copied root has no .venv (it is not linked, see NOT_LINKED):
        # name the repository's, where the notebook's Step 4 finds its
        # model and the XLA CPU plugin, as `make lab` does by its location.
        if (REPO / ".venv").is_dir():
            env["VIRTUAL_ENV"] = str(REPO / ".venv")
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")  # containers and CI images often run as root
        log(f"starting JupyterLab on {base} over a copy in {root}")
        with open(lab_log, "wb") as out:
            # Own session: the whole server group can be killed as a last resort.
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        t0 = time.monotonic()
        wait_for_server(proc, base, token, timeout=120)
        log(f"JupyterLab answered after {time.monotonic() - t0:.1f} s")
        specs = get_json(f"{base}/api/kernelspecs?token={token}")["kernelspecs"]
        if "goray" not in specs:
            log(f"the goray kernelspec is not visible to JupyterLab (found {sorted(specs)}); "
                "run `make kernel-install` and set JUPYTER_PATH")
            return 2

        Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
        node_env = dict(os.environ, LAB_URL=base, LAB_TOKEN=token, LAB_NOTEBOOK=f"notebooks/{args.notebook}",
                        LAB_SCREENSHOT=str(Path(args.screenshot).resolve()),
                        LAB_TIMEOUT_MS=str(int(args.timeout * 1000)))
        t0 = time.monotonic()
        try:
            status = subprocess.run(["node", str(HERE / "lab.mjs")], cwd=HERE, env=node_env,
                                    timeout=args.timeout + 120).returncode
        except subprocess.TimeoutExpired:
            log("lab.mjs did not finish in time")
            status = 1
        log(f"lab.mjs finished with status {status} after {time.monotonic() - t0:.1f} s")
    except Exception as e:  # noqa: BLE001 (report, then clean up)
        log(f"setup failed: {e}")
        status = 2
    finally:
        if proc is not None:
            killed = stop_server(proc, base, token, seen)
            if killed:
                log("killed processes left after JupyterLab stopped: " + "; ".join(killed))
        if status != 0 and lab_log.exists():
            tail = lab_log.read_text(errors="replace").splitlines()[-60:]
            log("last lines of the JupyterLab log:\n" + "\n".join(tail))
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    if sha256(committed) != before:
        log(f"{committed} changed during the run")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
