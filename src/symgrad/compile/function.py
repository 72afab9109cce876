"""``sg.function``: plan once, compile to NumPy source, call many times."""

from __future__ import annotations

import gc
import threading
from typing import Callable, Sequence

from ..errors import BackendError, DTypeError, FeedError, ShapeError
from ..evaluate import Plan, arity_error, convert_feed, resolve_feeds
from ..ir import PLACEHOLDER, Node, ancestors, output_list
from ..listing import listing
from ..types import is_float
from .. import backend as backends
from .codegen import FLAT_STEPS, CompiledCode, FloatProgram, as_floats
from .xp import BackendCode
from .steps import Step, fold_constants, live_steps, steps_for


def compile_outputs(inputs: Sequence[Node], outputs: Sequence[Node], many: bool, floats: bool = False,
                    interpret: Callable | None = None, nodes: list[Node] | None = None,
                    **options) -> CompiledCode | FloatProgram:
    """Code computing ``outputs`` from the placeholders ``inputs`` (options: see CompiledCode).

    Given ``interpret(values)``, the outputs as the interpreter computes them, a
    scalar float64 graph of more than ``FLAT_STEPS`` nodes becomes a
    :class:`FloatProgram` that falls back to it. ``nodes``: ``ancestors(outputs)``, if known.
    """
    # Compiling makes objects by the million for a large graph and frees none: the cyclic
    # collector's repeated full scans would only cost time (as in the gradient pass).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if nodes is None:
            nodes = ancestors(outputs)
            _check_given(nodes, inputs)
        if interpret is not None and len(nodes) > FLAT_STEPS and FloatProgram.fits(nodes, inputs):
            fallback = (lambda values: as_floats(interpret(values), many)) if floats else interpret
            return FloatProgram(inputs, nodes, list(outputs), many, floats, fallback)
        steps, input_steps, out_steps = _schedule(inputs, outputs, nodes)
        return CompiledCode(inputs, steps, input_steps, out_steps, many, floats=floats,
                            reschedule=lambda: _schedule(inputs, outputs), **options)
    finally:
        if collecting:
            gc.enable()


def _check_given(nodes: list[Node], inputs: Sequence[Node]) -> None:
    given = set(inputs)
    missing = [n for n in nodes if n.op is PLACEHOLDER and n not in given]
    if missing:
        raise FeedError("function: the outputs need " + ", ".join(p.describe() for p in missing)
                        + ", which is not among the inputs")


def _schedule(inputs: Sequence[Node], outputs: Sequence[Node], nodes: list[Node] | None = None
              ) -> tuple[list[Step], list[Step], list[Step]]:
    """The steps computing ``outputs``, in run order, with the input and output steps."""
    steps, out_steps = steps_for(outputs, nodes)
    fold_constants(steps)
    by_node = {s.node: s for s in steps}
    input_steps = [by_node.get(node) for node in inputs]
    input_steps = [s if s is not None else steps_for([n])[0][0] for s, n in zip(input_steps, inputs)]
    return live_steps(out_steps), input_steps, out_steps


# Larger graphs than this (counting every node the outputs need) are run by the interpreter:
# compiling costs Python's compiler ~10 us a line and memory, and the interpreter's overhead
# per node matters less there (large scalar graphs run as a FloatProgram instead).
SOURCE_NODES = 50_000
# Calls run by the interpreter before the code is compiled: compiling costs a few evaluations,
# so a function called once never pays it. (The test suite sets 0: every call runs compiled code.)
INTERPRETED_CALLS = 1


