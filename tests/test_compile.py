"""sg.function compiles to straight-line NumPy source: the same values as the interpreter,
readable source, no buffer ever shared with the caller, safe to call from several threads."""

import re
import threading
import warnings

import numpy as np
import pytest

import graph_strategies as gs
import symgrad as sg
from helpers import CASES, IDS, instantiate, squared_cost
from symgrad.evaluate import Plan


def interpreted(outputs, feeds):
    """The interpreter path, independent of the generated code."""
    plan = Plan(outputs)
    return plan.run({p: np.asarray(feeds[p], dtype=p.dtype) for p in plan.placeholders})


def assert_identical(got, expected):
    for g, e in zip(got, expected):
        assert type(g) is np.ndarray
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)  # bit for bit (NaNs in the same places)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_equals_interpreted_for_every_op(case, dtype):
    out, targets, feeds = instantiate(case, dtype)
    outputs = [out] + (sg.grad(squared_cost(out), targets) if targets else [])
    inputs = list(feeds)
    f = sg.function(inputs, outputs)
    assert_identical(f(*(feeds[p] for p in inputs)), interpreted(outputs, feeds))


def relu_net(batch=8, inputs=6, hidden=5, classes=3):
    rng = np.random.default_rng(0)
    X = sg.constant(rng.normal(size=(batch, inputs)))
    labels = rng.integers(0, classes, size=batch)
    W1, W2 = sg.matrix("W1", inputs, hidden), sg.matrix("W2", hidden, classes)
    loss = sg.cross_entropy(sg.relu(X @ W1) @ W2, labels) + 1e-3 * (sg.square(W1).sum() + sg.square(W2).sum())
    values = [rng.normal(size=(inputs, hidden)), rng.normal(size=(hidden, classes))]
    return loss, [W1, W2], values


def hand_gradient_check(f, values, outputs, wrt):
    """The relu net's gradient against central finite differences (an oracle independent of symgrad)."""
    loss_of = sg.function(wrt, outputs[0])
    got = f(*values)
    for k, value in enumerate(values):
        for index in [(0, 0), (1, 2), (value.shape[0] - 1, value.shape[1] - 1)]:
            plus, minus = [v.copy() for v in values], [v.copy() for v in values]
            plus[k][index] += 1e-6
            minus[k][index] -= 1e-6
            numeric = (loss_of(*plus) - loss_of(*minus)) / 2e-6
            assert abs(got[1 + k][index] - numeric) < 1e-6


def test_relu_net_gradient_matches_finite_differences_and_interpreter():
    loss, wrt, values = relu_net()
    outputs = [loss] + sg.grad(loss, wrt)
    f = sg.function(wrt, outputs)
    hand_gradient_check(f, values, outputs, wrt)
    assert_identical(f(*values), interpreted(outputs, dict(zip(wrt, values))))


def test_source_has_one_commented_line_per_node():
    with sg.Graph():
        x, y = sg.scalar("x"), sg.scalar("y")
        q = x + sg.sigmoid(y)
        f = q / (sg.sigmoid(x) + sg.square(x + y))
        gx, gy = sg.grad(f, [x, y])
        fn = sg.function([x, y], [f, gx, gy])
    source = fn.source
    assert source.startswith("def compiled(x, y):")
    computed = [n for n in Plan([f, gx, gy]).nodes if n.op.name not in ("placeholder", "constant")]
    for node in computed:
        pattern = rf"^    \w+ = .*  # %{node.id} {node.op.name} {re.escape(node.type)}"
        assert re.search(pattern, source, re.M), f"no line for {node.describe()}"
    derivative = next(n for n in computed if x.graph.origin(n) is not None)
    o = x.graph.origin(derivative)
    assert f"# %{derivative.id} {derivative.op.name} {derivative.type}; cotangent, pass 1, from " \
           f"%{o.primal.id} {o.primal.op.name}" in source
    assert re.search(r"^    t\d+_bar = ", source, re.M)  # cotangents are named t<id>_bar
    assert "x + y" in source  # hot ops are plain NumPy operators
    assert fn(0.5, -1.0)[1] == pytest.approx(float(sg.evaluate(gx, {x: 0.5, y: -1.0})), rel=0, abs=0)


