"""Shared helpers for the goray kernel tests: start a kernel with a real
Jupyter client, run cells, and make sure nothing it started outlives it.

GoNB compiles each cell into a binary inside its temporary folder
(/tmp/gonb_<id>/gonb_<id>) and runs it as a child process; it also starts
gopls in a process group of its own. Killing the kernel's process group is
therefore not enough to clean up, so every session snapshots the kernel's
descendants and kills any that survive shutdown.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import psutil
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager

KERNEL_NAME = os.environ.get("GORAY_KERNEL_NAME", "goray")

# Seconds: a kernel starts in about 1 s; the first cell of a cold Go build
# cache compiles the goray packages (30 s or more on 2 cores).
STARTUP_TIMEOUT = 120
CELL_TIMEOUT = 300

# The cell binary GoNB runs: <tmp>/gonb_<id>/gonb_<id>.
_CELL_BINARY = re.compile(r"^(?P<dir>.*/(?P<name>gonb_[0-9a-f]+))/(?P=name)$")


def require_kernelspec(name: str = KERNEL_NAME) -> str:
    """The kernelspec's folder, or an error that says how to install it."""
    try:
        return KernelSpecManager().get_kernel_spec(name).resource_dir
    except NoSuchKernel:
        raise RuntimeError(
            f"no Jupyter kernelspec named {name!r}: run `make kernel-install` "
            "(bin/goray kernel install --prefix .venv) and run the tests with "
            "JUPYTER_PATH=.venv/share/jupyter, or use `make py-test`") from None


def alive(p: psutil.Process) -> bool:
    """Running and not a zombie (in containers PID 1 may never reap
    orphans, so a killed process can linger as a zombie)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def cell_processes(kernel_pid: int) -> list[psutil.Process]:
    """Descendants of the kernel that are compiled cells (not gopls, not
    the go command)."""
    found = []
    for p in descendants(kernel_pid):
        try:
            argv = p.cmdline()
        except psutil.Error:
            continue
        if argv and _CELL_BINARY.match(argv[0]) and alive(p):
            found.append(p)
    return found


def processes_running(exe_path: str) -> list[psutil.Process]:
    """Every live process on the machine started from exe_path: an orphan
    is re-parented (to PID 1 or a subreaper), so looking only below the
    kernel would miss it."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        argv = p.info.get("cmdline") or []
        if argv and argv[0] == exe_path and alive(p):
            found.append(p)
    return found


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class KernelSession:
    """One running goray kernel with a blocking client.

    The kernel's stderr (GoNB's klog lines) goes to a log file rather than
    the test output; `log_tail()` returns it for failure messages.
    """

    def __init__(self, name: str = KERNEL_NAME, cwd: str | None = None, env: dict | None = None):
        require_kernelspec(name)
        self.log_path = Path(tempfile.mkstemp(prefix="goray-kernel-", suffix=".log")[1])
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in close())
        self.km = KernelManager(kernel_name=name)
        self.kc = None
        self._seen: dict[int, psutil.Process] = {}
        try:
            extra: dict[str, Any] = {}
            if cwd is not None:
                extra["cwd"] = cwd
            if env is not None:
                extra["env"] = env
            self.km.start_kernel(stderr=self._log, stdout=self._log, **extra)
            self.kc = self.km.client()
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self.km.provisioner.process.pid

    def remember_children(self) -> None:
        """Snapshot the kernel's descendants, to kill survivors at close."""
        for p in descendants(self.pid):
            self._seen.setdefault(p.pid, p)

    def execute(self, code: str, timeout: float = CELL_TIMEOUT) -> tuple[dict, list[dict]]:
        """Run code; return the execute_reply content and the IOPub
        messages (other than status and execute_input) it produced."""
        outputs: list[dict] = []

        def keep(msg: dict) -> None:
            if msg["msg_type"] not in ("status", "execute_input"):
                outputs.append(msg)

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=keep)
        self.remember_children()
        return reply["content"], outputs

    def log_tail(self, lines: int = 40) -> str:
        try:
            self._log.flush()
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> list[str]:
        """Graceful shutdown (GoNB then stops gopls and removes its temp
        folder), then kill whatever the kernel started that is still alive.
        Returns the command lines that had to be killed."""
        killed: list[str] = []
        try:
            if self.km.has_kernel:
                self.remember_children()
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)
        finally:
            wait_until(lambda: not any(alive(p) for p in self._seen.values()), timeout=5)
            for p in self._seen.values():
                if alive(p):
                    try:
                        killed.append(" ".join(p.cmdline()))
                        p.kill()
                    except psutil.Error:
                        pass
            self._log.close()
            try:
                self.log_path.unlink()
            except OSError:
                pass
        return killed


@contextmanager
def kernel_session(**kwargs: Any) -> Iterator[KernelSession]:
    ks = KernelSession(**kwargs)
    try:
        yield ks
    finally:
        ks.close()


def text_of(outputs: list[dict], *, streams: tuple[str, ...] = ("stdout", "stderr")) -> str:
    """Everything a user would read in the outputs: stream text, error
    tracebacks, and text/plain or tag-stripped text/html of displays."""
    parts = []
    for m in outputs:
        c = m["content"]
        if m["msg_type"] == "stream" and c["name"] in streams:
            parts.append(c["text"])
        elif m["msg_type"] == "error":
            parts.append(f"{c['ename']}: {c['evalue']}")
            parts.extend(c.get("traceback", []))
        elif m["msg_type"] in ("display_data", "execute_result"):
            data = c.get("data", {})
            if "text/html" in data:
                parts.append(strip_html(data["text/html"]))
            elif "text/plain" in data:
                parts.append(data["text/plain"])
    return "\n".join(parts)


def strip_html(html: str) -> str:
    html = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", "", html)
