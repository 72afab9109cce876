"""W3: call latency of value + gradient of the notes' scalar f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²).

symgrad's compiled function is called with Python floats and returns its
documented results (0-d arrays), or Python floats with ``floats=True``; the
reference is the same value and gradient written by hand with the ``math`` module.

    python bench/w3_scalar.py [--repeats N]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)

import math  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402
from common import median_ratio, print_table, repeats_from_command_line, side_by_side  # noqa: E402


def by_hand(x: float, y: float):
    """Value and gradient, the backward pass written out as in the notes' staged example."""
    sig_y = 1.0 / (1.0 + math.exp(-y))
    sig_x = 1.0 / (1.0 + math.exp(-x))
    num = x + sig_y
    xy = x + y
    den = sig_x + xy * xy
    inv = 1.0 / den
    f = num * inv
    bar_den = -num * inv * inv
    bar_xy = bar_den * 2.0 * xy
    bar_x = inv + bar_den * sig_x * (1.0 - sig_x) + bar_xy
    bar_y = inv * sig_y * (1.0 - sig_y) + bar_xy
    return f, bar_x, bar_y


def symgrad_function(floats: bool = False):
    with sg.Graph():
        x, y = sg.scalar("x"), sg.scalar("y")
        f = (x + sg.sigmoid(y)) / (sg.sigmoid(x) + sg.square(x + y))
        return sg.function([x, y], [f, *sg.grad(f, [x, y])], floats=floats)


def main(repeats: int = 15) -> dict:
    fn, fn_floats = symgrad_function(), symgrad_function(floats=True)
    x, y = 3.0, -4.0  # the notes' values
    for _ in range(2):  # the first call runs the interpreter, the second compiles
        got, got_floats = fn(x, y), fn_floats(x, y)
    assert all(isinstance(v, np.ndarray) for v in got) and all(type(v) is float for v in got_floats)
    np.testing.assert_allclose([float(v) for v in got], by_hand(x, y), rtol=1e-13)
    np.testing.assert_allclose(got_floats, by_hand(x, y), rtol=1e-13)
    inner = 2000
    f, gx, gy = by_hand(x, y)
    times = side_by_side({"math": lambda: by_hand(x, y), "symgrad": lambda: fn(x, y),
                          "symgrad floats": lambda: fn_floats(x, y),
                          # what returning the documented 0-d arrays costs by itself
                          "0-d results": lambda: [np.asarray(f), np.asarray(gx), np.asarray(gy)]},
                         repeats, inner)
    t = {name: statistics.median(v) for name, v in times.items()}
    rows = [["W3 value+grad", t["symgrad"] * 1e6, t["math"] * 1e6, "python math",
             median_ratio(times, "symgrad", "math")],
            ["W3 value+grad, floats=True", t["symgrad floats"] * 1e6, t["math"] * 1e6,
             "python math (target <= 1.4)", median_ratio(times, "symgrad floats", "math")],
            ["three 0-d result arrays alone", t["0-d results"] * 1e6, t["math"] * 1e6, "python math",
             median_ratio(times, "0-d results", "math")]]
    print_table(f"W3 scalar value+gradient call latency, medians of {repeats} interleaved rounds of {inner} "
                "calls (us); ratio = median of per-round ratios",
                ["workload", "symgrad", "reference", "reference is", "ratio"], rows)
    return {"rows": rows}


if __name__ == "__main__":
    main(repeats_from_command_line(__doc__))
