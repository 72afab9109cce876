"""The notes' one-hidden-layer ReLU network, trained by minibatch SGD.

    H = max(0, X W1),   logits = H W2,
    J = cross_entropy(logits, y) + λ (Σ W1² + Σ W2²)

(no biases, as in the notes). The batch dimension is a run-time one
(``None``), so one graph serves every minibatch and the test set. Data:
scikit-learn's bundled 8×8 digits when scikit-learn is installed, otherwise a
synthetic 10-class problem; the script says which.

    python examples/mlp.py
"""

from __future__ import annotations

import numpy as np

import symgrad as sg


def load_data(seed: int = 0):
    """(X_train, y_train, X_test, y_test, description)."""
    rng = np.random.default_rng(seed)
    try:
        from sklearn.datasets import load_digits  # ships its data inside the package
        digits = load_digits()
        X, y = digits.data / 16.0, digits.target.astype(np.int64)
        source = "scikit-learn's 8x8 handwritten digits (1797 images, 64 features, 10 classes)"
    except ImportError:
        classes, features, count = 10, 20, 3000
        centers = rng.normal(0, 1.0, (classes, features))
        y = rng.integers(0, classes, count)
        X = centers[y] + rng.normal(0, 1.0, (count, features))
        source = (f"synthetic data: {count} points, {features} features, {classes} Gaussian classes "
                  "(scikit-learn is not installed, so no real data set is at hand)")
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    split = int(0.8 * len(y))
    return X[:split], y[:split], X[split:], y[split:], source


def build(features: int, hidden: int, classes: int, decay: float):
    """Placeholders, logits and the notes' cost J."""
    X = sg.placeholder("X", (None, features))
    y = sg.placeholder("y", (None,), dtype="int64")
    W1 = sg.placeholder("W1", (features, hidden))
    W2 = sg.placeholder("W2", (hidden, classes))
    H = sg.relu(X @ W1)
    logits = H @ W2
    cost = sg.cross_entropy(logits, y) + decay * (sg.square(W1).sum() + sg.square(W2).sum())
    return X, y, W1, W2, logits, cost


def train(epochs: int = 15, hidden: int = 64, batch: int = 64, rate: float = 0.1, decay: float = 1e-4,
          seed: int = 0, verbose: bool = True):
    """Train; returns (test accuracy, list of epoch losses)."""
    X_train, y_train, X_test, y_test, source = load_data(seed)
    features, classes = X_train.shape[1], int(y_train.max()) + 1
    if verbose:
        print("data:", source)
    with sg.Graph():
        X, y, W1, W2, logits, cost = build(features, hidden, classes, decay)
        step = sg.function([X, y, W1, W2], [cost] + sg.grad(cost, [W1, W2]))
        scores = sg.function([X, W1, W2], logits)
        rng = np.random.default_rng(seed)
        w1 = rng.normal(0, np.sqrt(2.0 / features), (features, hidden))
        w2 = rng.normal(0, np.sqrt(1.0 / hidden), (hidden, classes))
        losses = []
        for epoch in range(epochs):
            order = rng.permutation(len(y_train))
            total = 0.0
            for start in range(0, len(order), batch):
                rows = order[start:start + batch]
                value, g1, g2 = step(X_train[rows], y_train[rows], w1, w2)
                w1 -= rate * g1
                w2 -= rate * g2
                total += float(value) * len(rows)
            losses.append(total / len(order))
            accuracy = float(np.mean(np.argmax(scores(X_test, w1, w2), axis=1) == y_test))
            if verbose:
                print(f"epoch {epoch + 1:3d}  mean cost {losses[-1]:.4f}  test accuracy {accuracy:.3f}")
    return accuracy, losses


if __name__ == "__main__":
    train()
