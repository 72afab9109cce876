"""Optional libraries the tests run on (conftest puts this folder on ``sys.path``).

``require(name)`` is ``pytest.importorskip``, except in CI: ``.ci/run`` installs
the test extra (JAX, Dask, torch's CPU build, array-api-strict) and sets
``SYMGRAD_REQUIRE_BACKENDS=1``, and there a missing library fails the test
instead of skipping it, so no backend test is quietly left out. CuPy, which
needs a GPU, is the one library the tests may skip (see test_backends).
"""

from __future__ import annotations

import importlib
import os

import pytest


def required() -> bool:
    return os.environ.get("SYMGRAD_REQUIRE_BACKENDS", "") not in ("", "0")


def require(name: str, reason: str | None = None):
    """The module ``name``; a skip where it is missing, a failure where CI requires it."""
    if required():
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=reason)
