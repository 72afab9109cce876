"""sg.save / sg.load: every op round-trips node for node, derivatives and exact parameters included;
broken, fuzzed and hostile files raise FormatError and nothing else."""

import builtins
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

import symgrad as sg
from finite_differences import fd_jacobian
from symgrad.errors import FormatError
from symgrad.ops import BUILTIN_OPS
from symgrad.serialize import FORMAT, VERSION, decode_param, encode_param, from_json, saved_nodes, to_json

BUILTIN_OP_NAMES = {op.name for op in BUILTIN_OPS}

FEEDS = {
    "x": np.array([0.3, -1.2, 2.5]),
    "A": np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]),
    "i": np.array([2, 0, 2]),
    "labels": np.array([1, 0]),
    "v": np.array([0.7, -0.1, 1.3]),
    "M": np.array([[0.2, -0.4, 0.9], [1.1, 0.6, -1.5]]),
    "X": np.array([[0.9, -0.35, 1.6], [-1.3, 0.45, 0.1]]),  # no ties, none equal to x's entries
    "S": np.array([[4.0, 0.5, -0.3], [0.5, 3.0, 0.2], [-0.3, 0.2, 2.0]]),  # positive definite, no repeated eigenvalues
}


def every_op_graph():
    """Named outputs that between them use every built-in op (``symgrad.ops.BUILTIN_OPS``).

    A cost over a vector, its gradients (which add the ops only derivatives use), a
    Hessian-vector product and JVPs; run-time dimensions, whose adjoints need the ``*_like``
    ops; a matrix cost mixing the matrix with the vector (broadcasting, axes, keepdims); and
    a non-differentiable output of comparisons, argmax, argmin and one_hot.
    """
    x, A = sg.vector("x", 3), sg.matrix("A", 2, 3)
    i, labels = sg.vector("i", 3, dtype="int64"), sg.vector("labels", 2, dtype="int64")
    pos = sg.exp(x) + 1.0
    parts = [
        sg.sin(x), sg.cos(x), sg.tan(x * 0.1), sg.tanh(x), sg.sigmoid(x), sg.softplus(x), sg.abs(x),
        sg.sign(x) * x, sg.floor(x) + sg.round(x) + x, sg.relu(x), sg.leaky_relu(x, 0.1), sg.sqrt(pos),
        sg.square(x), sg.log(pos), sg.log1p(pos), sg.expm1(x), -x, x - 1.0, x / pos, pos ** x,
        sg.maximum(x, 0.5), sg.minimum(x, 0.5), sg.where(x > 0, x, 2 * x), sg.where(x >= 0, x, x * x),
        sg.where(x < 0, x, 0.0) + sg.where(x <= 0, x, 0.0), sg.where(sg.equal(x, 0.3), x, 0.0),
        sg.where(sg.not_equal(x, 0.3), x, 0.0), sg.stop_gradient(x) * x, sg.clip(x, -1.0, 1.0),
        x[i], x[::-1], x[None, :][0], sg.concatenate([x[:1], x[1:]]),
        sg.cast(sg.cast(x, "float32"), "float64"), sg.cast(sg.argmax(A, 0), "float64") * x,
        sg.cast(sg.argmin(A, 0), "float64") * x,
        sg.broadcast_to(x[:1], (3,)) * x, sg.zeros_like(x) + x,
        sg.sinh(x) + sg.cosh(x) + sg.arctan(x) + sg.arcsinh(x) + sg.exp2(x) + sg.cbrt(pos),
        sg.arcsin(x * 0.1) + sg.arccos(x * 0.1) + sg.arctanh(x * 0.1) + sg.arccosh(pos + 1.0),
        sg.log2(pos) + sg.log10(pos) + sg.reciprocal(pos) + sg.arctan2(x, pos) + sg.hypot(x, pos),
        sg.logaddexp(x, pos) + x % pos + sg.fmod(x, pos),
        # sg.special (derivatives bring digamma, polygamma and log_ndtr_derivative)
        sg.special.erf(x) + sg.special.erfc(x) + sg.special.erfcx(x) + sg.special.erfinv(x * 0.1),
        sg.special.ndtr(x) + sg.special.log_ndtr(x) + sg.special.gammaln(pos) + sg.special.polygamma(2, pos),
        sg.special.xlogy(x, pos) + sg.special.xlog1py(x, pos) + sg.special.logit(sg.special.expit(x)),
    ]
    # reductions and scans (issue 14); their derivatives add linear_recurrence, argsort, permute, tie_mean
    parts += [sg.cumsum(x), sg.cumprod(x), sg.sort(x), sg.prod(x) * x, sg.cumprod(A, 1)[0] + sg.prod(A, 0),
              (sg.var(x) + sg.std(A, 1, ddof=1).sum() + sg.median(x) + sg.ptp(A)) * x,
              sg.average(A, 0, weights=[2.0, 1.0]) + sg.where(sg.all(A > -1.0, 0), x, 0.0)
              + sg.where(sg.any(A > 1.0, 0), x, 0.0),
              sg.cast(sg.count_nonzero(A > 0.0, 0) + sg.argsort(A[0]), "float64") * x]
    logits = sg.transpose(A @ sg.reshape(x, (3, 1)))  # (1, 2)
    scores = A @ sg.tanh(x) + sg.sum(sg.stack(parts), axis=0)[:2]
    cost = (sg.sum(scores) + sg.mean(logits) + sg.max(A, axis=1).sum() + sg.min(A) + sg.logsumexp(x)
            + sg.cross_entropy(A * x, labels) + sg.sum(sg.one_hot(labels, 3) * A) + sg.mse(x, 1.0)
            + sg.sum(sg.softmax(A, axis=1) * A) + sg.sum(sg.expand_dims(x, 0) * A))
    cost = cost + sg.sigmoid_cross_entropy(x, sg.constant([0.0, 0.5, 1.0]))  # its own op since issue 11
    v, M = sg.vector("v", None), sg.matrix("M", None, None)
    cost = (cost + sg.sum(sg.concatenate([v, sg.tanh(v)]) ** 2) + sg.sum(sg.maximum(v, 0.0) * sg.mean(v))
            + sg.sum(sg.exp(sg.zeros_like(v))) + sg.sum(sg.sin(sg.reshape(M, (-1,))))
            + sg.sum(sg.zeros_like(M) + 1.0) + sg.sum(sg.concatenate([M, M * 3.0, M], 0) ** 2.0))
    gx, gv, gM = sg.grad(cost, [x, v, M])
    hv = sg.hvp(cost, x, sg.constant([1.0, -2.0, 0.5]))
    (jv,) = sg.jvp([cost], [x], [sg.constant([0.5, 0.25, -1.0])])
    # v * tanh(v): two run-time dims that must match, checked by the forward pass (check_sizes)
    (jc,) = sg.jvp([sg.concatenate([v, v * sg.tanh(v)])], [v], [sg.tanh(v)])

    X = sg.matrix("X", 2, 3)
    pos_X = sg.exp(X) + 0.5
    matrix_parts = [
        X - x, X / pos_X, pos_X ** 1.5, sg.maximum(X, x), sg.minimum(X, x), sg.where(X > x, X, -X),
        sg.leaky_relu(X, 0.2), sg.clip(X, -0.5, 0.5), sg.broadcast_to(x, (2, 3)), sg.reshape(X, (3, 2)).T,
        sg.transpose(X).T, sg.concatenate([X, X * 2.0], 1)[:, ::2], X[[1, 0]], X[:, labels],
        sg.stack([x, x], 0), sg.softmax(X), sg.log_softmax(X), sg.logsumexp(X, 1, keepdims=True),
        sg.max(X, 0, keepdims=True), sg.min(X, 1, keepdims=True), sg.mean(X, 0, keepdims=True),
    ]
    matrix_cost = sum(sg.sum(p) for p in matrix_parts) + sg.cross_entropy(X, labels) + sg.sum(X @ x)
    gX, gx_of_X = sg.grad(matrix_cost, [X, x])
    jX = sg.jvp(matrix_cost, X, np.ones((2, 3)))

    # shapes and indexing (issue 14): i = [2, 0, 2] repeats, labels = [1, 0] are run-time rows
    reshaped = [sg.roll(X, 1, 1), sg.pad(X, ((1, 0), (2, 1)), "reflect"), sg.pad(X, 1, "edge"),
                sg.pad(X, 1, constant_values=0.5), sg.take_along_axis(X, sg.reshape(i, (1, 3)), 1),
                X.at[labels].set(x), X.at[:, i].add(x), X.at[[0, 0]].multiply(x), X.at[:, i].min(x),
                X.at[:, i].max(x)]
    shape_cost = sum(sg.sum(p * p) for p in reshaped)
    g_shape = sg.grad(shape_cost, [X, x])
    h_shape = sg.hvp(shape_cost, X, np.ones((2, 3)))
    j_shape = sg.jvp(shape_cost, [X, x], [np.ones((2, 3)), np.ones(3)])

    flags = [sg.equal(X, x), sg.not_equal(X, x), sg.less(X, x), sg.less_equal(X, x), sg.greater_equal(X, x)]
    discrete = sg.sum(sg.one_hot(labels, 3)) + sg.sum(sg.cast(sg.argmax(X, 1) + sg.argmin(X, 1), "float64"))
    discrete = discrete + sum(sg.sum(sg.cast(f, "float64")) for f in flags)
    # linear algebra: each op, its reverse rules (with a second pass) and its forward rules
    S = sg.matrix("S", 3, 3)
    L = sg.linalg
    sign, logdet = L.slogdet(S)
    w, V = L.eigh(S)
    U, s, Vh = L.svd(A)
    Q, R = L.qr(A.T)
    algebra = (sg.sum(L.solve(S, x)) + sg.sum(L.inv(S)) + L.det(S) + sign * logdet + sg.sum(L.cholesky(S))
               + sg.sum(L.solve_triangular(S, S, lower=False)) + sg.sum(w) + sg.sum(V ** 2) + sg.sum(L.eigvalsh(S))
               + sg.sum(U ** 2) + sg.sum(s) + sg.sum(Vh ** 2) + sg.sum(Q) + sg.sum(R) + sg.sum(L.pinv(A)))
    gS = sg.grad(algebra, S)
    hS = sg.hvp(algebra, S, sg.constant(np.eye(3)))
    jS = sg.jvp(algebra, S, np.ones((3, 3)))
    # tensor contractions (ops/contract.py): a trace by a repeated index, whose gradient writes onto
    # a diagonal, a path planned at build time, a run-time size, diagonals and triangles
    contract_cost = (sg.einsum("ii", X @ A.T) + sg.sum(sg.einsum("ij,kj->ik", X, A, optimize="greedy") ** 2)
                     + sg.sum(sg.diag(sg.diagonal(X, 1))) + sg.sum(sg.tril(X) * sg.triu(A, -1))
                     + sg.sum(sg.einsum("ij,ij,ij,ij->i", X, A, X, A, optimize="greedy"))
                     + sg.sum(sg.einsum("i,i", v, v) * x))
    g_contract = sg.grad(contract_cost, [X, v])
    return dict(cost=cost, gx=gx, gv=gv, gM=gM, hv=hv, jv=jv, jc=jc,
                matrix_cost=matrix_cost, gX=gX, gx_of_X=gx_of_X, jX=jX, discrete=discrete,
                algebra=algebra, gS=gS, hS=hS, jS=jS,
                shape_cost=shape_cost, gX_shape=g_shape[0], gx_shape=g_shape[1], h_shape=h_shape, j_shape=j_shape,
                contract_cost=contract_cost, gX_contract=g_contract[0], gv_contract=g_contract[1])


