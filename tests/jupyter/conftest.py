"""pytest setup for the Jupyter-client tests of the goray kernel."""

from __future__ import annotations

import pytest

from kernel_helpers import KERNEL_NAME, require_kernelspec


@pytest.fixture(scope="session", autouse=True)
def goray_kernelspec() -> str:
    """Fail every test at once, with the fix, when Jupyter cannot find the
    kernelspec (rather than one NoSuchKernel traceback per test)."""
    try:
        return require_kernelspec(KERNEL_NAME)
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
