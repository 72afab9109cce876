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
version. Results are 0-d NumPy arrays either way, as the API documents, or
Python floats when the function was made with ``floats=True``.

Large graphs (issue 16): above :data:`COMPACT_STEPS` steps the source has
no comments and no ``del`` of scalars, and :func:`chunked` splits it into
functions of about :data:`CHUNK_LINES` lines, since Python compiles one huge
function in more than linear time; such a scalar graph's NumPy version,
needed only where the ``math`` code raises, is written when first needed.
A scalar float64 graph of more than :data:`FLAT_STEPS` nodes is not compiled
at all: a :class:`FloatProgram` runs it, one instruction per node.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import threading
import unicodedata
from typing import Callable, Sequence

import numpy as np

from ..evaluate import arity_error, check_computed, convert_feed, outputs_to_copy
from ..ir import CONSTANT, PLACEHOLDER, Node
from ..types import type_string
from . import emit
from .buffers import plan_buffers
from .steps import Step


class Namer:
    """Readable, unique variable names for steps."""

    def __init__(self, reserved: set[str], inputs: Sequence[Step] = ()):
        self.taken = set(reserved)
        self.names: dict[int, str] = {}
        for step in inputs:  # named first: they keep their own names
            self.name(step)

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
        self._bound: dict[tuple[str, int], str] = {}  # (prefix, id(obj)) -> name: a lookup, not a search

    def bind(self, prefix: str, obj) -> str:
        prefix = ascii_identifier(prefix)  # Python would NFKC-normalise the name in the source, not the key
        found = self._bound.get((prefix, id(obj)))
        if found is not None:
            return found
        name, k = prefix, 2
        while name in self.namespace:
            name, k = f"{prefix}{k}", k + 1
        self.namespace[name] = obj  # which also keeps obj, and so its id, alive
        self._bound[prefix, id(obj)] = name
        return name


class _Probe:
    """The dtype NumPy gives a step on zeros of its input types (None if that fails).

    Asked once per kind of step (op, parameters, input types; a constant input by
    identity): under NumPy's promotion rules the dtype depends on nothing else,
    and a large graph repeats a few kinds. Users' ops are never probed: their
    forward may count its calls or have effects.
    """

    def __init__(self):
        self.zeros: dict[tuple, np.ndarray] = {}
        self.known: dict[tuple, np.dtype | None] = {}

    def dtype(self, step: Step) -> np.dtype | None:
        if not step.op.pure:
            return None
        try:
            key = (step.op, tuple(step.params.items()),
                   tuple(id(i.value) if i.value is not None else (i.shape, i.dtype) for i in step.inputs))
            hash(key)
        except TypeError:  # an unhashable parameter: probe every time
            key = None
        if key in self.known:
            return self.known[key]
        try:
            with np.errstate(all="ignore"):
                found = np.asarray(step.op.forward(*map(self._sample, step.inputs), **step.params)).dtype
        except Exception:
            found = None
        if key is not None:
            self.known[key] = found
        return found

    def _sample(self, step: Step):
        if step.value is not None:
            return step.value
        key = (step.shape, step.dtype)
        if key not in self.zeros:  # shared between probes: pure forwards never write into their inputs
            self.zeros[key] = np.zeros(tuple(1 if d is None else d for d in step.shape), step.dtype)
        return self.zeros[key]


