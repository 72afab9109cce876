"""sg.function at any size (issue 16): large graphs compile compactly or run as a flat program and
give the same values; the first call runs the interpreter; floats=True returns Python floats."""

import importlib
import math
import warnings

import numpy as np
import pytest

import symgrad as sg

compiled_functions = importlib.import_module("symgrad.compile.function")  # the module, not sg.function
codegen = importlib.import_module("symgrad.compile.codegen")


def chain(n: int, x: sg.Node) -> sg.Node:
    """The benchmark's W4 chain: sin, times 1.0001, plus 0.5, in turn."""
    y = x
    for k in range(n):
        y = sg.sin(y) if k % 3 == 0 else y * 1.0001 if k % 3 == 1 else y + 0.5
    return y


def chain_by_hand(n: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The chain's value and derivative, run forward with the chain rule (an independent oracle)."""
    v, dv = np.array(x, dtype=float), np.ones_like(x, dtype=float)
    for k in range(n):
        if k % 3 == 0:
            v, dv = np.sin(v), dv * np.cos(v)
        elif k % 3 == 1:
            v, dv = v * 1.0001, dv * 1.0001
        else:
            v = v + 0.5
    return v, dv


@pytest.mark.parametrize("n", [1200, 3000])  # compact math source (chunked), flat program
def test_a_large_scalar_chain_and_its_gradient_agree_with_the_chain_rule(n):
    with sg.Graph():
        x = sg.scalar("x")
        y = chain(n, x)
        f = sg.function([x], [y, sg.grad(y, x)])
    value, slope = chain_by_hand(n, np.array(0.3))
    for _ in range(2):
        got = f(0.3)
        assert all(type(g) is np.ndarray and g.shape == () for g in got)
        np.testing.assert_allclose([float(g) for g in got], [value, slope], rtol=1e-12)
    if n == 3000:
        assert f.source.startswith("# a flat program")
    else:
        assert "def f_part2(slots):" in f.source and "#" not in f.source.split("def call")[1].split("except")[0]


@pytest.mark.parametrize("n", [1200, 3000])
def test_a_large_scalar_graph_falls_back_to_numpy_where_math_raises(n):
    with sg.Graph():
        x = sg.scalar("x")
        y = sg.exp(chain(n, x) * x)  # exp(huge): OverflowError in math, inf through NumPy
        f = sg.function([x], [y, sg.grad(y, x)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = sg.evaluate([y, sg.grad(y, x)], {x: 1000.0})
        assert np.isinf(expected[0])
        for _ in range(2):
            got = f(1000.0)
            for g, e in zip(got, expected):
                np.testing.assert_array_equal(g, e)


def test_a_large_array_graph_compiles_in_parts_with_the_interpreters_values():
    with sg.Graph():
        x = sg.vector("x", 4)
        y = chain(1200, x)
        cost = (y * y).sum()
        f = sg.function([x], [y, sg.grad(cost, x)])
        xv = np.array([0.3, -1.0, 2.0, 0.0])
        expected = sg.evaluate([y, sg.grad(cost, x)], {x: xv})
    assert "def f_part2(slots):" in f.source and "out=" in f.source
    value, slope = chain_by_hand(1200, xv)
    for _ in range(2):
        got = f(xv)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)  # the same NumPy calls: bit for bit
        np.testing.assert_allclose(got[0], value, rtol=1e-12)
        np.testing.assert_allclose(got[1], 2 * value * slope, rtol=1e-12)
    first = f(xv)[1]
    f(xv + 1.0)
    np.testing.assert_array_equal(first, expected[1])  # a result is never a buffer of a later call


@pytest.mark.parametrize("name", ["slots", "f_part", "f_part2", "np", "math", "v"])
def test_placeholder_names_never_shadow_the_parts_of_a_large_function(name):
    with sg.Graph():
        x, w = sg.vector(name, 3), sg.vector("w", 3)
        y = chain(1200, x) * w
        f = sg.function([x, w], [y, sg.grad(y.sum(), x)])
        xv, wv = np.array([0.1, 0.2, 0.3]), np.array([1.0, -2.0, 3.0])
        expected = sg.evaluate([y, sg.grad(y.sum(), x)], {x: xv, w: wv})
    for _ in range(2):
        for g, e in zip(f(xv, wv), expected):
            np.testing.assert_array_equal(g, e)


def test_a_flat_program_checks_and_converts_its_arguments():
    with sg.Graph():
        x, unused = sg.scalar("x"), sg.scalar("unused")
        y = chain(3000, x)
        f = sg.function([x, unused], y)
    value, _ = chain_by_hand(3000, np.array(2.0))
    assert float(f(2, 5.0)) == pytest.approx(float(value), rel=1e-12)  # an int becomes a float
    assert float(f(np.float64(2.0), np.array(5.0))) == pytest.approx(float(value), rel=1e-12)
    with pytest.raises(sg.FeedError):
        f(2.0)
    with pytest.raises(sg.FeedError):
        f(np.array([2.0]), 1.0)


def test_the_first_call_runs_the_interpreter_and_the_second_compiles(monkeypatch):
    monkeypatch.setattr(compiled_functions, "INTERPRETED_CALLS", 1)  # the library's default
    compiled = []
    real = compiled_functions.compile_outputs

    def counting(*args, **kwargs):
        compiled.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(compiled_functions, "compile_outputs", counting)
    x, y = sg.scalar("x"), sg.scalar("y")
    f = sg.function([x, y], [sg.tanh(x) * y, sg.grad(sg.tanh(x) * y, x)])
    expected = [np.tanh(0.5) * 2.0, (1 - np.tanh(0.5) ** 2) * 2.0]
    counts = []
    for _ in range(3):
        got = f(0.5, 2.0)
        np.testing.assert_allclose([float(g) for g in got], expected, rtol=1e-14)
        assert all(type(g) is np.ndarray for g in got)
        counts.append(len(compiled))
    assert counts == [0, 1, 1]
    g = sg.function([x], sg.exp(x))
    assert "def call" in g.source and len(compiled) == 2  # asking for the source compiles
    assert float(g(0.0)) == 1.0 and len(compiled) == 2


def test_floats_returns_python_floats_from_every_kind_of_code():
    x, y = sg.scalar("x"), sg.scalar("y")
    f = (x + sg.sigmoid(y)) / (sg.sigmoid(x) + sg.square(x + y))
    outputs = [f, *sg.grad(f, [x, y])]
    expected = [float(v) for v in sg.evaluate(outputs, {x: 3.0, y: -4.0})]
    plain = sg.function([x, y], outputs, floats=True)
    checked = sg.function([x, y], outputs, floats=True, check_finite=True)
    for fn in (plain, checked):
        got = fn(3.0, -4.0)
        assert all(type(v) is float for v in got)
        np.testing.assert_allclose(got, expected, rtol=1e-13)
    one = sg.function([x], sg.exp(x), floats=True)
    assert one(0.0) == 1.0 and type(one(0.0)) is float
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert one(1000.0) == math.inf  # the NumPy fallback's inf, as a float
    no_math = sg.function([x], sg.relu(x) * 2.0, floats=True)  # relu has no math spelling: array code
    assert no_math(-1.5) == 0.0 and no_math(1.5) == 3.0 and type(no_math(1.5)) is float
    with sg.Graph():
        z = sg.scalar("z")
        y_big = chain(3000, z)
        big = sg.function([z], [y_big, sg.grad(y_big, z)], floats=True)
    value, slope = chain_by_hand(3000, np.array(0.3))
    got = big(0.3)
    assert all(type(v) is float for v in got)
    np.testing.assert_allclose(got, [value, slope], rtol=1e-12)


def test_floats_needs_float_scalar_outputs():
    v = sg.vector("v", 3)
    i = sg.scalar("i", dtype="int64")
    with pytest.raises(sg.ShapeError, match="output 0 .*f64\\[3\\]"):
        sg.function([v], v * 2.0, floats=True)
    with pytest.raises(sg.DTypeError, match="output 1"):
        sg.function([v, i], [v.sum(), i * 2], floats=True)


def test_a_graph_too_large_to_compile_runs_on_the_interpreter(monkeypatch):
    monkeypatch.setattr(compiled_functions, "SOURCE_NODES", 100)
    with sg.Graph():
        x = sg.vector("x", 2)
        y = chain(90, x)
        f = sg.function([x], [y, sg.grad(y.sum(), x)])
        xv = np.array([0.25, -0.5])
        expected = sg.evaluate([y, sg.grad(y.sum(), x)], {x: xv})
    assert "run by the interpreter" in f.source
    for _ in range(2):
        for g, e in zip(f(xv), expected):
            np.testing.assert_array_equal(g, e)


def test_parts_pass_values_between_them_through_slots(monkeypatch):
    # Tiny parts: every value read later crosses a boundary, outputs and the pool's buffers too.
    monkeypatch.setattr(codegen, "CHUNK_LINES", 3)
    monkeypatch.setattr(codegen, "COMPACT_STEPS", 5)
    with sg.Graph():
        x, w = sg.vector("x", 5), sg.matrix("w", 5, 5)
        h = sg.tanh(w @ x)
        cost = (h * h).sum() + sg.sin(x).sum()
        outputs = [cost, h, *sg.grad(cost, [x, w])]
        f = sg.function([x, w], outputs)
        rng = np.random.default_rng(1)
        xv, wv = rng.standard_normal(5), rng.standard_normal((5, 5))
        expected = sg.evaluate(outputs, {x: xv, w: wv})
    assert f.source.count("(slots):") > 3
    for _ in range(3):
        for g, e in zip(f(xv, wv), expected):
            np.testing.assert_array_equal(g, e)


def rosen_der_by_hand(x):
    """Rosenbrock's gradient, the closed form (as scipy.optimize.rosen_der writes it)."""
    der = np.zeros_like(x)
    der[1:-1] = 200 * (x[1:-1] - x[:-2] ** 2) - 400 * (x[2:] - x[1:-1] ** 2) * x[1:-1] - 2 * (1 - x[1:-1])
    der[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    der[-1] = 200 * (x[-1] - x[-2] ** 2)
    return der


def rosen_hess_prod_by_hand(x, p):
    """Rosenbrock's Hessian times p, the closed form (as scipy.optimize.rosen_hess_prod writes it)."""
    hp = np.zeros_like(x)
    hp[0] = (1200 * x[0] ** 2 - 400 * x[1] + 2) * p[0] - 400 * x[0] * p[1]
    hp[1:-1] = (-400 * x[:-2] * p[:-2] + (202 + 1200 * x[1:-1] ** 2 - 400 * x[2:]) * p[1:-1]
                - 400 * x[1:-1] * p[2:])
    hp[-1] = -400 * x[-2] * p[-2] + 200 * p[-1]
    return hp


def test_rosenbrock_derivatives_multiply_by_scalars_not_by_broadcast_constants():
    # The cotangent of a sum is a broadcast 1; times a constant it stays a broadcast of one number,
    # so compiled code multiplies by a scalar rather than by a constant vector the size of x.
    with sg.Graph():
        x, p = sg.vector("x", 7), sg.vector("p", 7)
        head, tail = x[:-1], x[1:]
        f = (100.0 * sg.square(tail - sg.square(head)) + sg.square(1.0 - head)).sum()
        jac, hessp = sg.grad(f, x), sg.hvp(f, x, p)
        fn = sg.function([x, p], [jac, hessp])
    for node in sg.ir.ancestors([jac, hessp]):
        if node.op.name == "mul":  # a broadcast constant would be folded into a vector when compiled
            assert not any(i.op.name == "broadcast_to" and i.inputs[0].value is not None
                           for i in node.inputs), node.describe()
    rng = np.random.default_rng(3)
    xv, pv = rng.uniform(-2, 2, 7), rng.standard_normal(7)
    got_jac, got_hessp = fn(xv, pv)
    np.testing.assert_allclose(got_jac, rosen_der_by_hand(xv), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got_hessp, rosen_hess_prod_by_hand(xv, pv), rtol=1e-12, atol=1e-9)