def test_placeholder_names_that_clash_with_generated_ones_are_renamed():
    with sg.Graph():
        a, b = sg.scalar("t1"), sg.scalar("class")
        fn = sg.function([a, b], a * b + 1.0)
    assert "def compiled(p0, p1):" in fn.source
    assert fn(2.0, 3.0) == 7.0


def test_intermediates_are_deleted_after_last_use():
    with sg.Graph():
        x = sg.vector("x", 3)
        y = sg.exp(sg.sin(x)) * 2.0
        fn = sg.function([x], y)
    sin_node = y.inputs[0].inputs[0]
    assert re.search(rf"^    del .*\bt{sin_node.id}\b", fn.source, re.M)


def test_returned_arrays_are_never_overwritten_by_later_calls():
    loss, wrt, values = relu_net()
    outputs = [loss] + sg.grad(loss, wrt)
    f = sg.function(wrt, outputs)
    assert "out=" in f.source  # the net's gradient does reuse buffers
    first = f(*values)
    kept = [a.copy() for a in first]
    fed = [v.copy() for v in values]
    for _ in range(3):
        f(*[v * 1.5 for v in values])
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)
    for v, original in zip(values, fed):  # feeds are never written into either
        np.testing.assert_array_equal(v, original)


def test_in_place_never_writes_into_feeds_constants_or_outputs():
    with sg.Graph():
        x = sg.vector("x", 4)
        c = sg.constant(np.arange(4.0))
        y = sg.exp(x)
        z = y * c          # y is also an output: its buffer must not be reused
        w = -(z + x)       # z + x is a fresh intermediate: negating it in place is fine
        fn = sg.function([x], [y, w])
    source = fn.source
    for protected in ("x", f"c{c.id}", f"t{y.id}"):
        assert f"out={protected})" not in source
    value = np.array([0.0, 1.0, -1.0, 2.0])
    y_value, w_value = fn(value)
    np.testing.assert_array_equal(y_value, np.exp(value))
    np.testing.assert_array_equal(w_value, -(np.exp(value) * np.arange(4.0) + value))
    np.testing.assert_array_equal(c.value, np.arange(4.0))


def test_threads_calling_one_function_get_their_own_results():
    loss, wrt, values = relu_net(batch=32, inputs=20, hidden=16, classes=4)
    outputs = [loss] + sg.grad(loss, wrt)
    f = sg.function(wrt, outputs)
    rng = np.random.default_rng(1)
    jobs = [[v * rng.uniform(0.5, 2.0) for v in values] for _ in range(8)]
    expected = [interpreted(outputs, dict(zip(wrt, job))) for job in jobs]
    failures = []

    def worker(k):
        for _ in range(40):
            got = f(*jobs[k])
            if not all(np.array_equal(g, e) for g, e in zip(got, expected[k])):
                failures.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_runtime_broadcast_is_still_caught():
    with sg.Graph():
        a, b = sg.placeholder("a", (None, 3)), sg.placeholder("b", (None, 3))
        fn = sg.function([a, b], sg.grad((a * b).sum(), a))
    np.testing.assert_array_equal(fn(np.ones((2, 3)), np.full((2, 3), 2.0)), np.full((2, 3), 2.0))
    with pytest.raises(sg.ShapeError, match="run-time"):
        fn(np.ones((1, 3)), np.ones((4, 3)))


