"""Code generation: a schedule of steps becomes one straight-line Python function.

The source is made once, exec'd once, and kept readable (``fn.source``):
one line per step, each with a comment naming the node it computes and, for
a derivative node, the pass and the primal it came from. Variables
are named after what they hold: ``x`` for a placeholder named x, ``t7`` for
node %7, ``c7`` for a constant, ``t7_bar`` / ``t7_dot`` for a node made by a
reverse / forward derivative pass (a cotangent / tangent, as ``x_bar`` /
``x_dot`` name them everywhere in symgrad).

Memory: a variable is deleted right after its last use. An elementwise op
(or a matmul) writes with ``out=`` into the buffer of a value that is dead
by then, when shapes and dtypes match and nothing alive (no view, no output)
still shares that buffer (see :mod:`.buffers`). All buffers belong to one
call, so arrays returned by a call are never overwritten later and the
function is safe to call from several threads at once. A returned array
that may be a fed array, a constant or a view of either (or of another
output) is copied, as the interpreter does (``evaluate.outputs_to_copy``).

Names: a placeholder's name is used as is only when Python would read it
unchanged (identifiers are NFKC-normalised: ``ｃ1`` is ``c1``) and no
generated name can take it; names bound from op names and parameter keys
are ASCII, and comments escape what would end them.

Scalar float64 graphs are written a second time with Python floats and the
``math`` module, as ``call``, which becomes the function object's own
``__call__`` (nothing runs between the caller and it). A call that hits an
error Python raises where NumPy would return inf or nan reruns the array
version. Results are 0-d NumPy arrays either way, as the API documents.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import unicodedata
from typing import Sequence

import numpy as np

from ..evaluate import arity_error, check_computed, convert_feed, outputs_to_copy
from ..ir import CONSTANT, PLACEHOLDER, Node
from ..types import type_string
from . import emit
from .buffers import plan_buffers
from .steps import Step


class Namer:
    """Readable, unique variable names for steps."""

    def __init__(self, reserved: set[str]):
        self.taken = set(reserved)
        self.names: dict[int, str] = {}

    def _unique(self, base: str) -> str:
        name, k = base, 2
        while name in self.taken or keyword.iskeyword(name):
            name, k = f"{base}{k}", k + 1
        self.taken.add(name)
        return name

    def name(self, step: Step) -> str:
        found = self.names.get(id(step))
        if found is None:
            base = self._base(step)
            if base == "p":
                base = f"p{len([n for n in self.taken if re.fullmatch(r'p[0-9]+', n)])}"
            found = self.names[id(step)] = self._unique(base)
        return found

    @staticmethod
    def _base(step: Step) -> str:
        node = step.node
        if step.op is PLACEHOLDER:
            return step.name if step.name and _free_name(step.name) else "p"
        if step.op is CONSTANT:
            return f"c{node.id}" if node is not None else "c"
        origin = node.graph.origin(node) if node is not None else None
        if origin is None:
            return f"t{node.id}" if node is not None else "t"
        return f"t{node.id}_{'bar' if origin.kind == 'cotangent' else 'dot'}"


def _free_name(name: str) -> bool:
    """A placeholder name usable as is: an identifier that no generated name can take.

    Python reads identifiers NFKC-normalised (``ｃ1`` *is* ``c1``, ``ｎｐ`` is ``np``), so a
    name is used as is only when normalising leaves it unchanged; any other one becomes
    ``p0``, ``p1``, ... and cannot capture a generated name or another placeholder's.
    """
    generated = re.fullmatch(r"(t|c|p|a|in|float_|buf|pool|check)\d*|t\d+_(bar|dot)\d*|[fp]_\w+|\w+_type|np|math|"
                             r"array|asarray|ndarray|float64|convert|run|compiled|call|slow|fallback|self|more|"
                             r"MISSING|buffers|params\d*", name)
    shadows = name in vars(builtins)  # the generated code calls type, float, abs, ...
    return (name.isidentifier() and unicodedata.normalize("NFKC", name) == name and not keyword.iskeyword(name)
            and generated is None and not shadows)


def ascii_identifier(text: str) -> str:
    """``text`` made a plain ASCII identifier (for names built from op names and parameter keys)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if name[:1].isalpha() or name[:1] == "_" else "_" + name


