"""Hypothesis profiles for the property-based tests.

``ci`` (the default) runs a few hundred random graphs in under a minute;
``long`` runs 10,000 per property test::

    SYMGRAD_HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py
    python -m pytest tests/test_properties.py --hypothesis-profile=long

Each run explores new graphs (no fixed seed); a failure prints the failing
program and the ``@reproduce_failure`` data that replays it.
"""

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# Test modules import their helpers (helpers, finite_differences, example_modules, graph_strategies)
# from this folder; a test module never imports another test module.
sys.path.insert(0, str(Path(__file__).parent))

_relaxed = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=_relaxed,
                          print_blob=True)
settings.register_profile("long", max_examples=10_000, deadline=None, suppress_health_check=_relaxed,
                          print_blob=True)
settings.load_profile(os.environ.get("SYMGRAD_HYPOTHESIS_PROFILE", "ci"))
