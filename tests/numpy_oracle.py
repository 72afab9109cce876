"""One check of a symgrad function against its NumPy counterpart, to second order,
and one of a refused input (test_shapes.py, test_indexing.py).

The oracle knows nothing of symgrad's rules: values come from the NumPy function,
derivatives from central differences of it in float64.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

import symgrad as sg

EPS = 1e-6


def _central(f, values, directions):
    plus = f(*[x + EPS * v for x, v in zip(values, directions)])
    minus = f(*[x - EPS * v for x, v in zip(values, directions)])
    return (plus - minus) / (2 * EPS)


def check_against_numpy(build, ref, *args, shapes=None, rtol=1e-6, atol=1e-8, seed=0):
    """Check ``build`` (placeholders -> node) against ``ref`` (arrays -> array) at ``args``.

    Float arguments are the differentiation targets; integer ones (indices) are
    fed as they are. ``shapes`` gives the placeholders' static shapes (None for
    run-time dimensions). Checks, on the interpreter, the compiled function and
    a saved-and-loaded copy: the value; the gradient of ``sum(u * out**2)``
    element by element; a Hessian-vector product against central differences
    of the gradient; a JVP against central differences of ``ref``. The listing
    and the DOT drawing must build. Returns the output node.
    """
    args = [np.asarray(a) for a in args]
    shapes = shapes or [a.shape for a in args]
    with sg.Graph():
        xs = [sg.placeholder(f"a{k}", s, a.dtype) for k, (a, s) in enumerate(zip(args, shapes))]
        floats = [k for k, a in enumerate(args) if a.dtype.kind == "f"]
        targets = [xs[k] for k in floats]
        out = build(*xs)
        expected = np.asarray(ref(*args))
        rng = np.random.default_rng(seed)
        u_value = rng.standard_normal(expected.shape)
        u = sg.placeholder("u", out.shape)
        cost = sg.sum(u * out * out)
        directions = [rng.standard_normal(args[k].shape) for k in floats]
        grads = sg.grad(cost, targets)
        hvps = sg.hvp(cost, targets, directions)
        jv = sg.jvp(out, targets, directions)
        outputs = [out, *grads, *hvps, jv]
        feeds = {**dict(zip(xs, args)), u: u_value}
        interpreted = sg.evaluate(outputs, feeds)
        compiled = sg.function([*xs, u], outputs)(*args, u_value)
        assert sg.listing(outputs) and sg.to_dot(outputs)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "graph.json")
            sg.save(outputs, path)
            _, loaded = sg.load(path)
        reloaded = sg.evaluate(loaded, {f"a{k}": a for k, a in enumerate(args)} | {"u": u_value})
        grad_fn = sg.function([*xs, u], grads)

    assert out.dtype == expected.dtype, (out.type, expected.dtype)
    for got in (interpreted, compiled, reloaded):
        value = got[0]
        assert value.shape == expected.shape, (value.shape, expected.shape)
        np.testing.assert_allclose(value, expected, rtol=1e-13, atol=1e-13)
        for a, b in zip(got[1:], interpreted[1:]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)

    def with_floats(*values):
        full = list(args)
        for k, v in zip(floats, values):
            full[k] = v
        return full

    def np_cost(*values):
        return np.sum(u_value * np.asarray(ref(*with_floats(*values))) ** 2)

    base = [args[k] for k in floats]
    for k, grad in zip(range(len(floats)), interpreted[1:1 + len(floats)]):
        numeric = np.zeros(base[k].shape)
        for index in np.ndindex(base[k].shape):
            step = [np.zeros(b.shape) for b in base]
            step[k][index] = 1.0
            numeric[index] = _central(np_cost, base, step)
        np.testing.assert_allclose(grad, numeric, rtol=rtol, atol=atol, err_msg=f"gradient of input {floats[k]}")
    hv_numeric = _central(lambda *v: np.concatenate([np.ravel(g) for g in grad_fn(*with_floats(*v), u_value)]),
                          base, directions)
    hv = np.concatenate([np.ravel(h) for h in interpreted[1 + len(floats):1 + 2 * len(floats)]])
    np.testing.assert_allclose(hv, hv_numeric, rtol=rtol, atol=atol, err_msg="Hessian-vector product")
    jv_numeric = _central(lambda *v: np.asarray(ref(*with_floats(*v)), float), base, directions)
    np.testing.assert_allclose(interpreted[-1], jv_numeric, rtol=rtol, atol=atol, err_msg="JVP")
    return out


def check_refused(make, error, fragments):
    """``make()`` (building nodes in a fresh graph) raises ``error``, whose message holds each of ``fragments``."""
    with sg.Graph():
        with pytest.raises(error) as caught:
            make()
    for fragment in fragments:
        assert fragment in str(caught.value), (fragment, str(caught.value))
