"""Property-based differential tests on random graphs (see graph_strategies.py).

For every random program the graph symgrad builds must agree with
independent oracles:

- its value with the plain NumPy mirror of the same program;
- its gradient with central differences of the mirror;
- forward and reverse mode with each other: <u, J v> = <J^T u, v>;
- the Hessian-vector product with itself (<v2, H v1> = <H v2, v1>) and with
  central differences of the gradient; sg.hvp (both methods) with a jvp of sg.grad;
- the compiled function (sg.function) with the interpreter (sg.evaluate);
- a build with run-time (None) dimensions with the static build;
- whole Jacobians (both modes) and Hessians with those products, sg.check_grad
  with its own finite differences;
- its float32 build with the float64 one, within the first-order rounding
  bound eps32 * sum over nodes |d cost / d node| * |node|, with every float
  node of the float32 graph float32 (no silent upcast).

Every property runs twice: on programs that keep away from kinks, ties and
domain edges, and on programs that visit them on purpose (the ``edge``
tests; see graph_strategies.py for the families). At an edge point the
finite differences are those of the mirror with its branch choices frozen,
which give the documented one-sided derivatives, and the Hessian is checked
through a second difference of that mirror rather than differences of
symgrad's own gradient (which jumps there).

The default (``ci``) profile runs a few hundred programs; the long run is
``SYMGRAD_HYPOTHESIS_PROFILE=long python -m pytest tests/test_properties.py``.
``SYMGRAD_EDGES=zeros,ties`` restricts the edge tests to some families
(``zeros ties kinks indices ints masks size1``; all by default).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, reject

import symgrad as sg
from graph_strategies import Program, build, edge_families, mirror, programs, run_numpy, selections

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
ROUNDING_FACTOR = 8   # slack over the first-order rounding bound (sums round n times)
EDGES = edge_families(os.environ.get("SYMGRAD_EDGES"))
PARTIAL_SUMS = ("sum", "matmul", "logsumexp", "scatter_add")   # ops that round partial sums


def _close(actual, expected, rtol, atol, what: str, program: Program) -> None:
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}\n{program}"
    both_nan = np.isnan(actual) & np.isnan(expected)   # two routes agreeing on a NaN agree
    error = np.where(both_nan, 0.0, np.abs(actual - expected))
    allowed = np.where(both_nan, 0.0, atol + rtol * np.abs(expected))
    assert np.all(error <= allowed), (
        f"{what}: worst error {error.max():.3g} (allowed {allowed.flat[np.argmax(error - allowed)]:.3g})\n"
        f"actual   {actual}\nexpected {expected}\n{program}")


def _stencil(f, h: float):
    """f'(0) from central differences of fourth order at steps h and h / 2, combined
    (Richardson) to sixth order, so that steep programs (a division by a small value, then a
    fast cosine: cos((x1 / x0)²) at x0 = 2**-6) stay within the tolerances."""
    def fourth(h):
        return (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h)
    return (16 * fourth(h / 2) - fourth(h)) / 15


def _central_differences(f, values: list) -> list:
    """d f / d values[i], element by element, with h = 6e-6 * max(1, |x|)."""
    grads = []
    for i, x in enumerate(values):
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            def moved(t):
                shifted = [v.copy() for v in values]
                shifted[i][index] += t
                return f(shifted)
            grad[index] = _stencil(moved, 6e-6 * max(1.0, abs(float(x[index]))))
        grads.append(grad)
    return grads


def _second_difference(f, values: list, v1: list, v2: list, h: float) -> float:
    """<v2, H v1> of the scalar ``f`` by central differences in the plane of v1 and v2,
    with steps h and h / 2 combined (Richardson) to cancel the h^2 error term."""
    def at(s, t):
        return f([x + s * a + t * b for x, a, b in zip(values, v1, v2)])

    def difference(h):
        return (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)
    return (4 * difference(h / 2) - difference(h)) / 3


def _vectors(program: Program, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, np.shape(v)) for v in program.values]


def _dot(xs, ys) -> float:
    return float(sum(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64)) for x, y in zip(xs, ys)))


@given(programs())
def test_random_graphs_agree_with_numpy_and_finite_differences(program: Program):
    _agree_with_numpy_and_finite_differences(program)


@given(programs(edges=EDGES))
def test_edge_graphs_agree_with_numpy_and_documented_derivatives(program: Program):
    _agree_with_numpy_and_finite_differences(program)


def _agree_with_numpy_and_finite_differences(program: Program) -> None:
    built = build(program)
    x, y, n = built.inputs, built.output, len(built.inputs)
    with built.graph:
        cost = sg.sum(y * program.weights)
        grads = sg.grad(cost, x, disconnected="zero")
        bars = sg.vjp([y], x, [program.weights], disconnected="zero")
        v1, v2 = _vectors(program, 1), _vectors(program, 2)
        jv = sg.jvp(y, x, v1)
        hv1 = sg.jvp(grads, x, v1)          # H v = d/dt grad(x + t v)
        hv2 = sg.jvp(grads, x, v2)
        routes = [h for method in ("forward-over-reverse", "reverse-over-reverse")
                  for h in sg.hvp(cost, x, v1, method=method, disconnected="zero")]
    outputs = [y, *grads, *bars, jv, *hv1, *hv2, *routes]
    feeds = built.feeds(program)
    interpreted = sg.evaluate(outputs, feeds)
    compiled = sg.function(x + built.data, outputs)(*program.values, *program.data)
    for k, (a, b) in enumerate(zip(compiled, interpreted)):
        _close(a, b, 1e-12, 1e-12 * (1 + np.nanmax(np.abs(b), initial=0)), f"compiled vs interpreted output {k}",
               program)

    # Every value of the program, the output included, and the dtypes of NumPy's reductions.
    value, grad_values = interpreted[0], interpreted[1:1 + n]
    mirrored = mirror(program, program.values)
    for k, (node, have, want) in enumerate(zip(built.nodes, sg.evaluate(built.nodes, feeds), mirrored)):
        assert node.dtype == want.dtype and have.dtype == want.dtype, (
            f"v{k}: {node.describe()} evaluates to {have.dtype}, NumPy gives {want.dtype}\n{program}")
        if want.dtype.kind == "f":
            _close(have, want, 1e-7, 1e-7 * (1 + np.max(np.abs(want))), f"v{k} vs NumPy", program)
        else:
            assert np.array_equal(have, want), f"v{k}: {node.describe()} is {have}, NumPy gives {want}\n{program}"
    _close(value, run_numpy(program, program.values), 1e-7, 1e-7 * (1 + np.max(np.abs(value))), "value vs NumPy",
           program)

    # Differences of the mirror with its branches held: the derivative where the program is smooth,
    # the documented one-sided value at a kink. Held, the mirror still computes the program.
    selected = selections(program)
    _close(run_numpy(program, program.values, selected=selected), value, 1e-7,
           1e-7 * (1 + np.max(np.abs(value))), "held mirror vs value", program)

    def projected(values):
        return float(np.sum(program.weights * run_numpy(program, values, selected=selected)))

    numeric = _central_differences(projected, program.values)
    scale = 1 + max(np.max(np.abs(g), initial=0) for g in numeric)
    for i in range(n):
        _close(grad_values[i], numeric[i], 1e-5, 1e-6 * scale, f"d cost / d x{i} vs central differences", program)
        _close(interpreted[1 + n + i], grad_values[i], 1e-12, 1e-12 * scale, f"vjp vs grad for x{i}", program)

    # <u, J v> = <J^T u, v>: forward and reverse mode agree without knowing J.
    jv_value = interpreted[1 + 2 * n]
    left, right = _dot([program.weights], [jv_value]), _dot(grad_values, v1)
    size = np.sum(np.abs(program.weights * jv_value)) + sum(np.sum(np.abs(g * v)) for g, v in zip(grad_values, v1))
    assert abs(left - right) <= 1e-10 * (1 + size), f"<u, Jv> = {left} but <J^T u, v> = {right}\n{program}"

    # The Hessian: symmetric, equal to differences of the gradient, one value by every route.
    start = 2 + 2 * n
    hv1_values, hv2_values = interpreted[start:start + n], interpreted[start + n:start + 2 * n]
    left, right = _dot(v2, hv1_values), _dot(hv2_values, v1)
    size = sum(np.sum(np.abs(a * b)) for a, b in zip(v2 + hv2_values, hv1_values + v1))
    assert abs(left - right) <= 1e-9 * (1 + size), f"<v2, H v1> = {left} but <H v2, v1> = {right}\n{program}"
    hscale = 1 + max(np.max(np.abs(v), initial=0) for v in hv1_values)
    if program.kinks:  # symgrad's gradient jumps at the kink: differences of the held mirror instead
        h = 1e-4
        numeric = _second_difference(projected, program.values, v1, v2, h)
        reach = float(np.sum(np.abs(program.weights * run_numpy(program, program.values))))
        allowed = 1e-4 * (1 + size) + 512 * EPS64 * reach / h ** 2   # truncation, and rounding / h^2
        assert abs(left - numeric) <= allowed, (
            f"<v2, H v1> = {left} but second differences give {numeric} (allowed error {allowed:.3g})\n{program}")
    else:
        gradient, moved = sg.function(x + built.data, grads), {}

        def gradient_along(t):  # the gradient at x + t v1, once per t
            if t not in moved:
                moved[t] = gradient(*(value + t * v for value, v in zip(program.values, v1)), *program.data)
            return moved[t]
        numeric_hv1 = [_stencil(lambda t: gradient_along(t)[i], 1e-5) for i in range(n)]
        for i in range(n):
            _close(hv1_values[i], numeric_hv1[i], 1e-4, 1e-5 * hscale,
                   f"(H v)[x{i}] vs central differences of the gradient", program)
    for i in range(n):
        for route in (0, n):  # sg.hvp's two methods
            _close(interpreted[start + 2 * n + route + i], hv1_values[i], 1e-10, 1e-10 * hscale,
                   f"sg.hvp vs jvp of grad for x{i}", program)


def _rounding_bound(graph: sg.Graph, scalar: sg.Node, feeds: dict) -> float:
    """First-order bound on the float32 rounding error of ``scalar``, computed in float64.

    Each float node n rounds its result with a relative error of at most
    eps32, which moves ``scalar`` by about |d scalar / d n| * |n|. A sum,
    matmul, logsumexp or scatter_add also rounds its partial sums, so for those
    |n| is replaced by the sum of the magnitudes of what it adds up. Nodes that
    round nothing are left out: placeholders (fed float32-exact values) and
    constant subexpressions whose value is exact in float32 (the 2 and the
    2 - 1 of x ** 2, whose sensitivity x log x is NaN for x < 0), unless they
    add up partial sums (a sum of float32 weights can cancel to an exact
    float32 value whose float32 partial sums rounded).
    """
    varying, nodes = set(), []
    for m in sg.ancestors([scalar]):
        if m.op.name == "placeholder" or any(i in varying for i in m.inputs):
            varying.add(m)
        if m.dtype.kind != "f" or m is scalar or m.op.name in ("placeholder", "stop_gradient"):
            continue  # stop_gradient copies its input: it rounds nothing (and may feed a comparison)
        if m not in varying and m.op.name not in PARTIAL_SUMS and np.all(np.float32(m.eval()) == m.eval()):
            continue
        nodes.append(m)
    with graph:
        sensitivities = sg.grad(scalar, nodes, disconnected="zero")
    inputs = sorted({i for m in nodes for i in m.inputs}, key=lambda i: i.id)
    values = dict(zip(nodes + inputs + [scalar], sg.evaluate(nodes + inputs + [scalar], feeds)))
    total = float(np.abs(values[scalar]))
    for m, sensitivity in zip(nodes, sg.evaluate(sensitivities, feeds)):
        total += float(np.sum(np.abs(sensitivity) * _magnitude(m, values)))
    return EPS32 * total


def _magnitude(node: sg.Node, values: dict) -> np.ndarray:
    """What a node's rounding error is relative to: |value|, or the magnitudes of its partial sums."""
    args = [np.abs(values[i]) for i in node.inputs]
    if node.op.name == "sum":
        return np.sum(args[0], axis=node.params.axis, keepdims=node.params.keepdims)
    if node.op.name == "matmul":
        return np.matmul(*args)
    if node.op.name == "logsumexp":
        return np.abs(values[node]) + np.max(args[0], axis=node.params.axis, keepdims=node.params.keepdims)
    if node.op.name == "scatter_add":  # getitem's adjoint adds up the cotangents of repeated indices
        d, like, *indices = (values[i] for i in node.inputs)
        return node.op.forward(np.abs(d), like, *indices, spec=node.params.spec)
    return np.abs(values[node])


