"""Running a graph on another array library: ``backend="jax"``, ``"dask"``, ``"torch"``, ...

NumPy is symgrad's own library (the interpreter and the buffer-reusing
compiled code). Any other library with an array-API namespace (through
``array-api-compat``, the optional extra ``symgrad[array-api]``) runs the
same graph: each op's spelling in the standard namespace ``xp`` comes from its
op block (``Op.array_api``, or derived from its NumPy forward), is looked up
once per library, and an op the library cannot run raises
:class:`~symgrad.errors.BackendError` naming the op and the library before
anything runs. Arrays of that library are never converted to NumPy, and a
value of another library is refused with a :class:`~symgrad.errors.FeedError`.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from typing import Any, Callable, Mapping

import numpy as np

from .errors import BackendError, FeedError
from .ir import CONSTANT, PLACEHOLDER, Node, Op
from .types import type_string

try:
    import array_api_compat
except ImportError:  # the optional extra symgrad[array-api] is not installed
    array_api_compat = None

# NumPy's names for functions the standard names otherwise (a fact about NumPy, not about an op).
NUMPY_NAMES = {"absolute": "abs", "arccos": "acos", "arccosh": "acosh", "arcsin": "asin", "arcsinh": "asinh",
               "arctan": "atan", "arctan2": "atan2", "arctanh": "atanh", "power": "pow",
               "concatenate": "concat", "transpose": "permute_dims", "invert": "bitwise_invert"}

# backend name -> (the module holding its array-API namespace, the module whose arrays it takes)
LIBRARIES = {
    "jax": ("jax.numpy", "jax"),
    "dask": ("array_api_compat.dask.array", "dask"),
    "torch": ("array_api_compat.torch", "torch"),
    "cupy": ("array_api_compat.cupy", "cupy"),
    "array_api_strict": ("array_api_strict", "array_api_strict"),
}


class Backend:
    """One array library: its namespace ``xp``, its dtypes, and each op's kernel in it.

    Examples
    --------
    >>> import symgrad as sg
    >>> b = sg.backend.get("array_api_strict")
    >>> b.kernel(sg.ops.EXP)[1]
    'xp.exp'
    """

    def __init__(self, name: str):
        if name not in LIBRARIES:
            raise BackendError(f"backend {name!r} is not known; expected 'numpy' or one of {sorted(LIBRARIES)}")
        if array_api_compat is None:
            raise BackendError(f"backend {name!r} needs array-api-compat: pip install 'symgrad[array-api]'")
        namespace, library = LIBRARIES[name]
        try:
            self.xp = importlib.import_module(namespace)
        except ImportError as err:
            raise BackendError(f"backend {name!r}: {library} is not installed ({err})") from None
        self.name, self.library = name, library
        self._kernels: dict[Op, tuple[Callable, str | None]] = {}
        self._dtypes: dict[np.dtype, Any] = {}

    def __repr__(self) -> str:
        return f"<symgrad backend {self.name}>"

    def is_array(self, value) -> bool:
        """Whether ``value`` is an array of this library (a JAX tracer counts for JAX)."""
        check = getattr(array_api_compat, f"is_{self.name}_array", None)
        if check is not None:
            return bool(check(value))
        return type(value).__module__.split(".")[0] == self.library

    def dtype(self, dtype: np.dtype, where: str = "graph"):
        """The library's dtype for a NumPy dtype (BackendError if it has none)."""
        found = self._dtypes.get(dtype)
        if found is None:
            found = getattr(self.xp, np.dtype(dtype).name, None)
            if found is None:
                raise BackendError(f"backend {self.name}: the {where} holds {dtype.name}, which it has no dtype for")
            self._dtypes[dtype] = found
        return found

    def check_dtypes(self, nodes) -> None:
        """BackendError if the library would silently narrow a dtype of ``nodes`` (JAX makes float64
        float32 unless its x64 mode is on). Asked at each compile: that mode may change."""
        for dtype in {n.dtype for n in nodes}:
            found = self.dtype(dtype)
            with warnings.catch_warnings():  # JAX warns, then truncates
                warnings.simplefilter("ignore")
                made = self.xp.zeros((), dtype=found).dtype
            if made != found:
                hint = " (enable it: jax.config.update('jax_enable_x64', True))" if self.name == "jax" else ""
                raise BackendError(f"backend {self.name}: the graph holds {dtype.name}, which the library "
                                   f"computes as {made}{hint}; build the graph in a dtype it keeps")

    def constant(self, value: np.ndarray):
        """A constant's value moved to the library (done once, when a function is compiled)."""
        # a copy: the library may share the buffer, and a constant's is read-only (torch warns)
        return self.xp.asarray(np.array(value), dtype=self.dtype(value.dtype, "a constant"))

    def kernel(self, op: Op) -> tuple[Callable, str | None]:
        """``(kernel, spelling)``: ``kernel(*arrays, **params)``, and its source spelling when it is a
        name in ``xp`` (None: the kernel is bound into the generated code). BackendError if none."""
        found = self._kernels.get(op)
        if found is None:
            found = self._kernels[op] = self._resolve(op)
        return found

    def _resolve(self, op: Op) -> tuple[Callable, str | None]:
        fact = op.array_api
        if fact is None:
            name = getattr(op.forward, "__name__", None)
            if name and getattr(np.linalg, name, None) is op.forward:
                fact = f"linalg.{name}"
            elif not name or getattr(np, name, None) is not op.forward:
                raise BackendError(f"{op.name}: the op has no array-API spelling, so the {self.name} backend "
                                   "cannot run it")
            else:
                fact = NUMPY_NAMES.get(name, name)
        if isinstance(fact, str):
            found = self.xp
            for part in fact.split("."):
                found = getattr(found, part, None)
            if found is None:
                raise BackendError(f"{op.name}: the {self.name} backend has no xp.{fact}, so it cannot run the op")
            return found, f"xp.{fact}"
        made = fact(self.xp)
        if isinstance(made, str):
            raise BackendError(f"{op.name}: the {self.name} backend cannot run the op: {made}")
        return made, None

    def check_feed(self, placeholder: Node, value):
        """``value`` as this library's array for ``placeholder``: FeedError for another library's
        array or a wrong dtype or shape (never converted); Python numbers are made arrays."""
        want = self.dtype(placeholder.dtype, f"placeholder {placeholder.describe()}")
        if isinstance(value, (bool, int, float)):
            if isinstance(value, float) and placeholder.dtype.kind != "f":
                raise FeedError(f"feed for {placeholder.describe()} is a float; expected {placeholder.dtype.name}")
            value = self.xp.asarray(value, dtype=want)
        elif not self.is_array(value):
            library = type(value).__module__.split(".")[0]
            raise FeedError(f"feed for {placeholder.describe()} is a {library} {type(value).__name__}; the "
                            f"function runs on {self.name} and expects {self.library} arrays (symgrad never "
                            f"converts between libraries: convert it yourself, or compile for backend={library!r})")
        if value.dtype != want:
            raise FeedError(f"feed for {placeholder.describe()} has dtype {value.dtype}; expected {want} "
                            "(convert with xp.astype)")
        shape = tuple(value.shape)
        if len(shape) != len(placeholder.shape) or any(
                d is not None and a == a and a is not None and d != a for d, a in zip(placeholder.shape, shape)):
            raise FeedError(f"feed for {placeholder.describe()} has shape {shape}; "
                            f"expected {type_string(placeholder.shape, placeholder.dtype)}")
        return value


