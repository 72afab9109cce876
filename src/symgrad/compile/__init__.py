"""Compiling graphs: the steps a function needs become straight-line NumPy source.

:func:`compile_outputs` is what ``sg.function`` uses; ``fn.source`` shows the result.
"""

from __future__ import annotations

from typing import Sequence

from ..graph import Node
from .codegen import CompiledCode
from .steps import fold_constants, live_steps, steps_for


def compile_outputs(inputs: Sequence[Node], outputs: Sequence[Node], many: bool, **options) -> CompiledCode:
    """Straight-line code computing ``outputs`` from the placeholders ``inputs`` (options: see CompiledCode)."""
    steps, out_steps = steps_for(outputs)
    fold_constants(steps)
    by_node = {s.node: s for s in steps}
    input_steps = [by_node.get(node) for node in inputs]
    input_steps = [s if s is not None else steps_for([n])[0][0] for s, n in zip(input_steps, inputs)]
    ordered = [s for s in live_steps(out_steps) if s.op.name != "placeholder" or s in input_steps]
    return CompiledCode(inputs, ordered, input_steps, out_steps, many, **options)


__all__ = ["compile_outputs", "CompiledCode"]
