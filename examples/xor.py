"""The notes' XOR network, trained by gradient descent.

    f(x; W, c, w, b) = wᵀ max(0, Wᵀx + c) + b

with two hidden ReLU units and mean squared error on the four XOR points,
from a seeded random start. The gradient is built once, symbolically, and a
planned function evaluates loss and gradients at every step.

    python examples/xor.py
"""

from __future__ import annotations

import numpy as np

import symgrad as sg

POINTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
LABELS = np.array([0.0, 1.0, 1.0, 0.0])


def build() -> tuple[list[sg.Node], sg.Node, sg.Node]:
    """The parameters, the predictions for the four points and the MSE loss."""
    W, c = sg.matrix("W", 2, 2), sg.vector("c", 2)
    w, b = sg.vector("w", 2), sg.scalar("b")
    X = sg.constant(POINTS)
    prediction = sg.relu(X @ W + c) @ w + b
    loss = sg.mse(prediction, LABELS)
    return [W, c, w, b], prediction, loss


def train(steps: int = 500, rate: float = 0.1, seed: int = 1, log_every: int = 50):
    """Gradient descent from a seeded random start; returns (parameters, losses, predictions)."""
    with sg.Graph():
        params, prediction, loss = build()
        step = sg.function(params, [loss, prediction] + sg.grad(loss, params))
        rng = np.random.default_rng(seed)
        values = [rng.normal(0, 1, (2, 2)), np.full(2, 0.1), rng.normal(0, 1, 2), np.array(0.0)]
        losses = []
        for k in range(steps + 1):
            current, predicted, *grads = step(*values)
            losses.append(float(current))
            if log_every and k % log_every == 0:
                print(f"step {k:5d}  loss {float(current):.6f}")
            if k < steps:  # the returned parameters are the ones the last loss and predictions are of
                values = [v - rate * g for v, g in zip(values, grads)]
        return values, losses, predicted


def main() -> None:
    values, losses, predicted = train()
    print("predictions for", [tuple(int(v) for v in p) for p in POINTS], "->", np.round(predicted, 3))
    # The solution the textbook gives by hand, evaluated with the same graph.
    with sg.Graph():
        params, prediction, _ = build()
        exact = sg.evaluate(prediction, dict(zip(params, [np.ones((2, 2)), [0.0, -1.0], [1.0, -2.0], 0.0])))
    print("textbook solution W=[[1,1],[1,1]], c=[0,-1], w=[1,-2], b=0 ->", exact)


if __name__ == "__main__":
    main()
