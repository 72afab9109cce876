"""Nodes and the graph that owns them.

A :class:`Node` is immutable: an op, an ordered tuple of input nodes, the op's
parameters, a static shape (``None`` marks a dimension known only at run
time), a dtype and an optional name. A node can only be made from nodes that
already exist, so the order in which a :class:`Graph` creates nodes is a
topological order and no cycle can be built.

Making a node that already exists (same op, same parameters, same inputs)
returns the existing one. This hash-consing is common-subexpression
elimination for free, and it keeps repeated gradient passes small.

Python numbers and NumPy arrays met in an expression become constants. Python
numbers are *weakly typed*: ``x32 * 2.0`` stays float32. NumPy arrays keep
their dtype, and an op never mixes float32 with float64 silently.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from .errors import DTypeError, GraphError, ShapeError

Shape = tuple  # of int | None


def dtype_tag(dtype: np.dtype) -> str:
    """Short dtype spelling used in listings and messages: f64, f32, i64, bool."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return "bool"
    return f"{dtype.kind}{dtype.itemsize * 8}"


def type_string(shape: Shape, dtype: np.dtype) -> str:
    """``f64[2,?]`` for a float64 array whose second dimension is a run-time one."""
    dims = ",".join("?" if d is None else str(d) for d in shape)
    return f"{dtype_tag(dtype)}[{dims}]"