@given(programs())
def test_float32_builds_stay_float32_within_rounding(program: Program):
    _float32_within_rounding(program)


@given(programs(edges=EDGES))
def test_edge_float32_builds_stay_float32_within_rounding(program: Program):
    _float32_within_rounding(program)


def _upcasts(graph: sg.Graph) -> list:
    """Float nodes other than float32 computed from float32 values. Bools and ints cut the chain:
    NumPy's mean of bools is float64, also of bools that compare float32 values."""
    from32, upcast = set(), []
    for m in graph:  # creation order is a topological order
        if m.dtype.kind == "f" and (m.dtype == np.float32 or any(i in from32 for i in m.inputs)):
            from32.add(m)
            if m.dtype != np.float32:
                upcast.append(m.describe())
    return upcast


def _float32_within_rounding(program: Program) -> None:
    results = {}
    for dtype in ("float64", "float32"):
        built = build(program, dtype)
        with built.graph:
            weights = program.weights.astype(dtype)
            cost = sg.sum(built.output * weights)
            grads = sg.grad(cost, built.inputs, disconnected="zero")
            # One scalar summarising the whole gradient, for the rounding bound.
            probe = sum(sg.sum(g * w.astype(dtype)) for g, w in zip(grads, _vectors(program, 3)))
        feeds = built.feeds(program, dtype)
        results[dtype] = (built, cost, probe, sg.evaluate([cost, probe], feeds), feeds)

    built32 = results["float32"][0]
    upcast = _upcasts(built32.graph)
    assert not upcast, f"float64 nodes in a float32 graph: {upcast}\n{program}"
    assert built32.output.dtype == np.float32

    built64, cost64, probe64, (c64, p64), feeds64 = results["float64"]
    c32, p32 = results["float32"][3]
    assert c32.dtype == p32.dtype == np.float32
    for name, have, want, scalar in (("cost", c32, c64, cost64), ("gradient", p32, p64, probe64)):
        allowed = ROUNDING_FACTOR * _rounding_bound(built64.graph, scalar, feeds64) + 1e-30
        error = abs(float(have) - float(want))
        assert error <= allowed, (f"float32 {name} {float(have)!r} vs float64 {float(want)!r}: error "
                                  f"{error:.3g} exceeds {allowed:.3g}\n{program}")


