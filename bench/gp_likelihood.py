"""GP: a Gaussian process's negative log marginal likelihood and its gradient in 3 hyper-parameters.

n = 500 points, the squared-exponential kernel plus noise of
``examples/gaussian_process.py`` (cholesky, solve_triangular, log of the
diagonal). symgrad's compiled value+gradient is timed side by side with the
gradient written by hand the textbook way (Rasmussen & Williams, eq. 5.9):

    dNLL/dθ_j = ½ tr((K⁻¹ - ααᵀ) ∂K/∂θ_j),   K⁻¹ from the Cholesky factor,

with SciPy's LAPACK wrappers (cho_solve) when SciPy is installed, else in
NumPy alone (K⁻¹ by np.linalg.inv). Both results are checked to agree.

    python bench/gp_likelihood.py [--repeats N] [--points N]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)

import argparse  # noqa: E402

import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402
from common import load_example, median_ratio, print_table, side_by_side  # noqa: E402

try:
    from scipy.linalg import cho_solve  # noqa: E402
except ImportError:  # the NumPy-only hand-written version is timed instead
    cho_solve = None

def by_hand(x: np.ndarray, y: np.ndarray, lapack: bool):
    """NLL and its gradient, written out in NumPy (and SciPy's cho_solve when ``lapack``)."""
    n = len(x)
    squared_distances = (x[:, None] - x[None, :]) ** 2
    identity = np.eye(n)
    constant = 0.5 * n * np.log(2.0 * np.pi)

    def value_and_grad(theta):
        length, signal, noise = np.exp(theta)
        shape = signal ** 2 * np.exp(squared_distances * (-0.5 / length ** 2))
        k = shape + noise ** 2 * identity
        chol = np.linalg.cholesky(k)
        if lapack:
            alpha = cho_solve((chol, True), y, check_finite=False)
            k_inv = cho_solve((chol, True), identity, check_finite=False)
        else:
            k_inv = np.linalg.inv(k)
            alpha = k_inv @ y
        nll = 0.5 * (y @ alpha) + np.sum(np.log(np.diagonal(chol))) + constant
        w = k_inv - np.outer(alpha, alpha)
        weighted = np.sum(w * shape * squared_distances)
        gradient = 0.5 * np.array([weighted / length ** 2, 2.0 * np.sum(w * shape), 2.0 * noise ** 2 * np.trace(w)])
        return nll, gradient
    return value_and_grad


def main(repeats: int = 15, points: int = 500) -> dict:
    example = load_example("gaussian_process")
    x, y = example.make_data(points)
    with sg.Graph():
        theta = sg.vector("theta", 3)
        nll = example.negative_log_likelihood(theta, x, y)
        compiled = sg.function([theta], [nll, sg.grad(nll, theta)])
    point = np.log(np.array([0.7, 1.3, 0.2]))
    calls = {"symgrad": lambda: compiled(point), "numpy": lambda: by_hand(x, y, False)(point)}
    if cho_solve is not None:
        calls["numpy+scipy"] = lambda: by_hand(x, y, True)(point)
    results = {name: call() for name, call in calls.items()}
    for name, (value, gradient) in results.items():
        np.testing.assert_allclose(value, results["symgrad"][0], rtol=1e-9, err_msg=name)
        np.testing.assert_allclose(gradient, results["symgrad"][1], rtol=1e-7, err_msg=name)
    times = side_by_side(calls, repeats)
    reference = "numpy+scipy" if "numpy+scipy" in calls else "numpy"
    rows = [[name, 1e3 * float(np.median(t)), median_ratio(times, "symgrad", name) if name != "symgrad" else 1.0]
            for name, t in times.items()]
    print_table(f"GP negative log-likelihood + gradient, n = {points}, 3 hyper-parameters "
                f"(target: symgrad <= 1.2x {reference})",
                ["version", "ms", "symgrad / this"], rows)
    return {"ratio": median_ratio(times, "symgrad", reference), "reference": reference}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--points", type=int, default=500)
    arguments = parser.parse_args()
    main(arguments.repeats, arguments.points)
