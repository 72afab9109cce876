"""Rosenbrock's function as scipy.optimize's client: gradient (``jac``) and Hessian-vector product (``hessp``).

The function f(x) = Σ 100 (x[i+1] - x[i]²)² + (1 - x[i])² is written once in
symgrad; ``sg.grad`` and ``sg.hvp`` give the gradient and H p, compiled with
``sg.function``. The references are scipy.optimize's hand-written
``rosen_der`` and ``rosen_hess_prod``, timed side by side at n = 1,000 and
100,000, and a Newton-CG minimisation with each pair reaches the same point.
Needs SciPy (``pip install scipy``; a benchmark dependency, not symgrad's).

    python bench/rosenbrock.py [--repeats N]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)

import statistics  # noqa: E402

import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402
from common import median_ratio, print_table, repeats_from_command_line, side_by_side  # noqa: E402


def rosenbrock_functions(n: int):
    """Compiled (jac, hessp) of Rosenbrock's function in n variables."""
    with sg.Graph():
        x, p = sg.vector("x", n), sg.vector("p", n)
        head, tail = x[:-1], x[1:]
        f = (100.0 * sg.square(tail - sg.square(head)) + sg.square(1.0 - head)).sum()
        jac = sg.function([x], sg.grad(f, x))
        hessp = sg.function([x, p], sg.hvp(f, x, p))
        return jac, hessp


def main(repeats: int = 15) -> dict:
    try:
        from scipy.optimize import minimize, rosen, rosen_der, rosen_hess_prod
    except ImportError:
        print("\nRosenbrock: SciPy is not installed (pip install scipy); skipped")
        return {"rows": []}
    rows = []
    for n in (1_000, 100_000):
        jac, hessp = rosenbrock_functions(n)
        rng = np.random.default_rng(0)
        x, p = rng.uniform(-2, 2, n), rng.standard_normal(n)
        for _ in range(2):  # the first call runs the interpreter, the second compiles
            np.testing.assert_allclose(jac(x), rosen_der(x), rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(hessp(x, p), rosen_hess_prod(x, p), rtol=1e-12, atol=1e-9)
        inner = 200 if n <= 1000 else 5
        times = side_by_side({"jac": lambda: jac(x), "rosen_der": lambda: rosen_der(x),
                              "hessp": lambda: hessp(x, p), "rosen_hess_prod": lambda: rosen_hess_prod(x, p)},
                             repeats, inner)
        t = {name: statistics.median(v) for name, v in times.items()}
        rows.append([f"jac n={n:,}", t["jac"] * 1e6, t["rosen_der"] * 1e6, "rosen_der (target <= 1.0)",
                     median_ratio(times, "jac", "rosen_der")])
        rows.append([f"hessp n={n:,}", t["hessp"] * 1e6, t["rosen_hess_prod"] * 1e6,
                     "rosen_hess_prod (target <= 1.0)", median_ratio(times, "hessp", "rosen_hess_prod")])
    jac, hessp = rosenbrock_functions(50)
    start = np.full(50, -1.0)
    ours = minimize(rosen, start, method="Newton-CG", jac=jac, hessp=hessp)
    theirs = minimize(rosen, start, method="Newton-CG", jac=rosen_der, hessp=rosen_hess_prod)
    assert ours.success and theirs.success and np.allclose(ours.x, theirs.x, atol=1e-6), (ours, theirs)
    print_table(f"Rosenbrock with scipy.optimize (us per call), medians of {repeats} interleaved rounds; "
                f"Newton-CG from -1 in 50 variables: {ours.nit} iterations with symgrad, {theirs.nit} with scipy's",
                ["workload", "symgrad", "reference", "reference is", "ratio"], rows)
    return {"rows": rows}


if __name__ == "__main__":
    main(repeats_from_command_line(__doc__))
