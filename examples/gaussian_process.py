"""Fit a Gaussian process's kernel hyper-parameters by Newton-CG on ``sg.hvp``.

A GP with the squared-exponential kernel plus noise,

    K(θ) = σ_f² exp(-|x_i - x_j|² / 2ℓ²) + σ_n² I,   θ = (log ℓ, log σ_f, log σ_n),

is fitted to seeded noisy samples of sin(3x) by minimising the negative log
marginal likelihood, written the stable way (Rasmussen & Williams, alg. 2.1):

    L = cholesky(K),  α = L⁻¹ y,  NLL = ½ αᵀα + Σ log L_ii + (n/2) log 2π.

symgrad differentiates through cholesky and solve_triangular, and Newton-CG
uses only Hessian-vector products (``sg.hvp``): each outer step solves
H p = -g by conjugate gradients, stopping at negative curvature, then
backtracks along p.

    python examples/gaussian_process.py
"""

from __future__ import annotations

import numpy as np

import symgrad as sg

POINTS = 60
TOLERANCE = 1e-8  # stop when ||gradient|| falls below this


def make_data(points: int = POINTS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-2.0, 2.0, points))
    return x, np.sin(3.0 * x) + 0.1 * rng.standard_normal(points)


def negative_log_likelihood(theta: sg.Node, x: np.ndarray, y: np.ndarray) -> sg.Node:
    """The GP's negative log marginal likelihood as a graph of ``theta`` (3 log-parameters)."""
    n = len(x)
    squared_distances = (x[:, None] - x[None, :]) ** 2
    length, signal, noise = sg.exp(theta[0]), sg.exp(2.0 * theta[1]), sg.exp(2.0 * theta[2])
    k = signal * sg.exp(squared_distances * (-0.5 / (length * length))) + noise * np.eye(n)
    chol = sg.linalg.cholesky(k)
    alpha = sg.linalg.solve_triangular(chol, y, lower=True)
    return 0.5 * sg.sum(alpha * alpha) + sg.sum(sg.log(sg.diagonal(chol))) + 0.5 * n * np.log(2.0 * np.pi)


def conjugate_gradient(hessian_times, b: np.ndarray, tolerance: float, max_steps: int) -> tuple[np.ndarray, int]:
    """Approximately solve H p = b; stops at negative curvature (then p is still a descent direction)."""
    p, residual = np.zeros_like(b), b.copy()
    direction, rr, products = residual.copy(), residual @ residual, 0
    for _ in range(max_steps):
        if np.sqrt(rr) <= tolerance:
            break
        hd = hessian_times(direction)
        products += 1
        curvature = direction @ hd
        if curvature <= 0:
            return (p if products > 1 else b), products
        step = rr / curvature
        p, residual = p + step * direction, residual - step * hd
        rr, rr_old = residual @ residual, rr
        direction = residual + (rr / rr_old) * direction
    return p, products


def newton_cg(value_and_grad, hvp, theta: np.ndarray, max_steps: int = 50) -> tuple[np.ndarray, int, int]:
    """Newton-CG with Armijo backtracking; returns θ, the Newton steps and the Hessian-vector products."""
    value, g = value_and_grad(theta)
    steps = products = 0
    while np.linalg.norm(g) > TOLERANCE and steps < max_steps:
        norm = np.linalg.norm(g)
        p, used = conjugate_gradient(lambda v: hvp(theta, v), -g, min(0.5, np.sqrt(norm)) * norm, 10)
        products += used
        t = 1.0
        while True:
            new_value, new_g = value_and_grad(theta + t * p)
            if new_value <= value + 1e-4 * t * (g @ p) or t < 1e-10:
                break
            t *= 0.5
        theta, value, g = theta + t * p, new_value, new_g
        steps += 1
    return theta, steps, products


def fit(points: int = POINTS, seed: int = 0):
    """The fitted θ, the final NLL and gradient, and the iteration counts."""
    x, y = make_data(points, seed)
    with sg.Graph():
        theta, v = sg.vector("theta", 3), sg.vector("v", 3)
        nll = negative_log_likelihood(theta, x, y)
        value_and_grad = sg.function([theta], [nll, sg.grad(nll, theta)])
        hvp = sg.function([theta, v], sg.hvp(nll, theta, v))
    start = np.log(np.array([1.0, 1.0, 0.5]))
    fitted, steps, products = newton_cg(value_and_grad, hvp, start)
    value, gradient = value_and_grad(fitted)
    return fitted, float(value), gradient, steps, products


def main() -> dict:
    fitted, value, gradient, steps, products = fit()
    length, signal, noise = np.exp(fitted)
    print(f"length scale {length:.4f}, signal std {signal:.4f}, noise std {noise:.4f} (true noise 0.1)")
    print(f"negative log likelihood {value:.6f}, |gradient| {np.linalg.norm(gradient):.1e}")
    print(f"Newton-CG: {steps} iterations, {products} Hessian-vector products")
    return dict(theta=fitted, nll=value, gradient=gradient, steps=steps, products=products)


if __name__ == "__main__":
    main()