def is_float(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


class Params(tuple):
    """An op's parameters: a hashable, sorted tuple of (key, value) pairs with
    attribute access (``out.params.axis``)."""

    __slots__ = ()

    def __new__(cls, items: dict | None = None):
        return super().__new__(cls, sorted(items.items()) if items else ())

    def __getattr__(self, key: str) -> Any:
        for k, v in self:
            if k == key:
                return v
        raise AttributeError(key)

    def as_dict(self) -> dict:
        return dict(self)


@dataclass(frozen=True)
class Origin:
    """Where a derivative node came from: the pass that made it.

    ``order`` counts passes (1 for a first derivative, 2 for a derivative of
    a derivative); ``primal`` is the forward node whose rule produced it;
    ``kind`` is ``"cotangent"`` for reverse mode and ``"tangent"`` for
    forward mode.
    """

    order: int
    primal: "Node"
    kind: str


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

    # --- description -----------------------------------------------------
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

    # --- evaluation --------------------------------------------------------
    def eval(self, feeds: dict | None = None) -> np.ndarray:
        """Evaluate this node; ``feeds`` maps placeholders (or their names) to values."""
        from .evaluate import evaluate
        return evaluate(self, feeds or {})

    # --- operators (the functions live in symgrad.ops) ---------------------
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().sub(self, other)
    def __rsub__(self, other): return _ops().sub(other, self)
    def __mul__(self, other): return _ops().mul(self, other)
    def __rmul__(self, other): return _ops().mul(other, self)
    def __truediv__(self, other): return _ops().div(self, other)
    def __rtruediv__(self, other): return _ops().div(other, self)
    def __pow__(self, other): return _ops().pow(self, other)
    def __rpow__(self, other): return _ops().pow(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __neg__(self): return _ops().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().abs(self)
    def __lt__(self, other): return _ops().less(self, other)
    def __le__(self, other): return _ops().less_equal(self, other)
    def __gt__(self, other): return _ops().greater(self, other)
    def __ge__(self, other): return _ops().greater_equal(self, other)
    def __getitem__(self, index): return _ops().getitem(self, index)
    # == and != keep their identity meaning so nodes can be dict keys;
    # use sg.equal / sg.not_equal for the elementwise comparison.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    @property
    def T(self): return _ops().transpose(self)

    def sum(self, axis=None, keepdims=False): return _ops().sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops().mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops().max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _ops().min(self, axis, keepdims)
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return _ops().reshape(self, shape)
    def transpose(self, *axes): return _ops().transpose(self, axes or None)
    def astype(self, dtype): return _ops().cast(self, dtype)


_OPS = None


def _ops():
    global _OPS  # imported once, on first use: an import statement per operator call costs ~2 µs
    if _OPS is None:
        from . import ops
        _OPS = ops
    return _OPS


class Graph:
    """Owns nodes in creation order, which is a topological order.

    ``with sg.Graph() as g:`` makes ``g`` the default graph for the block.

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
        self._making: Origin | None = None  # set while a derivative pass builds nodes
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
    def apply(self, op, inputs: Sequence[Node], params: dict | None = None, *,
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
        shape, dtype = op.infer(*inputs, **params) if params else op.infer(*inputs)
        if self._making is not None and inputs and all(n.value is not None for n in inputs):
            from .simplify import fold  # derivative passes fold small constants (see simplify)
            folded = fold(self, op, inputs, params, tuple(shape), np.dtype(dtype))
            if folded is not None:
                self._by_key[key] = folded
                return folded
        node = _NodeFields(self, len(self.nodes), op, inputs, frozen, tuple(shape), np.dtype(dtype), name, value)
        self.nodes.append(node)
        self._by_key[key] = node
        if self._making is not None:
            self._origin[node] = self._making
        return node

    def origin(self, node: Node) -> Origin | None:
        """The derivative pass that created ``node``, or ``None`` for a forward node."""
        return self._origin.get(node)

    def placeholder(self, name: str, shape: Iterable = (), dtype="float64") -> Node:
        shape = _check_shape(shape, f"placeholder '{name}'")
        dtype = check_dtype(dtype, f"placeholder '{name}'")
        existing = self._placeholders.get(name)
        if existing is not None:
            if existing.shape == shape and existing.dtype == dtype:
                return existing
            raise GraphError(
                f"placeholder '{name}' already exists as {existing.type}; "
                f"cannot redefine it as {type_string(shape, dtype)}")
        from .ops import PLACEHOLDER
        node = self.apply(PLACEHOLDER, (), {"shape": shape, "dtype": dtype}, name=name, key_extra=name)
        self._placeholders[name] = node
        return node

    def placeholder_named(self, name: str) -> Node | None:
        return self._placeholders.get(name)

    def constant(self, value, dtype=None, name: str | None = None) -> Node:
        array = np.array(value, dtype=dtype)  # a private copy: later edits by the user cannot leak in
        if array.dtype == object or array.dtype.kind not in "biuf":
            raise DTypeError(f"constant: cannot hold a value of dtype {array.dtype}")
        array.flags.writeable = False
        digest = hashlib.sha1(np.ascontiguousarray(array).data).hexdigest()
        from .ops import CONSTANT
        return self.apply(CONSTANT, (), {"shape": array.shape, "dtype": array.dtype},
                          name=name, value=array, key_extra=(digest, name))

    # --- analysis ---------------------------------------------------------------
    def to_networkx(self, outputs: Sequence[Node] | None = None):
        """The graph (or the part ``outputs`` need) as a ``networkx.MultiDiGraph``.

        Nodes are keyed by id and carry ``op``, ``shape``, ``dtype`` and
        ``name``; each edge carries ``index``, the input position it feeds.
        """
        import networkx as nx
        nodes = self.nodes if outputs is None else ancestors(outputs)
        g = nx.MultiDiGraph()
        for node in nodes:
            g.add_node(node.id, op=node.op.name, shape=node.shape, dtype=str(node.dtype), name=node.name)
            for index, inp in enumerate(node.inputs):
                g.add_edge(inp.id, node.id, index=index)
        return g


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


def _check_shape(shape, what: str) -> Shape:
    if isinstance(shape, (int, np.integer)) or shape is None:
        shape = (shape,)
    dims = []
    for d in shape:
        if d is not None and (not isinstance(d, (int, np.integer)) or d < 0):
            raise ShapeError(f"{what}: shape {tuple(shape)} must hold non-negative ints or None")
        dims.append(None if d is None else int(d))
    return tuple(dims)


def check_dtype(dtype, what: str) -> np.dtype:
    """``dtype`` as a NumPy dtype symgrad can hold: bool, integer or float."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{what}: {dtype!r} is not a dtype") from None
    if dtype.kind not in "biuf":
        raise DTypeError(f"{what}: dtype {dtype} is not supported; use a float, integer or bool dtype")
    return dtype


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
    array = np.asarray(value)
    if array.dtype == object:
        raise DTypeError(f"cannot turn {type(value).__name__} {value!r} into a symgrad constant")
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


def as_nodes(*values) -> tuple[Node, ...]:
    """Wrap several operands at once, in one graph, Python numbers typed by their neighbours."""
    for v in values:  # the common case, checked without building a list
        if not isinstance(v, Node):
            break
    else:
        return values
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