def comment(text: str) -> str:
    """``text`` safe inside a ``#`` comment: a custom op's name may hold a line break."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def describe(step: Step) -> str:
    """The comment of a step's line: ``%7 mul f64[3]; cotangent (pass 1) of %4 tanh``."""
    node = step.node
    text = f"{step.kind} {type_string(step.shape, step.dtype)}"
    if node is None:
        return comment(text + " (made by simplification)")
    text = f"%{node.id} " + text
    origin = node.graph.origin(node)
    if origin is not None:
        text += f"; {origin}"
    return comment(text)


class Generated:
    """Source text and the namespace it runs in."""

    def __init__(self):
        self.namespace: dict = {"np": np, "math": math}
        self.lines: list[str] = []

    def bind(self, prefix: str, obj) -> str:
        prefix = ascii_identifier(prefix)  # Python would NFKC-normalise the name in the source, not the key
        for name, value in self.namespace.items():
            if value is obj and name.startswith(prefix):
                return name
        name, k = prefix, 2
        while name in self.namespace:
            name, k = f"{prefix}{k}", k + 1
        self.namespace[name] = obj
        return name


def _probe_dtype(step: Step, inputs: list) -> np.dtype | None:
    """The dtype NumPy gives ``step`` on zeros of its input types (None if that fails).

    Users' ops are never probed: their forward may count its calls or have effects.
    """
    if not step.op.pure:
        return None
    try:
        with np.errstate(all="ignore"):
            return np.asarray(step.op.forward(*inputs, **step.params)).dtype
    except Exception:
        return None


def _sample(step: Step):
    if step.value is not None:
        return step.value
    shape = tuple(1 if d is None else d for d in step.shape)
    return np.zeros(shape, step.dtype)


def array_source(name: str, inputs: Sequence[Step], steps: list[Step], outputs: list[Step],
                 many: bool, gen: Generated, namer: Namer) -> str:
    """The NumPy version of the function, as source defining ``name``."""
    calls: dict[int, emit.Call] = {}
    shared: dict[tuple, list] = {}  # kernel key -> [variable, kernel call, first step, last step]
    probed: dict[int, np.dtype | None] = {}
    samples: dict[int, object] = {}
    for step in steps:
        if step.op is PLACEHOLDER or step.op is CONSTANT:
            samples[id(step)] = _sample(step)
            if step.op is CONSTANT:
                gen.namespace[namer.name(step)] = step.value
            continue
        if step.op.shares is not None:
            calls[id(step)] = _shared_call(step, shared, gen, namer)
        else:
            calls[id(step)] = emit.array_call(step, [namer.name(i) for i in step.inputs], gen.bind)
        probed[id(step)] = _probe_dtype(step, [samples[id(i)] for i in step.inputs])
        samples[id(step)] = _sample(step)

    def takes_out(step: Step) -> bool:
        return (calls[id(step)].out and probed[id(step)] == step.dtype and step.shape != ()
                and None not in step.shape)

    buffers = plan_buffers(steps, outputs, fresh=lambda s: id(s) in calls and calls[id(s)].fresh,
                           takes_out=takes_out)
    body = []
    checkers: list[_Checker] = []  # one list: binding a name per checked step would cost O(n^2)
    check = gen.bind("check", checkers)
    pooled = {k: f"buf{j}" for j, k in enumerate(buffers.pooled)}
    if pooled:
        pool = gen.bind("pool", BufferPool([(steps[k].shape, steps[k].dtype) for k in buffers.pooled]))
        body.append(f"buffers = {pool}.take()")
        body.append(f"{', '.join(pooled.values())}, = buffers")
    for k, step in enumerate(steps):
        call = calls.get(id(step))
        group = shared.get(_kernel_key(step)) if step.op.shares is not None else None
        if group is not None and group[2] is step:
            kernel = step.op.shares[0].__name__.strip("_")
            body.append(f"{group[0]} = {group[1]}    # {kernel}: one call for all its results")
        if call is not None:
            var = namer.name(step)
            out = buffers.out_for.get(k)
            text = call.finish(namer.name(out) if out is not None else pooled.get(k))
            if probed[id(step)] is None:
                gen.namespace[f"{var}_type"] = step.dtype
                body.append(f"{var} = {text}    # {describe(step)}")
                body.append(f"if {var}.dtype != {var}_type: {var} = {var}.astype({var}_type)")
            elif probed[id(step)] != step.dtype:
                body.append(f"{var} = ({text}).astype({emit.literal(step.dtype)})    # {describe(step)}")
            else:
                body.append(f"{var} = {text}    # {describe(step)}")
            if _needs_check(step):
                checkers.append(_Checker(step))
                body.append(f"{check}[{len(checkers) - 1}]({var}, {', '.join(namer.name(i) for i in step.inputs)})")
        dead = [namer.name(s) for s in buffers.release_after.get(k, ())]
        if group is not None and group[3] is step:
            dead.append(group[0])
        if dead:
            body.append(f"del {', '.join(dead)}")
    results = []
    copies = outputs_to_copy(outputs, lambda s: s.inputs, lambda s: s.op is PLACEHOLDER or s.op is CONSTANT,
                             lambda s: id(s) in calls and not calls[id(s)].fresh)
    for out, copy in zip(outputs, copies):
        var = namer.name(out)
        if copy:
            results.append(f"np.array({var})")  # fresh and writable, as the interpreter's result
        else:
            results.append(f"np.asarray({var})" if out.shape == () else var)
    if pooled:
        body.append(f"del {', '.join(pooled.values())}")
        body.append(f"{pool}.give(buffers)")
    body.append("return " + _pack(results, many))
    header = f"def {name}({', '.join(namer.name(i) for i in inputs)}):"
    return "\n".join([header] + ["    " + line for line in body])