def round_trip(outputs, tmp_path):
    path = tmp_path / "graph.json"
    sg.save(outputs, path)
    return sg.load(path)


def test_every_op_and_its_derivatives_round_trip_node_for_node(tmp_path):
    with sg.Graph() as original:
        named = every_op_graph()
        outputs = list(named.values())
        saved = saved_nodes(outputs)
        expected = sg.evaluate(outputs, FEEDS)
        graph, loaded = round_trip(outputs, tmp_path)
    used = {n.op.name for n in saved}
    assert BUILTIN_OP_NAMES <= used, f"extend every_op_graph with {BUILTIN_OP_NAMES - used}"
    assert len(graph.nodes) == len(saved)
    position = {node: k for k, node in enumerate(saved)}
    for before, after in zip(saved, graph.nodes):
        assert (after.op, after.shape, after.dtype, after.name) == (before.op, before.shape, before.dtype, before.name)
        assert [i.id for i in after.inputs] == [position[i] for i in before.inputs]
        assert repr(after.params) == repr(before.params)  # same values and the same types
        o1, o2 = original.origin(before), graph.origin(after)
        assert (o1 is None) == (o2 is None)
        if o1 is not None:
            assert (o1.order, o1.kind, position[o1.primal]) == (o2.order, o2.kind, o2.primal.id)
    assert [n.id for n in loaded] == [position[n] for n in outputs]  # the outputs, in their order
    for a, b in zip(expected, sg.evaluate(loaded, FEEDS)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)  # the same ops in the same order: bitwise equal

    # A loaded graph is a graph: a loaded gradient differentiates again, as the original does.
    old_gX, new_gX = named["gX"], loaded[list(named).index("gX")]
    again_old = sg.grad(sg.sum(old_gX * old_gX), original.placeholder_named("X"))
    again_new = sg.grad(sg.sum(new_gX * new_gX), graph.placeholder_named("X"))
    assert again_new.shape == (2, 3)
    np.testing.assert_array_equal(sg.evaluate(again_new, FEEDS), sg.evaluate(again_old, FEEDS))


