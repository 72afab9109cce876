"""Gradient and Hessian-vector product of the notes' ReLU net: symgrad vs NumPy by hand.

The net (no biases): H = relu(X W1), logits = H W2, cost = mean softmax
cross-entropy + lam * (sum W1**2 + sum W2**2), batch 256, 784 -> 512 -> 10.

Timed side by side in one run, one thread, median of repeats:
- the gradient (cost, dW1, dW2): symgrad vs hand-written backprop;
- the HVP (H v for v = (V1, V2)): symgrad forward-over-reverse and
  reverse-over-reverse vs a hand-derived R-operator pass.

Run:  python bench/bench_hvp.py [--repeats N]
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy is imported: one BLAS thread

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402

BATCH, N_IN, N_HIDDEN, N_OUT, LAM = 256, 784, 512, 10, 1e-4


def problem(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "X": rng.standard_normal((BATCH, N_IN)),
        "y": rng.integers(0, N_OUT, BATCH),
        "W1": rng.standard_normal((N_IN, N_HIDDEN)) * np.sqrt(2 / N_IN),
        "W2": rng.standard_normal((N_HIDDEN, N_OUT)) * np.sqrt(1 / N_HIDDEN),
        "V1": rng.standard_normal((N_IN, N_HIDDEN)),
        "V2": rng.standard_normal((N_HIDDEN, N_OUT)),
    }


# --- NumPy by hand ------------------------------------------------------------------

def _forward(X, y, W1, W2):
    U = X @ W1
    H = np.maximum(U, 0)
    Z = H @ W2
    Z = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    P /= P.sum(axis=1, keepdims=True)
    cost = -np.mean(np.log(P[np.arange(len(y)), y])) + LAM * (np.sum(W1 * W1) + np.sum(W2 * W2))
    G = P.copy()
    G[np.arange(len(y)), y] -= 1
    G /= len(y)
    return U, H, P, G, cost


def numpy_grad(X, y, W1, W2):
    U, H, P, G, cost = _forward(X, y, W1, W2)
    dW2 = H.T @ G + 2 * LAM * W2
    dU = (G @ W2.T) * (U > 0)
    dW1 = X.T @ dU + 2 * LAM * W1
    return cost, dW1, dW2


def numpy_hvp(X, y, W1, W2, V1, V2):
    """The R-operator: the directional derivative of every gradient step along V."""
    U, H, P, G, _ = _forward(X, y, W1, W2)
    mask = U > 0
    rH = (X @ V1) * mask
    rZ = rH @ W2 + H @ V2
    rG = P * (rZ - np.sum(P * rZ, axis=1, keepdims=True)) / len(y)
    rW2 = rH.T @ G + H.T @ rG + 2 * LAM * V2
    rU = (rG @ W2.T + G @ V2.T) * mask
    rW1 = X.T @ rU + 2 * LAM * V1
    return rW1, rW2


# --- symgrad ----------------------------------------------------------------------------

def symgrad_functions():
    X = sg.placeholder("X", (BATCH, N_IN))
    y = sg.placeholder("y", (BATCH,), dtype="int64")
    W1 = sg.placeholder("W1", (N_IN, N_HIDDEN))
    W2 = sg.placeholder("W2", (N_HIDDEN, N_OUT))
    V1 = sg.placeholder("V1", (N_IN, N_HIDDEN))
    V2 = sg.placeholder("V2", (N_HIDDEN, N_OUT))
    logits = sg.relu(X @ W1) @ W2
    cost = sg.cross_entropy(logits, y) + LAM * (sg.sum(W1 * W1) + sg.sum(W2 * W2))
    grad_fn = sg.function([X, y, W1, W2], [cost] + sg.grad(cost, [W1, W2]))
    hvp_fns = {method: sg.function([X, y, W1, W2, V1, V2], sg.hvp(cost, [W1, W2], [V1, V2], method=method))
               for method in sg.derivatives.HVP_METHODS}
    return grad_fn, hvp_fns


def median_time(fn, args, repeats: int) -> float:
    fn(*args)  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(repeats: int = 15) -> dict:
    p = problem()
    grad_args = (p["X"], p["y"], p["W1"], p["W2"])
    hvp_args = grad_args + (p["V1"], p["V2"])
    grad_fn, hvp_fns = symgrad_functions()

    # Same numbers first, then time.
    for have, want in zip(grad_fn(*grad_args), numpy_grad(*grad_args)):
        np.testing.assert_allclose(have, want, rtol=1e-9, atol=1e-12)
    for fn in hvp_fns.values():
        for have, want in zip(fn(*hvp_args), numpy_hvp(*hvp_args)):
            np.testing.assert_allclose(have, want, rtol=1e-8, atol=1e-10)

    t = {"numpy grad": median_time(numpy_grad, grad_args, repeats),
         "symgrad grad": median_time(grad_fn, grad_args, repeats),
         "numpy hvp": median_time(numpy_hvp, hvp_args, repeats)}
    for method, fn in hvp_fns.items():
        t[f"symgrad hvp {method}"] = median_time(fn, hvp_args, repeats)

    print(f"ReLU net {BATCH}x{N_IN} -> {N_HIDDEN} -> {N_OUT}, one thread, median of {repeats}")
    print(f"{'':38s}{'ms':>9s}{'/ numpy':>9s}{'/ grad':>8s}")
    rows = [("numpy grad", "numpy grad", "numpy grad"),
            ("symgrad grad", "numpy grad", "symgrad grad"),
            ("numpy hvp", "numpy hvp", "numpy grad")]
    rows += [(f"symgrad hvp {m}", "numpy hvp", "symgrad grad") for m in hvp_fns]
    for name, numpy_name, grad_name in rows:
        print(f"{name:38s}{1e3 * t[name]:9.2f}{t[name] / t[numpy_name]:9.2f}{t[name] / t[grad_name]:8.2f}")
    nodes = {"grad": len(grad_fn.plan.nodes), **{m: len(f.plan.nodes) for m, f in hvp_fns.items()}}
    print("planned nodes:", ", ".join(f"{k} {v}" for k, v in nodes.items()))
    return t


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    main(parser.parse_args().repeats)
