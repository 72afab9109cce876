"""The intermediate representation: ops, nodes and the graph that owns them.

An :class:`Op` is data: a NumPy forward, a shape/dtype rule, one reverse
and one forward rule per input, and the facts the rest of symgrad reads
(how generated code spells it, whether it makes views, whether it is pure).

A :class:`Node` is immutable: an op, an ordered tuple of input nodes, the
op's parameters, a static shape (``None`` marks a dimension known only at
run time), a dtype and an optional name. A node can only be made from nodes
that already exist, so the order in which a :class:`Graph` creates nodes is
a topological order and no cycle can be built.

Making a node that already exists (same op, same parameters, same inputs)
returns the existing one. This hash-consing is common-subexpression
elimination for free, and it keeps repeated gradient passes small.

Python numbers and NumPy arrays met in an expression become constants. Python
numbers are *weakly typed*: ``x32 * 2.0`` stays float32. NumPy arrays keep
their dtype, and an op never mixes float32 with float64 silently.

Operators (``x + y``, ``x.sum()``) are attached to :class:`Node` by
:mod:`symgrad.ops`, and ``node.eval`` by :mod:`symgrad.evaluate`: this module
is the bottom of the package and imports nothing above it.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from .errors import DTypeError, GradientError, GraphError, IntegerOverflowError, RuleError, ShapeError
from .types import Shape, check_dtype, check_name, check_shape, is_float, is_int, type_string

# --- "no derivative" --------------------------------------------------------------------
#
# A rule returns a node, or exactly one of these. None is not accepted: it could mean any
# of the three, and the difference matters.
#
# - ZERO: the derivative exists and is zero (floor, sign, round, where's condition: the
#   result is piecewise constant). The input is connected; it just receives nothing. A rule
#   that is always zero is spelled ``zero_rule``, and the passes skip it without calling it.
# - DISCONNECTED: the input is not a differentiable argument at all (an index array,
#   one_hot's labels, stop_gradient). If every path from the cost to a target is
#   disconnected, ``grad`` reports the target as disconnected.
# - UNDEFINED: the derivative does not exist; the pass raises GradientError naming the op
#   if a derivative must flow through it. Built-in ops whose results are integers or bools
#   (comparisons, argmax) never get that far: non-float values carry no derivative, and
#   the pass raises before asking a rule, naming the consumer and the value.


class _NoDerivative:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ZERO = _NoDerivative("ZERO")
DISCONNECTED = _NoDerivative("DISCONNECTED")
UNDEFINED = _NoDerivative("UNDEFINED")


# --- sparsity: "every result element may depend on every input element" --------------------

DENSE = _NoDerivative("DENSE")


def zero_rule(*_):
    return ZERO


def disconnected_rule(*_):
    return DISCONNECTED


def undefined_rule(*_):
    return UNDEFINED


# --- ops ----------------------------------------------------------------------------------

_REGISTRY: dict[str, "Op"] = {}  # name -> the op first defined under it
_ARITIES_SEEN: set = set()  # (op, number of inputs) pairs that Op.check_arity accepted


def lookup_op(name: str) -> "Op | None":
    """The op first defined under ``name`` (used when loading saved graphs)."""
    return _REGISTRY.get(name)


def registered_ops() -> list["Op"]:
    """Every op defined so far, in the order they were defined."""
    return list(_REGISTRY.values())


@dataclass(frozen=True, eq=False)
class Op:
    """An operation and every fact about it.

    Derivatives (see the markers above for "no derivative"):

    - ``forward(*arrays, **params) -> array``: the NumPy computation;
    - ``infer(*nodes, **params) -> (shape, dtype)``: the static shape and
      dtype rule, which rejects bad operands when the node is built;
    - ``vjp``: one reverse rule per input, ``rule(out_bar, out, *inputs)``,
      returning the cotangent that input receives when ``out``'s cotangent
      is ``out_bar`` (the notes' ``op.bprop``);
    - ``jvp``: one forward rule per input, ``rule(x_dot, out, *inputs)``,
      returning the tangent ``out`` receives when that input's tangent is
      ``x_dot``;
    - an op with any number of inputs (concatenate) gives instead a function
      of the input's position that returns its rule, and may give
      ``jvp_all(tangents, out, *inputs)``, the tangent of ``out`` from all
      inputs' tangents at once (ZERO where an input has none).

    Rules build nodes with symgrad's own functions, never arrays, so every
    derivative can be differentiated again. Chores belong to the pass: a
    rule may return a cotangent of the broadcast output shape (the pass sums
    it down to the input's shape) and a tangent of the input's shape (the
    pass broadcasts it up).

    Facts read by the evaluator, the compiler and the rewrites:

    - ``broadcasts``: NumPy-broadcasts its inputs against each other, all
      but their last ``core_dims`` axes (matmul: 2, its matrix axes);
    - ``pure``: symgrad's own op: a pure function of its inputs, so it may
      be folded over constants and probed for its dtype (a custom op's
      forward might count its calls or have effects);
    - ``view``: the result may share memory with an input;
    - ``numpy``: its spelling in generated NumPy code, ``spell(args, params)
      -> str`` (default: the forward's NumPy name, or the forward bound into
      the generated module); ``out``: the spelling ends in a call that takes
      ``out=`` (default: the forward is a NumPy ufunc and there are no
      parameters); ``operator``: the same computation as an operator
      (``"{} + {}"``), used when no ``out=`` is given;
    - ``math``: its spelling with Python floats and the ``math`` module
      (``"math.tanh({})"``), for scalar float64 graphs;
    - ``own_buffers``: writes with ``out=`` only into buffers made by its own
      op and never into one it reads (matmul: BLAS cannot);
    - ``bounded``: the result lies in [-1, 1] for every input, so polynomials
      in it cannot overflow (see :func:`symgrad.rewrite.polynomial_form`);
    - ``shares``: ``(kernel, index)`` for one result of a computation with
      several (eigh's w and v): ``forward`` is ``kernel(...)[index]``, and the
      executors call ``kernel`` once per evaluation for all the nodes that
      apply ops sharing it to the same inputs with the same parameters;
    - ``array_api``: its spelling for other array libraries (``backend=``),
      in the array-API standard namespace ``xp``. Without it, it is derived:
      a forward ``np.<name>`` is ``xp.<name>`` (NumPy's own aliases of
      standard names, such as ``np.arcsin`` for ``xp.asin``, included), with
      the parameters as keywords. Given, it is a name in ``xp``
      (``"linalg.inv"``) or ``spell(xp) -> kernel | str``: called once when
      a function is compiled, it returns ``kernel(*arrays, **params)``, or a
      string saying why that library cannot run the op.

    Vectorization (read by :func:`symgrad.vectorize`):

    - ``batch``: how the op maps over one extra leading axis of some of its
      inputs. A rule ``rule(node, inputs, batched) -> Node``: ``node`` is
      the original node, ``inputs`` its inputs with the batched ones
      (``batched[k]`` true) carrying the extra leading axis; it returns the
      batched result, ``node``'s shape behind the batch axis. Or one of the
      words of :mod:`symgrad.ops._define` for the common kinds:
      ``"elementwise"`` (align ranks, then apply as is), ``"leading"`` (the
      op already maps over leading axes: broadcast the unbatched inputs, then
      apply as is), ``("axes", name, ...)`` (as ``"leading"``, with the named
      axis parameters shifted by one), ``"loop"`` (one application per batch
      element, stacked: for ops that cannot do better; a static batch size
      only). ``None`` (a custom op's default): the op cannot be vectorized.

    Fact read by :mod:`symgrad.sparsity` (structural Jacobian and Hessian
    patterns, found without evaluating the graph):

    - ``sparsity(out, *inputs, **params) -> (maps, pairs)``: how the op maps
      its inputs' dependency patterns to its result's. ``maps`` has one entry
      per input: ``None`` (the result's derivative never depends on it: an
      index array, a comparison's operands), :data:`DENSE` (every result
      element may depend on every element of it), or a list of steps applied
      in order, each ``(in_index, out_index, out_size)`` NumPy int arrays: the
      result element ``out_index[k]`` depends on input element
      ``in_index[k]`` (flattened, C order); ``out_index`` ``None`` means a
      gather, ``in_index[r]`` feeding result element ``r`` (-1: none).
      ``pairs`` names the inputs whose second cross derivatives may be
      nonzero: ``((0, 1),)`` for mul, ``"all"`` for a nonlinear op, ``()``
      for a linear (or piecewise linear) one. ``symgrad.ops._define`` has
      the common kinds (elementwise, gathers, reductions, contractions).
      An op without the fact (a custom op) is taken to be dense and
      nonlinear in every input: correct, only conservative.
    """

    name: str
    forward: Callable
    infer: Callable
    vjp: tuple | Callable = ()
    jvp: tuple | Callable = ()
    jvp_all: Callable | None = field(default=None, compare=False)
    broadcasts: bool = field(default=False, compare=False)
    core_dims: int = field(default=0, compare=False)
    pure: bool = field(default=False, compare=False)
    view: bool = field(default=False, compare=False)
    numpy: Callable | None = field(default=None, compare=False)
    out: bool | None = field(default=None, compare=False)
    operator: str | None = field(default=None, compare=False)
    math: str | None = field(default=None, compare=False)
    own_buffers: bool = field(default=False, compare=False)
    bounded: bool = field(default=False, compare=False)
    shares: tuple | None = field(default=None, compare=False)
    batch: Callable | str | tuple | None = field(default=None, compare=False)
    sparsity: Callable | None = field(default=None, compare=False)
    array_api: Callable | str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _REGISTRY.setdefault(self.name, self)

    def vjp_rule(self, index: int) -> Callable:
        return self.vjp(index) if callable(self.vjp) else self.vjp[index] if self.vjp else self._no_rules("reverse")

    def jvp_rule(self, index: int) -> Callable:
        return self.jvp(index) if callable(self.jvp) else self.jvp[index] if self.jvp else self._no_rules("forward")

    def _no_rules(self, kind: str):
        raise GradientError(f"{self.name}: the op has no {kind} rules, so no derivative can flow through it")

    def runtime_broadcast_axes(self, inputs: Sequence) -> list[tuple[int, int, int]]:
        """Where this op applied to ``inputs`` may broadcast a run-time dimension.

        A triple ``(input, input axis, output axis)`` for each run-time (None)
        axis of an input that the op broadcasts against another input whose size
        there is run-time too or statically not 1. Axes that cannot broadcast
        (those of a (512,) bias against (None, 512), or matmul's matrix axes)
        give nothing. Run-time dimensions are assumed not to broadcast (the
        gradient pass sums only over static 1s), so the executors check these
        axes on the node, and the derivative passes on its derivatives.

        Examples
        --------
        >>> import symgrad as sg
        >>> x, c = sg.placeholder("x", (None, 3)), sg.placeholder("c", (4, 3))
        >>> sg.ops.ADD.runtime_broadcast_axes([x, c])
        [(0, 0, 0)]
        >>> sg.ops.ADD.runtime_broadcast_axes([x, sg.vector("b", 3)])
        []
        """
        if not self.broadcasts:
            return []
        for inp in inputs:  # the common case, on every node of a pass: no run-time dimension at all
            if None in inp.shape:
                break
        else:
            return []
        batches = [tuple(inp.shape[:max(len(inp.shape) - self.core_dims, 0)]) for inp in inputs]
        width = max(map(len, batches), default=0)  # the output's broadcast axes are its first ``width``
        found = []
        for k, batch in enumerate(batches):
            for axis, size in enumerate(batch):
                if size is not None:
                    continue
                position = width - len(batch) + axis
                for j, other in enumerate(batches):
                    at = position - (width - len(other))
                    # another input of run-time size there may differ, unless it is this very node
                    if j != k and at >= 0 and other[at] != 1 and inputs[j] is not inputs[k]:
                        found.append((k, axis, position))
                        break
        return found

    def check_arity(self, count: int) -> None:
        """Called when a node is made: a tuple of rules needs one rule per input."""
        if (self, count) in _ARITIES_SEEN:  # every node of a pass asks: the answer is known
            return
        for kind, rules in (("reverse", self.vjp), ("forward", self.jvp)):
            if isinstance(rules, tuple) and rules and len(rules) != count:
                raise RuleError(
                    f"{self.name}: the op has {len(rules)} {kind} rules but was applied to {count} inputs; "
                    "give one rule per input (or a function of the input's position)")
        _ARITIES_SEEN.add((self, count))

    def __repr__(self) -> str:
        return f"Op({self.name})"

    def __call__(self, *inputs, **params) -> "Node":
        """Apply the op to nodes (or values, which become constants)."""
        nodes = as_nodes(*inputs, op=self.name)
        if not nodes:
            raise TypeError(f"{self.name} needs at least one input")
        return nodes[0].graph.apply(self, nodes, params)


def _leaf_forward(**_):
    raise AssertionError("leaves are supplied by the evaluator, never computed")


PLACEHOLDER = Op("placeholder", _leaf_forward, lambda shape, dtype: (shape, dtype))
CONSTANT = Op("constant", _leaf_forward, lambda shape, dtype: (shape, dtype))


# --- nodes --------------------------------------------------------------------------------

class Params(tuple):
    """An op's parameters: a hashable, sorted tuple of (key, value) pairs with
    attribute access (``out.params.axis``)."""

    __slots__ = ()

    def __new__(cls, items: dict | None = None):
        if not items and cls is Params:
            return _NO_PARAMS  # most ops have none: one shared instance
        return super().__new__(cls, sorted(items.items()) if items else ())

    def __getattr__(self, key: str) -> Any:
        for k, v in self:
            if k == key:
                return v
        raise AttributeError(key)

    def as_dict(self) -> dict:
        return {k: v for k, v in self}  # dict(self) would first ask __getattr__ for "keys", and raise


_NO_PARAMS = tuple.__new__(Params, ())


@dataclass(frozen=True)
class Origin:
    """Where a derivative node came from: the pass that made it.

    ``order`` counts passes (1 for a first derivative, 2 for a derivative of
    a derivative); ``primal`` is the node whose rule produced it; ``kind`` is
    ``"cotangent"`` for reverse mode and ``"tangent"`` for forward mode.
    """

    order: int
    primal: "Node"
    kind: str

    def __str__(self) -> str:
        """``cotangent, pass 1, from %3 mul``: how listings, drawings and generated code say it."""
        return f"{self.kind}, pass {self.order}, from %{self.primal.id} {self.primal.op.name}"


_NODE_FIELDS = ("graph", "id", "op", "inputs", "params", "shape", "dtype", "name", "value")


class _NodeFields:
    """A node's storage, filled once by :meth:`Graph.apply` and then frozen by
    becoming a :class:`Node` (same slots, but assignment raises)."""

    __slots__ = _NODE_FIELDS + ("__weakref__",)

    def __init__(self, graph, id, op, inputs, params, shape, dtype, name, value):
        self.graph = graph
        self.id = id
        self.op = op
        self.inputs = inputs
        self.params = params
        self.shape = shape
        self.dtype = dtype
        self.name = name
        self.value = value  # only constants hold a value
        # Switching the class last freezes the node. Plain slot stores then one
        # class switch cost ~50 ns; nine object.__setattr__ calls cost ~800 ns
        # per node, on the path every node of every graph takes.
        self.__class__ = Node


class Node(_NodeFields):
    """One value in a graph. Build nodes with symgrad's functions, never directly.

    A node is immutable: its attributes (``graph``, ``id``, ``op``,
    ``inputs``, ``params``, ``shape``, ``dtype``, ``name``, ``value``) cannot
    be assigned or deleted, since hash-consing shares one node between every
    expression that builds it.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 3)
    >>> try:
    ...     x.shape = (5,)
    ... except AttributeError as err:
    ...     print(err)
    cannot set .shape of placeholder 'x' f64[3]: nodes are immutable; build a new node instead
    """

    __slots__ = ()
    # NumPy must defer to our reflected operators: without this, `array * node`
    # silently builds an object array of nodes and `array @ node` fails.
    __array_ufunc__ = None

    def __new__(cls, *args, **kwargs):
        raise TypeError("nodes are made by symgrad's functions (sg.placeholder, sg.constant, "
                        "operators, ...), never by calling sg.Node directly")

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(
            f"cannot set .{name} of {self.describe()}: nodes are immutable; build a new node instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete .{name} of {self.describe()}: nodes are immutable")

    def __copy__(self) -> "Node":
        return self  # immutable, like a tuple: a copy is the node itself

    def __deepcopy__(self, memo) -> "Node":
        return self

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def type(self) -> str:
        return type_string(self.shape, self.dtype)

    def describe(self) -> str:
        """``mul %7 f64[3]`` or ``placeholder 'x' f64[3]``: used in every error message."""
        label = f"'{self.name}'" if self.name else f"%{self.id}"
        return f"{self.op.name} {label} {self.type}"

    def __repr__(self) -> str:
        return f"<Node {self.describe()}>"

    def __bool__(self):
        raise TypeError(
            f"the truth value of symbolic {self.describe()} is unknown until it is "
            "evaluated; use sg.where for a symbolic choice")

    # --- the sequence protocol, over axis 0 as in NumPy -----------------------
    @property
    def size(self) -> int | None:
        """The number of elements, or ``None`` when a dimension is known only at run time.

        Examples
        --------
        >>> import symgrad as sg
        >>> sg.matrix("a", 2, 3).size, sg.scalar("s").size, sg.matrix("b", None, 3).size is None
        (6, 1, True)
        """
        if None in self.shape:
            return None
        return math.prod(self.shape)

    def _length(self, what: str) -> int:
        if not self.shape:
            raise TypeError(f"{what} of unsized object: {self.describe()} is 0-d")
        if self.shape[0] is None:
            raise TypeError(f"{what} of {self.describe()}: its first dimension is known only at run time")
        return self.shape[0]

    def __len__(self) -> int:
        """The length of axis 0; a ``TypeError`` for a 0-d node or a run-time first dimension.

        Examples
        --------
        >>> import symgrad as sg
        >>> len(sg.matrix("a", 2, 3))
        2
        """
        return self._length("len()")

    def __iter__(self) -> Iterator["Node"]:
        """``x[0]``, ``x[1]``, ... along axis 0, so ``a, b = x`` and ``list(x)`` work.

        Examples
        --------
        >>> import symgrad as sg
        >>> first, second = sg.constant([[1.0, 2.0], [3.0, 4.0]])
        >>> second.eval()
        array([3., 4.])
        """
        length = self._length("iteration")  # checked now, not at the first next()
        return (self[i] for i in range(length))

    def __contains__(self, item):
        # Without this, `v in x` would iterate and compare by identity: always False.
        raise TypeError(f"`in` on symbolic {self.describe()} is unknown until it is evaluated; "
                        "evaluate the node first, or use sg.equal for a symbolic comparison")

    def __array__(self, dtype=None, copy=None):
        # Without this, NumPy would take a node for a sequence (it has len and
        # indexing) and build an object array of element nodes.
        raise TypeError(f"symbolic {self.describe()} has no NumPy value until it is evaluated; "
                        "use node.eval(feeds) or sg.evaluate")

    # == and != keep their identity meaning so nodes can be dict keys;
    # use sg.equal / sg.not_equal for the elementwise comparison.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__


# --- the graph ----------------------------------------------------------------------------

class _PassState(threading.local):
    """What a derivative pass running in *this* thread records (see :class:`_Recording`).

    Per thread: a pass in one thread must not mark, or rewrite, the nodes another thread
    builds in the same graph meanwhile.
    """

    origin: Origin | None = None     # set while a derivative pass builds nodes
    rewrite: Callable | None = None  # the pass's rewrites, offered each node first


class _Recording:
    """While a derivative pass builds nodes: record ``origin`` on each new node, and let
    ``rewrite(graph, op, inputs, params)`` offer an existing or simpler node first.

    A class rather than a generator-based context manager: a pass enters it once per
    node, and this costs a third as much.
    """

    __slots__ = ("graph", "origin", "rewrite", "saved")

    def __init__(self, graph: "Graph", origin: Origin | None, rewrite: Callable | None) -> None:
        self.graph, self.origin, self.rewrite = graph, origin, rewrite

    def __enter__(self) -> None:
        state = self.graph._pass
        self.saved = state.origin, state.rewrite
        state.origin, state.rewrite = self.origin, self.rewrite
        self.graph._passes.append(None)  # list.append and pop are atomic: no lock needed

    def __exit__(self, *exc) -> None:
        self.graph._passes.pop()
        state = self.graph._pass
        state.origin, state.rewrite = self.saved


class Graph:
    """Owns nodes in creation order, which is a topological order.

    ``with sg.Graph() as g:`` makes ``g`` the default graph for the block.

    Several threads may build nodes in one graph, and run derivative passes
    in it, at once: looking a node up and adding it is one atomic step (a
    node is never made twice, ids stay its position), and a pass records
    only the nodes its own thread makes.

    Examples
    --------
    >>> import symgrad as sg
    >>> with sg.Graph() as g:
    ...     x = sg.scalar("x")
    ...     y = x * x + x * x          # x * x is built once
    >>> len(g)
    3
    """

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self._by_key: dict = {}
        self._placeholders: dict[str, Node] = {}
        self._origin: dict[Node, Origin] = {}
        self._pass = _PassState()  # the derivative pass running in each thread
        self._passes: list = []  # one item per pass recording in any thread: none, the common case, is cheap
        self._lock = threading.Lock()  # held while a node is checked for and added
        self._names_lock = threading.Lock()  # held while a placeholder name is checked and registered
        self._scalars: dict = {}  # Python numbers already made constants

    def __len__(self) -> int:
        return len(self.nodes)

    def __bool__(self) -> bool:
        # An empty graph is still a graph: `graph or get_default_graph()` must keep it.
        return True

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __repr__(self) -> str:
        return f"<Graph with {len(self.nodes)} nodes>"

    def __enter__(self) -> "Graph":
        _default_stack.graphs.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _default_stack.graphs.pop()

    # --- building ------------------------------------------------------------
    def apply(self, op: Op, inputs: Sequence[Node], params: dict | None = None, *,
              name: str | None = None, value: np.ndarray | None = None, key_extra=None) -> Node:
        """The one place nodes are made: returns the existing node when one matches."""
        for node in inputs:
            if node.graph is not self:
                raise GraphError(
                    f"{op.name}: input {node.describe()} belongs to another graph; "
                    "nodes of two graphs cannot be combined")
        frozen = Params(params)
        inputs = tuple(inputs)
        key = (op, frozen, tuple([n.id for n in inputs]), key_extra)
        found = self._by_key.get(key)
        if found is not None:
            return found
        op.check_arity(len(inputs))
        result = op.infer(*inputs, **params) if params else op.infer(*inputs)
        if not op.pure and op is not CONSTANT and op is not PLACEHOLDER:  # a user's rule: checked
            shape, dtype = _checked_infer_result(op, inputs, result)  # as a tuple and a np.dtype already
        else:
            shape, dtype = result
            shape, dtype = tuple(shape), np.dtype(dtype)
        origin = None
        if self._passes:  # a derivative pass is recording in some thread: this one?
            state = self._pass
            origin = state.origin
            if state.rewrite is not None and inputs:
                rewritten = state.rewrite(self, op, inputs, params or {}, shape, dtype)
                if rewritten is not None:
                    return self._by_key.setdefault(key, rewritten)  # another thread's, if it was first
        lock = self._lock  # acquire/release: `with` costs twice as much, on every new node
        lock.acquire()
        try:
            node = _NodeFields(self, len(self.nodes), op, inputs, frozen, shape, dtype, name, value)
            found = self._by_key.setdefault(key, node)  # another thread's, if it made one since the lookup
            if found is node:
                self.nodes.append(node)
                if origin is not None:
                    self._origin[node] = origin
        finally:
            lock.release()
        return found

    def find(self, op: Op, inputs: Sequence[Node], params: dict | None = None) -> Node | None:
        """The node ``op`` applied to ``inputs`` with ``params``, if it exists already."""
        return self._by_key.get((op, Params(params), tuple([n.id for n in inputs]), None))

    def recording(self, origin: Origin | None, rewrite: Callable | None = None) -> _Recording:
        """``with graph.recording(origin):`` marks every node made in the block as made by that pass.

        ``rewrite(graph, op, inputs, params, shape, dtype)`` may return a node to use
        instead of a new one (see :mod:`symgrad.rewrite`).
        """
        return _Recording(self, origin, rewrite)

    def origin(self, node: Node) -> Origin | None:
        """The derivative pass that created ``node``, or ``None`` for a node of the user's."""
        return self._origin.get(node)

    def restore_origin(self, node: Node, origin: Origin) -> None:
        """Give a node read from a file its saved origin (when it has none yet).

        Recording a pass would also rewrite the nodes it makes, so loading restores origins directly.
        """
        self._origin.setdefault(node, origin)

    def placeholder(self, name: str, shape: Iterable = (), dtype="float64") -> Node:
        check_name(name, "placeholder")
        shape = check_shape(shape, f"placeholder '{name}'")
        dtype = check_dtype(dtype, f"placeholder '{name}'")
        with self._names_lock:  # checking a name and registering it is one step
            existing = self._placeholders.get(name)
            if existing is not None:
                if existing.shape == shape and existing.dtype == dtype:
                    return existing
                raise GraphError(
                    f"placeholder '{name}' already exists as {existing.type}; "
                    f"cannot redefine it as {type_string(shape, dtype)}")
            node = self.apply(PLACEHOLDER, (), {"shape": shape, "dtype": dtype}, name=name, key_extra=name)
            self._placeholders[name] = node
        return node

    def placeholder_named(self, name: str) -> Node | None:
        return self._placeholders.get(name)

    def placeholder_names(self) -> list[str]:
        return sorted(self._placeholders)

    def constant(self, value, dtype=None, name: str | None = None) -> Node:
        check_name(name, "constant", required=False)
        array = _array(value, dtype, "constant")  # a private copy: later edits by the user cannot leak in
        if array.dtype == object or array.dtype.kind not in "biuf":
            raise DTypeError(f"constant: cannot hold a value of dtype {array.dtype}")
        array.flags.writeable = False
        digest = hashlib.sha1(np.ascontiguousarray(array).data).hexdigest()
        return self.apply(CONSTANT, (), {"shape": array.shape, "dtype": array.dtype},
                          name=name, value=array, key_extra=(digest, name))

    # --- analysis ---------------------------------------------------------------
    def sinks(self) -> list[Node]:
        """The nodes no other node uses: a whole graph's outputs."""
        used = {inp for node in self.nodes for inp in node.inputs}
        return [n for n in self.nodes if n not in used]

    def to_networkx(self, outputs: Sequence[Node] | None = None):
        """The graph (or the part ``outputs`` need) as a ``networkx.MultiDiGraph``.

        Nodes are keyed by id and carry ``op``, ``shape``, ``dtype`` and
        ``name``; each edge carries ``index``, the input position it feeds.
        """
        import networkx as nx  # only here: importing networkx costs 0.2 s at start-up
        nodes = self.nodes if outputs is None else ancestors(outputs)
        g = nx.MultiDiGraph()
        for node in nodes:
            g.add_node(node.id, op=node.op.name, shape=node.shape, dtype=str(node.dtype), name=node.name)
            for index, inp in enumerate(node.inputs):
                g.add_edge(inp.id, node.id, index=index)
        return g


def _checked_infer_result(op: Op, inputs: Sequence[Node], result) -> tuple[Shape, np.dtype]:
    """A custom op's shape rule result, checked as a derivative pass checks a rule's result:
    ``(shape, dtype)``, the shape of non-negative ints or None, a bool, integer or float dtype."""
    def refused(why: str) -> RuleError:  # the message is written only when it is needed
        applied = ", ".join(n.describe() for n in inputs) or "no inputs"
        return RuleError(f"{op.name}: the shape rule applied to {applied} returned {result!r:.100}; {why}")

    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise refused("it must return a pair (shape, dtype)")
    shape, dtype = result
    if not isinstance(shape, (tuple, list)) or not all(d is None or (is_int(d) and d >= 0) for d in shape):
        raise refused("the shape must be a tuple of non-negative ints (or None for a run-time size)")
    try:
        dtype = np.dtype(dtype) if dtype is not None else None  # np.dtype(None) would be float64
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biuf":
        raise refused("the dtype must be a bool, integer or float dtype")
    return tuple(None if d is None else int(d) for d in shape), dtype


class _DefaultStack(threading.local):
    def __init__(self) -> None:
        self.graphs: list[Graph] = []


_default_stack = _DefaultStack()
_global_graph: Graph | None = None


def get_default_graph() -> Graph:
    """The innermost ``with Graph()`` block's graph, else a process-wide one."""
    global _global_graph
    if _default_stack.graphs:
        return _default_stack.graphs[-1]
    if _global_graph is None:
        _global_graph = Graph()
    return _global_graph


def reset_default_graph() -> Graph:
    """Start a fresh process-wide default graph (the old one is kept by its nodes)."""
    global _global_graph
    _global_graph = Graph()
    return _global_graph


def ancestors(outputs: Sequence[Node]) -> list[Node]:
    """Every node ``outputs`` depend on (themselves included), in topological order.

    Iterative: a graph of any depth works with the default recursion limit.
    """
    seen: set = set()
    stack = list(outputs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(node.inputs)
    return sorted(seen, key=lambda n: n.id)


def as_list(value) -> tuple[list, bool]:
    """``(items, many)``: a list or tuple as a list, anything else as a one-item list."""
    if isinstance(value, (list, tuple)):
        return list(value), True
    return [value], False


def output_list(outputs) -> tuple[list[Node], bool]:
    """Outputs given as a node or a list of nodes of one graph, checked."""
    nodes, many = as_list(outputs)
    for node in nodes:
        if not isinstance(node, Node):
            raise TypeError(f"expected symgrad nodes as outputs, got {type(node).__name__}")
    if nodes and any(n.graph is not nodes[0].graph for n in nodes):
        raise GraphError("outputs belong to different graphs")
    return nodes, many


# --- making nodes from values ---------------------------------------------------

def as_node(value, graph: Graph | None = None, like: Node | None = None) -> Node:
    """Turn ``value`` into a node of ``graph``.

    Nodes pass through. Python numbers (and lists of them) are weakly typed:
    next to a float node they take its dtype, next to an integer node its
    width when they fit. Python bools stay bool, as in NumPy: ``x + True`` is
    ``x + 1`` in x's dtype through the op's own promotion, and
    ``sg.where(True, a, b)`` gets a bool condition. NumPy values keep their
    own dtype.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 2, dtype="float32")
    >>> (x * 2).type, (x + True).type, sg.where(True, x, 0.0).type
    ('f32[2]', 'f32[2]', 'f32[2]')
    """
    if isinstance(value, Node):
        return value
    graph = graph or (like.graph if like is not None else get_default_graph())
    if isinstance(value, (np.ndarray, np.generic)):
        return graph.constant(value)
    if isinstance(value, (float, int)):  # cached: `x + 1.0` in a loop makes one constant
        key = (type(value), repr(value), like.dtype if like is not None else None)
        node = graph._scalars.get(key)
        if node is None:
            node = graph._scalars[key] = _weak_constant(value, graph, like)
        return node
    return _weak_constant(value, graph, like)


def _weak_constant(value, graph: Graph, like: Node | None) -> Node:
    if type(value) is int:  # NEP 50: a Python int takes its neighbour's dtype (else int64), or raises
        dtype = like.dtype if like is not None and like.dtype.kind in "iuf" else np.dtype(np.int64)
        if dtype.kind == "f":
            try:
                return graph.constant(np.asarray(value, dtype))
            except OverflowError:
                raise IntegerOverflowError(f"Python integer {value} is too large for {dtype} "
                                           f"beside {like.describe()}") from None
        info = np.iinfo(dtype)
        if not info.min <= value <= info.max:
            beside = f" beside {like.describe()}" if like is not None and like.dtype.kind in "iu" else ""
            raise IntegerOverflowError(
                f"Python integer {value} is out of bounds for {dtype}{beside} (NumPy 2 raises OverflowError); "
                "make it a NumPy array of a wider dtype, or cast the node first")
    array = _array(value, None, "operand")
    if array.dtype == object or array.dtype.kind not in "biuf":
        beside = f" beside {like.describe()}" if like is not None else ""
        raise DTypeError(f"cannot turn {type(value).__name__} {value!r:.40} into a symgrad constant{beside}: "
                         "operands are nodes, numbers, or lists and arrays of bools, ints or floats")
    if array.dtype.kind == "b":  # a bool is not a weak number: where(True, a, b) needs its bool
        return graph.constant(array)
    if like is not None and is_float(like.dtype) and array.dtype.kind in "iuf":
        return graph.constant(array.astype(like.dtype))
    if like is not None and like.dtype.kind in "iu" and array.dtype.kind in "iu" and np.array_equal(
            array.astype(like.dtype), array):  # an int that fits keeps the int width, as in NumPy
        return graph.constant(array.astype(like.dtype))
    if array.dtype.kind == "f":
        array = array.astype(np.float64)
    elif array.dtype.kind in "iu":
        array = array.astype(np.int64)
    return graph.constant(array)


def _array(value, dtype, what: str) -> np.ndarray:
    """``np.array(value, dtype)``, with NumPy's errors for ragged lists said as symgrad's."""
    if dtype is not None:
        dtype = check_dtype(dtype, what)
    try:
        array = np.array(value, dtype=dtype)
    except OverflowError as err:  # np.array(300, "int8") in NumPy 2
        raise IntegerOverflowError(f"{what}: {err}") from None
    except (ValueError, TypeError) as err:  # a ragged nested list; text that is no number; an unknown dtype
        ragged = isinstance(err, ValueError) and "sequence" in str(err)
        raise (ShapeError if ragged else DTypeError)(
            f"{what}: cannot make an array of {type(value).__name__} {value!r:.60}: {err}") from None
    if array.dtype == object and array.size and all(type(v) is int for v in array.flat):
        raise IntegerOverflowError(f"{what}: Python integer {max(array.flat, key=abs)} does not fit in 64 bits")
    return array


def as_nodes(*values, op: str | None = None) -> tuple[Node, ...]:
    """Wrap several operands at once, in one graph, Python numbers typed by their neighbours.

    ``op`` names the op they are given to in the error for a value that is no array.
    """
    for v in values:  # the common case, checked without building a list
        if not isinstance(v, Node):
            break
    else:
        return values
    try:
        return _as_nodes(values)
    except (DTypeError, ShapeError) as err:  # a value that is no array: say which op it was given to, next to what
        others = [v.describe() for v in values if isinstance(v, Node)]
        beside = f" (operand of {op or 'an op'} next to {', '.join(others)})" if others else ""
        raise type(err)(f"{op + ': ' if op else ''}{err}{beside}") from None


def _as_nodes(values: tuple) -> tuple[Node, ...]:
    nodes = [v for v in values if isinstance(v, Node)]
    if not nodes:
        graph = get_default_graph()
        return tuple(as_node(v, graph) for v in values)
    graph = nodes[0].graph
    like = nodes[0]  # a float neighbour types Python numbers, else an integer one
    for node in nodes:
        if is_float(node.dtype):
            like = node
            break
        if node.dtype.kind in "iu" and like.dtype.kind not in "iu":
            like = node
    return tuple(as_node(v, graph, like) for v in values)


def placeholder(name: str, shape: Iterable = (), dtype="float64", graph: Graph | None = None) -> Node:
    """A named input, fed a value at evaluation time.

    ``None`` in ``shape`` marks a dimension known only at run time.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.placeholder("x", shape=(None, 3))
    >>> x.type
    'f64[?,3]'
    """
    return (graph or get_default_graph()).placeholder(name, shape, dtype)


def scalar(name: str, dtype="float64", graph: Graph | None = None) -> Node:
    """A scalar placeholder: ``sg.scalar("x")``."""
    return placeholder(name, (), dtype, graph)


def vector(name: str, size: int | None = None, dtype="float64", graph: Graph | None = None) -> Node:
    """A 1-d placeholder of ``size`` elements (``None``: known at run time)."""
    return placeholder(name, (size,), dtype, graph)


def matrix(name: str, rows: int | None = None, cols: int | None = None, dtype="float64",
           graph: Graph | None = None) -> Node:
    """A 2-d placeholder."""
    return placeholder(name, (rows, cols), dtype, graph)


def constant(value, dtype=None, name: str | None = None, graph: Graph | None = None) -> Node:
    """A constant node holding a private, read-only copy of ``value``.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.constant([1.0, 2.0]).type
    'f64[2]'
    """
    return (graph or get_default_graph()).constant(value, dtype, name)