def array_source(name: str, inputs: Sequence[Step], steps: list[Step], outputs: list[Step],
                 many: bool, gen: Generated, namer: Namer, compact: bool = False) -> str:
    """The NumPy version of the function, as source defining ``name``.

    ``compact`` (a large graph): no comments, no ``del`` of scalars, and the body
    split into functions of :data:`CHUNK_LINES` lines (see :func:`chunked`).
    """
    calls: dict[int, emit.Call] = {}
    shared: dict[tuple, list] = {}  # kernel key -> [variable, kernel call, first step, last step]
    probed: dict[int, np.dtype | None] = {}
    probe = _Probe()
    for step in steps:
        if step.op is PLACEHOLDER or step.op is CONSTANT:
            if step.op is CONSTANT:
                gen.namespace[namer.name(step)] = step.value
            continue
        if step.op.shares is not None:
            calls[id(step)] = _shared_call(step, shared, gen, namer)
        else:
            calls[id(step)] = emit.array_call(step, [namer.name(i) for i in step.inputs], gen.bind)
        probed[id(step)] = probe.dtype(step)

    def takes_out(step: Step) -> bool:
        return (calls[id(step)].out and probed[id(step)] == step.dtype and step.shape != ()
                and None not in step.shape)

    buffers = plan_buffers(steps, outputs, fresh=lambda s: id(s) in calls and calls[id(s)].fresh,
                           takes_out=takes_out)
    before, after = [], []
    checkers: list[_Checker] = []  # one list: binding a name per checked step would cost O(n^2)
    check = gen.bind("check", checkers)
    pooled = {k: f"buf{j}" for j, k in enumerate(buffers.pooled)}
    if pooled:
        pool = gen.bind("pool", BufferPool([(steps[k].shape, steps[k].dtype) for k in buffers.pooled]))
        before.append(f"buffers = {pool}.take()")
        before.append(f"{', '.join(pooled.values())}, = buffers")
    units: list[tuple[str, list[str], list[str]]] = []  # (the variable a step defines, those it reads, its lines)
    for k, step in enumerate(steps):
        call = calls.get(id(step))
        if call is None:
            continue
        var = namer.name(step)
        comment = "" if compact else f"    # {describe(step)}"
        args = [namer.name(i) for i in step.inputs if i.op is not CONSTANT]
        group = shared.get(_kernel_key(step)) if step.op.shares is not None else None
        if group is not None:
            if group[2] is step:  # the kernel's one call, a unit of its own before its first result
                note = "" if compact else f"    # {step.op.shares[0].__name__.strip('_')}: one call for all its results"
                units.append((group[0], list(args), [f"{group[0]} = {group[1]}{note}"]))
            args.append(group[0])
        out = buffers.out_for.get(k)
        target = namer.name(out) if out is not None else pooled.get(k)
        if target is not None:
            args.append(target)
        text = call.finish(target)
        if probed[id(step)] is None:
            gen.namespace[f"{var}_type"] = step.dtype
            lines = [f"{var} = {text}{comment}", f"if {var}.dtype != {var}_type: {var} = {var}.astype({var}_type)"]
        elif probed[id(step)] != step.dtype:
            lines = [f"{var} = ({text}).astype({emit.literal(step.dtype)}){comment}"]
        else:
            lines = [f"{var} = {text}{comment}"]
        if _needs_check(step):
            checkers.append(_Checker(step))
            lines.append(f"{check}[{len(checkers) - 1}]({var}, {', '.join(namer.name(i) for i in step.inputs)})")
        # A large graph's scalars are left to die with their function: a line each would cost more.
        dead = [namer.name(s) for s in buffers.release_after.get(k, ()) if not (compact and s.shape == ())]
        if group is not None and group[3] is step:
            dead.append(group[0])
        if dead:
            lines.append(f"del {', '.join(dead)}")
            args.extend(dead)
        units.append((var, args, lines))
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
        after.append(f"del {', '.join(pooled.values())}")
        after.append(f"{pool}.give(buffers)")
    after.append("return " + pack(results, many))
    params = [namer.name(i) for i in inputs]
    parts, body = chunked(units, params + list(pooled.values()), [namer.name(o) for o in outputs], gen, compact)
    header = f"def {name}({', '.join(params)}):"
    return "\n\n".join(parts + ["\n".join([header] + ["    " + line for line in before + body + after])])


# A large graph's body is split into functions of about this many lines: Python compiles
# one long function in more than linear time (its flow analysis), short ones in linear time.
CHUNK_LINES = 2000
# Graphs of more steps than this are written compactly (no comment per line, no del of scalars).
COMPACT_STEPS = 2000


