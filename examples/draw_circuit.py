"""Draw the notes' circuits with forward values (green) and gradients (red).

Two circuits from the notes:

- f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1: f = -20, and the
  gradients dx = -8, dy = 6, dz = 2, dw = 0;
- the 2-d sigmoid neuron f = sigmoid(w0 x0 + w1 x1 + w2) at w = [2, -3, -3],
  x = [-1, -2]: f = 0.73, dw = [-0.20, -0.39, 0.20], dx = [0.39, -0.59].

Writes ``circuit.svg`` and ``neuron.svg`` to the directory given on the
command line (default: ``docs/``), drawn by Graphviz's ``dot`` or, without
it, by graphviz-pure (``pip install 'symgrad[draw]'``, part of the test
extra); with neither, writes the ``.dot`` text and says what to install.

    python examples/draw_circuit.py [directory]
"""

from __future__ import annotations

import os
import sys

import symgrad as sg


def max_circuit() -> tuple[sg.Node, dict]:
    """The circuit 2 (x y + max(z, w)) and the notes' input values."""
    x, y, z, w = (sg.scalar(n) for n in "xyzw")
    f = 2.0 * (x * y + sg.maximum(z, w))
    return f, {x: 3.0, y: -4.0, z: 2.0, w: -1.0}


def sigmoid_neuron() -> tuple[sg.Node, dict]:
    """A 2-d neuron sigmoid(w0 x0 + w1 x1 + w2), written with the notes' gates."""
    w, x = sg.vector("w", 3), sg.vector("x", 2)
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1.0 / (1.0 + sg.exp(-dot))
    return f, {w: [2.0, -3.0, -3.0], x: [-1.0, -2.0]}


def main(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for name, build in (("circuit", max_circuit), ("neuron", sigmoid_neuron)):
        with sg.Graph():
            f, feeds = build()
            drawing = sg.draw(f, feeds=feeds, gradients=True)
        path = os.path.join(directory, f"{name}.svg")
        try:
            drawing.save(path)
        except FileNotFoundError as error:  # neither dot nor graphviz-pure: keep the DOT text
            path = os.path.join(directory, f"{name}.dot")
            drawing.save(path)
            print(error)
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs")
