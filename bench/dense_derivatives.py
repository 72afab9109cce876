"""Dense Hessians and Jacobians in one vectorized sweep: symgrad vs hand-written NumPy and JAX.

    f(x) = sum(tanh(A x)²) + sum(log1p(x²))     (Hessian, A n x n)
    y(x) = tanh(A x) * x                         (Jacobian)

symgrad's ``sg.hessian`` / ``sg.jacobian`` compiled with ``sg.function`` (A an input) are timed
side by side with the hand-written NumPy derivatives

    H = Aᵀ diag(2 (1 - t²)(1 - 3 t²)) A + diag(2 (1 - x²) / (1 + x²)²),   t = tanh(A x)
    J = diag((1 - t²) x) A + diag(t)

and, where JAX is installed, ``jax.jit(jax.hessian(f))`` and ``jax.jit(jax.jacfwd(y))`` (A an
argument too). Also: build + compile time (sg.hessian + sg.function) and the node count of
the derivative for n = 10, 200 and 1000. Every result is checked against the hand-written one
before anything is timed.

    python bench/dense_derivatives.py [--repeats N]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)
import time  # noqa: E402

import numpy as np  # noqa: E402
from common import median_ratio, print_table, repeats_from_command_line, side_by_side  # noqa: E402

import symgrad as sg  # noqa: E402

try:  # optional: the peer the targets name
    import jax  # noqa: E402
    import jax.numpy as jnp  # noqa: E402
    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - JAX is not a dependency
    jax = None

SIZES = (10, 200, 1000)


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=n)


def numpy_hessian(A, x):
    t = np.tanh(A @ x)
    s = 2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t)
    H = (A.T * s) @ A
    x2 = x * x
    H[np.diag_indices_from(H)] += 2.0 * (1.0 - x2) / (1.0 + x2) ** 2
    return H


def numpy_jacobian(A, x):
    t = np.tanh(A @ x)
    J = ((1.0 - t * t) * x)[:, None] * A
    J[np.diag_indices_from(J)] += t
    return J


def symgrad_graph(n: int, what: str):
    """(A, x, derivative node) in a fresh graph."""
    g = sg.Graph()
    with g:
        A, x = sg.matrix("A", n, n), sg.vector("x", n)
        if what == "hessian":
            return A, x, sg.hessian(sg.sum(sg.tanh(A @ x) ** 2) + sg.sum(sg.log1p(x * x)), x)
        return A, x, sg.jacobian(sg.tanh(A @ x) * x, x)


def build(n: int, what: str):
    """The compiled derivative, its node count, and the seconds build + compile took."""
    start = time.perf_counter()
    A, x, d = symgrad_graph(n, what)
    f = sg.function([A, x], d)
    return f, len(sg.ancestors([d])), time.perf_counter() - start


def jax_calls():
    if jax is None:
        return None
    f = lambda A, x: jnp.sum(jnp.tanh(A @ x) ** 2) + jnp.sum(jnp.log1p(x * x))  # noqa: E731
    y = lambda x, A: jnp.tanh(A @ x) * x  # noqa: E731
    hessian = jax.jit(jax.hessian(f, argnums=1))
    jacobian = jax.jit(jax.jacfwd(y, argnums=0))
    return {"hessian": lambda A, x: hessian(A, x).block_until_ready(),
            "jacobian": lambda A, x: jacobian(x, A).block_until_ready()}


def main(repeats: int = 15) -> dict:
    peers = jax_calls()
    hand = {"hessian": numpy_hessian, "jacobian": numpy_jacobian}
    rows, results = [], {}
    for what in ("hessian", "jacobian"):
        counts = {}
        for n in SIZES:
            f, count, seconds = build(n, what)
            counts[n] = count
            A, x = data(n)
            want = hand[what](A, x)
            np.testing.assert_allclose(f(A, x), want, rtol=1e-9, atol=1e-11)
            calls = {"symgrad": lambda: f(A, x), "numpy": lambda: hand[what](A, x)}
            if peers is not None:
                np.testing.assert_allclose(np.asarray(peers[what](A, x)), want, rtol=1e-9, atol=1e-11)
                calls["jax"] = lambda: peers[what](A, x)
            times = side_by_side(calls, repeats if n < 1000 else max(repeats // 3, 5))
            ratio_numpy = median_ratio(times, "symgrad", "numpy")
            ratio_jax = median_ratio(times, "symgrad", "jax") if peers is not None else float("nan")
            ms = 1e3 * float(np.median(times["symgrad"]))
            results[(what, n)] = {"ratio_numpy": ratio_numpy, "ratio_jax": ratio_jax, "build": seconds,
                                  "nodes": count, "ms": ms}
            rows.append([f"{what} n={n}", ms, ratio_numpy, ratio_jax, seconds, count])
        results[(what, "nodes equal")] = len(set(counts.values())) == 1
    print_table("Dense derivatives: compiled call vs hand-written NumPy and JAX (jit), one BLAS thread; "
                "targets: n=200 <= 1.0x JAX, n=1000 <= 1.2x NumPy, build+compile at n=1000 < 0.5 s, "
                "one node count for every n",
                ["derivative", "symgrad ms", "x numpy", "x jax", "build+compile s", "nodes"], rows)
    return results


if __name__ == "__main__":
    main(repeats_from_command_line(__doc__))
