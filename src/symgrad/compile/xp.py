"""Generated code for another array library: the array-API dialect (``backend=``).

One line per step, in the standard namespace ``xp`` only: ``xp.exp(x)``,
``xp.sum(t3, axis=(0,), keepdims=False)``, or a kernel bound from the op's
``array_api`` fact (``f_logsumexp(t4, axis=1)``). No ``out=`` buffers and no
dtype probes: each result whose dtype the library may compute otherwise is cast
to the node's static dtype (free under ``jax.jit``, which traces once).
Constants are moved to the library once, here. For JAX the function is
jit-compiled; for Dask its outputs are lazy arrays sharing one task graph.
"""

from __future__ import annotations

import importlib
from typing import Sequence

from ..backend import Backend
from ..ir import CONSTANT, PLACEHOLDER, Node
from . import emit
from .codegen import Generated, Namer, describe, pack
from .steps import Step


def xp_source(backend: Backend, input_steps: Sequence[Step], steps: list[Step], outputs: list[Step],
              many: bool, gen: Generated, namer: Namer) -> str:
    """Source defining ``compiled(...)`` for ``backend``; BackendError for an op it cannot run."""
    gen.namespace["xp"] = backend.xp
    lines = []
    for step in steps:
        var = namer.name(step)
        if step.op is PLACEHOLDER:
            continue
        if step.op is CONSTANT:
            gen.namespace[var] = backend.constant(step.value)
            continue
        kernel, spelling = backend.kernel(step.op)
        if spelling is None:
            spelling = gen.bind(f"f_{step.op.name}", kernel)
        args = [namer.name(i) for i in step.inputs] + emit.keyword_args(step.params, gen.bind)
        lines.append(f"{var} = {spelling}({', '.join(args)})    # {describe(step)}")
        want = gen.bind(f"{step.dtype.name}_type", backend.dtype(step.dtype))
        lines.append(f"if {var}.dtype != {want}: {var} = xp.astype({var}, {want})")
    packed = pack([namer.name(o) for o in outputs], many)
    params = [namer.name(i) for i in input_steps]
    return "\n".join([f"def compiled({', '.join(params)}):"] + ["    " + line for line in lines]
                     + [f"    return {packed}"])


class BackendCode:
    """A function compiled for another array library: ``source`` and ``run(*values)``."""

    def __init__(self, backend: Backend, inputs: Sequence[Node], steps: list[Step], input_steps: list[Step],
                 outputs: list[Step], many: bool):
        gen = Generated()
        namer = Namer({"xp", "np", "math", "compiled"}, input_steps)
        backend.check_dtypes([*inputs, *steps])
        self.source = xp_source(backend, input_steps, steps, outputs, many, gen, namer) + "\n"
        exec(compile(self.source, f"<symgrad generated for {backend.name}>", "exec"), gen.namespace)
        compiled = gen.namespace["compiled"]
        if backend.name == "jax":
            compiled = importlib.import_module("jax").jit(compiled)  # imported by the backend already
        self.backend, self.inputs, self.compiled = backend, list(inputs), compiled

    def run(self, *values):
        return self.compiled(*(self.backend.check_feed(p, v) for p, v in zip(self.inputs, values)))
