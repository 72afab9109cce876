"""backend=: the same graph on other array libraries (issue 17).

array-api-strict and JAX run the whole op-case table: values and gradients equal
NumPy's (array-api-strict checks that generated code uses only the standard). JAX,
Dask and torch (where installed) run the W1 net's loss, gradient and Hessian-vector
product.
"""

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import symgrad as sg
from helpers import CASES, instantiate, squared_cost
from libraries import require

xps = require("array_api_strict")  # the test extra installs it; CI fails a skip

# What a backend refuses by design, asserted as a BackendError naming the op (neither run nor
# skipped): scipy.special's functions are not in the array-API standard, and log_ndtr's
# derivative op is symgrad's own function on SciPy. A case refused elsewhere fails the test.
REFUSED = {
    "array_api_strict": (lambda case_id: case_id.startswith("special."),
                         r"the array_api_strict backend cannot run the op: scipy\.special's \w+ is not in the "
                         "array-API standard"),
    "jax": (lambda case_id: case_id == "special.log_ndtr",
            "log_ndtr_derivative: the jax backend cannot run the op"),
}
TABLE_BACKENDS = ["array_api_strict", "jax"]


def _to_backend(backend, value):
    if backend == "jax":
        jax = require("jax")
        jax.config.update("jax_enable_x64", True)  # the table is float64
        return jax.numpy.asarray(value)
    return xps.asarray(value)


@pytest.mark.parametrize("backend, op_case", [pytest.param(backend, c, id=f"{backend}-{c.id}")
                                              for backend in TABLE_BACKENDS for c in CASES])
def test_backends_run_the_op_table(backend, op_case):
    """Values and gradients equal NumPy's within rounding; array-api-strict checks that the code
    uses the standard only, JAX that it traces under jax.jit. What a backend refuses by design
    (REFUSED) raises a BackendError naming the op when compiled."""
    out, targets, feeds = instantiate(op_case)
    outputs = [out]
    if targets and out.dtype.kind == "f":
        outputs += sg.grad(squared_cost(out), targets)
    inputs = list(feeds)
    refused, message = REFUSED[backend]
    if refused(op_case.id):
        with pytest.raises(sg.BackendError, match=message):
            sg.function(inputs, outputs, backend=backend)
        return
    expected = sg.function(inputs, outputs)(*feeds.values())
    values = [_to_backend(backend, v) for v in feeds.values()]
    f = sg.function(inputs, outputs, backend=backend)
    got = f(*values)
    for g, e in zip(got, expected):
        assert sg.backend.get(backend).is_array(g)
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-9, atol=1e-12)


def test_an_op_the_backend_cannot_run_fails_at_compile_time_naming_it():
    x = sg.vector("x", 3)
    with pytest.raises(sg.BackendError, match="erf.*array_api_strict"):
        sg.function([x], sg.special.erf(x).sum(), backend="array_api_strict")


def test_an_input_of_another_library_is_refused_not_converted():
    x = sg.vector("x", 3)
    f = sg.function([x], (x * x).sum(), backend="array_api_strict")
    with pytest.raises(sg.FeedError, match="numpy ndarray.*expects array_api_strict"):
        f(np.ones(3))
    with pytest.raises(sg.FeedError, match="dtype"):
        f(xps.asarray(np.ones(3, np.float32)))
    assert float(f(xps.asarray(np.arange(3.0)))) == 5.0
    assert float(sg.evaluate((x * x).sum(), {x: xps.asarray(np.arange(3.0))}, backend="array_api_strict")) == 5.0


# --- the W1 net on JAX and Dask ----------------------------------------------------------------

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))


def w1_graph(X, labels):
    """The W1 net's loss, gradient and Hessian-vector product (bench/w1_relu_net.py's net)."""
    n, k = X.shape
    W1, W2 = sg.matrix("W1", k, 16), sg.matrix("W2", 16, 10)
    V1, V2 = sg.matrix("V1", k, 16), sg.matrix("V2", 16, 10)
    logits = sg.relu(sg.constant(X) @ W1) @ W2
    loss = sg.cross_entropy(logits, labels) + 1e-4 * (sg.square(W1).sum() + sg.square(W2).sum())
    g1, g2 = sg.grad(loss, [W1, W2])
    h1, h2 = sg.grad((g1 * V1).sum() + (g2 * V2).sum(), [W1, W2])
    return [W1, W2, V1, V2], [loss, g1, g2, h1, h2]


def w1_data(n=64, k=20):
    rng = np.random.default_rng(3)
    return (rng.normal(size=(n, k)), rng.integers(0, 10, n), rng.normal(size=(k, 16)) * 0.3,
            rng.normal(size=(16, 10)) * 0.3, rng.normal(size=(k, 16)), rng.normal(size=(16, 10)))