def _kernel_key(step: Step) -> tuple:
    return step.op.shares[0], tuple(id(i) for i in step.inputs), tuple(sorted(step.params.items()))


def _shared_call(step: Step, shared: dict, gen: Generated, namer: Namer) -> emit.Call:
    """``t7_all[1]``: one result of a kernel (``Op.shares``) called once, by the line before the
    first step that needs it, for every step that applies it to the same inputs and parameters."""
    kernel, index = step.op.shares
    key = _kernel_key(step)
    group = shared.get(key)
    if group is None:
        args = [namer.name(i) for i in step.inputs]
        for name, value in step.params.items():
            text = emit.literal(value)
            args.append(f"{name}={text if text is not None else gen.bind(f'p_{name}', value)}")
        call = f"{gen.bind('f_' + kernel.__name__.strip('_'), kernel)}({', '.join(args)})"
        group = shared[key] = [namer._unique(f"{namer.name(step)}_all"), call, step, step]
    group[3] = step
    return emit.Call(f"{group[0]}[{index}]")


def _needs_check(step: Step) -> bool:
    """Custom ops (whose forward may disagree with their shape rule) and broadcasts over run-time dims."""
    return not step.op.pure or bool(step.op.runtime_broadcast_axes(step.inputs))


class BufferPool:
    """Sets of work buffers kept between calls, one set per call in progress.

    A call takes a set (or makes one) and gives it back when it returns, so
    threads and nested calls never share one; a call that raises drops its
    set. The buffers hold intermediates only, never a returned array.
    """

    KEEP = 4  # sets kept for reuse; more concurrent calls allocate their own

    def __init__(self, layouts: list[tuple]):
        self.layouts = layouts
        self.free: list[tuple] = []

    def take(self) -> tuple:
        try:
            return self.free.pop()  # atomic under the GIL
        except IndexError:
            return tuple(np.empty(shape, dtype) for shape, dtype in self.layouts)

    def give(self, buffers: tuple) -> None:
        if len(self.free) < self.KEEP:
            self.free.append(buffers)


class _Checker:
    """The interpreter's run-time shape checks, for the steps that need them."""

    def __init__(self, step: Step):
        self.node = step.node
        self.runtime_broadcasts = step.op.runtime_broadcast_axes(step.inputs)

    def __call__(self, value, *inputs):
        check_computed(self.node, inputs, value, self.runtime_broadcasts)


def _pack(results: list[str], many: bool) -> str:
    return f"[{', '.join(results)}]" if many else results[0]


