"""W1: loss, and loss + gradient, of the notes' ReLU net, against hand-written NumPy.

X 256x784, W1 784x512, W2 512x10, no biases; H = relu(X W1), logits = H W2,
loss = mean softmax cross-entropy(logits, integer labels) + lambda (sum W1^2 + sum W2^2).
The hand-written reference comes in two styles: plain NumPy, and preallocated
buffers written with ``out=`` (the fastest a person would write). Also the
peak traced memory of one gradient call.

    python bench/w1_relu_net.py [--repeats N]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)
import statistics  # noqa: E402

import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402
from common import median_ratio, peak_bytes, print_table, repeats_from_command_line, side_by_side  # noqa: E402

BATCH, INPUTS, HIDDEN, CLASSES, L2 = 256, 784, 512, 10, 1e-4


def make_data(seed=0):
    """X, labels, W1, W2; ``seed`` may be a ``np.random.Generator``, which then goes on to draw more."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(BATCH, INPUTS)), rng.integers(0, CLASSES, size=BATCH),
            rng.normal(size=(INPUTS, HIDDEN)) * 0.05, rng.normal(size=(HIDDEN, CLASSES)) * 0.05)


# --- hand-written, plain ------------------------------------------------------------------------

def plain_loss(X, labels, W1, W2):
    Z = np.maximum(X @ W1, 0.0) @ W2
    Z = Z - Z.max(axis=1, keepdims=True)
    log_p = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(labels)), labels].mean() + L2 * ((W1 * W1).sum() + (W2 * W2).sum())


def plain_loss_and_gradient(X, labels, W1, W2):
    rows = np.arange(len(labels))
    U1 = X @ W1
    H = np.maximum(U1, 0.0)
    Z = H @ W2
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    S = E.sum(axis=1, keepdims=True)
    loss = (np.log(S[:, 0]) - Z[rows, labels]).mean() + L2 * ((W1 * W1).sum() + (W2 * W2).sum())
    G = E / S
    G[rows, labels] -= 1.0
    G /= len(labels)
    dW2 = H.T @ G + (2 * L2) * W2
    dW1 = X.T @ ((G @ W2.T) * (U1 > 0)) + (2 * L2) * W1
    return loss, dW1, dW2


# --- hand-written, preallocated buffers ----------------------------------------------------------

class Preallocated:
    """Every array-sized temporary is a buffer made once and written with ``out=``.

    Returned gradients are the buffers themselves: the next call overwrites them
    (the usual price of this style, which symgrad's functions do not charge).
    """

    def __init__(self, X, labels):
        self.X, self.XT, self.labels = X, X.T, labels
        self.rows = np.arange(len(labels))
        n = len(labels)
        self.H, self.Z, self.G = np.empty((n, HIDDEN)), np.empty((n, CLASSES)), np.empty((n, CLASSES))
        self.dH, self.mask = np.empty((n, HIDDEN)), np.empty((n, HIDDEN), bool)
        self.dW1, self.dW2 = np.empty((INPUTS, HIDDEN)), np.empty((HIDDEN, CLASSES))
        self.decay1, self.decay2 = np.empty((INPUTS, HIDDEN)), np.empty((HIDDEN, CLASSES))

    def loss_and_gradient(self, W1, W2):
        H, Z, G, dH = self.H, self.Z, self.G, self.dH
        np.matmul(self.X, W1, out=H)
        np.maximum(H, 0.0, out=H)
        np.matmul(H, W2, out=Z)
        Z -= Z.max(axis=1, keepdims=True)
        picked = Z[self.rows, self.labels]
        np.exp(Z, out=G)
        S = G.sum(axis=1, keepdims=True)
        G /= S
        np.multiply(W1, W1, out=self.decay1)
        np.multiply(W2, W2, out=self.decay2)
        loss = (np.log(S[:, 0]) - picked).mean() + L2 * (self.decay1.sum() + self.decay2.sum())
        G[self.rows, self.labels] -= 1.0
        G /= len(self.labels)
        np.matmul(H.T, G, out=self.dW2)
        np.multiply(W2, 2 * L2, out=self.decay2)
        self.dW2 += self.decay2
        np.matmul(G, W2.T, out=dH)
        np.greater(H, 0.0, out=self.mask)
        dH *= self.mask
        np.matmul(self.XT, dH, out=self.dW1)
        np.multiply(W1, 2 * L2, out=self.decay1)
        self.dW1 += self.decay1
        return loss, self.dW1, self.dW2


# --- symgrad ----------------------------------------------------------------------------------------

def symgrad_loss(X, labels):
    """The placeholders W1, W2 and the loss node, built in the current default graph."""
    W1, W2 = sg.matrix("W1", INPUTS, HIDDEN), sg.matrix("W2", HIDDEN, CLASSES)
    logits = sg.relu(sg.constant(X) @ W1) @ W2
    loss = sg.cross_entropy(logits, labels) + L2 * (sg.square(W1).sum() + sg.square(W2).sum())
    return W1, W2, loss