def w1_on(backend, to_array):
    """``(f, got, expected)``: the W1 net compiled for ``backend``, its outputs on the weights made
    arrays by ``to_array``, and NumPy's outputs."""
    X, labels, *weights = w1_data()
    inputs, outputs = w1_graph(X, labels)
    expected = sg.function(inputs, outputs)(*weights)
    f = sg.function(inputs, outputs, backend=backend)
    return f, f(*(to_array(w) for w in weights)), expected


def test_jax_backend_w1_loss_gradient_and_hvp_equal_numpy():
    jax = require("jax")
    jax.config.update("jax_enable_x64", True)
    _, got, expected = w1_on("jax", jax.numpy.asarray)
    for g, e in zip(got, expected):
        assert isinstance(g, jax.Array)
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-10, atol=1e-13)


def test_dask_backend_w1_is_lazy_and_equals_numpy():
    da = require("dask.array")
    dask = require("dask")
    _, got, expected = w1_on("dask", lambda w: da.from_array(w, chunks=8))
    assert all(isinstance(g, da.Array) for g in got)  # lazy: one task graph for all outputs
    for g, e in zip(dask.compute(*got), expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-13)


# --- pickling -------------------------------------------------------------------------------

def test_functions_and_graphs_pickle_through_the_json_form():
    x, w = sg.matrix("x", 4, 3), sg.vector("w", 3)
    loss = sg.logsumexp(x @ w) + sg.square(w).sum()
    outputs = [loss] + sg.grad(loss, [w])
    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(4, 3)), rng.normal(size=3)
    for backend in ["numpy", "array_api_strict"]:
        f = sg.function([x, w], outputs, backend=backend)
        g = pickle.loads(pickle.dumps(f))
        assert g.backend == backend and g is not f
        args = (X, W) if backend == "numpy" else (xps.asarray(X), xps.asarray(W))
        for a, b in zip(f(*args), g(*args)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    s = sg.scalar("s")
    scalar = sg.function([s], [s * s, sg.grad(s * s, s)])
    scalar(2.0), scalar(3.0)  # compiled: its class is now made for its own __call__
    assert [float(v) for v in pickle.loads(pickle.dumps(scalar))(3.0)] == [9.0, 6.0]
    graph = pickle.loads(pickle.dumps(x.graph))
    assert len(graph.nodes) == len(x.graph.nodes)
    assert [n.op.name for n in graph.nodes] == [n.op.name for n in x.graph.nodes]


def test_unpickling_runs_no_code_from_the_payload():
    x = sg.vector("x", 2)
    data = pickle.dumps(sg.function([x], sg.exp(x)))
    # the payload names only symgrad's rebuild function and JSON-able data, never an op's code
    assert b"lambda" not in data and b"builtins" not in data


def test_torch_backend_w1_loss_gradient_and_hvp_equal_numpy():
    # torch is not in the test extra (a 190 MB wheel, 0.9 GB installed): this runs where it is installed
    torch = require("torch", reason="torch is not installed: pip install -e '.[test]' (it pins torch==2.13.0)")
    f, got, expected = w1_on("torch", torch.asarray)
    for g, e in zip(got, expected):
        assert isinstance(g, torch.Tensor)
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-10, atol=1e-13)
    with pytest.raises(sg.FeedError, match="expects torch"):
        f(*w1_data()[2:])


def test_jax_without_x64_refuses_a_float64_graph_instead_of_narrowing_it():
    jax = require("jax")
    x = sg.vector("x", 3)
    enabled = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(sg.BackendError, match="float64.*jax_enable_x64"):
            sg.function([x], sg.exp(x), backend="jax")
        y = sg.vector("y", 3, dtype="float32")
        f = sg.function([y], sg.exp(y).sum(), backend="jax")  # float32 runs
        assert float(f(jax.numpy.zeros(3, dtype="float32"))) == 3.0
    finally:
        jax.config.update("jax_enable_x64", enabled)


def test_cupy_backend_on_a_gpu():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (it needs a GPU)")
    if cupy.cuda.runtime.getDeviceCount() == 0:
        pytest.skip("no GPU: the CuPy backend runs only where a GPU exists")
    _, got, expected = w1_on("cupy", cupy.asarray)
    for g, e in zip(got, expected):
        assert isinstance(g, cupy.ndarray)
        np.testing.assert_allclose(cupy.asnumpy(g), e, rtol=1e-9, atol=1e-12)


def test_a_missing_backend_library_fails_where_ci_requires_it(monkeypatch):
    """Under SYMGRAD_REQUIRE_BACKENDS (set by .ci/run) a missing library is an error, not a skip."""
    monkeypatch.setenv("SYMGRAD_REQUIRE_BACKENDS", "1")
    with pytest.raises(ImportError):
        require("symgrad_no_such_array_library")
    monkeypatch.setenv("SYMGRAD_REQUIRE_BACKENDS", "0")
    with pytest.raises(pytest.skip.Exception):
        require("symgrad_no_such_array_library")
