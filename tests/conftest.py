"""Hypothesis profiles for the property-based tests.

``ci`` (the default) runs a few hundred random graphs in under a minute;
``long`` runs 10,000 per property test::

    SYMGRAD_HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py
    python -m pytest tests/test_properties.py --hypothesis-profile=long

Each run explores new graphs (no fixed seed); a failure prints the failing
program and the ``@reproduce_failure`` data that replays it.
"""

import importlib
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Test modules import their helpers (helpers, finite_differences, example_modules, graph_strategies,
# numpy_oracle, libraries) from this folder; a test module never imports another test module.
sys.path.insert(0, str(Path(__file__).parent))

_relaxed = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=_relaxed,
                          print_blob=True)
settings.register_profile("long", max_examples=10_000, deadline=None, suppress_health_check=_relaxed,
                          print_blob=True)
settings.load_profile(os.environ.get("SYMGRAD_HYPOTHESIS_PROFILE", "ci"))


# --- compiled functions (issue 16) ---------------------------------------------------------------
# sg.function runs its first call with the interpreter and compiles at the second. The suite
# compiles at once instead, so that every call a test makes runs the generated code (the lazy
# default has its own tests in test_compile_scale.py).
# (the module, not sg.compile.function, the function it exports)
_compiled_functions = importlib.import_module("symgrad.compile.function")


@pytest.fixture(autouse=True)
def _compile_at_once(monkeypatch):
    monkeypatch.setattr(_compiled_functions, "INTERPRETED_CALLS", 0)