def _needs_static_shapes(err: sg.ShapeError) -> bool:
    """The documented limits of run-time dimensions: reshape needs a -1, cross_entropy a static class
    axis, and a run-time dimension must not broadcast (a slice of length 1 against a longer one). A
    program that broadcasts one can also make shapes the static rules find inconsistent: "do not
    broadcast" (x of shape (?,) reshaped to (2, ?) and added to x again)."""
    return any(words in str(err) for words in ("run-time", "static", "do not broadcast"))


@given(programs())
def test_runtime_dimensions_give_the_same_numbers(program: Program):
    _runtime_dimensions_give_the_same_numbers(program)


@given(programs(edges=EDGES))
def test_edge_runtime_dimensions_give_the_same_numbers(program: Program):
    _runtime_dimensions_give_the_same_numbers(program)


def _runtime_dimensions_give_the_same_numbers(program: Program) -> None:
    results = []
    for runtime_dims in (False, True):
        try:
            built = build(program, runtime_dims=runtime_dims)
            with built.graph:
                cost = sg.sum(built.output * program.weights)
                grads = sg.grad(cost, built.inputs, disconnected="zero")
                jv = sg.jvp(built.output, built.inputs, _vectors(program, 1))
            compiled = sg.function(built.inputs + built.data, [built.output, *grads, jv])
            results.append(compiled(*program.values, *program.data))
        except sg.ShapeError as err:
            if not (runtime_dims and _needs_static_shapes(err)):
                raise
            reject()
        if runtime_dims:
            assert any(None in p.shape for p in built.inputs + built.data) or all(
                n <= 1 for s in program.shapes for n in s)
    for k, (static, runtime) in enumerate(zip(*results)):
        _close(runtime, static, 1e-12, 1e-12 * (1 + np.nanmax(np.abs(static))), f"run-time dims, output {k}", program)