class Function:
    """A compiled computation: ``f = sg.function([x], [y, gx]); f(value)``.

    Calling it with one value per input returns the outputs (a list when
    ``outputs`` was a list, else a single array). The first call runs the
    interpreter and later calls the compiled code, written at the second call
    (compiling costs a few evaluations: a function called once never pays it);
    asking for ``source`` compiles it too.
    """

    def __init__(self, inputs: Sequence, outputs, check_finite: bool = False, floats: bool = False,
                 backend: str = "numpy"):
        self.check_finite = check_finite
        self.floats = floats
        self.backend = backend
        self._outputs, self._many = output_list(outputs)
        graph = self._outputs[0].graph if self._outputs else None
        self.inputs = []
        for item in inputs:
            node = resolve_feeds(graph, {item: None}).popitem()[0] if isinstance(item, str) else item
            if not isinstance(node, Node) or node.op is not PLACEHOLDER:
                raise FeedError(f"function inputs must be placeholders, not {node!r}")
            self.inputs.append(node)
        if len(set(self.inputs)) != len(self.inputs):
            raise FeedError("function: an input is listed twice")
        if floats:
            for k, out in enumerate(self._outputs):
                if out.shape != () or not is_float(out.dtype):
                    error = ShapeError if out.shape != () else DTypeError
                    raise error(f"function(floats=True): output {k} is {out.describe()}; "
                                "Python floats are returned only for float scalars")
        self._plan = None
        self._code = None
        self._calls = 0
        self._lock = threading.Lock()
        self._size = 0  # nodes the outputs need
        if backend != "numpy":
            if check_finite or floats:
                raise BackendError(f"function: check_finite and floats run on NumPy only, not on backend {backend!r}")
            nodes = ancestors(self._outputs)
            _check_given(nodes, self.inputs)
            steps, input_steps, out_steps = _schedule(self.inputs, self._outputs, nodes)
            self._code = BackendCode(backends.get(backend), self.inputs, steps, input_steps, out_steps, self._many)
        elif check_finite or not self._outputs:  # check_finite inspects every node's value: the plan runs
            _check_given(self.plan.placeholders, self.inputs)
        else:
            nodes = ancestors(self._outputs)
            _check_given(nodes, self.inputs)
            self._size = len(nodes)
            if self._size > FLAT_STEPS and FloatProgram.fits(nodes, self.inputs):  # cheap to build: now
                self._install(compile_outputs(self.inputs, self._outputs, self._many, floats=floats,
                                              interpret=self._interpret, nodes=nodes))
            elif INTERPRETED_CALLS == 0:
                self._compiled()

    def _compiled(self) -> CompiledCode | FloatProgram | None:
        """The compiled code, written now if it is not yet (None: the graph is run by the interpreter)."""
        if self._code is None and self._size <= SOURCE_NODES and not self.check_finite and self._outputs:
            with self._lock:  # threads calling at once compile once
                if self._code is None:
                    self._install(compile_outputs(self.inputs, self._outputs, self._many, floats=self.floats,
                                                  explain=self._explained, interpret=self._interpret))
        return self._code

    def _install(self, code: CompiledCode | FloatProgram) -> None:
        if code.call is not None and type(self).__call__ is Function.__call__:  # a subclass's stays
            # A scalar graph's generated code is this object's own __call__: no wrapper per call.
            self.__class__ = type(type(self).__name__, (type(self),), {"__call__": code.call})
        self._code = code

    @property
    def plan(self) -> Plan:
        """The interpreter's plan of the outputs (made when first needed: compiled calls do without)."""
        if self._plan is None:
            self._plan = Plan(self._outputs)
        return self._plan

    def _interpret(self, values):
        """The outputs computed by the interpreter (where a large scalar program's floats overflow)."""
        results = self.plan.run({p: convert_feed(p, v) for p, v in zip(self.inputs, values)})
        return results if self._many else results[0]

    @property
    def source(self) -> str:
        """The generated Python/NumPy source (compiled now if it is not yet), or the plan's listing
        when ``check_finite`` is on, or a note when the graph is too large to be worth compiling."""
        code = self._compiled()
        if code is not None:
            return code.source
        if self._size > SOURCE_NODES:
            return (f"# {self._size} nodes, more than {SOURCE_NODES}: run by the interpreter, not compiled "
                    "(sg.listing shows them)\n")
        return listing(self._outputs)

    def __call__(self, *values):
        if len(values) != len(self.inputs):
            raise arity_error(self.inputs, len(values))
        code = self._code
        if code is None:
            # The first call runs the interpreter: compiling costs several evaluations, and pays
            # only when the function is called again.
            self._calls += 1
            if self._calls > INTERPRETED_CALLS:
                code = self._compiled()
        if self.backend != "numpy":
            return code.run(*values)  # checks its feeds itself, and never converts them
        if code is not None:
            return self._explained(code.run, values)  # run converts and checks the feeds itself
        feeds = {p: convert_feed(p, v) for p, v in zip(self.inputs, values)}
        values = self.plan.run(feeds, self.check_finite)
        if self.floats:
            values = [float(v) for v in values]
        return values if self._many else values[0]

    def _explained(self, run, values):
        """``run(*values)``; if it fails, the interpreter raises the same error with a note naming the node."""
        try:
            return run(*values)
        except Exception:
            self.plan.run({p: convert_feed(p, v) for p, v in zip(self.inputs, values)})
            raise

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.inputs)
        return f"<symgrad.Function ({names}) -> {len(self._outputs)} outputs, {len(self.plan.nodes)} nodes>"


def function(inputs: Sequence, outputs, check_finite: bool = False, floats: bool = False,
             backend: str = "numpy") -> Function:
    """Plan ``outputs`` once as a function of the placeholders ``inputs``.

    Results are NumPy arrays (0-d for scalars). ``check_finite=True`` stops at
    the first NaN or Inf, as in :func:`symgrad.evaluate`. ``floats=True``
    returns Python floats instead of 0-d arrays, for code written with floats
    and the ``math`` module; every output must then be a float scalar. With
    float64 scalars throughout, the call itself then costs little more than
    the same formulas written with ``math``.

    Any size of graph compiles in time linear in its size: a large one is
    written compactly (``fn.source`` shows that form), and a very large scalar
    float64 one runs as a flat program of Python-float steps (``fn.source``
    shows an excerpt).

    ``backend`` compiles for another array library (``"jax"``, ``"dask"``,
    ``"torch"``, ``"cupy"``, ``"array_api_strict"``, through
    ``array-api-compat``): the code is written in the array-API standard, its
    constants are moved to the library now, inputs must be arrays of that
    library (a FeedError names the one expected) and outputs are. For
    ``"jax"`` the code is ``jax.jit``-compiled; for ``"dask"`` the outputs are
    lazy arrays of one task graph (``dask.compute(*outputs)``). An op the
    library cannot run raises BackendError now, naming the op.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> f = sg.function([x], [x * x, sg.grad(x * x, x)])
    >>> f(3.0)
    [array(9.), array(6.)]
    >>> sg.function([x], [x * x, sg.grad(x * x, x)], floats=True)(3.0)
    [9.0, 6.0]
    """
    return Function(inputs, outputs, check_finite, floats, backend)
