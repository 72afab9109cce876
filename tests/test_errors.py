"""The bad-input catalogue: each misuse raises a symgrad error of the right class
whose message names what is wrong (the op, the node, the shapes or dtypes).

Each case is a function that performs one misuse, the error class it must
raise and fragments the message must contain.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import symgrad as sg
from symgrad.ops import Op

CASES = []


def case(name, error, *fragments):
    """Register ``fn`` as a misuse that raises ``error`` with every ``fragment`` in its message."""
    def register(fn):
        CASES.append(pytest.param(fn, error, fragments, id=name))
        return fn
    return register


def vec(name, n=3, dtype="float64"):
    return sg.vector(name, n, dtype)


def mat(name, rows=2, cols=3, dtype="float64"):
    return sg.matrix(name, rows, cols, dtype)


# --- shapes and dtypes in every op family ---------------------------------------------------

@case("elementwise shapes", sg.ShapeError, "add", "do not broadcast", "'a' f64[3]", "'b' f64[4]")
def _():
    return vec("a") + vec("b", 4)


@case("elementwise float widths", sg.DTypeError, "mul", "float32 and float64", "sg.cast")
def _():
    return vec("a") * vec("b", dtype="float32")


@case("matmul inner dimensions", sg.ShapeError, "matmul", "inner dimensions", "f64[2,3]", "f64[4,2]", "3 != 4")
def _():
    return mat("a") @ mat("b", 4, 2)


@case("matmul of a scalar", sg.ShapeError, "matmul", "at least one dimension", "use mul")
def _():
    return sg.scalar("a") @ mat("b")


@case("matmul float widths", sg.DTypeError, "matmul", "float32 and float64")
def _():
    return mat("a") @ mat("b", 3, 2, dtype="float32")


@case("matmul batch dimensions", sg.ShapeError, "matmul", "do not broadcast", "f64[2,2,3]", "f64[3,3,2]")
def _():
    return sg.placeholder("a", (2, 2, 3)) @ sg.placeholder("b", (3, 3, 2))


@case("dot of 3-d arrays", sg.ShapeError, "dot", "more than 2 dimensions", "use matmul")
def _():
    return sg.dot(sg.placeholder("a", (2, 2, 2)), vec("b", 2))


@case("reduction axis out of range", sg.ShapeError, "sum", "axis 2 is out of range", "f64[2,3]")
def _():
    return mat("a").sum(axis=2)


@case("reduction axis repeated", sg.ShapeError, "mean", "repeated axis")
def _():
    return mat("a").mean(axis=(1, -1))


@case("reduction axis not an int", sg.ShapeError, "max", "axis must be an int", "1.5")
def _():
    return mat("a").max(axis=1.5)


@case("max over an empty axis", sg.ShapeError, "max", "empty axis", "f64[0,3]")
def _():
    return sg.placeholder("a", (0, 3)).max(axis=0)


@case("argmax axis", sg.ShapeError, "argmax", "axis 5 is out of range")
def _():
    return sg.argmax(mat("a"), axis=5)


@case("softmax axis", sg.ShapeError, "axis 3 is out of range", "f64[2,3]")
def _():
    return sg.softmax(mat("a"), axis=3)


@case("reshape to another size", sg.ShapeError, "reshape", "size 6", "(4, 2)", "size 8")
def _():
    return mat("a").reshape(4, 2)


@case("reshape with two -1", sg.ShapeError, "reshape", "at most one dimension", "-1")
def _():
    return mat("a").reshape(-1, -1)


@case("reshape with -1 that does not divide", sg.ShapeError, "reshape", "(-1, 4)", "size 6")
def _():
    return mat("a").reshape(-1, 4)


@case("reshape to negative dimensions", sg.ShapeError, "reshape", "(-2, -3)", "non-negative")
def _():
    return mat("a").reshape(-2, -3)


@case("reshape to fractional dimensions", sg.ShapeError, "reshape", "(2.5, 2)", "must hold ints")
def _():
    return mat("a").reshape(2.5, 2)


@case("reshape of run-time dims without -1", sg.ShapeError, "reshape", "run-time dimensions", "give -1")
def _():
    return sg.placeholder("a", (None, 3)).reshape(3, 2)


@case("run-time dimension that broadcasts", sg.ShapeError, "mul", "'a' f64[?]", "size 1", "size 3",
      "must not broadcast")
def _():
    a, b = sg.vector("a", None), sg.vector("b", None)
    return sg.evaluate(sg.grad((a * b).sum(), a), {a: [2.0], b: [1.0, 2.0, 3.0]})


@case("transpose axes", sg.ShapeError, "transpose", "(0, 0)", "not a permutation")
def _():
    return mat("a").transpose(0, 0)


@case("broadcast_to", sg.ShapeError, "broadcast_to", "f64[3]", "(2, 4)")
def _():
    return sg.broadcast_to(vec("a"), (2, 4))


@case("concatenate ranks", sg.ShapeError, "concatenate", "differ in rank")
def _():
    return sg.concatenate([vec("a"), mat("b")])


@case("concatenate off-axis sizes", sg.ShapeError, "concatenate", "differ on axis 1", "concatenation axis 0")
def _():
    return sg.concatenate([mat("a"), mat("b", 2, 4)], axis=0)


@case("concatenate axis", sg.ShapeError, "concatenate", "axis 2 is out of range")
def _():
    return sg.concatenate([mat("a"), mat("b")], axis=2)


@case("concatenate float widths", sg.DTypeError, "concatenate", "float32 and float64")
def _():
    return sg.concatenate([vec("a"), vec("b", dtype="float32")])


@case("concatenate nothing", sg.ShapeError, "concatenate", "at least one")
def _():
    return sg.concatenate([])


@case("stack shapes", sg.ShapeError, "stack", "f64[3]", "f64[4]", "differ in shape")
def _():
    return sg.stack([vec("a"), vec("b", 4)])


@case("getitem out of bounds", sg.ShapeError, "getitem", "index 5 is out of bounds", "'a' f64[3]")
def _():
    return vec("a")[5]


@case("getitem too many indices", sg.ShapeError, "getitem", "too many indices")
def _():
    return vec("a")[0, 0]


@case("getitem float index", sg.DTypeError, "getitem", "must be integer", "float64")
def _():
    return vec("a")[np.array([0.5, 1.0])]


@case("getitem boolean mask", sg.ShapeError, "getitem", "boolean mask", "sg.where")
def _():
    return vec("a")[np.array([True, False, True])]


@case("getitem index array out of bounds", sg.ShapeError, "getitem", "index 7 is out of bounds")
def _():
    return vec("a")[np.array([0, 7])]


@case("where condition dtype", sg.DTypeError, "where", "condition", "must be bool", "float64")
def _():
    return sg.where(vec("c"), vec("a"), vec("b"))


@case("where shapes", sg.ShapeError, "where", "do not broadcast", "'b' f64[4]")
def _():
    return sg.where(vec("a") > 0, vec("a"), vec("b", 4))


@case("where float widths", sg.DTypeError, "where", "float32 and float64")
def _():
    return sg.where(vec("a") > 0, vec("a"), vec("b", dtype="float32"))


@case("cross_entropy label shape", sg.ShapeError, "cross_entropy", "'y' i64[5]", "(4,)", "f64[4,3]")
def _():
    return sg.cross_entropy(mat("z", 4, 3), vec("y", 5, dtype="int64"))


@case("cross_entropy probability label shape", sg.ShapeError, "cross_entropy", "'p' f64[4,2]", "f64[4,3]")
def _():
    return sg.cross_entropy(mat("z", 4, 3), mat("p", 4, 2))


@case("one_hot of floats", sg.DTypeError, "one_hot", "must be integers", "float64")
def _():
    return sg.one_hot(vec("a"), 4)


@case("constant of strings", sg.DTypeError, "constant", "<U3")
def _():
    return sg.constant("abc")


@case("operand that is not a number", sg.DTypeError, "dict", "symgrad constant")
def _():
    return sg.scalar("a") + {}


@case("unknown dtype", sg.DTypeError, "placeholder 'a'", "'float65' is not a dtype")
def _():
    return sg.placeholder("a", (2,), dtype="float65")


@case("unsupported dtype", sg.DTypeError, "placeholder 'a'", "complex128", "not supported")
def _():
    return sg.placeholder("a", (2,), dtype=complex)


@case("cast to an unknown dtype", sg.DTypeError, "cast", "'a' f64[]", "'f8x' is not a dtype")
def _():
    return sg.cast(sg.scalar("a"), "f8x")


@case("placeholder shape", sg.ShapeError, "placeholder 'a'", "(2, -1)", "non-negative")
def _():
    return sg.placeholder("a", (2, -1))


@case("placeholder redefined", sg.GraphError, "placeholder 'a'", "already exists as f64[]", "f64[3]")
def _():
    sg.scalar("a")
    return vec("a")


# --- gradients --------------------------------------------------------------------------------

@case("non-scalar cost", sg.GradientError, "grad", "must be a scalar", "f64[3]", "sg.vjp")
def _():
    a = vec("a")
    return sg.grad(a * 2.0, a)


@case("disconnected gradient", sg.GradientError, "does not depend on", "'b' f64[]", "disconnected='zero'")
def _():
    return sg.grad(sg.scalar("a") * 2.0, sg.scalar("b"))


@case("gradient through argmax", sg.GradientError, "argmax", "i64", "not differentiable", "stop_gradient")
def _():
    a = vec("a")
    return sg.grad(sg.cast(sg.argmax(a), "float64") * a[0], a)


@case("gradient through a comparison", sg.GradientError, "greater", "bool", "not differentiable")
def _():
    a = vec("a")
    return sg.grad(sg.cast(a > 0, "float64").sum(), a)


@case("forward mode through a comparison", sg.GradientError, "greater", "not differentiable")
def _():
    a = vec("a")
    return sg.jvp(sg.cast(a > 0, "float64"), a, np.ones(3))


@case("integer differentiation target", sg.GradientError, "'a' i64[3]", "int64 values are not differentiable")
def _():
    a = vec("a", dtype="int64")
    return sg.grad(sg.cast(a, "float64").sum(), a)


@case("integer cost", sg.GradientError, "grad", "cost", "i64[]", "must be a float")
def _():
    a = vec("a", dtype="int64")
    return sg.grad(a.sum(), sg.scalar("b"))


@case("disconnected option", sg.GradientError, "disconnected", "'raise' or 'zero'", "'ignore'")
def _():
    a = sg.scalar("a")
    return sg.grad(a * 2.0, a, disconnected="ignore")


@case("vjp cotangent shape", sg.ShapeError, "vjp", "cotangent", "f64[4]", "f64[3]")
def _():
    a = vec("a")
    return sg.vjp(a * 2.0, a, np.ones(4))


@case("vjp cotangent count", sg.GradientError, "vjp", "1 outputs but 2 cotangents")
def _():
    a = vec("a")
    return sg.vjp([a * 2.0], a, [np.ones(3), np.ones(3)])


@case("vjp cotangent dtype", sg.GradientError, "vjp", "cotangent", "f32[3]", "dtype")
def _():
    a = vec("a")
    return sg.vjp(a * 2.0, a, sg.constant(np.ones(3, np.float32)))


@case("jvp tangent shape", sg.ShapeError, "jvp", "tangent", "f64[4]", "'a' f64[3]")
def _():
    a = vec("a")
    return sg.jvp(a * 2.0, a, np.ones(4))


@case("hvp vector shape", sg.ShapeError, "hvp", "vector", "f64[4]", "'a' f64[3]")
def _():
    a = vec("a")
    return sg.hvp((a * a).sum(), a, np.ones(4))


@case("hvp vector count", sg.GradientError, "hvp", "2 variables but 1 vectors")
def _():
    a, b = vec("a"), vec("b")
    return sg.hvp((a * b).sum(), [a, b], [np.ones(3)])


# --- graphs -----------------------------------------------------------------------------------

def _two_graphs():
    with sg.Graph():
        a = sg.scalar("a")
    with sg.Graph():
        b = sg.scalar("b")
    return a, b


@case("nodes of two graphs", sg.GraphError, "add", "'b' f64[]", "another graph")
def _():
    a, b = _two_graphs()
    return a + b


@case("gradient with respect to a node of another graph", sg.GradientError, "grad", "'b' f64[]", "another graph")
def _():
    a, b = _two_graphs()
    return sg.grad(a * 2.0, b)


@case("evaluating nodes of two graphs", sg.GraphError, "different graphs")
def _():
    a, b = _two_graphs()
    return sg.evaluate([a, b], {a: 1.0, b: 2.0})


@case("feeding a placeholder of another graph", sg.FeedError, "'b' f64[]", "another graph")
def _():
    a, b = _two_graphs()
    return sg.evaluate(a, {a: 1.0, b: 2.0})


# --- feeds and compiled functions -----------------------------------------------------------

@case("missing feed", sg.FeedError, "no value fed", "'b' f64[]")
def _():
    return (sg.scalar("a") * sg.scalar("b")).eval({"a": 1.0})


@case("unknown feed name", sg.FeedError, "unknown placeholder 'zz'", "['a']")
def _():
    return (sg.scalar("a") * 2.0).eval({"a": 1.0, "zz": 2.0})


@case("feed of the wrong shape", sg.FeedError, "'a' f64[3]", "shape (4,)")
def _():
    return (vec("a") * 2.0).eval({"a": np.ones(4)})


@case("feed of the wrong dtype kind", sg.FeedError, "'a' f64[3]", "int64", ".astype")
def _():
    return (vec("a") * 2.0).eval({"a": np.ones(3, np.int64)})


@case("float feed for an integer placeholder", sg.FeedError, "'a' i64[3]", "float64")
def _():
    return (vec("a", dtype="int64") * 2).eval({"a": [1.5, 2.0, 3.0]})


@case("feed that is a dict", sg.FeedError, "'a' f64[3]", "dict")
def _():
    return (vec("a") * 2.0).eval({"a": {"x": 1}})


@case("feed that is a string", sg.FeedError, "'a' f64[3]", "str")
def _():
    return (vec("a") * 2.0).eval({"a": "hello"})


@case("feed that is None", sg.FeedError, "'a' f64[3]", "NoneType")
def _():
    return (vec("a") * 2.0).eval({"a": None})


@case("ragged feed", sg.FeedError, "'a' f64[3]", "not array-like")
def _():
    return (vec("a") * 2.0).eval({"a": [[1.0, 2.0], [3.0]]})


@case("feed that is a node", sg.FeedError, "'a' f64[3]", "symbolic node")
def _():
    a = vec("a")
    return (a * 2.0).eval({a: a})


@case("feed for a computed node", sg.FeedError, "only placeholders can be fed", "mul")
def _():
    a = vec("a")
    return (a * 2.0).eval({a * 2.0: np.ones(3)})


@case("feeds that are not a mapping", sg.FeedError, "feeds must be a dict", "list")
def _():
    return sg.evaluate(vec("a") * 2.0, [1.0, 2.0, 3.0])


@case("compiled function called with too many values", sg.FeedError, "takes 1 values", "'a' f64[]", "got 2")
def _():
    a = sg.scalar("a")
    return sg.function([a], a * 2.0)(1.0, 2.0)


@case("compiled function called with too few values", sg.FeedError, "takes 2 values", "got 1")
def _():
    a, b = sg.scalar("a"), sg.scalar("b")
    return sg.function([a, b], a * b)(1.0)


@case("compiled function missing an input", sg.FeedError, "function", "'b' f64[]", "not among the inputs")
def _():
    return sg.function([sg.scalar("a")], sg.scalar("a") * sg.scalar("b"))


@case("compiled function input that is not a placeholder", sg.FeedError, "must be placeholders", "mul")
def _():
    a = sg.scalar("a")
    return sg.function([a * 2.0], a * 3.0)


@case("compiled function input listed twice", sg.FeedError, "listed twice")
def _():
    a = sg.scalar("a")
    return sg.function([a, a], a * 3.0)


@case("compiled function fed a string", sg.FeedError, "'a' f64[]", "str")
def _():
    a = sg.scalar("a")
    return sg.function([a], a * 2.0)("x")


# --- the custom-op API ------------------------------------------------------------------------

def _custom_grad(reverse_rule, count=1):
    """Differentiate through a custom op doubling its input, with the given reverse rule(s)."""
    a = vec("a")
    double = Op(f"double_{len(CASES)}_{id(reverse_rule)}", lambda x: 2 * x, lambda x: (x.shape, x.dtype),
                vjp=(reverse_rule,) * count, jvp=((lambda t, out, x: 2.0 * t),) * count)
    return sg.grad(double(a).sum(), a)


@case("rule returning an array", sg.RuleError, "reverse rule for input 0", "returned ndarray", "not a node")
def _():
    return _custom_grad(lambda g, out, x: np.ones(3))


@case("rule returning None", sg.RuleError, "reverse rule for input 0", "returned NoneType")
def _():
    return _custom_grad(lambda g, out, x: None)


@case("rule returning the wrong shape", sg.RuleError, "reverse rule for input 0", "f64[4]",
      "does not reduce to the shape of placeholder 'a' f64[3]")
def _():
    return _custom_grad(lambda g, out, x: sg.constant(np.ones(4)))


@case("rule returning extra axes", sg.RuleError, "reverse rule for input 0", "f64[2,3]", "more dimensions")
def _():
    return _custom_grad(lambda g, out, x: sg.constant(np.ones((2, 3))))


@case("rule returning the wrong dtype", sg.RuleError, "reverse rule for input 0", "f32[3]", "needs dtype float64")
def _():
    return _custom_grad(lambda g, out, x: sg.cast(g, "float32"))


@case("rule building in another graph", sg.RuleError, "reverse rule for input 0", "another graph")
def _():
    with sg.Graph():
        elsewhere = sg.constant(np.ones(3))
    return _custom_grad(lambda g, out, x: elsewhere)


@case("op with two rules for one input", sg.RuleError, "2 reverse rules", "applied to 1 inputs")
def _():
    return _custom_grad(lambda g, out, x: 2.0 * g, count=2)


@case("op without rules", sg.GradientError, "no reverse rules")
def _():
    a = vec("a")
    rule_less = Op("rule_less", lambda x: 2 * x, lambda x: (x.shape, x.dtype))
    return sg.grad(rule_less(a).sum(), a)


@case("forward rule returning an array", sg.RuleError, "forward rule for input 0", "ndarray")
def _():
    a = vec("a")
    double = Op("double_fwd_array", lambda x: 2 * x, lambda x: (x.shape, x.dtype),
                vjp=(lambda g, out, x: 2.0 * g,), jvp=(lambda t, out, x: np.ones(3),))
    return sg.jvp(double(a), a, np.ones(3))


@case("forward rule returning the wrong shape", sg.RuleError, "forward rule for input 0", "f64[4]",
      "does not broadcast")
def _():
    a = vec("a")
    double = Op("double_fwd_shape", lambda x: 2 * x, lambda x: (x.shape, x.dtype),
                vjp=(lambda g, out, x: 2.0 * g,), jvp=(lambda t, out, x: sg.constant(np.ones(4)),))
    return sg.jvp(double(a), a, np.ones(3))


@case("forward function disagreeing with the shape rule", sg.RuleError, "computed shape (3,)", "f64[4]",
      "disagree")
def _():
    a = vec("a")
    liar = Op("liar", lambda x: 2 * x, lambda x: ((4,), x.dtype))
    return liar(a).eval({a: np.ones(3)})


@pytest.mark.parametrize("misuse, error, fragments", CASES)
def test_misuse_raises_a_clear_symgrad_error(misuse, error, fragments):
    with pytest.raises(error) as info:
        misuse()
    assert isinstance(info.value, sg.Error), f"{type(info.value).__name__} is not a symgrad.Error"
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from the message: {message}"


def test_the_catalogue_has_at_least_30_distinct_misuses():
    assert len({p.id for p in CASES}) == len(CASES) >= 30


def test_a_forward_failure_carries_a_note_naming_the_node():
    a = vec("a")
    broken = Op("broken", lambda x: x[10], lambda x: (x.shape, x.dtype))
    node = broken(a)
    with pytest.raises(IndexError) as info:
        node.eval({a: np.ones(3)})
    assert any(f"while computing broken %{node.id} f64[3]" in note for note in info.value.__notes__)


def test_every_error_class_is_exported_and_documented():
    import symgrad.errors as errors
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert len(classes) >= 9
    for cls in classes:
        assert getattr(sg, cls.__name__) is cls, f"sg.{cls.__name__} is not exported"
        assert issubclass(cls, sg.Error)
        assert cls.__doc__, f"{cls.__name__} has no docstring"
        if cls is not sg.Error:
            assert re.search(rf"── {cls.__name__}\b", errors.__doc__), f"{cls.__name__} is not in the hierarchy"


@pytest.mark.parametrize("cls, builtin", [(sg.ShapeError, ValueError), (sg.DTypeError, TypeError),
                                          (sg.FeedError, ValueError), (sg.GradientError, ValueError),
                                          (sg.RuleError, TypeError), (sg.GraphError, ValueError),
                                          (sg.GradCheckError, AssertionError),
                                          (sg.NonFiniteError, FloatingPointError)])
def test_errors_are_also_the_builtin_exception_python_code_expects(cls, builtin):
    assert issubclass(cls, builtin) and issubclass(cls, sg.Error)
