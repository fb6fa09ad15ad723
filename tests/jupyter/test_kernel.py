"""The goray kernel (GoNB) against real Jupyter clients.

GorayKernelTests runs jupyter_kernel_test's protocol conformance suite; the
functions below use jupyter_client's KernelManager directly for what that
suite does not cover: error reports, panics, interrupts, process cleanup
and goray's no-import `ray.` cells.

GoNB cell syntax used here: a cell is top-level Go (funcs, types, vars);
everything after a line `%%` is the body of main() and runs at once.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import jupyter_kernel_test
import psutil
import pytest

from kernel_helpers import (
    CELL_TIMEOUT,
    KERNEL_NAME,
    KernelSession,
    alive,
    cell_processes,
    kernel_session,
    processes_running,
    text_of,
    wait_until,
)

# gopls answers the first completion of a kernel after ~12 s (it loads the
# workspace); later requests take well under a second.
GOPLS_TIMEOUT = 180


class GorayKernelTests(jupyter_kernel_test.KernelTests):
    """jupyter_kernel_test's suite, filled in with what the goray kernel
    supports: GoNB v0.11.4 behind goray's proxy, which answers
    is_complete_request and history_request that GoNB ignores.

    Left out on purpose (the suite skips them): history samples (the proxy
    keeps no history, it answers with an empty one), execute_result and
    pager (GoNB never sends them).
    """

    kernel_name = KERNEL_NAME
    language_name = "go"
    file_extension = ".go"

    code_hello_world = '%%\nfmt.Println("hello, world")'
    code_stderr = '%%\nfmt.Fprintln(os.Stderr, "to stderr")'

    # gonbui.DisplayHTML sends text/html through GoNB's named pipe (with no
    # import line: the goray launcher makes `go get` find gonbui in the
    # local module cache). gonbui.Sync() waits until GoNB has read the
    # display, as GoNB documents: without it the program may exit before
    # the display is forwarded.
    code_display_data = [
        {"code": '%%\ngonbui.DisplayHTML("<b>goray</b>")\ngonbui.Sync()', "mime": "text/html"},
    ]

    # Go failures come with an HTML error display next to the error
    # message (see test_compile_error_*), while the suite wants exactly one
    # output: a failing special command gives just the error.
    code_generate_error = "%cd /nonexistent-goray-test-dir"

    completion_samples = [
        {"text": "%%\nfmt.Sprintl", "matches": {"Sprintln"}},
        {"text": "%%\nstrings.ToUpp", "matches": {"ToUpper", "ToUpperSpecial"}},
    ]
    code_inspect_sample = "%%\nfmt.Println"

    # The proxy's is_complete is a bracket and string scan, enough for a
    # console to know when to ask for another line.
    complete_code_samples = ['%%\nfmt.Println("x")', "func f() int { return 1 }"]
    incomplete_code_samples = ["func f() {", "%%\nx := []int{\n1,", "s := `raw"]
    invalid_code_samples = ["}", '"unterminated']

    @classmethod
    def setUpClass(cls) -> None:
        cls.session = KernelSession(name=cls.kernel_name)
        cls.km, cls.kc = cls.session.km, cls.session.kc
        # Compile once up front so that no test pays for a cold build cache
        # under the suite's 15 s per-message timeout. unittest skips
        # tearDownClass when this fails, so clean up here.
        try:
            reply, _ = cls.session.execute('%%\nfmt.Println("warm")', timeout=CELL_TIMEOUT)
            assert reply["status"] == "ok", cls.session.log_tail()
        except BaseException:
            cls.session.close()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        killed = cls.session.close()
        assert not killed, f"processes survived the kernel shutdown: {killed}"

    def execute_helper(self, code: str, timeout: int = CELL_TIMEOUT, **kwargs: Any):
        """The suite's helper waits 15 s by default; a Go cell compiles
        first, so allow as long as any cell."""
        return super().execute_helper(code, timeout=timeout, **kwargs)

    def get_non_kernel_info_reply(self, timeout: float | None = None):
        """The suite waits forever (completion) or 15 s (inspect); both
        go to gopls, whose first answer is slow: a long but finite wait."""
        return super().get_non_kernel_info_reply(timeout=max(timeout or 0, GOPLS_TIMEOUT))

    def test_kernel_info_names_gonb(self) -> None:
        """The kernel behind the goray kernelspec is GoNB, reporting Go's
        MIME type (JupyterLab highlights cells from it)."""
        reply = self.kc.kernel_info(reply=True, timeout=30)["content"]
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(reply["implementation"], "gonb")
        self.assertEqual(reply["language_info"]["mimetype"], "text/x-go")

    def test_completion_knows_ray_without_import(self) -> None:
        """Completion sees the goray workspace: `ray.` completes with no
        import line, as cells compile."""
        code = "%%\nray.Pu"
        reply = self.kc.complete(code, reply=True, timeout=GOPLS_TIMEOUT)["content"]
        self.assertEqual(reply["status"], "ok")
        self.assertIn("Put", reply["matches"])
        self.assertEqual((reply["cursor_start"], reply["cursor_end"]), (len("%%\nray."), len(code)))


# -- KernelManager tests --------------------------------------------------


@pytest.fixture(scope="module")
def kernel():
    """One kernel for the tests that leave it in a normal state."""
    with kernel_session() as ks:
        reply, _ = ks.execute('%%\nfmt.Println("warm")')
        assert reply["status"] == "ok", ks.log_tail()
        yield ks


@pytest.fixture
def fresh_kernel():
    """A kernel of its own, for tests that interrupt or spawn processes."""
    with kernel_session() as ks:
        yield ks


def _errors(outputs: list[dict]) -> list[dict]:
    return [m["content"] for m in outputs if m["msg_type"] == "error"]


def test_compile_error_reports_cell_line(kernel: KernelSession) -> None:
    """A compile error is an error output, and the report points at the
    cell's own line (3), not at the generated main.go."""
    code = '%%\nx := 1\ny := undefinedThing + x\nfmt.Println(y)'
    reply, outputs = kernel.execute(code)
    assert reply["status"] == "error"
    errors = _errors(outputs)
    assert len(errors) == 1, outputs
    report = text_of(outputs)
    n = reply["execution_count"]
    assert "undefined: undefinedThing" in report
    # GoNB writes "Cell[<execution count>]: Line <line in cell>".
    assert re.search(rf"Cell\[{n}\]: Line 3\b", report), report


