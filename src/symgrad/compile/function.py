"""``sg.function``: plan once, compile to NumPy source, call many times."""

from __future__ import annotations

from typing import Sequence

from ..errors import FeedError
from ..evaluate import Plan, arity_error, convert_feed, resolve_feeds
from ..ir import PLACEHOLDER, Node, output_list
from ..listing import listing
from .codegen import CompiledCode
from .steps import fold_constants, live_steps, steps_for


def compile_outputs(inputs: Sequence[Node], outputs: Sequence[Node], many: bool, **options) -> CompiledCode:
    """Straight-line code computing ``outputs`` from the placeholders ``inputs`` (options: see CompiledCode)."""
    steps, out_steps = steps_for(outputs)
    fold_constants(steps)
    by_node = {s.node: s for s in steps}
    input_steps = [by_node.get(node) for node in inputs]
    input_steps = [s if s is not None else steps_for([n])[0][0] for s, n in zip(input_steps, inputs)]
    ordered = [s for s in live_steps(out_steps) if s.op is not PLACEHOLDER or s in input_steps]
    return CompiledCode(inputs, ordered, input_steps, out_steps, many, **options)


class Function:
    """A compiled computation: ``f = sg.function([x], [y, gx]); f(value)``.

    Calling it with one value per input returns the outputs (a list when
    ``outputs`` was a list, else a single array).
    """

    def __init__(self, inputs: Sequence, outputs, check_finite: bool = False):
        self.check_finite = check_finite
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
        self.plan = Plan(self._outputs)
        missing = [p for p in self.plan.placeholders if p not in self.inputs]
        if missing:
            raise FeedError(
                "function: the outputs need " + ", ".join(p.describe() for p in missing)
                + ", which is not among the inputs")
        # check_finite inspects every node's value, so it runs the plan; otherwise generated code runs.
        self._code = None
        if not check_finite and self._outputs:
            self._code = compile_outputs(self.inputs, self._outputs, self._many, explain=self._explained)
            if self._code.call is not None and type(self).__call__ is Function.__call__:  # a subclass's stays
                # A scalar graph's generated code is this object's own __call__: no wrapper per call.
                self.__class__ = type(type(self).__name__, (type(self),), {"__call__": self._code.call})

    @property
    def source(self) -> str:
        """The generated Python/NumPy source (the plan's listing when ``check_finite`` is on)."""
        if self._code is None:
            return listing(self._outputs)
        return self._code.source

    def __call__(self, *values):
        if len(values) != len(self.inputs):
            raise arity_error(self.inputs, len(values))
        if self._code is not None:
            return self._explained(self._code.run, values)  # run converts and checks the feeds itself
        feeds = {p: convert_feed(p, v) for p, v in zip(self.inputs, values)}
        values = self.plan.run(feeds, self.check_finite)
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


def function(inputs: Sequence, outputs, check_finite: bool = False) -> Function:
    """Plan ``outputs`` once as a function of the placeholders ``inputs``.

    ``check_finite=True`` stops at the first NaN or Inf, as in :func:`symgrad.evaluate`.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.scalar("x")
    >>> f = sg.function([x], [x * x, sg.grad(x * x, x)])
    >>> f(3.0)
    [array(9.), array(6.)]
    """
    return Function(inputs, outputs, check_finite)
