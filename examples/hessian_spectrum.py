"""The top eigenvalues of an MLP's loss Hessian, by Lanczos on ``sg.hvp``.

A one-hidden-layer tanh net with softmax cross-entropy; its parameters are one
flat vector ``theta`` (sliced and reshaped into W1, b1, W2 inside the graph),
so the Hessian is a plain matrix. Lanczos (with full reorthogonalisation,
which keeps the Krylov basis orthogonal in floating point) needs only
products H v: one planned ``sg.hvp`` function. With 147 parameters the dense
Hessian still fits, so ``numpy.linalg.eigvalsh(sg.hessian(...))`` checks the
result.

    python examples/hessian_spectrum.py
"""

from __future__ import annotations

import time

import numpy as np

import symgrad as sg

SAMPLES, INPUTS, HIDDEN, CLASSES = 64, 8, 12, 3
SHAPES = {"W1": (INPUTS, HIDDEN), "b1": (HIDDEN,), "W2": (HIDDEN, CLASSES), "b2": (CLASSES,)}
SIZE = sum(int(np.prod(s)) for s in SHAPES.values())


def unflatten(theta: sg.Node) -> dict[str, sg.Node]:
    """Slices of the flat parameter vector, reshaped to the layers' shapes."""
    parts, start = {}, 0
    for name, shape in SHAPES.items():
        count = int(np.prod(shape))
        parts[name] = sg.reshape(theta[start:start + count], shape)
        start += count
    return parts


def make_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(SAMPLES, INPUTS))
    labels = rng.integers(0, CLASSES, size=SAMPLES)
    theta = sg.vector("theta", SIZE)
    p = unflatten(theta)
    logits = sg.tanh(X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    loss = sg.cross_entropy(logits, labels)
    point = rng.normal(size=SIZE) * 0.7
    return theta, loss, point


def lanczos(matvec, size: int, steps: int, seed: int = 1) -> np.ndarray:
    """Ritz values (ascending) of a symmetric operator after ``steps`` Lanczos steps."""
    rng = np.random.default_rng(seed)
    basis = np.zeros((steps, size))
    alphas, betas = np.zeros(steps), np.zeros(steps)
    q = rng.normal(size=size)
    q /= np.linalg.norm(q)
    previous, beta = np.zeros(size), 0.0
    for j in range(steps):
        basis[j] = q
        w = matvec(q) - beta * previous
        alphas[j] = q @ w
        w -= alphas[j] * q
        # Full reorthogonalisation (twice is enough): without it, converged Ritz values come back
        # as spurious copies.
        for _ in range(2):
            w -= basis[:j + 1].T @ (basis[:j + 1] @ w)
        beta = np.linalg.norm(w)
        betas[j] = beta
        if beta < 1e-12:  # an invariant subspace: the Ritz values are exact
            steps = j + 1
            break
        previous, q = q, w / beta
    tridiagonal = np.diag(alphas[:steps]) + np.diag(betas[:steps - 1], 1) + np.diag(betas[:steps - 1], -1)
    return np.linalg.eigvalsh(tridiagonal)


def main(top: int = 5, steps: int = 60, seed: int = 0) -> dict:
    with sg.Graph():  # a private graph: the caller's default graph is left alone
        theta, loss, point = make_problem(seed)
        # Each timing includes building and planning its function: a dense Hessian costs one sweep
        # per parameter to build, an HVP one sweep.
        start = time.perf_counter()
        v = sg.vector("v", SIZE)
        hessian_times = sg.function([theta, v], sg.hvp(loss, theta, v))
        ritz = lanczos(lambda q: hessian_times(point, q), SIZE, steps)
        lanczos_seconds = time.perf_counter() - start
        start = time.perf_counter()
        dense = sg.function([theta], sg.hessian(loss, theta))(point)
        exact = np.linalg.eigvalsh(dense)
        dense_seconds = time.perf_counter() - start
    found, expected = ritz[::-1][:top], exact[::-1][:top]
    relative = np.abs(found - expected) / np.abs(expected)
    print(f"MLP {INPUTS}-{HIDDEN}-{CLASSES}, tanh, softmax cross-entropy on {SAMPLES} samples: "
          f"{SIZE} parameters")
    print(f"Lanczos, {steps} Hessian-vector products ({lanczos_seconds:.3f} s) "
          f"vs eigvalsh of the dense sg.hessian ({dense_seconds:.3f} s), building the graphs included")
    print(f"{'k':>2} {'Lanczos':>22} {'eigvalsh':>22} {'relative error':>15}")
    for k, (a, b, r) in enumerate(zip(found, expected, relative), 1):
        print(f"{k:>2} {a:>22.15g} {b:>22.15g} {r:>15.1e}")
    print(f"smallest eigenvalue {exact[0]:.6g} (Lanczos {ritz[0]:.6g}): the Hessian is indefinite here")
    return {"parameters": SIZE, "lanczos steps": steps, "lanczos": found, "eigvalsh": expected,
            "max relative error": float(relative.max()), "smallest": float(exact[0]),
            "symmetric": bool(np.allclose(dense, dense.T, rtol=1e-12, atol=1e-14)),
            "lanczos seconds": lanczos_seconds, "dense seconds": dense_seconds}


if __name__ == "__main__":
    main()