def test_second_order_graphs_round_trip_and_differentiate_again(tmp_path):
    with sg.Graph():
        x = sg.vector("x", 3)
        cost = sg.sum(sg.tanh(x) * sg.exp(x[::-1]))
        hess = sg.hessian(cost, x)
        d3 = sg.grad(sg.sum(sg.grad(sg.sum(sg.grad(cost, x) ** 2), x)), x)
        feeds = {"x": FEEDS["x"]}
        expected = sg.evaluate([hess, d3], feeds)
        graph, loaded = round_trip([hess, d3], tmp_path)
    assert {graph.origin(n).order for n in graph.nodes if graph.origin(n)} >= {1, 2, 3}
    for a, b in zip(expected, sg.evaluate(loaded, feeds)):
        np.testing.assert_array_equal(a, b)
    # the loaded Hessian's first row, differentiated again, against central differences of it
    row = loaded[0][0]
    x_new = graph.placeholder_named("x")
    jac = sg.evaluate(sg.jacobian(row, x_new), feeds)
    np.testing.assert_allclose(jac, fd_jacobian(row, x_new, FEEDS["x"]), rtol=1e-5, atol=1e-6)


def test_second_order_values_match_closed_form(tmp_path):
    with sg.Graph():
        x = sg.scalar("x")
        d2 = sg.grad(sg.grad(sg.sin(x) * x, x), x)
        _, (loaded,) = round_trip(d2, tmp_path)
    for value in (-1.3, 0.0, 2.5):
        np.testing.assert_allclose(loaded.eval({"x": value}), 2 * math.cos(value) - value * math.sin(value))


def test_a_whole_graph_saves_with_its_sinks_as_outputs(tmp_path):
    with sg.Graph() as g:
        x = sg.scalar("x")
        sg.sin(x)
        sg.cos(x)
        graph, outputs = round_trip(g, tmp_path)
    assert [o.op.name for o in outputs] == ["sin", "cos"]
    assert isinstance(graph, sg.Graph) and outputs[0].graph is graph


def test_whole_graph_round_trips_node_for_node_with_origins(tmp_path):
    with sg.Graph() as graph:
        x = sg.vector("x", 3)
        y = sg.sum(sg.tanh(x) * x)
        gx = sg.grad(y, x)
        hv = sg.grad(sg.sum(gx * sg.constant([1.0, -2.0, 0.5])), x)
    loaded, outputs = round_trip(graph, tmp_path)
    assert len(loaded) == len(graph)
    assert sg.listing(loaded) == sg.listing(graph)  # ops, params, names, types and origins
    orders = {loaded.origin(n).order for n in loaded if loaded.origin(n)}
    assert orders == {1, 2}
    new_hv = next(n for n in outputs if n.id == hv.id)
    value = [0.3, -1.2, 2.0]
    np.testing.assert_allclose(sg.evaluate(new_hv, {"x": value}), sg.evaluate(hv, {"x": value}), rtol=0, atol=0)


SPECIAL = np.array([[0.0, -0.0, np.nan], [np.inf, -np.inf, 1e-310]])
INTEGERS = np.arange(-3, 3).reshape(2, 3)
CONSTANTS = {
    "float64": SPECIAL, "float32": SPECIAL.astype("float32"), "float16": SPECIAL.astype("float16"),
    "float16-0d": np.array(2.5, dtype="float16"), "int64": INTEGERS, "int8": INTEGERS.astype("int8"),
    "uint8": np.arange(6, dtype="uint8").reshape(2, 3), "uint16": INTEGERS.astype("uint16"),
    "bool": INTEGERS.astype("bool"),
}