def test_compile_error_line_in_error_output(kernel: KernelSession) -> None:
    """Clients that keep only error outputs (nbclient's CellExecutionError,
    logs) should still see where the cell failed."""
    reply, outputs = kernel.execute('%%\nx := 1\ny := undefinedThing + x\nfmt.Println(y)')
    error = _errors(outputs)[0]
    text = "\n".join([error["evalue"], *error["traceback"]])
    assert re.search(rf"Cell\[{reply['execution_count']}\]: Line 3\b", text), text


def test_panic_reports_message_and_stack(kernel: KernelSession) -> None:
    """A panic fails the cell with an error output; stderr carries the
    panic message and a goroutine stack (mapped to the cell's line when
    GoNB can)."""
    reply, outputs = kernel.execute('%%\nfmt.Println("before")\npanic("goray test panic")')
    assert reply["status"] == "error"
    assert len(_errors(outputs)) == 1, outputs
    stderr = text_of(outputs, streams=("stderr",))
    assert "panic: goray test panic" in stderr
    assert "goroutine 1 [running]" in stderr
    # GoNB marks the frame with the cell's line ("[[ Cell [N] Line 3 ]]")
    # only when the frame arrives in one read of the pipe; under load it
    # can be split, so the frame itself is what is required.
    assert re.search(rf"Cell \[{reply['execution_count']}\] Line 3\b|main\.go:\d+", stderr), stderr
    assert "before" in text_of(outputs, streams=("stdout",))


def test_ray_without_import(kernel: KernelSession) -> None:
    """Cells use ray.* with no import line: GoNB's goimports resolves it
    through the go.work that includes the goray module."""
    reply, outputs = kernel.execute("%%\nref := ray.Put(21)\nv, _ := ref.Get()\nfmt.Println(v*2)")
    assert reply["status"] == "ok", text_of(outputs)
    assert text_of(outputs, streams=("stdout",)).strip() == "42"


def test_declarations_persist_across_cells(kernel: KernelSession) -> None:
    """A function declared in one cell is a ray task in a later one."""
    reply, outputs = kernel.execute("func square(x int) int { return x * x }")
    assert reply["status"] == "ok", text_of(outputs)
    reply, outputs = kernel.execute(
        "%%\nv, err := ray.Remote1(square).Remote(7).Get()\nfmt.Println(v, err)")
    assert reply["status"] == "ok", text_of(outputs)
    assert text_of(outputs, streams=("stdout",)).strip() == "49 <nil>"


