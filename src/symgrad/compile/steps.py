"""The compiler's view of a graph: a list of steps in run order.

A :class:`Step` is a plain, mutable record made from a node: what to compute
(op, inputs, params), its static type, and where it came from (its node and,
for derivative nodes, the pass that made it). The simplifier rewrites steps
without touching the user's graph; the code generator turns them into source.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..ir import CONSTANT, Node, ancestors
from ..rewrite import constant_value

# A value computed once at compile time may take this much memory (or as much as its inputs).
FOLD_BYTES = 1 << 20


class Step:
    """One value to compute. ``inputs`` are steps; ``node`` is the graph node it stands for."""

    __slots__ = ("node", "op", "inputs", "params", "shape", "dtype", "value", "name")

    def __init__(self, node: Node | None, op, inputs, params: dict, shape, dtype, value=None, name=None):
        self.node = node
        self.op = op
        self.inputs = list(inputs)
        self.params = params
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.value = value
        self.name = name

    @property
    def kind(self) -> str:
        return self.op.name

    def __repr__(self) -> str:
        label = f"%{self.node.id}" if self.node is not None else "new"
        return f"<Step {label} {self.kind}>"


def steps_for(outputs: Sequence[Node], nodes: list[Node] | None = None) -> tuple[list[Step], list[Step]]:
    """Steps for every node ``outputs`` need (``nodes``, if known: ``ancestors(outputs)``), in
    topological order, and the output steps."""
    made: dict[Node, Step] = {}
    steps = []
    for node in ancestors(outputs) if nodes is None else nodes:
        step = Step(node, node.op, [made[i] for i in node.inputs], node.params.as_dict(),
                    node.shape, node.dtype, node.value, node.name)
        made[node] = step
        steps.append(step)
    return steps, [made[o] for o in outputs]


def live_steps(outputs: Sequence[Step]) -> list[Step]:
    """The steps ``outputs`` still need, in an order where inputs come first (iterative).

    Of a step's inputs, the one made last (usually the one with the most work
    behind it) is computed first, and cheap ones such as ``2 * W`` just before
    their use: their arrays then live briefly and are still in cache when read.
    """
    order, state, stack = [], {}, [(o, False) for o in reversed(outputs)]
    while stack:
        step, expanded = stack.pop()
        if expanded:
            order.append(step)
            continue
        if id(step) in state:
            continue
        state[id(step)] = True
        stack.append((step, True))
        stack.extend((i, False) for i in sorted(step.inputs, key=_made) if id(i) not in state)
    return order


def fold_constants(steps: list[Step]) -> None:
    """Compute once, at compile time, each step whose inputs are all constants.

    Gradient passes make such steps in bulk (a one-hot of constant labels, a
    scalar broadcast to a vector, the transpose of a constant matrix). They
    are computed as :func:`symgrad.rewrite.constant_value` folds any
    constant: by the op's own forward, and left for the call when it would
    raise or warn. The size is bounded, so folding cannot blow up memory.
    """
    for step in steps:
        if not step.inputs or any(i.op is not CONSTANT for i in step.inputs):
            continue
        limit = max(FOLD_BYTES, sum(i.value.nbytes for i in step.inputs))
        if int(np.prod(step.shape)) * step.dtype.itemsize > limit:
            continue
        value = constant_value(step.op, [i.value for i in step.inputs], step.params, step.shape, step.dtype)
        if value is not None:
            step.op, step.inputs, step.params, step.value = CONSTANT, [], {}, value


def _made(step: Step) -> int:
    return step.node.id if step.node is not None else -1