@pytest.mark.parametrize("array", CONSTANTS.values(), ids=CONSTANTS.keys())
def test_constants_keep_their_dtype_shape_and_exact_bytes(tmp_path, array):
    with sg.Graph():
        c = sg.constant(array, name="c")
        graph, (loaded,) = round_trip(c, tmp_path)
    assert loaded.name == "c" and loaded.value.dtype == array.dtype and loaded.value.shape == array.shape
    assert loaded.value.tobytes() == array.tobytes()  # nan, -0.0 and subnormals included


@pytest.mark.parametrize("value", [0.1, -0.0, float("inf"), float("-inf"), 1e-310, 2.0 ** 60, float("nan")])
def test_float_parameters_come_back_exactly(value, tmp_path):
    with sg.Graph():
        y = sg.leaky_relu(sg.scalar("x"), value)
        _, (loaded,) = round_trip(y, tmp_path)
    got = loaded.params.alpha
    assert type(got) is float and got.hex() == value.hex()  # bit for bit: -0.0 keeps its sign


@pytest.mark.parametrize("value", [
    0, -7, 2 ** 70, True, False, None, "", "λ \"quoted\"\n", 0.1, -0.0, float("nan"), float("inf"),
    -float("inf"), 5e-324, (), (1, (None, ("slice", 1, None, -1)), ((),)), np.dtype("float32"), np.dtype("bool")])
def test_params_round_trip_with_their_types(value):
    with sg.Graph():
        node = sg.scalar("x")
        text = json.dumps(encode_param(value, node, "p"), allow_nan=False)
    back = decode_param(json.loads(text), "node")
    assert repr(back) == repr(value) and type(back) is type(value)


def test_ops_the_format_cannot_name_are_refused_when_saving(tmp_path):
    twin = sg.Op("sin", np.sin, lambda x: (x.shape, x.dtype))  # not the registered "sin"
    with sg.Graph() as g:
        x = sg.scalar("x")
        with pytest.raises(FormatError, match="not the one registered"):
            sg.save(g.apply(twin, [x]), tmp_path / "f.json")


ODD_PARAM_OP = sg.Op("test_odd_param", lambda x, alpha: x, lambda x, alpha: (x.shape, x.dtype))


def test_unsavable_parameter_is_a_format_error(tmp_path):
    with sg.Graph() as graph:
        x = sg.scalar("x")
        odd = graph.apply(ODD_PARAM_OP, (x,), {"alpha": frozenset({1})})
        with pytest.raises(sg.DTypeError, match="leaky_relu: the slope alpha must be a real number, not frozenset"):
            graph.apply(sg.ops.LEAKY_RELU, (x,), {"alpha": frozenset({1})})  # a built-in op refuses it outright
    with pytest.raises(FormatError, match="alpha"):
        sg.save(odd, tmp_path / "odd.json")


def test_loading_never_touches_pickle_or_eval(monkeypatch, tmp_path):
    with sg.Graph():
        y = sg.sum(sg.sigmoid(sg.vector("w", 2)) @ sg.constant([1.0, 2.0]))
    sg.save(y, tmp_path / "y.json")

    def forbidden(*args, **kwargs):
        raise AssertionError("load executed code")
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    _, (loaded,) = sg.load(tmp_path / "y.json")
    monkeypatch.undo()
    w = np.array([0.3, -0.7])
    np.testing.assert_allclose(loaded.eval({"w": w}), (1 / (1 + np.exp(-w))) @ [1.0, 2.0])


def test_the_documented_example_file_loads():
    text = (Path(__file__).resolve().parent.parent / "docs" / "graph-file-format.md").read_text(encoding="utf-8")
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    graph, (out,) = from_json(json.loads(example))
    np.testing.assert_array_equal(sg.evaluate(out, {"x": [1.0, -2.0, 0.5]}), [2.0, -4.0, 1.0])


# --- broken, fuzzed and hostile files -----------------------------------------------------------

def valid_document():
    """A saved gradient with a node of each kind the edits below aim at.

    Nodes 0 and 1 are placeholders of different shapes; the first getitem takes a slice and
    an int, the second an index array; then a constant, mul, leaky_relu, max, and derivative
    nodes with origins.
    """
    with sg.Graph():
        X, i = sg.placeholder("X", (2, 3)), sg.vector("i", 2, dtype="int64")
        z = X[:, 1][i] * sg.constant([1.5, -2.0])
        cost = sg.sum(sg.leaky_relu(z, 0.2)) - sg.max(X)
        return to_json([cost, sg.grad(cost, X)])


def fresh_file(tmp_path, data: bytes) -> Path:
    path = tmp_path / "file.json"
    path.unlink(missing_ok=True)  # a new file: ext4 flushes a file truncated in place, 50x slower
    path.write_bytes(data)
    return path


def must_refuse(document_or_bytes, tmp_path, match=None):
    data = document_or_bytes
    if not isinstance(data, bytes):
        data = json.dumps(data).encode()
    path = fresh_file(tmp_path, data)
    with pytest.raises(FormatError, match=match):
        sg.load(path)


def test_the_valid_document_loads_and_computes_the_numpy_values():
    graph, outputs = from_json(valid_document())
    X, i, c = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]), np.array([1, 1]), np.array([1.5, -2.0])
    value, grad = sg.evaluate(outputs, {"X": X, "i": i})  # i repeats an index: its cotangents add
    z = X[:, 1][i] * c
    lrelu = np.where(z > 0, z, 0.2 * z)
    assert np.isclose(value, np.sum(lrelu) - np.max(X))
    dz = np.where(z > 0, 1.0, 0.2) * c
    expected = np.zeros((2, 3))
    expected[:, 1] = np.bincount(i, weights=dz, minlength=2)
    expected[np.unravel_index(np.argmax(X), X.shape)] -= 1.0
    np.testing.assert_allclose(grad, expected)


