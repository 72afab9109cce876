"""The compiler's view of a graph: a list of steps in run order.

A :class:`Step` is a plain, mutable record made from a node: what to compute
(op, inputs, params), its static type, and where it came from (its node and,
for derivative nodes, the pass that made it). The simplifier rewrites steps
without touching the user's graph; the code generator turns them into source.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..graph import Node, ancestors


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


def steps_for(outputs: Sequence[Node]) -> tuple[list[Step], list[Step]]:
    """Steps for every node ``outputs`` need, in topological order, and the output steps."""
    made: dict[Node, Step] = {}
    steps = []
    for node in ancestors(outputs):
        step = Step(node, node.op, [made[i] for i in node.inputs], node.params.as_dict(),
                    node.shape, node.dtype, node.value, node.name)
        made[node] = step
        steps.append(step)
    return steps, [made[o] for o in outputs]


def live_steps(outputs: Sequence[Step]) -> list[Step]:
    """The steps ``outputs`` still need, in an order where inputs come first (iterative)."""
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
        stack.extend((i, False) for i in reversed(step.inputs) if id(i) not in state)
    return order
