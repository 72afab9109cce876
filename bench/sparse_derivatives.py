"""SP: sparse derivatives by graph coloring (issue 15, parts 3-4).

- Extended Rosenbrock (Moré, Garbow and Hillstrom; block-diagonal Hessian) and the chained
  Rosenbrock (tridiagonal Hessian), n = 100,000: the time to find the Hessian pattern from the
  graph (target: under 1 s), the sweeps (target: at most 3), and the compiled sparse Hessian
  call against one compiled gradient call, timed side by side (target: at most 6x).
- The 1-D Bratu residual, n = 100,000: its Jacobian's sweeps (target: 3), and the compiled
  sparse Jacobian call against one compiled residual call.

Each sparse result is checked against a hand-written one at a random point.

    python bench/sparse_derivatives.py [--repeats N]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402
from common import median_ratio, print_table, side_by_side  # noqa: E402

N = 100_000


def extended_rosenbrock(x):
    odd, even = x[::2], x[1::2]
    return sg.sum(100 * (even - odd ** 2) ** 2 + (1 - odd) ** 2)


def chained_rosenbrock(x):
    return sg.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def bratu(u, lam=1.0):
    h = 1.0 / (u.size + 1)
    padded = sg.pad(u, 1)
    return (2 * u - padded[:-2] - padded[2:]) / h ** 2 - lam * sg.exp(u)


def _hessian_rosenbrock(v, chained):
    """Hand-written Hessians, as (rows, cols, values) dictionaries for the check."""
    n = v.size
    H = {}
    pairs = [(i, i + 1) for i in range(n - 1)] if chained else [(i, i + 1) for i in range(0, n, 2)]
    for i, j in pairs:
        a, b = v[i], v[j]
        for key, value in (((i, i), 1200 * a * a - 400 * b + 2), ((i, j), -400 * a), ((j, i), -400 * a),
                           ((j, j), 200.0)):
            H[key] = H.get(key, 0.0) + value
    return H


def _check_hessian(S, values, v, chained):
    expected = _hessian_rosenbrock(v, chained)
    got = dict(zip(zip(S.rows.tolist(), S.cols.tolist()), values.tolist()))
    assert set(got) == set(expected), "pattern differs from the hand-written Hessian's"
    worst = max(abs(got[k] - expected[k]) / max(1.0, abs(expected[k])) for k in expected)
    assert worst < 1e-9, worst


def main(repeats: int = 15) -> dict:
    rng = np.random.default_rng(0)
    rows, results = [], {}
    for name, build, chained in (("extended Rosenbrock", extended_rosenbrock, False),
                                 ("chained Rosenbrock", chained_rosenbrock, True)):
        with sg.Graph():
            x = sg.vector("x", N)
            f = build(x)
            start = time.perf_counter()
            sg.hessian_sparsity(f, x, format="indices")
            pattern_s = time.perf_counter() - start
            start = time.perf_counter()
            S = sg.sparse_hessian(f, x)
            build_s = time.perf_counter() - start
            gradient = sg.function([x], sg.grad(f, x))
            values = sg.function([x], S.values)
            v = rng.uniform(-1, 1, N)
            _check_hessian(S, values(v), v, chained)
            times = side_by_side({"gradient": lambda: gradient(v), "hessian": lambda: values(v)}, repeats)
            ratio = median_ratio(times, "hessian", "gradient")
            rows.append([f"{name} Hessian", N, pattern_s, build_s, S.sweeps, S.nnz, ratio])
            results[name] = dict(pattern_s=pattern_s, sweeps=S.sweeps, ratio=ratio)
    with sg.Graph():
        u = sg.vector("u", N)
        r = bratu(u)
        start = time.perf_counter()
        sg.jacobian_sparsity(r, u, format="indices")
        pattern_s = time.perf_counter() - start
        start = time.perf_counter()
        J = sg.sparse_jacobian(r, u)
        build_s = time.perf_counter() - start
        residual = sg.function([u], r)
        values = sg.function([u], J.values)
        v = rng.uniform(0, 1, N)
        h = 1.0 / (N + 1)
        got = values(v)
        expected = np.where(J.rows == J.cols, 2 / h ** 2 - np.exp(v[J.rows]), -1 / h ** 2)
        assert J.nnz == 3 * N - 2 and np.all(np.abs(J.rows - J.cols) <= 1) and np.allclose(got, expected)
        times = side_by_side({"residual": lambda: residual(v), "jacobian": lambda: values(v)}, repeats)
        ratio = median_ratio(times, "jacobian", "residual")
        rows.append(["Bratu Jacobian", N, pattern_s, build_s, J.sweeps, J.nnz, ratio])
        results["bratu"] = dict(pattern_s=pattern_s, sweeps=J.sweeps, ratio=ratio)
    print_table("SP sparse derivatives by coloring (ratio: sparse call / one gradient or residual call; "
                "targets: pattern < 1 s, Hessian sweeps <= 3 and ratio <= 6, Bratu 3 sweeps)",
                ["problem", "n", "pattern s", "build s", "sweeps", "nnz", "ratio"], rows)
    return results



if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    main(parser.parse_args().repeats)
