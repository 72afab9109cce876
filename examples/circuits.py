"""The notes' four worked circuits, with forward values and gradients.

Each circuit is built once as a graph; ``sg.grad`` adds the gradient nodes to
the same graph, and one ``sg.evaluate`` call computes every value. Printed
like the notes' circuit diagrams: the forward value of each wire, then the
gradient of the output with respect to it.

    python examples/circuits.py
"""

from __future__ import annotations

import numpy as np

import symgrad as sg


def wires(output: sg.Node, named: dict[str, sg.Node], feeds: dict) -> dict[str, tuple]:
    """For each named wire: (forward value, d output / d wire)."""
    names = list(named)
    gradients = sg.grad(output, [named[n] for n in names])
    values = sg.evaluate([named[n] for n in names] + gradients, feeds)
    count = len(names)
    return {n: (values[k], values[count + k]) for k, n in enumerate(names)}


def show(title: str, table: dict[str, tuple]) -> None:
    print(title)
    print(f"  {'wire':<8} {'value':>24} {'gradient':>24}")
    for name, (value, gradient) in table.items():
        print(f"  {name:<8} {np.array2string(value, precision=4):>24} {np.array2string(gradient, precision=4):>24}")
    print()


def add_multiply() -> dict:
    """f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4 (q = x + y)."""
    with sg.Graph():
        x, y, z = sg.scalar("x"), sg.scalar("y"), sg.scalar("z")
        q = x + y
        f = q * z
        return wires(f, {"x": x, "y": y, "z": z, "q": q, "f": f}, {x: -2.0, y: 5.0, z: -4.0})


def add_multiply_max() -> dict:
    """f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1."""
    with sg.Graph():
        x, y, z, w = (sg.scalar(n) for n in "xyzw")
        xy = x * y
        larger = sg.maximum(z, w)
        inner = xy + larger
        f = 2.0 * inner
        named = {"x": x, "y": y, "z": z, "w": w, "x*y": xy, "max": larger, "sum": inner, "f": f}
        return wires(f, named, {x: 3.0, y: -4.0, z: 2.0, w: -1.0})


def sigmoid_neuron() -> dict:
    """f(w, x) = sigmoid(w0 x0 + w1 x1 + w2) at w = [2, -3, -3], x = [-1, -2]."""
    with sg.Graph():
        w, x = sg.vector("w", 3), sg.vector("x", 2)
        dot = w[0] * x[0] + w[1] * x[1] + w[2]
        f = sg.sigmoid(dot)
        return wires(f, {"w": w, "x": x, "dot": dot, "f": f}, {w: [2.0, -3.0, -3.0], x: [-1.0, -2.0]})


def staged() -> dict:
    """f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x + y)^2) at x = 3, y = -4, staged as in the notes."""
    with sg.Graph():
        x, y = sg.scalar("x"), sg.scalar("y")
        sigy = sg.sigmoid(y)
        num = x + sigy
        sigx = sg.sigmoid(x)
        xpy = x + y
        xpysqr = xpy ** 2
        den = sigx + xpysqr
        invden = 1.0 / den
        f = num * invden
        named = {"x": x, "y": y, "sigy": sigy, "num": num, "sigx": sigx, "xpy": xpy,
                 "xpysqr": xpysqr, "den": den, "invden": invden, "f": f}
        return wires(f, named, {x: 3.0, y: -4.0})


def main() -> None:
    show("(x + y) z", add_multiply())
    show("2 (x y + max(z, w))", add_multiply_max())
    show("sigmoid(w0 x0 + w1 x1 + w2)", sigmoid_neuron())
    show("(x + sigmoid(y)) / (sigmoid(x) + (x + y)^2)", staged())


if __name__ == "__main__":
    main()
