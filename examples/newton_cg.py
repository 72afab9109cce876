"""Newton-CG on logistic regression, using only Hessian-vector products.

Binary logistic regression with L2 on a few hundred seeded synthetic samples:

    loss(w) = mean(softplus(X w) - y X w) + λ ||w||²

Newton-CG never forms the Hessian: each outer step solves H p = -g by a few
conjugate-gradient iterations, and CG only needs products H v, which
``sg.hvp`` builds once as a graph (a planned function of w and v). The same
problem is then solved by plain gradient descent with the step 1/L, L an
upper bound of the Hessian's largest eigenvalue, and the two are compared.

    python examples/newton_cg.py
"""

from __future__ import annotations

import time

import numpy as np

import symgrad as sg

SAMPLES, FEATURES, L2 = 400, 20, 1e-3
TOLERANCE = 1e-8   # stop when ||gradient|| falls below this
MAX_GD_STEPS = 20_000


def make_problem(seed: int = 0):
    """Seeded synthetic data (with 10% flipped labels, so no separating plane) and the loss graph."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(SAMPLES, FEATURES)) * rng.uniform(0.2, 3.0, size=FEATURES)  # uneven scales
    X[:, 0] = 1.0                                                                     # the bias column
    truth = rng.normal(size=FEATURES)
    y = (X @ truth + rng.normal(size=SAMPLES) > 0).astype(float)
    flip = rng.random(SAMPLES) < 0.1
    y[flip] = 1.0 - y[flip]
    with sg.Graph():  # a private graph: the caller's default graph is left alone
        w, v = sg.vector("w", FEATURES), sg.vector("v", FEATURES)
        loss = sg.sigmoid_cross_entropy(X @ w, y) + L2 * sg.square(w).sum()
        loss_and_grad = sg.function([w], [loss, sg.grad(loss, w)])
        hessian_times = sg.function([w, v], sg.hvp(loss, w, v))
    return X, y, loss_and_grad, hessian_times


def conjugate_gradient(hessian_times, b: np.ndarray, tolerance: float, max_steps: int):
    """Approximately solve H p = b with H given only as v -> H v; returns p and the products used."""
    p = np.zeros_like(b)
    residual = b.copy()
    direction = residual.copy()
    rr = residual @ residual
    products = 0
    for _ in range(max_steps):
        if np.sqrt(rr) <= tolerance:
            break
        hd = hessian_times(direction)
        products += 1
        alpha = rr / (direction @ hd)
        p += alpha * direction
        residual -= alpha * hd
        rr, rr_old = residual @ residual, rr
        direction = residual + (rr / rr_old) * direction
    return p, products


def newton_cg(loss_and_grad, hessian_times, w0: np.ndarray, max_cg: int = 10):
    """Newton steps p ≈ -H⁻¹ g (inexact CG, forcing term min(0.5, √||g||)) with Armijo backtracking."""
    w = w0.copy()
    loss, g = loss_and_grad(w)
    steps, products, gradients = 0, 0, 1
    while np.linalg.norm(g) > TOLERANCE and steps < 100:
        norm = np.linalg.norm(g)
        p, used = conjugate_gradient(lambda d: hessian_times(w, d), -g, min(0.5, np.sqrt(norm)) * norm, max_cg)
        products += used
        t = 1.0
        while True:  # backtracking: unit steps are taken near the minimum
            new_loss, new_g = loss_and_grad(w + t * p)
            gradients += 1
            if new_loss <= loss + 1e-4 * t * (g @ p) or t < 1e-10:
                break
            t *= 0.5
        w, loss, g = w + t * p, new_loss, new_g
        steps += 1
    return w, {"iterations": steps, "gradient evaluations": gradients, "Hessian-vector products": products,
               "loss": float(loss), "gradient norm": float(np.linalg.norm(g))}


def gradient_descent(loss_and_grad, w0: np.ndarray, step: float):
    w = w0.copy()
    loss, g = loss_and_grad(w)
    steps = 0
    while np.linalg.norm(g) > TOLERANCE and steps < MAX_GD_STEPS:
        w = w - step * g
        loss, g = loss_and_grad(w)
        steps += 1
    return w, {"iterations": steps, "gradient evaluations": steps + 1, "Hessian-vector products": 0,
               "loss": float(loss), "gradient norm": float(np.linalg.norm(g))}


def main(seed: int = 0) -> dict:
    X, y, loss_and_grad, hessian_times = make_problem(seed)
    w0 = np.zeros(FEATURES)
    # σ' ≤ 1/4, so the Hessian's largest eigenvalue is at most λmax(XᵀX)/(4m) + 2λ.
    lipschitz = np.linalg.eigvalsh(X.T @ X).max() / (4 * SAMPLES) + 2 * L2
    results = {}
    for name, run in (("Newton-CG (sg.hvp)", lambda: newton_cg(loss_and_grad, hessian_times, w0)),
                      ("gradient descent (1/L)", lambda: gradient_descent(loss_and_grad, w0, 1 / lipschitz))):
        start = time.perf_counter()
        _, figures = run()
        figures["seconds"] = time.perf_counter() - start
        results[name] = figures
    print(f"logistic regression, {SAMPLES} samples, {FEATURES} features, L2 {L2}, stop at ||g|| < {TOLERANCE}")
    print(f"{'method':<24} {'iters':>6} {'grads':>6} {'Hv':>5} {'final loss':>20} {'||g||':>9} {'seconds':>8}")
    for name, f in results.items():
        print(f"{name:<24} {f['iterations']:>6} {f['gradient evaluations']:>6} {f['Hessian-vector products']:>5} "
              f"{f['loss']:>20.15f} {f['gradient norm']:>9.1e} {f['seconds']:>8.3f}")
    return results


if __name__ == "__main__":
    main()