def chunked(units: list[tuple[str, list[str], list[str]]], params: list[str], finals: list[str],
            gen: Generated, split: bool) -> tuple[list[str], list[str]]:
    """Function bodies ``units`` (a defined variable, the variables read, lines) as ``(parts, body)``.

    Without ``split``, or when they are short, ``parts`` is empty and ``body``
    the lines themselves. Otherwise each run of about :data:`CHUNK_LINES` lines
    becomes a function of a list ``slots``, and ``body`` calls them in turn.
    A variable read in a later part than its own travels in a slot, cleared
    by its last reader; the others stay local. ``params`` are defined before
    the body, ``finals`` read after it.
    """
    if not split or sum(len(lines) for _, _, lines in units) <= CHUNK_LINES:
        return [], [line for _, _, lines in units for line in lines]
    groups, size = [[]], 0
    for unit in units:
        if size >= CHUNK_LINES:
            groups.append([])
            size = 0
        groups[-1].append(unit)
        size += len(unit[2])
    home = dict.fromkeys(params, -1)  # variable -> the part that defines it (-1: before all)
    last: dict[str, int] = {}         # variable -> the last part that reads it
    for g, group in enumerate(groups):
        for var, reads, _ in group:
            home[var] = g
            for name in reads:
                last[name] = g
    end = len(groups)
    for name in finals:
        last[name] = end
    slot: dict[str, int] = {}
    for name, g in last.items():
        if name in home and g > home[name]:
            slot[name] = len(slot)
    parts, body = [], [f"slots = [None] * {len(slot)}"]
    body += [f"slots[{slot[p]}] = {p}" for p in params if p in slot]
    for g, group in enumerate(groups):
        seen = set()
        head = []
        for _, reads, _ in group:
            for name in reads:
                if name in slot and home[name] < g and name not in seen:
                    seen.add(name)
                    clear = f"; slots[{slot[name]}] = None" if last[name] == g else ""
                    head.append(f"{name} = slots[{slot[name]}]{clear}")
        tail = [f"slots[{slot[var]}] = {var}" for var, _, _ in group if var in slot]
        part = gen.bind("f_part", object())  # a unique global name (exec replaces the placeholder)
        lines = head + [line for _, _, unit_lines in group for line in unit_lines] + tail
        parts.append("\n".join([f"def {part}(slots):"] + ["    " + line for line in lines]))
        body.append(f"{part}(slots)")
    body += [f"{name} = slots[{slot[name]}]" for name in finals if name in slot and home[name] >= 0]
    return parts, body


def _kernel_key(step: Step) -> tuple:
    return step.op.shares[0], tuple(id(i) for i in step.inputs), tuple(sorted(step.params.items()))


def _shared_call(step: Step, shared: dict, gen: Generated, namer: Namer) -> emit.Call:
    """``t7_all[1]``: one result of a kernel (``Op.shares``) called once, by the line before the
    first step that needs it, for every step that applies it to the same inputs and parameters."""
    kernel, index = step.op.shares
    key = _kernel_key(step)
    group = shared.get(key)
    if group is None:
        args = [namer.name(i) for i in step.inputs] + emit.keyword_args(step.params, gen.bind)
        call = f"{gen.bind('f_' + kernel.__name__.strip('_'), kernel)}({', '.join(args)})"
        group = shared[key] = [namer._unique(f"{namer.name(step)}_all"), call, step, step]
    group[3] = step
    return emit.Call(f"{group[0]}[{index}]")


def _needs_check(step: Step) -> bool:
    """Custom ops (whose forward may disagree with their shape rule) and broadcasts over run-time dims."""
    if not step.op.pure:
        return True
    if all(None not in i.shape for i in step.inputs):  # the common case, decided without the op
        return False
    return bool(step.op.runtime_broadcast_axes(step.inputs))


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


def pack(results: list[str], many: bool) -> str:
    return f"[{', '.join(results)}]" if many else results[0]