def test_check_finite_still_names_the_node():
    with sg.Graph():
        x = sg.vector("x", 2)
        y = sg.log(x)
        fn = sg.function([x], y, check_finite=True)
        plain = sg.function([x], y)
    with pytest.raises(sg.NonFiniteError, match="log"), np.errstate(invalid="ignore"):
        fn([1.0, -1.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(plain([1.0, -1.0])[1])


def test_a_failing_forward_names_its_node():
    with sg.Graph():
        labels = sg.placeholder("labels", (3,), "int64")
        fn = sg.function([labels], sg.one_hot(labels, 2))
    with pytest.raises(ValueError) as info:
        fn(np.array([0, 1, 5]))
    assert any("while computing one_hot" in note for note in info.value.__notes__)


def test_custom_op_with_a_wrong_forward_shape_is_caught():
    bad = sg.Op("test_compile_bad_shape", lambda x: np.concatenate([x, x]), lambda x: (x.shape, x.dtype))
    with sg.Graph():
        x = sg.vector("x", 2)
        fn = sg.function([x], bad(x))
    with pytest.raises(sg.RuleError, match="test_compile_bad_shape"):
        fn([1.0, 2.0])


def test_work_buffers_are_kept_between_calls_but_results_stay_fresh():
    loss, wrt, values = relu_net()
    outputs = [loss] + sg.grad(loss, wrt)
    f = sg.function(wrt, outputs)
    assert ".take()" in f.source and ".give(buffers)" in f.source
    rng = np.random.default_rng(3)
    runs = [[v * rng.uniform(0.5, 2.0) for v in values] for _ in range(4)]
    got = [f(*run) for run in runs]  # every call reuses the same work buffers
    for run, result in zip(runs, got):
        assert_identical(result, interpreted(outputs, dict(zip(wrt, run))))
    for a, b in zip(got[0][1:], got[1][1:]):
        assert not np.shares_memory(a, b)


def test_slices_of_a_cotangent_are_views_never_written_into():
    # concatenate's reverse rule slices its cotangent (head_like/tail_like): a view of a
    # read-only broadcast, which must not be chosen as an out= buffer.
    program = gs.Program(
        shapes=[(2,)], values=[np.array([0.13696168, -0.23021328])],
        steps=[gs.Step(op="expand_dims", args=(0,), params={"axis": 1}),
               gs.Step(op="softmax", args=(1,), params={"axis": 1}),
               gs.Step(op="log", args=(2,), params={}),
               gs.Step(op="maximum", args=(3, 0), params={}),
               gs.Step(op="abs", args=(2,), params={}),
               gs.Step(op="abs", args=(5,), params={}),
               gs.Step(op="broadcast_to", args=(3,), params={"shape": (2, 2)}),
               gs.Step(op="abs", args=(6,), params={}),
               gs.Step(op="concatenate", args=(4, 7), params={"axis": 0})],
        weights=np.arange(8.0).reshape(4, 2) - 3.5)
    built = gs.build(program, runtime_dims=True)
    with built.graph:
        cost = sg.sum(built.output * program.weights)
        outputs = [built.output, *sg.grad(cost, built.inputs, disconnected="zero"),
                   sg.jvp(built.output, built.inputs, [np.array([0.3, -0.7])])]
    f = sg.function(built.inputs, outputs)
    assert_identical(f(*program.values), interpreted(outputs, dict(zip(built.inputs, program.values))))


def scalar_function():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = (x + sg.sigmoid(y)) / (sg.sigmoid(x) + sg.square(x + y))
    outputs = [f, *sg.grad(f, [x, y])]
    return sg.function([x, y], outputs), outputs, (x, y)


def test_scalar_function_calls_its_math_code_directly_and_agrees_with_the_interpreter():
    fn, outputs, (x, y) = scalar_function()
    assert isinstance(fn, sg.Function) and "def call(self, x=MISSING, y=MISSING, /, *more):" in fn.source
    call = type(fn).__call__  # the generated function itself: no wrapper between the caller and it
    assert call is not sg.Function.__call__ and call.__code__.co_filename == "<symgrad generated>"
    rng = np.random.default_rng(5)
    for a, b in rng.normal(scale=20.0, size=(200, 2)):
        got = fn(float(a), float(b))
        expected = interpreted(outputs, {x: a, y: b})
        for g, e in zip(got, expected):
            assert type(g) is np.ndarray and g.shape == () and g.dtype == np.float64
            np.testing.assert_allclose(g, e, rtol=4e-15, atol=0)  # math's exp may differ by an ulp


def test_scalar_function_converts_other_numbers_and_rejects_bad_calls():
    fn, _, _ = scalar_function()
    expected = [float(v) for v in fn(3.0, -4.0)]
    for values in [(3, -4), (np.float64(3.0), -4.0), (np.float32(3.0), np.array(-4.0))]:
        assert [float(v) for v in fn(*values)] == expected
    with pytest.raises(sg.FeedError, match="takes 2 values"):
        fn(1.0)
    with pytest.raises(sg.FeedError, match="takes 2 values"):
        fn(1.0, 2.0, 3.0)
    with pytest.raises(sg.FeedError):
        fn(1.0, [2.0, 3.0])


def test_scalar_function_reruns_with_numpy_where_python_math_would_raise():
    fn, outputs, (x, y) = scalar_function()
    # sigmoid(-800) needs exp(800): OverflowError in math, a finite result through NumPy's stable form
    got = fn(-800.0, 1.0)
    expected = interpreted(outputs, {x: -800.0, y: 1.0})
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    z = sg.scalar("z")
    with pytest.warns(RuntimeWarning):  # log(0): -inf with NumPy's warning, not a ZeroDivisionError
        assert sg.function([z], sg.log(z))(0.0) == -np.inf


def test_compiling_leaves_the_warning_filters_alone_in_every_thread():
    # Folding meets floating-point errors (log of a constant 0) while other threads run NumPy code
    # that must keep warning, not raising.
    before = list(warnings.filters)
    stop = threading.Event()

    def compile_in_a_loop():
        while not stop.is_set():
            x = sg.vector("x", 2)
            sg.function([x], x + sg.log(sg.constant([0.0, 1.0])))

    threads = [threading.Thread(target=compile_in_a_loop) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for _ in range(200):
            with pytest.warns(RuntimeWarning):
                np.log(np.array([0.0]))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert warnings.filters == before


@pytest.mark.parametrize("name", ["float", "type", "abs", "ValueError", "ArithmeticError", "self", "more",
                                  "call", "slow", "fallback", "MISSING", "asarray", "buffers"])
def test_placeholder_names_never_shadow_what_the_generated_code_uses(name):
    x = sg.scalar(name)
    y = sg.exp(x) + sg.log(x)
    f = sg.function([x], y)
    assert float(f(1.5)) == pytest.approx(np.exp(1.5) + np.log(1.5), rel=1e-15)
    with pytest.warns(RuntimeWarning):  # log(0) reruns the array version
        assert f(0.0) == -np.inf
    with sg.Graph():  # a placeholder name is defined once per graph
        v = sg.vector(name, 2)
        g = sg.function([v], sg.grad(sg.relu(v).sum(), v))
    np.testing.assert_array_equal(g(np.array([-1.0, 2.0])), [0.0, 1.0])


def test_an_output_viewing_a_folded_value_is_fresh_in_every_call():
    x = sg.vector("x", None)
    z = sg.vector("z", 3)
    w = sg.constant(np.arange(5.0))
    g = sg.grad(sg.sum(sg.concatenate([x, z]) * (w * 2.0)), x)  # a slice of the folded 2w
    f = sg.function([x, z], g)
    first = f(np.ones(2), np.ones(3))
    assert first.flags.writeable
    first[:] = -1.0
    np.testing.assert_array_equal(f(np.ones(2), np.ones(3)), [0.0, 2.0])


def test_a_subclass_keeps_its_own_call():
    calls = []

    class Logged(sg.Function):
        def __call__(self, *values):
            calls.append(values)
            return super().__call__(*values)

    x = sg.scalar("x")
    f = Logged([x], sg.exp(x))
    assert isinstance(f, Logged) and float(f(1.0)) == pytest.approx(np.e) and calls == [(1.0,)]
    plain = sg.function([x], sg.exp(x))
    assert isinstance(plain, sg.Function) and type(plain).__name__ == "Function"


def test_a_scalar_function_that_fails_names_the_node():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = sg.function([x, y], sg.log(x) * y)
    with np.errstate(all="raise"), pytest.raises(FloatingPointError) as caught:
        f(0.0, 1.0)
    assert any("while computing log" in note for note in caught.value.__notes__)


def test_scalar_pow_follows_numpy_at_its_special_points():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = sg.function([x, y], x ** y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for a, b in [(-np.inf, 0.5), (-0.0, 0.5), (4.0, 0.5), (-8.0, 0.5), (-np.inf, 2.0), (0.0, -1.0)]:
            got, expected = f(a, b), sg.evaluate(x ** y, {x: a, y: b})
            assert np.array_equal(got, expected, equal_nan=True) and np.signbit(got) == np.signbit(expected)


def test_scalar_code_is_used_only_when_every_input_is_a_float64_scalar():
    x = sg.scalar("x")
    i = sg.scalar("i", dtype="int64")
    v = sg.vector("v", 3)
    f = sg.function([x, i, v], sg.exp(x))  # i and v are unused
    assert "def call" not in f.source
    assert float(f(1.0, 2, np.ones(3))) == pytest.approx(np.e)
    with pytest.raises(sg.FeedError):
        f(1.0, 2.5, np.ones(3))