def symgrad_functions(X, labels):
    with sg.Graph():
        W1, W2, loss = symgrad_loss(X, labels)
        return sg.function([W1, W2], loss), sg.function([W1, W2], [loss] + sg.grad(loss, [W1, W2]))


def first_call_bytes(X, labels, W1, W2) -> int:
    """Peak traced memory of a fresh gradient function's first compiled call (its work buffers included)."""
    _, grad_fn = symgrad_functions(X, labels)
    grad_fn.source  # noqa: B018  (compiles now: otherwise the first call runs the interpreter)
    return peak_bytes(lambda: grad_fn(W1, W2), warm_up=False)


def check(X, labels, W1, W2, loss_fn, grad_fn, prealloc) -> None:
    """All versions agree, and the hand gradient agrees with finite differences."""
    expected = plain_loss_and_gradient(X, labels, W1, W2)
    np.testing.assert_allclose(loss_fn(W1, W2), plain_loss(X, labels, W1, W2), rtol=1e-12)
    for got in (grad_fn(W1, W2), prealloc.loss_and_gradient(W1, W2)):
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
    step = 1e-6
    for k, (i, j) in enumerate([(3, 5), (100, 7)]):
        W = [W1.copy(), W2.copy()]
        W[k][i, j] += step
        up = plain_loss(X, labels, *W)
        W[k][i, j] -= 2 * step
        down = plain_loss(X, labels, *W)
        assert abs((up - down) / (2 * step) - expected[1 + k][i, j]) < 1e-6


def main(repeats: int = 15) -> dict:
    X, labels, W1, W2 = make_data()
    loss_fn, grad_fn = symgrad_functions(X, labels)
    prealloc = Preallocated(X, labels)
    check(X, labels, W1, W2, loss_fn, grad_fn, prealloc)
    times = side_by_side({
        "loss numpy": lambda: plain_loss(X, labels, W1, W2),
        "loss symgrad": lambda: loss_fn(W1, W2),
        "grad numpy": lambda: plain_loss_and_gradient(X, labels, W1, W2),
        "grad numpy out=": lambda: prealloc.loss_and_gradient(W1, W2),
        "grad symgrad": lambda: grad_fn(W1, W2),
    }, repeats)
    t = {name: statistics.median(v) for name, v in times.items()}
    memory = {
        "numpy": peak_bytes(lambda: plain_loss_and_gradient(X, labels, W1, W2)),
        "numpy out=": peak_bytes(lambda: Preallocated(X, labels).loss_and_gradient(W1, W2)),
        "symgrad": peak_bytes(lambda: grad_fn(W1, W2)),
        # a new function's first call: also counts the work buffers it then keeps between calls
        "symgrad first call": first_call_bytes(X, labels, W1, W2),
    }
    rows = [
        ["W1 loss", t["loss symgrad"] * 1e3, t["loss numpy"] * 1e3, "numpy",
         median_ratio(times, "loss symgrad", "loss numpy")],
        ["W1 loss+grad", t["grad symgrad"] * 1e3, t["grad numpy"] * 1e3, "numpy",
         median_ratio(times, "grad symgrad", "grad numpy")],
        ["W1 loss+grad", t["grad symgrad"] * 1e3, t["grad numpy out="] * 1e3, "numpy out= (target <= 1.00)",
         median_ratio(times, "grad symgrad", "grad numpy out=")],
    ]
    print_table(f"W1 ReLU net {BATCH}x{INPUTS} -> {HIDDEN} -> {CLASSES}, medians of {repeats} interleaved "
                "rounds (ms); ratio = median of per-round ratios",
                ["workload", "symgrad", "reference", "reference is", "ratio"], rows)
    mem_rows = [["W1 grad peak MB", memory["symgrad"] / 2**20, memory["numpy"] / 2**20, "numpy (target <= 1.1)",
                 memory["symgrad"] / memory["numpy"]],
                ["W1 grad peak MB", memory["symgrad"] / 2**20, memory["numpy out="] / 2**20,
                 "numpy out= incl. buffers", memory["symgrad"] / memory["numpy out="]],
                ["W1 grad incl. kept buffers", memory["symgrad first call"] / 2**20, memory["numpy"] / 2**20,
                 "numpy", memory["symgrad first call"] / memory["numpy"]]]
    print_table("W1 peak traced memory of one loss+gradient call (tracemalloc)",
                ["workload", "symgrad", "reference", "reference is", "ratio"], mem_rows)
    return {"seconds": t, "bytes": memory, "rows": rows + mem_rows}


if __name__ == "__main__":
    main(repeats_from_command_line(__doc__))