def test_saved_document_says_its_format_and_version():
    document = valid_document()
    assert (document["format"], document["version"]) == (FORMAT, VERSION)
    assert all(i < k for k, node in enumerate(document["nodes"]) for i in node["inputs"])


def test_every_truncation_is_refused(tmp_path):
    data = json.dumps(valid_document()).encode()
    for end in range(len(data)):
        must_refuse(data[:end], tmp_path)


def test_random_byte_flips_raise_format_error_or_load(tmp_path):
    data = bytearray(json.dumps(valid_document()).encode())
    rng = np.random.default_rng(1234)
    for _ in range(550):
        damaged = bytearray(data)
        for where in rng.integers(0, len(data), size=rng.integers(1, 4)):
            damaged[where] = rng.integers(0, 256)
        try:
            sg.load(fresh_file(tmp_path, bytes(damaged)))
        except FormatError:
            pass  # any other exception fails the test


WRONG_VALUES = [None, True, -1, 0, 10 ** 30, 1.5, "", "x", [], [0], [-1], [None], {}, {"float": "1"}]


def test_wrong_json_types_in_every_field_raise_format_error_or_load():
    base = valid_document()
    for k in range(len(base["nodes"])):
        for key in list(base["nodes"][k]) + ["missing"]:
            for wrong in WRONG_VALUES:
                document = json.loads(json.dumps(base))
                document["nodes"][k][key] = wrong
                try:
                    from_json(document)
                except FormatError:
                    pass
    for key in ("format", "version", "nodes", "outputs"):
        for wrong in WRONG_VALUES:
            document = json.loads(json.dumps(base))
            document[key] = wrong
            if key == "outputs" and wrong in ([], [0]):
                continue  # still a valid file
            with pytest.raises(FormatError):
                from_json(document)


def first(document, op):
    return next(n for n in document["nodes"] if n["op"] == op)


def last(document):
    return len(document["nodes"]) - 1


def first_derivative(document):
    return next(n for n in document["nodes"] if n["origin"])


HUGE = {"dtype": "float64", "shape": [10 ** 11, 10 ** 11], "data": "AAAA"}
DEEP_30, DEEP_40 = json.loads("[" * 30 + "]" * 30), json.loads("[" * 40 + "]" * 40)

# (id, edit of a valid document, the message expected or None)
HOSTILE = [
    ("format", lambda d: d.update(format="something-else"), None),
    ("version-2", lambda d: d.update(version=2), "version 2"),
    ("version-bool", lambda d: d.update(version=True), None),
    ("nodes-not-a-list", lambda d: d.update(nodes={"0": 1}), None),
    ("output-out-of-range", lambda d: d.update(outputs=[10 ** 6]), None),
    ("output-a-string", lambda d: d.update(outputs=["0"]), None),
    ("node-not-an-object", lambda d: d["nodes"].append(42), None),
    ("op-unknown", lambda d: first(d, "mul").update(op="no_such_op"), None),
    ("op-a-module-path", lambda d: d["nodes"][last(d)].update(op="os.system"), "unknown op 'os.system'"),
    ("op-a-list", lambda d: first(d, "mul").update(op=["mul"]), None),
    ("input-far-ahead", lambda d: first(d, "mul").update(inputs=[len(d["nodes"]) + 3]), None),
    ("input-next-node", lambda d: d["nodes"][2].update(inputs=[3, 0]), "refers to node"),
    ("input-itself-placeholder", lambda d: d["nodes"][1].update(inputs=[1]), None),  # a cycle
    ("input-itself", lambda d: d["nodes"][last(d)].update(inputs=[last(d)]), "refers to node"),
    ("input-negative", lambda d: first(d, "mul").update(inputs=[-1, 0]), None),
    ("input-bool", lambda d: first(d, "mul").update(inputs=[True, 0]), None),
    ("shape-disagrees", lambda d: first(d, "mul").update(shape=[7]), None),  # with inference
    ("shape-disagrees-last", lambda d: d["nodes"][last(d)].update(shape=[7]), "when rebuilt"),
    ("dtype-disagrees", lambda d: first(d, "mul").update(dtype="float32"), None),
    ("dtype-object", lambda d: first(d, "mul").update(dtype="object"), None),
    ("dtype-void", lambda d: first(d, "mul").update(dtype="V100"), None),
    ("shape-huge", lambda d: first(d, "placeholder").update(shape=[10 ** 30, 3]), None),
    ("shape-negative", lambda d: first(d, "placeholder").update(shape=[-2, 3]), None),
    ("shape-a-string", lambda d: first(d, "placeholder").update(shape="(2, 3)"), None),
    ("name-none", lambda d: first(d, "placeholder").update(name=None), None),
    ("name-twice", lambda d: d["nodes"][1].update(name=d["nodes"][0]["name"]), None),  # shapes differ
    ("value-shape-huge", lambda d: first(d, "constant")["value"].update(shape=[10 ** 12]), None),
    ("value-huge-short-data", lambda d: first(d, "constant").update(value=HUGE), "base64 characters"),
    ("value-shape-2^50", lambda d: first(d, "constant").update(value={**HUGE, "shape": [2 ** 50]}), "bad shape"),
    ("value-data-too-short", lambda d: first(d, "constant")["value"].update(data="!!!!"), None),
    ("value-data-bad-base64", lambda d: first(d, "constant").update(
        value={"dtype": "float64", "shape": [2], "data": "!" * 24}), "base64"),
    ("value-data-a-number", lambda d: first(d, "constant")["value"].update(data=12), None),
    ("value-bool-bytes", lambda d: first(d, "constant").update(
        value={"dtype": "bool", "shape": [2], "data": "AQI="}), "bool bytes"),
    ("value-dtype-float128", lambda d: first(d, "constant")["value"].update(dtype="float128"), None),
    ("value-missing", lambda d: first(d, "constant").pop("value"), None),
    ("spec-slice-nan", lambda d: first(d, "getitem").update(
        params={"spec": [["slice", {"float": "nan"}, None, None]]}), None),
    ("spec-slice-string", lambda d: first(d, "getitem")["params"].update(spec=[["slice", "a", None, None]]), None),
    ("spec-slice-step-0", lambda d: first(d, "getitem").update(params={"spec": [["slice", 1, 2, 0]]}), None),
    ("spec-unknown-kind", lambda d: first(d, "getitem")["params"].update(spec=[["zzz"]]), None),
    ("spec-array-7", lambda d: first(d, "getitem")["params"].update(spec=[["array", 7]]), None),
    ("spec-empty-item", lambda d: first(d, "getitem")["params"].update(spec=[[]]), None),
    ("spec-a-string", lambda d: first(d, "getitem")["params"].update(spec="spec"), None),
    ("spec-reduce", lambda d: first(d, "getitem").update(params={"spec": {"__reduce__": "os.system"}}), None),
    ("spec-deep-30", lambda d: first(d, "getitem")["params"].update(spec=DEEP_30), None),
    ("spec-deep-40", lambda d: first(d, "getitem").update(params={"spec": DEEP_40}), None),
    ("param-not-an-identifier", lambda d: first(d, "getitem")["params"].update({"not an identifier": 1}), None),
    ("param-bad-float", lambda d: first(d, "leaky_relu")["params"].update(alpha={"float": "one"}), "bad float"),
    ("param-code", lambda d: first(d, "leaky_relu")["params"].update(alpha={"code": "print(1)"}), None),
    ("axis-out-of-range", lambda d: first(d, "max").update(params={"axis": [9], "keepdims": False}), None),
    ("param-extra", lambda d: first(d, "max").update(params={"axis": [0], "keepdims": False, "extra": 1}), None),
    ("axis-bad-float", lambda d: first(d, "max").update(params={"axis": {"float": "1e999x"}, "keepdims": False}),
     None),
    ("axis-dtype-object", lambda d: first(d, "max").update(params={"axis": {"dtype": "object"}, "keepdims": False}),
     None),
    ("origin-primal-far-ahead", lambda d: first_derivative(d).update(
        origin={"order": 1, "primal": 10 ** 5, "kind": "cotangent"}), None),
    ("origin-primal-itself", lambda d: d["nodes"][last(d)].update(
        origin={"order": 1, "primal": last(d), "kind": "cotangent"}), "refers to node"),
    ("origin-order-0", lambda d: first_derivative(d).update(origin={"order": 0, "primal": 0, "kind": "cotangent"}),
     None),
    ("origin-kind-exec", lambda d: first_derivative(d).update(origin={"order": 1, "primal": 0, "kind": "exec"}),
     None),
    ("origin-a-string", lambda d: first_derivative(d).update(origin="pass 1"), None),
]


