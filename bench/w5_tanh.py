"""W5: node count and build time of d^n/dx^n tanh(x), n = 1..8, by repeated grad.

The count is ``len(sg.ancestors([d_n]))``: every node the n-th derivative
needs, the placeholder included. The value of d^n at one point is checked
against the closed form (a polynomial in t = tanh x, built by differentiating
p(t) with p' = (1 - t²) dp/dt).

    python bench/w5_tanh.py
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)

import time  # noqa: E402

import numpy as np  # noqa: E402
from numpy.polynomial import polynomial as P  # noqa: E402

import symgrad as sg  # noqa: E402
from common import print_table  # noqa: E402


def closed_form(n: int, x: float) -> float:
    """d^n tanh / dx^n at x: p_0(t) = t, p_{k+1}(t) = (1 - t^2) p_k'(t)."""
    p = np.array([0.0, 1.0])
    for _ in range(n):
        p = P.polymul([1.0, 0.0, -1.0], P.polyder(p))
    return float(P.polyval(np.tanh(x), p))


def main(orders: int = 8) -> dict:
    rows = []
    counts = {}
    with sg.Graph():
        x = sg.scalar("x")
        d = sg.tanh(x)
        elapsed = 0.0
        for n in range(1, orders + 1):
            start = time.perf_counter()
            d = sg.grad(d, x)
            elapsed += time.perf_counter() - start
            count = len(sg.ancestors([d]))
            value = float(sg.evaluate(d, {x: 0.3}))
            np.testing.assert_allclose(value, closed_form(n, 0.3), rtol=1e-10, atol=1e-12)
            counts[n] = count
            rows.append([f"W5 d^{n} tanh", count, elapsed * 1e3])
    rows[-1][1] = f"{rows[-1][1]} (target <= 100)"
    print_table("W5 d^n/dx^n tanh(x): nodes the n-th derivative needs, cumulative build time",
                ["workload", "nodes", "build ms"], rows)
    return {"counts": counts, "rows": rows}


if __name__ == "__main__":
    main()