def math_source(inputs: Sequence[Step], steps: list[Step], outputs: list[Step], many: bool,
                gen: Generated, namer: Namer, compact: bool = False, floats: bool = False) -> str | None:
    """``call``: the Python-float version of a scalar float64 function, or None if an op has no such form.

    It becomes the function object's own ``__call__`` (no wrapper in between,
    for call latency). Floats run the ``math`` code; anything else (another
    type, a wrong count) goes through ``slow``, which converts or raises
    FeedError, then comes back here. Results are 0-d arrays, or the floats
    themselves with ``floats``. ``compact``: see :func:`array_source`.
    """
    if not _float_scalars(inputs, steps):
        return None
    units = []
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
        args = [namer.name(i) for i in step.inputs]
        lines = emit.math_lines(step, args, var)
        if lines is None:
            return None
        if not compact:
            lines[0] += f"    # {describe(step)}"
        units.append((var, args, lines))
    params = [namer.name(i) for i in inputs]
    finals = [namer.name(o) for o in outputs]
    parts, body = chunked(units, params, finals, gen, compact)
    # asarray makes a new 0-d array from a float, a third faster than array()
    results = pack(finals if floats else [f"asarray({name})" for name in finals], many)
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
    return "\n\n".join(parts + ["\n".join(head + body + tail)])


def _float_scalars(inputs: Sequence, steps: list) -> bool:
    """Whether every value (unused inputs too) is a float64 scalar: the ``math`` module can compute them."""
    return all(s.shape == () and s.dtype == np.float64 for s in [*steps, *inputs])


# A scalar float64 graph of more steps than this runs as a flat program (see FloatProgram):
# Python compiles source at ~10 us a line, a program is built at ~1 us a step.
FLAT_STEPS = 5000