_BACKENDS: dict[str, Backend] = {}
_LOCK = threading.Lock()


def get(name: str) -> Backend:
    """The backend called ``name`` (made once)."""
    with _LOCK:
        if name not in _BACKENDS:
            _BACKENDS[name] = Backend(name)
        return _BACKENDS[name]


def evaluate_on(backend: Backend, nodes: list[Node], order: list[Node], feeds: Mapping[Node, Any]) -> list:
    """The interpreter on another library: each node of ``order`` (topological) computed by its kernel."""
    backend.check_dtypes(order)
    for node in order:  # every op is looked up before anything runs
        if node.op is not PLACEHOLDER and node.op is not CONSTANT:
            backend.kernel(node.op)
    values: dict[Node, Any] = {}
    for node in order:
        if node.op is PLACEHOLDER:
            if node not in feeds:
                raise FeedError(f"no value fed for {node.describe()}, which the outputs need")
            values[node] = backend.check_feed(node, feeds[node])
        elif node.op is CONSTANT:
            values[node] = backend.constant(node.value)
        else:
            value = backend.kernel(node.op)[0](*(values[i] for i in node.inputs), **node.params.as_dict())
            want = backend.dtype(node.dtype)
            values[node] = value if value.dtype == want else backend.xp.astype(value, want)
    return [values[n] for n in nodes]
