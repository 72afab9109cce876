"""Newton's method on the extended Rosenbrock function with n = 100,000, by sparse Hessians.

    f(x) = Σ_i 100 (x_{2i+1} - x_{2i}²)² + (1 - x_{2i})²      (Moré, Garbow and Hillstrom)

A dense Hessian would hold 10^10 numbers and take 100,000 Hessian-vector products.
``sg.sparse_hessian`` finds the Hessian's pattern from the graph (2x2 blocks on the diagonal),
colors its columns so that columns sharing a row differ, and builds one Hessian-vector product
per color: two sweeps give every nonzero. Each Newton step then solves H p = -g with SciPy's
sparse solver (``scipy.sparse.linalg.spsolve``), with a backtracking line search on f.

    python examples/sparse_newton.py [n]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import symgrad as sg

try:
    from scipy.sparse.linalg import spsolve
except ImportError:  # the example needs SciPy for the sparse solve; symgrad itself does not
    spsolve = None

TOLERANCE = 1e-8  # stop when ||gradient||_inf falls below this


def extended_rosenbrock(x: sg.Node) -> sg.Node:
    """Moré, Garbow and Hillstrom's extended Rosenbrock: separable pairs (block-diagonal Hessian)."""
    odd, even = x[::2], x[1::2]
    return sg.sum(100 * (even - odd ** 2) ** 2 + (1 - odd) ** 2)


# Two more problems with known sparse derivatives, for bench/sparse_derivatives.py and the tests.

def chained_rosenbrock(x: sg.Node) -> sg.Node:
    """The chained (generalized) Rosenbrock function: a tridiagonal Hessian."""
    return sg.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def bratu(u: sg.Node, lam: float = 1.0) -> sg.Node:
    """The 1-D Bratu residual with zero boundary values: -u'' - lam exp(u) on a uniform grid."""
    h = 1.0 / (u.size + 1)
    padded = sg.pad(u, 1)
    return (2 * u - padded[:-2] - padded[2:]) / h ** 2 - lam * sg.exp(u)


def main(n: int = 100_000, max_iterations: int = 50) -> dict:
    if spsolve is None:
        raise SystemExit("sparse_newton.py needs SciPy for the sparse solve: pip install scipy "
                         "(or symgrad[special])")
    with sg.Graph():
        x = sg.vector("x", n)
        f = extended_rosenbrock(x)
        start = time.perf_counter()
        H = sg.sparse_hessian(f, x)
        step = sg.function([x], [f, sg.grad(f, x), H.values])
        value = sg.function([x], f)
        build = time.perf_counter() - start
    print(f"extended Rosenbrock, n = {n}: Hessian with {H.nnz} nonzeros in {H.sweeps} sweeps "
          f"(instead of {n}); pattern, coloring and compile took {build:.2f} s")
    point = np.tile([-1.2, 1.0], n // 2)  # the standard starting point
    times = []
    for iteration in range(1, max_iterations + 1):
        start = time.perf_counter()
        f_value, gradient, values = step(point)
        if np.max(np.abs(gradient)) < TOLERANCE:
            break
        direction = spsolve(H.to_scipy(values).tocsc(), -gradient)
        t = 1.0
        while value(point + t * direction) > f_value + 1e-4 * t * (gradient @ direction) and t > 1e-8:
            t /= 2  # backtracking (Armijo)
        point = point + t * direction
        times.append(time.perf_counter() - start)
        print(f"  iteration {iteration:2d}: f = {f_value:.3e}, step length {t:g}, "
              f"{1e3 * times[-1]:.1f} ms")
    error = float(np.max(np.abs(point - 1.0)))
    print(f"converged in {len(times)} Newton steps, {1e3 * np.median(times):.1f} ms per step (median); "
          f"max |x - 1| = {error:.1e}")
    return {"iterations": len(times), "sweeps": H.sweeps, "error": error, "gradient": float(np.max(np.abs(gradient))),
            "ms per iteration": 1e3 * float(np.median(times))}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