class FloatProgram:
    """A large scalar float64 graph run as data: one instruction per node, a loop, Python floats.

    Each node stores ``f(v[i])`` or ``f(v[i], v[j])`` into its own slot of a
    list ``v``, where ``f`` is a function made once per op from its ``math``
    spelling. Building one costs a small constant per node, where source
    costs Python's compiler ~10 us a line; a call costs ~0.2 us a node, a
    few times the generated code's, far below the interpreter's.
    ``fallback(values)`` runs where the math code raises (NumPy gives inf or
    nan there). ``source`` is a readable excerpt of the program. It is also
    the compiled code's interface: ``call(self, *values)`` and ``run(*values)``.
    """

    EXCERPT = 12  # nodes shown in ``source``

    def __init__(self, inputs: Sequence[Node], nodes: list[Node], outputs: list[Node], many: bool,
                 floats: bool, fallback: Callable):
        slot: dict[Node, int] = {}
        template: list = []
        code, shown = [], []
        kinds: dict = {}
        for node in [*inputs, *nodes]:
            if node in slot:
                continue
            slot[node] = len(template)
            if node.op is CONSTANT:
                template.append(float(node.value))
                continue
            template.append(None)
            if node.op is PLACEHOLDER:
                continue
            count = len(node.inputs)
            f = kinds.get((node.op, count))
            if f is None:
                f = kinds[node.op, count] = self._function(node.op, count)
            at = [slot[i] for i in node.inputs]
            code.append((f, slot[node], at[0], at[1] if count == 2 else -1) if count <= 2
                        else (f, slot[node], tuple(at), -2))
            if len(shown) < self.EXCERPT:
                shown.append(f"v[{slot[node]}] = " + node.op.math.format(*(f"v[{k}]" for k in at)))
        self.inputs, self.outputs = [slot[p] for p in inputs], [slot[o] for o in outputs]
        self.template, self.code, self.many, self.floats, self.fallback = template, code, many, floats, fallback
        self.source = "\n".join(
            [f"# a flat program of {len(code)} steps on Python floats (too large to be worth compiling); "
             f"inputs v{self.inputs}, outputs v{self.outputs}; the first steps:"] + shown
            + (["..."] if len(code) > len(shown) else [])) + "\n"
        self.namespace: dict = {}
        count = len(inputs)

        def call(_, *values):
            if len(values) != count:
                raise arity_error(inputs, len(values))
            for value in values:
                if type(value) is not float:
                    values = [float(convert_feed(p, v)) for p, v in zip(inputs, values)]
                    break
            return self.run_floats(values)

        self.call = call
        self.run = lambda *values: call(None, *values)

    @staticmethod
    def fits(nodes: list[Node], inputs: Sequence[Node]) -> bool:
        """Whether ``nodes`` are all float64 scalars with a ``math`` spelling."""
        return _float_scalars(inputs, nodes) and all(
            n.op.math is not None for n in nodes if n.op is not PLACEHOLDER and n.op is not CONSTANT)

    @staticmethod
    def _function(op, count: int):
        """``lambda a0, a1: <op's math spelling>``."""
        names = [f"a{k}" for k in range(count)]
        return eval(f"lambda {', '.join(names)}: {op.math.format(*names)}", {"math": math})

    def run_floats(self, values: Sequence[float]):
        v = self.template.copy()
        for k, value in zip(self.inputs, values):
            v[k] = value
        try:
            for f, out, i, j in self.code:
                if j >= 0:
                    v[out] = f(v[i], v[j])
                elif j == -1:
                    v[out] = f(v[i])
                else:
                    v[out] = f(*[v[k] for k in i])
        except (ArithmeticError, ValueError):  # NumPy gives inf or nan here, with its warnings
            return self.fallback(values)
        results = [v[k] if self.floats else np.asarray(v[k]) for k in self.outputs]
        return results if self.many else results[0]


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
    (the caller's hook for naming the node that failed). ``floats``: results are
    Python floats (the caller checks that every output is a float scalar). ``reschedule()`` gives
    the steps again: a large scalar graph then writes its NumPy version, needed
    only where the ``math`` code raises, when first needed.
    """

    def __init__(self, inputs: Sequence[Node], steps: list[Step], input_steps: list[Step],
                 outputs: list[Step], many: bool, explain=lambda run, values: run(*values),
                 floats: bool = False, reschedule: Callable[[], tuple] | None = None):
        gen = Generated()
        self._gen, self._many, self._lock = gen, many, threading.Lock()
        self._reserved = {"np", "math", "array", "asarray", "ndarray", "convert", "run", "compiled", "call",
                          "slow", "fallback", "self", "more", "MISSING", "float64", "slots"} | {
            f"in{k}" for k in range(len(inputs))} | {f"a{k}" for k in range(len(inputs))}
        compact = len(steps) > COMPACT_STEPS
        scalar_code = math_source(input_steps, steps, outputs, many, gen, self._namer(input_steps), compact, floats)
        self._reschedule = reschedule if scalar_code is not None and compact else None
        if self._reschedule is None:
            parts = [array_source("compiled", input_steps, steps, outputs, many, gen, self._namer(input_steps),
                                  compact)]
        else:
            parts = ["# compiled(), the NumPy version run where the math code raises, is written when first needed"]
        parts.append(scalar_code if scalar_code is not None else entry_source(input_steps))
        namespace = gen.namespace

        def array_code(*values):  # 0-d arrays, not NumPy scalars: scalar arithmetic is not always the ufuncs'
            compiled = namespace.get("compiled") or self._late_array_code()
            results = compiled(*(np.array(v) for v in values))
            return as_floats(results, many) if floats else results

        namespace.update({"ndarray": np.ndarray, "convert": convert_feed, "slow": _slow_entry(inputs, namespace),
                          "fallback": lambda *values: explain(array_code, values)})
        for k, node in enumerate(inputs):
            namespace[f"in{k}"] = node
        self.source = "\n\n".join(parts) + "\n"
        self.namespace = namespace
        exec(compile(self.source, "<symgrad generated>", "exec"), namespace)
        self.call = namespace.get("call")  # the scalar version, written to be a __call__
        if self.call is not None:
            self.run = lambda *values: self.call(None, *values)
        elif floats:
            self.run = lambda *values: as_floats(namespace["run"](*values), many)
        else:
            self.run = namespace["run"]

    def _namer(self, input_steps: list[Step]) -> Namer:
        """A namer for one version of the code: its own names, the inputs named first."""
        return Namer(self._reserved, input_steps)

    def _late_array_code(self):
        with self._lock:  # two threads falling back at once write it once
            if "compiled" not in self.namespace:
                steps, input_steps, outputs = self._reschedule()
                source = array_source("compiled", input_steps, steps, outputs, self._many, self._gen,
                                      self._namer(input_steps), compact=True)
                exec(compile(source, "<symgrad generated>", "exec"), self.namespace)
        return self.namespace["compiled"]


def as_floats(results, many: bool):
    """Results of a function (a list when ``many``) as Python floats."""
    return [float(r) for r in results] if many else float(results)