def _start_endless(ks: KernelSession, code: str) -> tuple[str, psutil.Process]:
    """Send code (which never ends) and return its msg_id and the cell's
    process once it runs."""
    msg_id = ks.kc.execute(code)
    found: list[psutil.Process] = []

    def running() -> bool:
        found[:] = cell_processes(ks.pid)
        return bool(found)

    assert wait_until(running, timeout=CELL_TIMEOUT, interval=0.1), \
        "the cell's process never started\n" + ks.log_tail()
    ks.remember_children()
    return msg_id, found[0]


def _reply_to(ks: KernelSession, msg_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = ks.kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]


def test_interrupt_stops_endless_loop(fresh_kernel: KernelSession) -> None:
    """Interrupting `for {}` ends the cell within 2 s, leaves no cell
    process anywhere on the machine, and the kernel runs the next cell."""
    ks = fresh_kernel
    msg_id, proc = _start_endless(ks, "%%\nfor {}")
    binary = proc.cmdline()[0]

    t0 = time.monotonic()
    ks.km.interrupt_kernel()
    reply = _reply_to(ks, msg_id, timeout=10)
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0, f"execute_reply came {elapsed:.2f} s after the interrupt"
    assert reply["status"] == "error"
    assert "interrupt" in reply.get("evalue", ""), reply

    assert wait_until(lambda: not alive(proc), timeout=2), f"cell process {proc.pid} survived"
    assert not processes_running(binary), "a cell process is still running"
    assert not cell_processes(ks.pid)

    reply, outputs = ks.execute('%%\nfmt.Println("still here")')
    assert reply["status"] == "ok", text_of(outputs)
    assert "still here" in text_of(outputs, streams=("stdout",))


def test_interrupt_stops_cell_subprocesses(fresh_kernel: KernelSession) -> None:
    """A process started by the cell should end with the cell."""
    ks = fresh_kernel
    token = f"3000.{secrets.randbelow(10**9)}"  # a sleep argument no one else uses
    code = f'%%\ncmd := exec.Command("sleep", "{token}")\nif err := cmd.Start(); err != nil {{ panic(err) }}\nfor {{}}'
    msg_id, _ = _start_endless(ks, code)

    def sleepers() -> list[psutil.Process]:
        out = []
        for p in psutil.process_iter(["cmdline"]):
            if p.info.get("cmdline") == ["sleep", token] and alive(p):
                out.append(p)
        return out

    assert wait_until(lambda: bool(sleepers()), timeout=10)
    ks.km.interrupt_kernel()
    _reply_to(ks, msg_id, timeout=10)
    try:
        assert wait_until(lambda: not sleepers(), timeout=3), "the cell's subprocess outlived the cell"
    finally:
        for p in sleepers():  # ours: started by this test's cell
            p.kill()


def _wait_for_gopls(ks: KernelSession) -> bool:
    """GoNB starts gopls as soon as the kernel starts (GoNB runs below the
    goray launcher, so gopls is a grandchild of the kernel's process)."""
    def up() -> bool:
        return any("gopls" in " ".join(p.cmdline()) for p in psutil.Process(ks.pid).children(recursive=True))
    return wait_until(up, timeout=30, interval=0.1)


def test_graceful_shutdown_leaves_no_process() -> None:
    """Shutting the kernel down stops everything it started (cells, gopls)."""
    ks = KernelSession()
    try:
        reply, _ = ks.execute('%%\nfmt.Println("x")')
        assert reply["status"] == "ok"
        assert _wait_for_gopls(ks), "expected gopls below the kernel"
        ks.remember_children()
        started = list(ks._seen.values())
    finally:
        killed = ks.close()
    assert not killed, f"still running after shutdown: {killed}"
    assert not [p for p in started if alive(p)]


def test_killed_kernel_leaves_no_gopls() -> None:
    """A killed kernel should not leave gopls behind."""
    ks = KernelSession()
    try:
        assert _wait_for_gopls(ks), "expected gopls below the kernel"
        ks.remember_children()
        started = list(ks._seen.values())
        ks.km.shutdown_kernel(now=True)
        assert wait_until(lambda: not any(alive(p) for p in started), timeout=3), \
            [" ".join(p.cmdline()) for p in started if alive(p)]
    finally:
        ks.close()  # kills the survivors
