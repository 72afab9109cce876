"""SP: sparse derivatives by graph coloring (issue 15, parts 3-4).

- Extended Rosenbrock (Moré, Garbow and Hillstrom; block-diagonal Hessian) and the chained
  Rosenbrock (tridiagonal Hessian), n = 100,000: the time to find the Hessian pattern from the
  graph (target: under 1 s), the sweeps (target: at most 3), and the compiled sparse Hessian
  call against one compiled gradient call, timed side by side (target: at most 6x).
- The 1-D Bratu residual, n = 100,000: its Jacobian's sweeps (target: 3), and the compiled
  sparse Jacobian call against one compiled residual call.

Each sparse result is checked against a hand-written one at a random point. The three problems
are examples/sparse_newton.py's.

    python bench/sparse_derivatives.py [--repeats N]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)

import time  # noqa: E402

import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402
from common import load_example, median_ratio, print_table, repeats_from_command_line, side_by_side  # noqa: E402

N = 100_000
problems = load_example("sparse_newton")


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


def _check_bratu(J, got, v):
    h = 1.0 / (v.size + 1)
    expected = np.where(J.rows == J.cols, 2 / h ** 2 - np.exp(v[J.rows]), -1 / h ** 2)
    assert J.nnz == 3 * v.size - 2 and np.all(np.abs(J.rows - J.cols) <= 1) and np.allclose(got, expected)


def _measure(label, sparsity, sparse, out, reference, x, v, check, repeats):
    """Time ``sparsity`` (the pattern) and ``sparse`` (the compressed derivative) of ``out`` in
    ``x``, check the compiled sparse values at ``v``, and time that call against one compiled
    ``reference`` call: the table row and the figures."""
    start = time.perf_counter()
    sparsity(out, x, format="indices")
    pattern_s = time.perf_counter() - start
    start = time.perf_counter()
    S = sparse(out, x)
    build_s = time.perf_counter() - start
    base = sg.function([x], reference)
    values = sg.function([x], S.values)
    check(S, values(v), v)
    times = side_by_side({"reference": lambda: base(v), "sparse": lambda: values(v)}, repeats)
    ratio = median_ratio(times, "sparse", "reference")
    return [label, x.size, pattern_s, build_s, S.sweeps, S.nnz, ratio], dict(pattern_s=pattern_s, sweeps=S.sweeps,
                                                                               ratio=ratio)


def main(repeats: int = 15) -> dict:
    rng = np.random.default_rng(0)
    rows, results = [], {}
    for name, build, chained in (("extended Rosenbrock", problems.extended_rosenbrock, False),
                                 ("chained Rosenbrock", problems.chained_rosenbrock, True)):
        with sg.Graph():
            x = sg.vector("x", N)
            f = build(x)
            row, results[name] = _measure(f"{name} Hessian", sg.hessian_sparsity, sg.sparse_hessian, f,
                                          sg.grad(f, x), x, rng.uniform(-1, 1, N),
                                          lambda S, got, v: _check_hessian(S, got, v, chained), repeats)
            rows.append(row)
    with sg.Graph():
        u = sg.vector("u", N)
        r = problems.bratu(u)
        row, results["bratu"] = _measure("Bratu Jacobian", sg.jacobian_sparsity, sg.sparse_jacobian, r, r, u,
                                         rng.uniform(0, 1, N), _check_bratu, repeats)
        rows.append(row)
    print_table("SP sparse derivatives by coloring (ratio: sparse call / one gradient or residual call; "
                "targets: pattern < 1 s, Hessian sweeps <= 3 and ratio <= 6, Bratu 3 sweeps)",
                ["problem", "n", "pattern s", "build s", "sweeps", "nnz", "ratio"], rows)
    return results


if __name__ == "__main__":
    main(repeats_from_command_line(__doc__))