@pytest.mark.parametrize("edit, match", [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_or_inconsistent_documents(edit, match, tmp_path):
    document = valid_document()
    edit(document)
    must_refuse(document, tmp_path, match)


NOT_GRAPH_FILES = [
    ("empty", b"", None),
    ("utf-16-bom", b"\xff\xfe\x00", None),
    ("not-utf-8", b"\xff\xfe not utf-8", "not UTF-8 JSON"),
    ("null", b"null", None),
    ("a-list", b"[]", "not a symgrad graph file"),
    ("no-fields", b"{}", None),
    ("format-only", b'{"format": "symgrad-graph"}', None),
    ("nested-too-deep", b"[" * 100_000 + b"]" * 100_000, None),  # deeper than the parser allows
    ("version-10000-digits", b'{"format": "symgrad-graph", "version": ' + b"9" * 10_000 + b"}", None),
    ("nodes-nan", b'{"format": "symgrad-graph", "version": 1, "nodes": NaN}', None),
    ("output-of-no-nodes", b'{"format": "symgrad-graph", "version": 1, "nodes": [], "outputs": [0]}', None),
]


@pytest.mark.parametrize("data, match", [f[1:] for f in NOT_GRAPH_FILES], ids=[f[0] for f in NOT_GRAPH_FILES])
def test_not_graph_files(data, match, tmp_path):
    must_refuse(data, tmp_path, match)


# --- parameters are checked on loading by the rules that check them when building (issue 11) ----

# Values a hostile or careless file may hold where a parameter belongs: out of range, negative,
# bools, floats where ints belong, strings, nested lists, dtypes, null.
WRONG_PARAMS = [9, -9, -1, 0, 1, True, False, None, "a", "", {"float": "1.0"}, {"float": "nan"},
                {"dtype": "float32"}, {"dtype": "int8"}, [], [0], [9], [True], [0, 0], [-1], [[0]], [None],
                [{"float": "2.5"}, 2], [["slice", 1, 2, 0]], [["int", 99]], [["array", 3]], [["ellipsis"]] * 2]


def _sub_document(document: dict, k: int) -> tuple[dict, int]:
    """The file of node ``k`` and its ancestors only (origins dropped), and node ``k``'s new position."""
    nodes = document["nodes"]
    keep, stack = set(), [k]
    while stack:
        j = stack.pop()
        if j not in keep:
            keep.add(j)
            stack.extend(nodes[j]["inputs"])
    order = sorted(keep)
    position = {j: n for n, j in enumerate(order)}
    records = [{**nodes[j], "inputs": [position[i] for i in nodes[j]["inputs"]], "origin": None} for j in order]
    return {**document, "nodes": records, "outputs": [position[k]]}, position[k]


def test_a_file_with_any_wrong_parameter_is_refused_or_loads_a_graph_that_works():
    """Every (op, parameter) of every built-in op, each replaced by each wrong value: either
    FormatError naming the node, or the loaded node lists, draws and evaluates (the value was
    valid after all, such as another axis in range); never a later AxisError, KeyError or
    UFuncTypeError from inside listing, to_dot or evaluate."""
    with sg.Graph():
        document = to_json(list(every_op_graph().values()))
    first_of = {}
    for k, record in enumerate(document["nodes"]):
        for key in record["params"]:
            first_of.setdefault((record["op"], key), k)
    assert len(first_of) >= 20  # every op with parameters, including the ones only derivatives use
    refused = loaded = 0
    for (op, key), k in sorted(first_of.items()):
        for wrong in WRONG_PARAMS:
            edited, at = _sub_document(document, k)
            edited = json.loads(json.dumps(edited))
            edited["nodes"][at]["params"][key] = wrong
            try:
                graph, (node,) = from_json(edited)
            except FormatError as err:
                assert f"node {at} ({op})" in str(err)
                refused += 1
                continue
            loaded += 1
            sg.listing(node)
            sg.to_dot(node)
            feeds = {name: FEEDS[name] for name in graph.placeholder_names()}
            try:
                shape = sg.evaluate(node, feeds).shape
            except sg.IndexingError as err:  # a valid flag that these feeds break (unique_indices=True)
                assert node.op.name in str(err) or "at[" in str(err)
                continue
            assert len(shape) == node.ndim and all(d is None or d == n for d, n in zip(node.shape, shape))
    assert refused > 10 * loaded  # nearly every wrong value is refused


@pytest.mark.parametrize("op, params, message", [
    ("max", {"axis": [9]}, r"max: axis 9 is out of range for placeholder 'X' f64\[2,3\]"),
    ("max", {"keepdims": "no"}, "keepdims must be True or False, not str 'no'"),
    ("max", {"axis": [True, 1]}, "axis must be an int, not bool True"),
    ("max", {"axis": 0}, "not in normal form"),
    ("leaky_relu", {"alpha": "a"}, "the slope alpha must be a real number"),
    ("leaky_relu", {"alpha": None}, "the slope alpha must be a real number"),
    ("leaky_relu", {"alpha": 1}, "not in normal form"),
    ("leaky_relu", {"beta": {"float": "0.1"}}, "beta"),
    ("getitem", {"spec": [["zzz"]]}, "bad index item"),
    ("getitem", {"spec": [["slice", None, None, 0]]}, "bad index item"),
    ("mul", {"axis": 0}, "mul: takes no parameter"),
])
def test_wrong_parameters_are_refused_in_the_words_of_the_op(op, params, message):
    document = valid_document()
    k, record = next((k, r) for k, r in enumerate(document["nodes"]) if r["op"] == op)
    record["params"].update(params)
    with pytest.raises(FormatError, match=rf"load: node {k} \({op}\) cannot be rebuilt: .*{message}"):
        from_json(document)


@pytest.mark.parametrize("build, match", [
    (lambda: sg.placeholder("q", (2,), "float128") * 2.0, "'q' f128.*float128, which the format cannot hold"),
    (lambda: sg.constant(np.ones(2, np.longdouble)), "float128"),
    (lambda: sg.Op(12345, np.negative, lambda x: (x.shape, x.dtype))(sg.vector("v", 2)), "op named 12345"),
])
def test_save_refuses_what_load_would_refuse_and_writes_nothing(build, match, tmp_path):
    with sg.Graph():
        outputs = build()
        with pytest.raises(FormatError, match=match):
            sg.save(outputs, tmp_path / "g.json")
    assert not (tmp_path / "g.json").exists()


@pytest.mark.parametrize("name", ["", None, 123, b"x"])
def test_names_a_file_cannot_hold_are_refused_when_the_node_is_made(name):
    with sg.Graph():
        with pytest.raises(sg.GraphError, match="placeholder: the name must be a non-empty string"):
            sg.placeholder(name)
        if name not in ("", None):
            with pytest.raises(sg.GraphError, match="constant: the name must be a string or None"):
                sg.constant(1.0, name=name)


def test_files_of_earlier_versions_with_negative_axes_still_load():
    # argmax and concatenate kept the axis as given (-1); the rule takes any axis in range
    with sg.Graph():
        x, A = sg.vector("x", 3), sg.matrix("A", 2, 3)
        document = to_json([sg.argmax(A, 1), sg.concatenate([x, x])])
    for record in document["nodes"]:
        if record["op"] in ("argmax", "concatenate"):
            record["params"]["axis"] = -1
    graph, (arg, joined) = from_json(document)
    np.testing.assert_array_equal(sg.evaluate(arg, {"A": FEEDS["A"]}), np.argmax(FEEDS["A"], -1))
    np.testing.assert_array_equal(sg.evaluate(joined, {"x": FEEDS["x"]}), np.concatenate([FEEDS["x"]] * 2))


# --- found by bench/file_fuzz.py: files that loaded, then hung or failed outside symgrad --------

def _one_node_document(build):
    """The document of ``build(X, labels)``'s output over X f64[2,3] and labels i64[2]."""
    with sg.Graph():
        return to_json([build(sg.matrix("X", 2, 3), sg.vector("labels", 2, dtype="int64"))])


def test_a_huge_derivative_order_is_refused_not_computed_for_hours():
    # log_ndtr_derivative's recurrence costs n² array operations: n = 10**12 never finished
    document = _one_node_document(lambda X, labels: sg.grad(sg.sum(sg.special.log_ndtr(X)), X))
    record = first(document, "log_ndtr_derivative")
    assert record["params"]["n"] == 1
    for n in (10 ** 12, 101):
        record["params"]["n"] = n
        with pytest.raises(FormatError, match="log_ndtr_derivative: the order n must be an int >= 1 and <= 100"):
            from_json(document)
    record["params"]["n"] = 100  # the largest order loads and computes, finite in the far tail
    graph, (g,) = from_json(document)
    assert np.isfinite(sg.evaluate(g, {"X": np.full((2, 3), -20.0)})).all()


@pytest.mark.parametrize("op", ["tril", "triu", "diagonal"])
def test_an_offset_numpy_cannot_take_is_refused_when_loading_and_building(op):
    # tril(k=-2**63) and diagonal(offset=10**12) loaded, then NumPy raised OverflowError in evaluate
    build = {"tril": sg.tril, "triu": sg.triu, "diagonal": sg.diagonal}[op]
    document = _one_node_document(lambda X, labels: build(X, 1))
    for offset in (-2 ** 63, 10 ** 12, 2 ** 31):
        first(document, op)["params"]["offset" if op == "diagonal" else "k"] = offset
        with pytest.raises(FormatError, match=rf"{op}: the offset {offset} is out of range"):
            from_json(document)
        with sg.Graph(), pytest.raises(sg.ShapeError, match="out of range"):
            build(sg.matrix("X", 2, 3), offset)
    with sg.Graph():  # the largest offset works as NumPy's
        X = sg.matrix("X", 2, 3)
        np.testing.assert_array_equal(build(X, -(2 ** 31 - 1)).eval({"X": FEEDS["X"]}),
                                      getattr(np, op)(FEEDS["X"], -(2 ** 31 - 1)))


def test_a_node_no_array_can_hold_is_refused_and_an_empty_huge_one_loads(tmp_path):
    # one_hot with depth 10**12 (16 TB), its type in the file agreeing: it loaded, then MemoryError
    document = _one_node_document(lambda X, labels: sg.one_hot(labels, 3))
    first(document, "one_hot")["params"]["depth"] = 10 ** 12
    first(document, "one_hot")["shape"] = [2, 10 ** 12]
    with pytest.raises(FormatError, match=r"node 1 \(one_hot\) of type float64\[2, 1000000000000\] is 1.6e\+13 bytes"):
        from_json(document)
    # broadcast_to a shape whose size overflows int64: NumPy's "iterator is too large" in evaluate
    document = _one_node_document(lambda X, labels: sg.broadcast_to(X[0], (2, 3)))
    first(document, "broadcast_to")["params"]["shape"] = [2 ** 39] * 3
    first(document, "broadcast_to")["shape"] = [2 ** 39] * 3
    with pytest.raises(FormatError, match="1 TiB"):
        from_json(document)
    with sg.Graph():  # saving refuses it too: every file save writes loads
        with pytest.raises(FormatError, match=r"save: one_hot .* is 1.6e\+13 bytes"):
            sg.save(sg.one_hot(sg.vector("labels", 2, dtype="int64"), 10 ** 12), tmp_path / "g.json")
        empty = sg.constant(np.zeros((10 ** 12, 0)))  # no bytes at all: fine
        sg.save(empty, tmp_path / "e.json")
    graph, (loaded,) = sg.load(tmp_path / "e.json")
    assert sg.evaluate(loaded).shape == (10 ** 12, 0)


def test_more_dimensions_than_numpy_allows_are_refused():
    # broadcast_to with 1000 dimensions loaded, then NumPy refused it in evaluate
    document = _one_node_document(lambda X, labels: sg.broadcast_to(X[0], (2, 3)))
    first(document, "broadcast_to")["params"]["shape"] = [1] * 65
    first(document, "broadcast_to")["shape"] = [1] * 65
    with pytest.raises(FormatError, match="65 dimensions; NumPy arrays have at most 64"):
        from_json(document)
    first(document, "broadcast_to")["shape"] = [2, 3]  # the rule refuses it too
    with pytest.raises(FormatError, match="broadcast_to: the shape for .* has 65 dimensions"):
        from_json(document)
    with sg.Graph():
        with pytest.raises(sg.ShapeError, match="at most 64"):
            sg.placeholder("p", (1,) * 65)
        with pytest.raises(sg.ShapeError, match="at most 64"):
            sg.reshape(sg.vector("v", 1), (1,) * 65)
        assert sg.broadcast_to(sg.vector("w", 1), (1,) * 64).ndim == 64  # NumPy's limit itself is fine


def test_run_time_indices_out_of_range_in_take_along_axis_raise_indexing_error(tmp_path):
    # a file moving take_along_axis to axis 0 loaded; the feed's index 2 then escaped as IndexError
    with sg.Graph():
        X, i = sg.matrix("X", 2, 3), sg.matrix("i", 1, 3, dtype="int64")
        sg.save([sg.take_along_axis(X, i, 0), sg.grad(sg.sum(sg.take_along_axis(X, i, 0)), X)], tmp_path / "g.json")
    graph, (taken, grad) = sg.load(tmp_path / "g.json")
    feeds = {"X": FEEDS["X"], "i": np.array([[1, 0, 1]])}
    np.testing.assert_array_equal(sg.evaluate(taken, feeds), np.take_along_axis(FEEDS["X"], feeds["i"], 0))
    feeds["i"] = np.array([[2, 0, 2]])
    for node, op in ((taken, "take_along_axis"), (grad, "scatter_along_axis")):
        with pytest.raises(sg.IndexingError, match=f"{op}: index 2 is out of bounds for axis 0 with size 2"):
            sg.evaluate(node, feeds)
        inputs = [graph.placeholder("X", (2, 3)), graph.placeholder("i", (1, 3), "int64")]
        with pytest.raises(sg.IndexingError, match=op):
            sg.function(inputs, node)(feeds["X"], feeds["i"])
