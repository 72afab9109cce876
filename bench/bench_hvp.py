"""Gradient and Hessian-vector product of the notes' ReLU net: symgrad vs hand-written NumPy.

The net (seeds/002): X 256×784, W1 784×512, W2 512×10, no biases,

    H = relu(X W1),  logits = H W2,  loss = softmax cross-entropy(logits, labels) + λ(ΣW1² + ΣW2²)

symgrad's gradient and both HVP methods are planned once with ``sg.function``
and timed next to a hand-written NumPy gradient and a hand-derived NumPy HVP
(the R-operator written out), in the same process, one BLAS thread, median of
repeats. Before anything is timed, the gradient and both HVPs are checked
against the hand-written code, and the hand HVP against finite differences.
The data and the symgrad loss are W1's (``w1_relu_net.py``).

    python bench/bench_hvp.py [--repeats N]
"""

from __future__ import annotations

import os

import common  # noqa: F401  (pins BLAS threads before NumPy loads)
import statistics  # noqa: E402

import numpy as np  # noqa: E402
from common import median_ratio, repeats_from_command_line, side_by_side  # noqa: E402
from w1_relu_net import BATCH, CLASSES, HIDDEN, INPUTS, L2, make_data, symgrad_loss  # noqa: E402

import symgrad as sg  # noqa: E402

METHODS = ("forward-over-reverse", "reverse-over-reverse")


def make_data_and_directions(seed: int = 0):
    """W1's X, labels, W1, W2, then a direction V1, V2 drawn from the same generator."""
    rng = np.random.default_rng(seed)
    return (*make_data(rng), rng.normal(size=(INPUTS, HIDDEN)), rng.normal(size=(HIDDEN, CLASSES)))


# --- hand-written NumPy --------------------------------------------------------------------------
# Not W1's plain_loss_and_gradient: that one computes the loss too, while these ratios are HVP /
# gradient, and the R-operator needs the forward pass's P and G, which _forward shares with it.

def _forward(X, labels, W1, W2):
    U1 = X @ W1
    H = np.maximum(U1, 0.0)
    Z = H @ W2
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    G = P.copy()
    G[np.arange(len(labels)), labels] -= 1.0
    G /= len(labels)  # d(mean cross-entropy)/dZ
    return U1, H, P, G


def numpy_gradient(X, labels, W1, W2):
    U1, H, _, G = _forward(X, labels, W1, W2)
    dW2 = H.T @ G + 2 * L2 * W2
    dW1 = X.T @ ((G @ W2.T) * (U1 > 0)) + 2 * L2 * W1
    return dW1, dW2


def numpy_hvp(X, labels, W1, W2, V1, V2):
    """The R-operator by hand: R{·} is the directional derivative along (V1, V2)."""
    U1, H, P, G = _forward(X, labels, W1, W2)
    active = U1 > 0
    RH = (X @ V1) * active                          # R{U1} = X V1, R{H} = R{U1} * (U1 > 0)
    RZ = RH @ W2 + H @ V2
    RP = P * (RZ - (P * RZ).sum(axis=1, keepdims=True))
    RG = RP / len(labels)
    hv_W2 = RH.T @ G + H.T @ RG + 2 * L2 * V2
    RdH = RG @ W2.T + G @ V2.T
    hv_W1 = X.T @ (RdH * active) + 2 * L2 * V1
    return hv_W1, hv_W2


# --- symgrad -------------------------------------------------------------------------------------

def symgrad_functions(X, labels):
    W1, W2, loss = symgrad_loss(X, labels)
    V1, V2 = sg.matrix("V1", INPUTS, HIDDEN), sg.matrix("V2", HIDDEN, CLASSES)
    functions = {"gradient": sg.function([W1, W2], sg.grad(loss, [W1, W2]))}
    for method in METHODS:
        functions[method] = sg.function([W1, W2, V1, V2], sg.hvp(loss, [W1, W2], [V1, V2], method=method))
    return functions


def check(X, labels, W1, W2, V1, V2, functions) -> None:
    for got, expected in zip(functions["gradient"](W1, W2), numpy_gradient(X, labels, W1, W2)):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    hand = numpy_hvp(X, labels, W1, W2, V1, V2)
    for method in METHODS:
        for got, expected in zip(functions[method](W1, W2, V1, V2), hand):
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    # and the hand HVP against finite differences of the hand gradient, so it is not checked only by
    # symgrad; the step is small enough that no hidden unit crosses ReLU's kink.
    U1, XV1 = X @ W1, X @ V1
    eps = min(1e-6, 0.5 * float(np.min(np.abs(U1) / (np.abs(XV1) + 1e-300))))
    plus = numpy_gradient(X, labels, W1 + eps * V1, W2 + eps * V2)
    minus = numpy_gradient(X, labels, W1 - eps * V1, W2 - eps * V2)
    for p, m, h in zip(plus, minus, hand):
        np.testing.assert_allclose((p - m) / (2 * eps), h, rtol=1e-4, atol=1e-4 * np.abs(h).max())


def main(repeats: int = 15, seed: int = 0) -> dict:
    """Print the timing table; return the medians (seconds) and ratios."""
    X, labels, W1, W2, V1, V2 = make_data_and_directions(seed)
    with sg.Graph():  # a private graph: the caller's default graph is left alone
        functions = symgrad_functions(X, labels)
    check(X, labels, W1, W2, V1, V2, functions)
    calls = {
        "numpy gradient": lambda: numpy_gradient(X, labels, W1, W2),
        "numpy hvp": lambda: numpy_hvp(X, labels, W1, W2, V1, V2),
        "symgrad gradient": lambda: functions["gradient"](W1, W2),
    }
    for method in METHODS:
        calls[f"symgrad hvp {method}"] = lambda m=method: functions[m](W1, W2, V1, V2)
    times = side_by_side(calls, repeats)
    seconds = {name: statistics.median(t) for name, t in times.items()}

    def ratio(name, reference):
        return median_ratio(times, name, reference)

    ratios = {"gradient symgrad/numpy": ratio("symgrad gradient", "numpy gradient"),
              "hvp/gradient numpy": ratio("numpy hvp", "numpy gradient")}
    for method in METHODS:
        ratios[f"hvp {method} symgrad/numpy"] = ratio(f"symgrad hvp {method}", "numpy hvp")
        ratios[f"hvp/gradient {method}"] = ratio(f"symgrad hvp {method}", "symgrad gradient")
    ratios["hvp reverse-over-reverse/forward-over-reverse"] = ratio("symgrad hvp reverse-over-reverse",
                                                                    "symgrad hvp forward-over-reverse")
    faster = min(METHODS, key=lambda m: seconds[f"symgrad hvp {m}"])
    print(f"ReLU net {BATCH}x{INPUTS} -> {HIDDEN} -> {CLASSES}, softmax cross-entropy + L2; "
          f"medians of {repeats} interleaved rounds, ratios = medians of per-round ratios, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print("all HVPs equal the hand-derived R-operator (rtol 1e-9); the hand HVP equals finite differences")
    print(f"{'median time':<46} {'ms':>8}")
    for name, s in seconds.items():
        print(f"{name:<46} {s * 1e3:>8.2f}")
    print("ratio")
    for name, r in ratios.items():
        print(f"{name:<46} {r:>8.2f}")
    print(f"faster HVP method: {faster} (default: {sg.derivatives.DEFAULT_HVP_METHOD})")
    return {"seconds": seconds, "ratios": ratios, "faster method": faster}


if __name__ == "__main__":
    main(repeats_from_command_line(__doc__))