@given(programs(max_steps=6))
def test_jacobian_and_hessian_agree_with_the_products_and_check_grad(program: Program):
    """Whole-matrix routes (forward and reverse Jacobians, the Hessian) against the
    products already checked by finite differences, and sg.check_grad on the cost."""
    _jacobian_and_hessian_agree(program)


@given(programs(max_steps=6, edges=EDGES))
def test_edge_jacobian_and_hessian_agree_with_the_products_and_check_grad(program: Program):
    _jacobian_and_hessian_agree(program)


def _jacobian_and_hessian_agree(program: Program) -> None:
    built = build(program)
    x0, y = built.inputs[0], built.output
    u, v = program.weights, _vectors(program, 1)[0]
    with built.graph:
        cost = sg.sum(y * u)
        routes = [sg.jacobian(y, x0, mode=mode, disconnected="zero") for mode in ("forward", "reverse")]
        hessian = sg.hessian(cost, x0, disconnected="zero")
        products = [sg.vjp(y, x0, u, disconnected="zero"), sg.jvp(y, x0, v),
                    sg.hvp(cost, x0, v, disconnected="zero")]
    feeds = built.feeds(program)
    *jacobians, h, bar, dot, hv = sg.evaluate(routes + [hessian] + products, feeds)
    n, m = v.size, u.size
    for k, jac in enumerate(jacobians):
        flat = jac.reshape(m, n)
        _close(flat.T @ u.reshape(m), bar.reshape(n), 1e-10, 1e-10 * (1 + np.abs(bar).max()),
               f"jacobian route {k}: J^T u vs vjp", program)
        _close(flat @ v.reshape(n), dot.reshape(m), 1e-10, 1e-10 * (1 + np.abs(dot).max()),
               f"jacobian route {k}: J v vs jvp", program)
    h = h.reshape(n, n)
    _close(h, h.T, 1e-9, 1e-9 * (1 + np.abs(h).max()), "hessian symmetry", program)
    _close(h @ v.reshape(n), hv.reshape(n), 1e-10, 1e-10 * (1 + np.abs(hv).max()), "H v vs hvp", program)
    # check_grad's differences straddle a kink, and are too coarse near a singularity: there the
    # held mirror's fourth-order differences check the gradient (see the first property)
    if not (program.kinks or program.steep):
        check = sg.check_grad(cost, built.inputs, feeds, raise_on_failure=False)
        assert check.ok, f"{check}\n{program}"


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # NumPy's warning at 0, as documented
@pytest.mark.parametrize("zero", [0.0, -0.0])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["sqrt", "log"])
def test_sqrt_and_log_take_their_documented_values_at_zero(name, dtype, zero):
    """At +0, sqrt is 0 and log -inf; both derivatives are +inf (the one-sided limit from the
    right), the second derivatives -inf, by every route; nearby values are the closed forms.
    At -0.0 the first derivatives are IEEE's 0.5 / -0.0 and 1 / -0.0, -inf (documented); the
    second derivative's sign there is not."""
    x0 = np.array([zero, 2.0 ** -20, 0.25, 4.0], dtype)
    r = x0  # the closed forms evaluated in IEEE arithmetic, signed zero included
    with np.errstate(divide="ignore"):
        value = np.sqrt(r) if name == "sqrt" else np.log(r)
        first = 0.5 / np.sqrt(r) if name == "sqrt" else 1 / r
        second = -0.25 / (r * np.sqrt(r)) if name == "sqrt" else -1 / (r * r)
    graph = sg.Graph()
    with graph:
        x = sg.placeholder("x", x0.shape, dtype)
        y = getattr(sg, name)(x)
        cost = sg.sum(y)
        outputs = [y, sg.grad(cost, x), sg.jvp(y, x, np.ones_like(x0)),
                   *(sg.hvp(cost, x, np.ones_like(x0), method=method)
                     for method in ("forward-over-reverse", "reverse-over-reverse"))]
    for route, results in (("interpreted", sg.evaluate(outputs, {x: x0})), ("compiled", sg.function([x], outputs)(x0))):
        for what, have, want in zip(("value", "grad", "jvp", "hvp", "hvp (reverse)"), results,
                                    (value, first, first, second, second)):
            assert have.dtype == np.dtype(dtype), f"{name} {route} {what}: dtype {have.dtype}"
            if what.startswith("hvp") and np.signbit(zero):  # the sign of inf·inf at -0.0 is not documented
                have, want = have[1:], want[1:]
            np.testing.assert_allclose(have, want, rtol=4 * float(np.finfo(dtype).eps),
                                       err_msg=f"{name} {route} {what}")