def math_source(inputs: Sequence[Step], steps: list[Step], outputs: list[Step], many: bool,
                gen: Generated, namer: Namer) -> str | None:
    """``call``: the Python-float version of a scalar float64 function, or None if an op has no such form.

    It becomes the function object's own ``__call__`` (no wrapper in between,
    for call latency). Floats run the ``math`` code; anything else (another
    type, a wrong count) goes through ``slow``, which converts or raises
    FeedError, then comes back here.
    """
    if any(s.shape != () or s.dtype != np.float64 for s in [*steps, *inputs]):  # unused inputs too
        return None
    body = []
    for step in steps:
        var = namer.name(step)
        if step.op is PLACEHOLDER:
            continue
        if step.op is CONSTANT:
            value = float(step.value)
            if math.isfinite(value):
                namer.names[id(step)] = repr(value) if value >= 0 else f"({value!r})"
            else:
                namer.names[id(step)] = gen.bind("float_", value)
            continue
        lines = emit.math_lines(step, [namer.name(i) for i in step.inputs], var)
        if lines is None:
            return None
        lines[0] += f"    # {describe(step)}"
        body.extend(lines)
    # asarray makes a new 0-d array from a float, a third faster than array()
    results = _pack([f"asarray({namer.name(o)})" for o in outputs], many)
    params = [namer.name(i) for i in inputs]
    gen.namespace.update({"asarray": np.asarray, "MISSING": MISSING})
    fits = [f"type({p}) is not float" for p in params] + ["more"]
    signature = ", ".join(["self"] + [f"{p}=MISSING" for p in params] + ["/", "*more"])
    head = [f"def call({signature}):",
            f"    if {' or '.join(fits)}:",
            f"        return slow({', '.join(params + ['*more'])})",
            "    try:"]
    body = ["        " + line for line in body or ["pass"]]
    tail = ["    except (ArithmeticError, ValueError):  # NumPy gives inf or nan here, with its warnings",
            f"        return fallback({', '.join(params)})  # the array version",
            f"    return {results}"]
    return "\n".join(head + body + tail)


MISSING = object()  # an argument the caller did not pass


def _slow_entry(inputs: Sequence[Node], namespace: dict):
    """Arity check and conversion for ``call``: values that are not floats come back converted."""
    def slow(*values):
        values = [v for v in values if v is not MISSING]  # missing ones can only be at the end
        if len(values) != len(inputs):
            raise arity_error(inputs, len(values))
        return namespace["call"](None, *(float(convert_feed(p, v)) for p, v in zip(inputs, values)))
    return slow


def entry_source(inputs: Sequence[Step]) -> str:
    """``run``, the array version's entry: checks and converts feeds (fast when they already fit)."""
    params = []
    lines = []
    for k, step in enumerate(inputs):
        var = f"a{k}"
        params.append(var)
        dims = [f"{var}.shape[{i}] == {d}" for i, d in enumerate(step.shape) if d is not None]
        fits = " and ".join([f"type({var}) is ndarray", f"{var}.dtype == in{k}.dtype",
                             f"{var}.ndim == {len(step.shape)}"] + dims)
        lines.append(f"    if not ({fits}):")
        lines.append(f"        {var} = convert(in{k}, {var})")
    head = f"def run({', '.join(params)}):"
    return "\n".join([head] + lines + [f"    return compiled({', '.join(params)})"])


class CompiledCode:
    """A compiled function: ``source``, ``run(*values)``, and ``call(self, *values)`` for scalar graphs.

    ``explain(run, values)`` runs the array code when the scalar code cannot
    (the caller's hook for naming the node that failed).
    """

    def __init__(self, inputs: Sequence[Node], steps: list[Step], input_steps: list[Step],
                 outputs: list[Step], many: bool, explain=lambda run, values: run(*values)):
        gen = Generated()
        reserved = {"np", "math", "array", "asarray", "ndarray", "convert", "run", "compiled", "call",
                    "slow", "fallback", "self", "more", "MISSING", "float64"}
        namer = Namer(reserved | {f"in{k}" for k in range(len(inputs))} | {f"a{k}" for k in range(len(inputs))})
        for step in input_steps:
            namer.name(step)
        parts = [array_source("compiled", input_steps, steps, outputs, many, gen, namer)]
        scalar_code = math_source(input_steps, steps, outputs, many, gen, namer)
        parts.append(scalar_code if scalar_code is not None else entry_source(input_steps))
        namespace = gen.namespace

        def array_code(*values):  # 0-d arrays, not NumPy scalars: scalar arithmetic is not always the ufuncs'
            return namespace["compiled"](*(np.array(v) for v in values))

        namespace.update({"ndarray": np.ndarray, "convert": convert_feed, "slow": _slow_entry(inputs, namespace),
                          "fallback": lambda *values: explain(array_code, values)})
        for k, node in enumerate(inputs):
            namespace[f"in{k}"] = node
        self.source = "\n\n".join(parts) + "\n"
        self.namespace = namespace
        exec(compile(self.source, "<symgrad generated>", "exec"), namespace)
        self.call = namespace.get("call")  # the scalar version, written to be a __call__
        self.run = namespace["run"] if self.call is None else (lambda *values: self.call(None, *values))
