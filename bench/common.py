"""Shared helpers of the benchmark scripts: one BLAS thread, interleaved timing, a plain-text table.

Import this module before NumPy in every script: the thread variables only
take effect if they are set before NumPy loads its BLAS.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Callable  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    """The script ``examples/<name>.py`` as a module, so a benchmark can time its functions."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def repeats_from_command_line(doc: str) -> int:
    """``--repeats N`` (default 15) of a script whose first docstring line describes it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    return parser.parse_args().repeats


def side_by_side(calls: dict[str, Callable], repeats: int, inner: int = 1) -> dict[str, list[float]]:
    """Seconds per call of each of ``calls``, timed in turn within every round.

    Interleaving puts each round's candidates under the same machine state
    (these machines are noisy), so per-round ratios can be taken; the order
    within a round rotates so that no call always runs first.
    """
    names = list(calls)
    for name in names:
        calls[name]()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            call = calls[name]
            start = time.perf_counter()
            for _ in range(inner):
                call()
            times[name].append((time.perf_counter() - start) / inner)
    return times


def median_ratio(times: dict[str, list[float]], name: str, reference: str) -> float:
    """The median over rounds of the ratio ``name`` / ``reference`` (see :func:`side_by_side`)."""
    return statistics.median(a / b for a, b in zip(times[name], times[reference]))


def peak_bytes(call: Callable, warm_up: bool = True) -> int:
    """Peak traced allocation (bytes) above the level before ``call`` (NumPy reports its buffers).

    The warm-up call keeps caches and lazily built code out of the figure;
    ``warm_up=False`` measures a first call, with whatever it sets up.
    """
    if warm_up:
        call()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def print_table(title: str, header: list[str], rows: list[list]) -> None:
    """A fixed-width table; floats keep 3 significant digits."""
    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.0f}"
        return str(v)
    text = [[cell(v) for v in row] for row in [header] + rows]
    widths = [max(len(r[k]) for r in text) for k in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(text):
        print("  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
