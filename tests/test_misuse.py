"""The misuse catalogue (issue 11): careless and hostile arguments, each refused with a
symgrad error of the expected class whose message names the op and the operand.

Every entry is ``(id, misuse, error class, words the message must contain)``; the message
is the error's text with its notes. NumPy's rules decide what is a misuse: an axis out of
range, a float or a bool where NumPy wants an int, a string where it wants a bool, a
negative size, a repeated axis. Parameters that reach an op without its user function (a
direct ``Op`` call, a saved file) are checked by the same shape rule.

Run as a script to count the outcomes against any checkout of symgrad::

    PYTHONPATH=/path/to/symgrad/src python tests/test_misuse.py

prints how many misuses raise the expected clear error, another symgrad error (wrong class
or a message without the words), a generic exception, or are silently accepted.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter

import numpy as np
import pytest

import symgrad as sg
from symgrad.serialize import from_json, to_json

MISUSES: list = []


def add(case_id: str, misuse, error, *words) -> None:
    """Register one misuse: calling ``misuse()`` (in a fresh graph) must raise ``error`` with ``words``."""
    MISUSES.append((case_id, misuse, error, words))


# Operands, made in the graph the case runs in; the words name them as messages describe them.
def v():
    return sg.vector("v", 3)


def M():
    return sg.matrix("M", 2, 3)


def s():
    return sg.scalar("s")


def y():
    return sg.vector("y", 2, dtype="int64")


V, MM, S, Y = "'v' f64[3]", "'M' f64[2,3]", "'s' f64[]", "'y' i64[2]"

# --- axes of the reductions ---------------------------------------------------------------
BAD_AXES = [
    ("2", 2, sg.ShapeError, "axis 2 is out of range"),
    ("-3", -3, sg.ShapeError, "axis -3 is out of range"),
    ("True", True, sg.ShapeError, "bool True"),
    ("1.0", 1.0, sg.ShapeError, "float 1.0"),
    ("np.float64", np.float64(1.0), sg.ShapeError, "float64"),
    ("str", "0", sg.ShapeError, "str '0'"),
    ("(0,0)", (0, 0), sg.ShapeError, "repeated axis"),
    ("(0,-2)", (0, -2), sg.ShapeError, "repeated axis"),
    ("(0,5)", (0, 5), sg.ShapeError, "axis 5 is out of range"),
    ("(0.5,)", (0.5,), sg.ShapeError, "float 0.5"),
    ("(True,)", (True,), sg.ShapeError, "bool True"),
    ("set", {0}, sg.ShapeError, "set"),
]
BAD_KEEPDIMS = [
    ("'no'", "no", "str 'no'"),
    ("None", None, "NoneType None"),
    ("1", 1, "int 1"),
    ("0.0", 0.0, "float 0.0"),
]
REDUCTIONS = {"sum": sg.sum, "mean": sg.mean, "max": sg.max, "min": sg.min, "logsumexp": sg.logsumexp}
for _name, _fn in REDUCTIONS.items():
    for _label, _axis, _error, _words in BAD_AXES:
        add(f"{_name}-axis-{_label}", lambda f=_fn, a=_axis: f(M(), axis=a), _error, _name, MM, _words)
    for _label, _flag, _words in BAD_KEEPDIMS:
        add(f"{_name}-keepdims-{_label}", lambda f=_fn, k=_flag: f(M(), axis=0, keepdims=k), sg.DTypeError,
            _name, "keepdims must be True or False", MM, _words)

add("method-sum-axis-2", lambda: M().sum(axis=2), sg.ShapeError, "sum", "axis 2 is out of range", MM)
add("method-mean-axis-True", lambda: M().mean(axis=True), sg.ShapeError, "mean", "bool", MM)
add("method-max-keepdims-no", lambda: M().max(0, "no"), sg.DTypeError, "max", "keepdims", MM)
add("method-min-axis-repeated", lambda: M().min(axis=(1, 1)), sg.ShapeError, "min", "repeated axis", MM)

# --- argmax, argmin, softmax, log_softmax, cross_entropy: one axis -------------------------
ONE_AXIS = [
    ("2", 2, "axis 2 is out of range"),
    ("-3", -3, "axis -3 is out of range"),
    ("True", True, "bool True"),
    ("1.0", 1.0, "float 1.0"),
    ("(0,)", (0,), "tuple"),
    ("str", "0", "str '0'"),
]
for _name, _fn in {"argmax": sg.argmax, "argmin": sg.argmin}.items():
    for _label, _axis, _words in ONE_AXIS:
        add(f"{_name}-axis-{_label}", lambda f=_fn, a=_axis: f(M(), axis=a), sg.ShapeError, _name, MM, _words)
    add(f"{_name}-of-a-scalar", lambda f=_fn: f(s(), 0), sg.ShapeError, _name, S, "no axis")
for _name, _fn in {"softmax": sg.softmax, "log_softmax": sg.log_softmax}.items():
    for _label, _axis, _words in ONE_AXIS[:4] + [("(0,0)", (0, 0), "repeated axis"), ("str", "1", "str '1'")]:
        add(f"{_name}-axis-{_label}", lambda f=_fn, a=_axis: f(M(), axis=a), sg.ShapeError, "log_softmax", MM,
            _words)
for _label, _axis, _words in ONE_AXIS[:4]:
    add(f"cross_entropy-axis-{_label}", lambda a=_axis: sg.cross_entropy(M(), y(), axis=a), sg.ShapeError,
        "cross_entropy", MM, _words)
add("cross_entropy-scalar-logits", lambda: sg.cross_entropy(s(), y()), sg.ShapeError, "cross_entropy", S,
    "class axis")

# --- transpose ------------------------------------------------------------------------------
TRANSPOSES = [
    ("(2,1)", (2, 1), sg.ShapeError, "axis 2 is out of range"),  # NumPy raises; it was taken modulo 2
    ("(0,)", (0,), sg.ShapeError, "not a permutation"),
    ("(0,0)", (0, 0), sg.ShapeError, "not a permutation"),
    ("(1,-1)", (1, -1), sg.ShapeError, "not a permutation"),
    ("(1.0,0)", (1.0, 0), sg.ShapeError, "float 1.0"),
    ("(True,False)", (True, False), sg.ShapeError, "bool True"),
    ("(0,1,2)", (0, 1, 2), sg.ShapeError, "axis 2 is out of range"),
    ("(-3,0)", (-3, 0), sg.ShapeError, "axis -3 is out of range"),
    ("str", "ab", sg.ShapeError, "str 'ab'"),
    ("int", 5, sg.ShapeError, "int 5"),
]
for _label, _axes, _error, _words in TRANSPOSES:
    add(f"transpose-{_label}", lambda a=_axes: sg.transpose(M(), a), _error, "transpose", MM, _words)
add("method-transpose-2-1", lambda: M().transpose(2, 1), sg.ShapeError, "transpose", "axis 2 is out of range", MM)
add("method-transpose-(0,0)", lambda: M().transpose((0, 0)), sg.ShapeError, "transpose", "not a permutation", MM)
add("method-transpose-float", lambda: M().transpose(1.5, 0), sg.ShapeError, "transpose", "float 1.5", MM)

# --- reshape and broadcast_to: shapes -----------------------------------------------------------
RESHAPES = [
    ("(2.5,2)", (2.5, 2), "float 2.5"),
    ("(True,6)", (True, 6), "bool True"),
    ("(-2,-3)", (-2, -3), "non-negative"),
    ("(-1,-1)", (-1, -1), "at most one dimension"),
    ("(None,None)", (None, None), "at most one dimension"),
    ("('2',3)", ("2", 3), "str '2'"),
    ("6.0", 6.0, "6.0"),
    ("(7,)", (7,), "size 6"),
    ("'6'", "6", "'6'"),
    ("set", {6}, "{6}"),
    ("(4,-1)", (4, -1), "size 6"),
]
for _label, _shape, _words in RESHAPES:
    add(f"reshape-{_label}", lambda sh=_shape: sg.reshape(M(), sh), sg.ShapeError, "reshape", MM, _words)
add("method-reshape-float", lambda: M().reshape(2.0, 3), sg.ShapeError, "reshape", MM, "float 2.0")
add("method-reshape-bool", lambda: M().reshape((3, True)), sg.ShapeError, "reshape", MM, "bool True")

BROADCASTS = [
    ("(2.7,3)", (2.7, 3), "float 2.7"),  # NumPy raises; it was truncated to 2
    ("(-2,3)", (-2, 3), "non-negative"),
    ("(-1,3)", (-1, 3), "non-negative"),
    ("(True,3)", (True, 3), "bool True"),
    ("('2',3)", ("2", 3), "str '2'"),
    ("(None,3)", (None, 3), "NoneType None"),
    ("'23'", "23", "'23'"),
    ("3.0", 3.0, "3.0"),
    ("(2,4)", (2, 4), "(2, 4)"),
    ("(1,)", (1,), "(1,)"),
    ("float array", np.array([2.5, 3.0]), "float 2.5"),
]
for _label, _shape, _words in BROADCASTS:
    add(f"broadcast_to-{_label}", lambda sh=_shape: sg.broadcast_to(v(), sh), sg.ShapeError, "broadcast_to", V,
        _words)

# --- expand_dims, concatenate, stack --------------------------------------------------------------
for _label, _axis, _words in [("2", 2, "axis 2 is out of range"), ("-3", -3, "axis -3 is out of range"),
                              ("True", True, "bool True"), ("1.0", 1.0, "float 1.0"),
                              ("(0,0)", (0, 0), "repeated axis"), ("str", "0", "str '0'")]:
    add(f"expand_dims-{_label}", lambda a=_axis: sg.expand_dims(v(), a), sg.ShapeError, "expand_dims", V, _words)

for _label, _axis, _words in [("1", 1, "axis 1 is out of range"), ("-2", -2, "axis -2 is out of range"),
                              ("True", True, "bool True"), ("1.0", 1.0, "float 1.0"), ("str", "0", "str '0'")]:
    add(f"concatenate-axis-{_label}", lambda a=_axis: sg.concatenate([v(), v()], a), sg.ShapeError, "concatenate",
        V, _words)
add("concatenate-scalars", lambda: sg.concatenate([s(), s()]), sg.ShapeError, "concatenate", S, "zero-dimensional")
add("concatenate-a-number", lambda: sg.concatenate(5), sg.ShapeError, "concatenate", "sequence", "int 5")
add("concatenate-a-scalar-node", lambda: sg.concatenate(s()), sg.ShapeError, "concatenate", "sequence", S)
add("concatenate-nothing", lambda: sg.concatenate([]), sg.ShapeError, "concatenate", "at least one")
add("concatenate-ranks", lambda: sg.concatenate([v(), M()]), sg.ShapeError, "concatenate", V, MM, "rank")

for _label, _axis, _words in [("2", 2, "axis 2 is out of range"), ("-3", -3, "axis -3 is out of range"),
                              ("True", True, "bool True"), ("1.5", 1.5, "float 1.5")]:
    add(f"stack-axis-{_label}", lambda a=_axis: sg.stack([v(), v()], a), sg.ShapeError, "stack", V, _words)
add("stack-nothing", lambda: sg.stack([]), sg.ShapeError, "stack", "at least one")
add("stack-a-number", lambda: sg.stack(5), sg.ShapeError, "stack", "sequence", "int 5")

# --- one_hot, leaky_relu, cast, clip: depths, slopes, dtypes, bounds ---------------------------------
for _label, _depth, _words in [("2.5", 2.5, "float 2.5"), ("True", True, "bool True"), ("-1", -1, "at least 0"),
                               ("str", "3", "str '3'"), ("None", None, "NoneType None"),
                               ("np.float64", np.float64(3), "float64")]:
    add(f"one_hot-depth-{_label}", lambda d=_depth: sg.one_hot(y(), d), sg.ShapeError, "one_hot", Y, "depth", _words)
for _label, _dtype, _words in [("bogus", "bogus", "'bogus' is not a dtype"), ("complex", complex, "complex128"),
                               ("object", object, "object"), ("U3", "U3", "<U3")]:
    add(f"one_hot-dtype-{_label}", lambda d=_dtype: sg.one_hot(y(), 3, d), sg.DTypeError, "one_hot", Y, _words)
add("one_hot-float-labels", lambda: sg.one_hot(v(), 3), sg.DTypeError, "one_hot", V, "must be integers")

for _label, _alpha, _words in [("str", "a", "str"), ("None", None, "NoneType"), ("True", True, "bool"),
                               ("complex", 1j, "complex"), ("list", [0.1], "list")]:
    add(f"leaky_relu-alpha-{_label}", lambda a=_alpha: sg.leaky_relu(v(), a), sg.DTypeError, "leaky_relu", V,
        "real number", _words)
add("leaky_relu-alpha-node", lambda: sg.leaky_relu(v(), s()), sg.DTypeError, "leaky_relu", V, S, "sg.prelu")

for _label, _dtype, _words in [("bogus", "bogus", "'bogus' is not a dtype"), ("complex", complex, "complex128"),
                               ("object", object, "object"), ("U3", "U3", "<U3"),
                               ("datetime", "datetime64[s]", "datetime64")]:
    add(f"cast-{_label}", lambda d=_dtype: sg.cast(v(), d), sg.DTypeError, "cast", V, _words)
    add(f"astype-{_label}", lambda d=_dtype: v().astype(d), sg.DTypeError, "cast", V, _words)

add("clip-low-str", lambda: sg.clip(v(), "a", 1.0), sg.DTypeError, "clip", V, "str 'a'")
add("clip-high-str", lambda: sg.clip(v(), None, "b"), sg.DTypeError, "clip", V, "str 'b'")
add("clip-high-dict", lambda: sg.clip(v(), 0.0, {}), sg.DTypeError, "clip", V, "dict")
add("clip-bound-shape", lambda: sg.clip(v(), [0.0, 1.0], 2.0), sg.ShapeError, "maximum", V, "do not broadcast")

# --- indexing ---------------------------------------------------------------------------------------
GETITEMS = [
    ("str", lambda x: x["a"], sg.IndexingError, "str 'a'"),
    ("float", lambda x: x[1.0], sg.IndexingError, "float 1.0"),
    ("dict", lambda x: x[{}], sg.IndexingError, "dict"),
    ("step-0", lambda x: x[::0], sg.ShapeError, "step cannot be zero"),
    ("float-slice", lambda x: x[1.0:], sg.IndexingError, "slice bounds"),
    ("bool-slice", lambda x: x[True:], sg.IndexingError, "slice bounds"),
    ("str-slice", lambda x: x["a":], sg.IndexingError, "slice bounds"),
    ("ragged", lambda x: x[[[0, 1], [0]]], sg.IndexingError, "not a regular array"),
    ("str-array", lambda x: x[["a"]], sg.IndexingError, "must hold integers"),
    ("float-array", lambda x: x[[1.0]], sg.DTypeError, "must be integer"),
    ("bool-mask", lambda x: x[[True, False, True]], sg.ShapeError, "boolean mask"),
    ("bool", lambda x: x[True], sg.ShapeError, "bool index"),
    ("out-of-bounds", lambda x: x[5], sg.IndexingError, "index 5 is out of bounds"),
    ("negative-out-of-bounds", lambda x: x[-4], sg.IndexingError, "out of bounds"),
    ("array-out-of-bounds", lambda x: x[[0, 5]], sg.IndexingError, "index 5 is out of bounds"),
    ("too-many", lambda x: x[0, 0], sg.IndexingError, "too many indices"),
    ("two-ellipses", lambda x: x[..., ...], sg.IndexingError, "ellipsis"),
]
for _label, _index, _error, _words in GETITEMS:
    add(f"getitem-{_label}", lambda i=_index: i(v()), _error, "getitem", V, _words)

# --- placeholders and constants ------------------------------------------------------------------------
PLACEHOLDERS = [
    ("name-empty", lambda: sg.placeholder(""), sg.GraphError, "non-empty string"),
    ("name-None", lambda: sg.placeholder(None), sg.GraphError, "NoneType None"),
    ("name-int", lambda: sg.placeholder(123), sg.GraphError, "int 123"),
    ("name-bytes", lambda: sg.placeholder(b"x"), sg.GraphError, "bytes"),
    ("shape-float", lambda: sg.placeholder("p", (2.0,)), sg.ShapeError, "(2.0,)"),
    ("shape-bool", lambda: sg.placeholder("p", (True, 3)), sg.ShapeError, "(True, 3)"),
    ("shape-negative", lambda: sg.placeholder("p", (-1,)), sg.ShapeError, "(-1,)"),
    ("shape-str", lambda: sg.placeholder("p", "ab"), sg.ShapeError, "'ab'"),
    ("shape-set", lambda: sg.placeholder("p", {2}), sg.ShapeError, "{2}"),
    ("dtype-bogus", lambda: sg.placeholder("p", (), "bogus"), sg.DTypeError, "'bogus' is not a dtype"),
    ("dtype-complex", lambda: sg.placeholder("p", (), complex), sg.DTypeError, "complex128"),
    ("dtype-str", lambda: sg.placeholder("p", (), "U3"), sg.DTypeError, "<U3"),
    ("dtype-object", lambda: sg.placeholder("p", (), object), sg.DTypeError, "object"),
    ("vector-float-size", lambda: sg.vector("p", 2.5), sg.ShapeError, "(2.5,)"),
    ("vector-negative-size", lambda: sg.vector("p", -1), sg.ShapeError, "(-1,)"),
    ("matrix-bool-rows", lambda: sg.matrix("p", True, 2), sg.ShapeError, "(True, 2)"),
]
for _label, _misuse, _error, _words in PLACEHOLDERS:
    add(f"placeholder-{_label}", _misuse, _error, "placeholder", _words)

CONSTANTS = [
    ("ragged", lambda: sg.constant([[1.0, 2.0], [3.0]]), sg.ShapeError, "inhomogeneous"),
    ("strings", lambda: sg.constant("abc"), sg.DTypeError, "<U3"),
    ("dtype-bogus", lambda: sg.constant(1.0, dtype="bogus"), sg.DTypeError, "'bogus' is not a dtype"),
    ("dtype-unparsable", lambda: sg.constant("x", dtype=float), sg.DTypeError, "str 'x'"),
    ("name-int", lambda: sg.constant(1.0, name=123), sg.GraphError, "int 123"),
    ("name-bytes", lambda: sg.constant(1.0, name=b"c"), sg.GraphError, "bytes"),
    ("complex", lambda: sg.constant(1j), sg.DTypeError, "complex128"),
    ("None", lambda: sg.constant(None), sg.DTypeError, "object"),
]
for _label, _misuse, _error, _words in CONSTANTS:
    add(f"constant-{_label}", _misuse, _error, "constant", _words)

# --- operands that are no array --------------------------------------------------------------------------
OPERANDS = [
    ("add-str", lambda: v() + "a", "add", "str 'a'"),
    ("radd-str", lambda: "a" + v(), "add", "str 'a'"),
    ("mul-None", lambda: v() * None, "mul", "NoneType None"),
    ("sub-dict", lambda: v() - {}, "sub", "dict"),
    ("div-str", lambda: v() / "a", "div", "str 'a'"),
    ("pow-str", lambda: v() ** "a", "pow", "str 'a'"),
    ("matmul-str", lambda: v() @ "a", "matmul", "str 'a'"),
    ("maximum-str", lambda: sg.maximum(v(), "a"), "maximum", "str 'a'"),
    ("where-str", lambda: sg.where(v() > 0, v(), "a"), "where", "str 'a'"),
    ("add-complex", lambda: v() + 1j, "add", "complex"),
    ("dot-str", lambda: sg.dot(v(), "a"), "dot", "str 'a'"),
    ("less-str", lambda: v() < "a", "less", "str 'a'"),
]
for _label, _misuse, _op, _words in OPERANDS:
    add(f"operand-{_label}", _misuse, sg.DTypeError, _op, V, _words)
add("operand-add-ragged", lambda: v() + [[1.0, 2.0], [3.0]], sg.ShapeError, "add", V, "inhomogeneous")
add("operand-exp-str", lambda: sg.exp("a"), sg.DTypeError, "exp", "str 'a'")

# --- parameters given to an op directly (the shape rule checks them, as it does for files) -----------------
OPS = sg.ops
DIRECT = [
    ("sum-axis-5", lambda: OPS.SUM(M(), axis=(5,), keepdims=False), sg.ShapeError, "sum", MM, "axis 5"),
    ("sum-axis-int", lambda: OPS.SUM(M(), axis=1, keepdims=False), sg.ShapeError, "sum", MM, "normal form"),
    ("sum-axis-unsorted", lambda: OPS.SUM(M(), axis=(1, 0), keepdims=False), sg.ShapeError, "sum", "normal form"),
    ("sum-axis-bool", lambda: OPS.SUM(M(), axis=(True,), keepdims=False), sg.ShapeError, "sum", MM, "bool"),
    ("max-keepdims-str", lambda: OPS.MAX(M(), axis=(0,), keepdims="no"), sg.DTypeError, "max", MM, "keepdims"),
    ("logsumexp-keepdims-int", lambda: OPS.LOGSUMEXP(M(), axis=(0,), keepdims=1), sg.DTypeError, "logsumexp",
     "keepdims"),
    ("transpose-axis-2", lambda: OPS.TRANSPOSE(M(), axes=(1, 0, 2)), sg.ShapeError, "transpose", MM, "axis 2"),
    ("transpose-negative", lambda: OPS.TRANSPOSE(M(), axes=(-1, 0)), sg.ShapeError, "transpose", MM,
     "not a permutation"),
    ("reshape-float", lambda: OPS.RESHAPE(M(), shape=(2.0, 3)), sg.ShapeError, "reshape", MM, "float 2.0"),
    ("reshape-two-unknown", lambda: OPS.RESHAPE(M(), shape=(-1, -1)), sg.ShapeError, "reshape", "at most one"),
    ("broadcast_to-negative", lambda: OPS.BROADCAST_TO(v(), shape=(-1, 3)), sg.ShapeError, "broadcast_to", V,
     "non-negative"),
    ("broadcast_to-float", lambda: OPS.BROADCAST_TO(v(), shape=(2, 3.0)), sg.ShapeError, "broadcast_to", V,
     "float 3.0"),
    ("broadcast_to-bool", lambda: OPS.BROADCAST_TO(v(), shape=(True, 3)), sg.ShapeError, "broadcast_to", V,
     "bool True"),
    ("leaky_relu-alpha-str", lambda: OPS.LEAKY_RELU(v(), alpha="a"), sg.DTypeError, "leaky_relu", V, "real number"),
    ("leaky_relu-alpha-int", lambda: OPS.LEAKY_RELU(v(), alpha=1), sg.ShapeError, "leaky_relu", V, "normal form"),
    ("exp-extra-param", lambda: OPS.EXP(v(), foo=1), sg.ShapeError, "exp", V, "foo"),
    ("add-extra-param", lambda: OPS.ADD(v(), v(), axis=0), sg.ShapeError, "add", V, "axis"),
    ("cast-bogus", lambda: OPS.CAST(v(), dtype="bogus"), sg.DTypeError, "cast", V, "'bogus' is not a dtype"),
    ("cast-dtype-str", lambda: OPS.CAST(v(), dtype="float32"), sg.ShapeError, "cast", V, "normal form"),
    ("one_hot-depth-negative", lambda: OPS.ONE_HOT(y(), depth=-1, dtype=np.dtype("float64")), sg.ShapeError,
     "one_hot", Y, "at least 0"),
    ("one_hot-depth-float", lambda: OPS.ONE_HOT(y(), depth=3.0, dtype=np.dtype("float64")), sg.ShapeError,
     "one_hot", Y, "float 3.0"),
    ("getitem-step-0", lambda: OPS.GETITEM(v(), spec=(("slice", 1, 2, 0),)), sg.ShapeError, "getitem", V,
     "bad index item"),
    ("getitem-unknown-kind", lambda: OPS.GETITEM(v(), spec=(("zzz",),)), sg.ShapeError, "getitem", V,
     "bad index item"),
    ("getitem-missing-array", lambda: OPS.GETITEM(v(), spec=(("array", 0),)), sg.ShapeError, "getitem", V,
     "index arrays"),
    ("getitem-two-ellipses", lambda: OPS.GETITEM(v(), spec=(("ellipsis",), ("ellipsis",))), sg.ShapeError,
     "getitem", V, "ellipsis"),
    ("getitem-spec-str", lambda: OPS.GETITEM(v(), spec="::2"), sg.ShapeError, "getitem", V, "spec"),
    ("argmax-axis-5", lambda: OPS.ARGMAX(M(), axis=5), sg.ShapeError, "argmax", MM, "axis 5"),
    ("argmax-axis-bool", lambda: OPS.ARGMAX(M(), axis=True), sg.ShapeError, "argmax", MM, "bool"),
    ("concatenate-axis-3", lambda: OPS.CONCATENATE(v(), v(), axis=3), sg.ShapeError, "concatenate", V, "axis 3"),
    ("concatenate-axis-float", lambda: OPS.CONCATENATE(v(), v(), axis=0.0), sg.ShapeError, "concatenate", V,
     "float 0.0"),
    ("log_softmax-axis-5", lambda: OPS.LOG_SOFTMAX(M(), axis=(5,)), sg.ShapeError, "log_softmax", MM, "axis 5"),
    ("log_softmax-axis-int", lambda: OPS.LOG_SOFTMAX(M(), axis=1), sg.ShapeError, "log_softmax", MM, "normal form"),
    ("scatter_add-shape", lambda: OPS.SCATTER_ADD(v(), v(), spec=(("int", 0),)), sg.ShapeError, "scatter_add", V,
     "does not fit"),
    ("head_like-axis", lambda: OPS.HEAD_LIKE(v(), v(), axis=2), sg.ShapeError, "head_like", V, "axis 2"),
    ("check_sizes-axis", lambda: OPS.CHECK_SIZES(v(), axes=(3,), sizes=(2,), stands_for="input", node="n",
                                                 input="i"), sg.ShapeError, "check_sizes", V, "axis 3"),
    ("check_sizes-size", lambda: OPS.CHECK_SIZES(v(), axes=(0,), sizes=(-1,), stands_for="input", node="n",
                                                 input="i"), sg.ShapeError, "check_sizes", V, "at least 0"),
    ("check_sizes-stands_for", lambda: OPS.CHECK_SIZES(v(), axes=(0,), sizes=(3,), stands_for="zzz", node="n",
                                                       input="i"), sg.ShapeError, "check_sizes", "stands_for"),
]
for _label, _misuse, _error, *_words in DIRECT:
    add(f"direct-{_label}", _misuse, _error, *_words)


# --- the NumPy-named functions of issue 14: scans, manipulation, indexing, statistics, linalg, special --------
def Q():
    return sg.matrix("Q", 3, 3)


QQ = "'Q' f64[3,3]"
ONE_AXIS_FUNCTIONS = {"cumsum": sg.cumsum, "cumprod": sg.cumprod, "sort": sg.sort, "argsort": sg.argsort,
                      "take_along_axis": lambda x, axis: sg.take_along_axis(x, [[0], [1]], axis)}
for _name, _fn in ONE_AXIS_FUNCTIONS.items():
    for _label, _axis, _words in ONE_AXIS[:4] + [("str", "1", "str '1'")]:
        add(f"{_name}-axis-{_label}", lambda f=_fn, a=_axis: f(M(), a), sg.ShapeError, _name, MM, _words)
for _label, _kind, _words in [("bogus", "fast", "str 'fast'"), ("int", 1, "int 1"), ("upper", "Stable", "'Stable'")]:
    add(f"argsort-kind-{_label}", lambda k=_kind: sg.argsort(v(), kind=k), sg.ShapeError, "argsort", V,
        "kind must be one of", _words)
add("sort-kind-bogus", lambda: sg.sort(v(), kind="fast"), sg.ShapeError, "sort", V, "kind must be one of")
add("argsort-stable-str", lambda: sg.argsort(v(), stable="yes"), sg.DTypeError, "argsort", V, "stable", "str 'yes'")

NEW_MISUSES = [
    # roll: shifts and axes are ints, as in NumPy
    ("roll-shift-float", lambda: sg.roll(M(), 1.5, 0), sg.ShapeError, "roll", MM, "shift", "float 1.5"),
    ("roll-shift-bool", lambda: sg.roll(M(), True, 0), sg.ShapeError, "roll", MM, "shift", "bool True"),
    ("roll-shift-str", lambda: sg.roll(M(), "1", 0), sg.ShapeError, "roll", MM, "shift", "str '1'"),
    ("roll-flat-shift-tuple", lambda: sg.roll(M(), (1, 2)), sg.ShapeError, "roll", MM, "one int"),
    ("roll-axis-2", lambda: sg.roll(M(), 1, 2), sg.ShapeError, "roll", MM, "axis 2 is out of range"),
    ("roll-axis-bool", lambda: sg.roll(M(), 1, True), sg.ShapeError, "roll", MM, "bool True"),
    ("roll-counts", lambda: sg.roll(M(), (1, 2, 3), (0, 1)), sg.ShapeError, "roll", MM, "3 shifts for 2 axes"),
    # pad: a mode among three, widths non-negative ints, fill values real numbers that fit the dtype
    ("pad-mode-wrap", lambda: sg.pad(M(), 1, "wrap"), sg.ShapeError, "pad", MM, "mode", "str 'wrap'"),
    ("pad-mode-int", lambda: sg.pad(M(), 1, 1), sg.ShapeError, "pad", MM, "mode", "int 1"),
    ("pad-width-float", lambda: sg.pad(M(), 1.5), sg.ShapeError, "pad", MM, "pad width", "float 1.5"),
    ("pad-width-bool", lambda: sg.pad(M(), True), sg.ShapeError, "pad", MM, "pad width", "bool True"),
    ("pad-width-negative", lambda: sg.pad(M(), (1, -1)), sg.ShapeError, "pad", MM, "pad width -1"),
    ("pad-constant-str", lambda: sg.pad(M(), 1, constant_values="3"), sg.DTypeError, "pad", MM, "str '3'"),
    ("pad-constant-None", lambda: sg.pad(M(), 1, constant_values=None), sg.DTypeError, "pad", MM, "NoneType"),
    ("pad-constant-fraction-int", lambda: sg.pad(y(), 1, constant_values=0.5), sg.DTypeError, "pad", Y,
     "do not fit"),
    # repeat, tile, split, moveaxis, swapaxes, flip, squeeze
    ("repeat-float", lambda: sg.repeat(M(), 2.5, axis=1), sg.ShapeError, "repeat", MM, "2.5"),
    ("repeat-bool", lambda: sg.repeat(M(), True, axis=1), sg.ShapeError, "repeat", MM, "True"),
    ("repeat-negative", lambda: sg.repeat(M(), -1, axis=1), sg.ShapeError, "repeat", MM, "negative"),
    ("repeat-axis-bool", lambda: sg.repeat(M(), 2, axis=True), sg.ShapeError, "repeat", MM, "bool True"),
    ("tile-float", lambda: sg.tile(M(), 2.0), sg.ShapeError, "tile", MM, "(2.0,)"),
    ("tile-bool", lambda: sg.tile(M(), (True, 2)), sg.ShapeError, "tile", MM, "(True, 2)"),
    ("split-sections-float", lambda: sg.split(M(), 3.0, axis=1), sg.ShapeError, "split", MM, "float 3.0"),
    ("split-sections-bool", lambda: sg.split(M(), True, axis=1), sg.ShapeError, "split", MM, "bool True"),
    ("split-indices-float", lambda: sg.split(M(), [1.5], axis=1), sg.ShapeError, "split", MM, "[1.5]"),
    ("split-axis-2", lambda: sg.split(M(), 1, axis=2), sg.ShapeError, "split", MM, "axis 2 is out of range"),
    ("array_split-zero", lambda: sg.array_split(M(), 0, axis=1), sg.ShapeError, "array_split", MM, "positive"),
    ("moveaxis-float", lambda: sg.moveaxis(M(), 1.0, 0), sg.ShapeError, "moveaxis", MM, "float 1.0"),
    ("moveaxis-bool", lambda: sg.moveaxis(M(), True, 0), sg.ShapeError, "moveaxis", MM, "bool True"),
    ("swapaxes-2", lambda: sg.swapaxes(M(), 0, 2), sg.ShapeError, "swapaxes", MM, "axis 2 is out of range"),
    ("flip-axis-float", lambda: sg.flip(M(), 1.0), sg.ShapeError, "flip", MM, "float 1.0"),
    ("squeeze-size-3", lambda: sg.squeeze(M(), 1), sg.ShapeError, "squeeze", MM, "size 3"),
    # take, take_along_axis, x.at[...]
    ("take-mode", lambda: sg.take(M(), [0], axis=1, mode="bogus"), sg.ShapeError, "take", MM, "mode",
     "str 'bogus'"),
    ("take-axis-bool", lambda: sg.take(M(), [0], axis=True), sg.ShapeError, "take", MM, "bool True"),
    ("take-float-indices", lambda: sg.take(M(), [0.5], axis=1), sg.DTypeError, "take", MM, "must be integers"),
    ("take-out-of-bounds", lambda: sg.take(M(), [3], axis=1), sg.IndexingError, "take", MM, "index 3"),
    ("take_along_axis-out-of-bounds", lambda: sg.take_along_axis(M(), [[0], [3]], axis=1), sg.IndexingError,
     "take_along_axis", MM, "index 3"),
    ("at-multiply-unique-str", lambda: v().at[[0]].multiply(2.0, unique_indices="no"), sg.DTypeError,
     "at_multiply", V, "unique_indices", "str 'no'"),
    # statistics and products
    ("var-ddof-str", lambda: sg.var(M(), ddof="1"), sg.DTypeError, "var", MM, "ddof", "str '1'"),
    ("var-ddof-bool", lambda: sg.var(M(), ddof=True), sg.DTypeError, "var", MM, "ddof", "bool True"),
    ("var-ddof-None", lambda: sg.var(M(), ddof=None), sg.DTypeError, "var", MM, "ddof", "NoneType"),
    ("std-ddof-list", lambda: sg.std(M(), ddof=[1]), sg.DTypeError, "var", MM, "ddof", "list"),
    ("var-keepdims-str", lambda: sg.var(M(), 0, keepdims="no"), sg.DTypeError, "keepdims", "str 'no'"),
    ("median-keepdims-int", lambda: sg.median(M(), 1, keepdims=1), sg.DTypeError, "median", MM, "keepdims",
     "int 1"),
    ("median-axis-bool", lambda: sg.median(M(), True), sg.ShapeError, "median", MM, "bool True"),
    ("average-returned-str", lambda: sg.average(M(), 0, returned="no"), sg.DTypeError, "average", MM,
     "returned", "str 'no'"),
    ("average-axis-3", lambda: sg.average(M(), 3), sg.ShapeError, "average", MM, "axis 3 is out of range"),
    ("prod-dtype-bogus", lambda: sg.prod(M(), dtype="bogus"), sg.DTypeError, "cast", MM, "'bogus' is not a dtype"),
    ("prod-axis-float", lambda: sg.prod(M(), 1.0), sg.ShapeError, "prod", MM, "float 1.0"),
    ("cumsum-dtype-bogus", lambda: sg.cumsum(M(), dtype="bogus"), sg.DTypeError, "cast", MM, "'bogus'"),
    # linear algebra flags and orders
    ("solve_triangular-lower-str", lambda: sg.linalg.solve_triangular(Q(), v(), lower="no"), sg.DTypeError,
     "solve_triangular", QQ, "lower", "str 'no'"),
    ("solve_triangular-lower-None", lambda: sg.linalg.solve_triangular(Q(), v(), lower=None), sg.DTypeError,
     "solve_triangular", QQ, "lower", "NoneType"),
    ("svd-full_matrices-int", lambda: sg.linalg.svd(Q(), full_matrices=1), sg.DTypeError, "svd", QQ,
     "full_matrices", "int 1"),
    ("norm-ord-bool", lambda: sg.linalg.norm(v(), ord=True), sg.ShapeError, "norm", V, "bool True"),
    ("norm-ord-3-matrix", lambda: sg.linalg.norm(M(), ord=3), sg.ShapeError, "norm", MM, "invalid order 3"),
    ("norm-ord-str-vector", lambda: sg.linalg.norm(v(), ord="2"), sg.ShapeError, "norm", V, "invalid order '2'"),
    ("norm-axis-float", lambda: sg.linalg.norm(M(), axis=1.0), sg.ShapeError, "norm", MM, "float 1.0"),
    ("norm-axis-bool", lambda: sg.linalg.norm(M(), axis=True), sg.ShapeError, "norm", MM, "bool True"),
    ("norm-keepdims-str", lambda: sg.linalg.norm(M(), keepdims="no"), sg.DTypeError, "norm", MM, "keepdims"),
    # scans with flags (sg.ops)
    ("linear_recurrence-reverse-str", lambda: OPS.linear_recurrence(v(), v(), reverse="no"), sg.DTypeError,
     "linear_recurrence", V, "reverse", "str 'no'"),
    ("permute-inverse-int", lambda: OPS.permute(v(), sg.argsort(v()), inverse=1), sg.DTypeError, "permute", V,
     "inverse", "int 1"),
    ("tie_mean-axis-float", lambda: OPS.tie_mean(v(), v(), axis=0.0), sg.ShapeError, "tie_mean", V, "float 0.0"),
]
for _label, _misuse, _error, *_words in NEW_MISUSES:
    add(_label, _misuse, _error, *_words)

if sg.ops.special.scipy_special is not None:  # SciPy is an optional extra
    for _label, _n, _words in [("float", 1.0, "1.0"), ("bool", True, "True"), ("negative", -1, "-1"),
                               ("str", "1", "'1'")]:
        add(f"polygamma-n-{_label}", lambda n=_n: sg.special.polygamma(n, v()), sg.DTypeError, "polygamma",
            "order n", _words)

# Parameters given to the new ops directly: their shape rules demand the normal form, as for files.
DIRECT_NEW = [
    ("argsort-kind", lambda: OPS.ARGSORT(v(), axis=0, kind="fast"), sg.ShapeError, "argsort", V, "'fast'"),
    ("argsort-axis-negative", lambda: OPS.ARGSORT(v(), axis=-1, kind=None), sg.ShapeError, "argsort", V,
     "normal form"),
    ("cumsum-axis-bool", lambda: OPS.CUMSUM(M(), axis=False), sg.ShapeError, "cumsum", MM, "bool False"),
    ("cumprod-axis-2", lambda: OPS.CUMPROD(M(), axis=2), sg.ShapeError, "cumprod", MM, "axis 2"),
    ("sort-extra-param", lambda: OPS.SORT(v(), axis=0, kind="stable"), sg.ShapeError, "sort", V, "kind"),
    ("linear_recurrence-reverse-int", lambda: OPS.LINEAR_RECURRENCE(v(), v(), axis=0, reverse=1), sg.DTypeError,
     "linear_recurrence", V, "reverse"),
    ("permute-inverse-str", lambda: OPS.PERMUTE(v(), sg.argsort(v()), axis=0, inverse="no"), sg.DTypeError,
     "permute", V, "inverse"),
    ("tie_mean-axis-negative", lambda: OPS.TIE_MEAN(v(), v(), axis=-1), sg.ShapeError, "tie_mean", V,
     "normal form"),
    ("roll-shift-float", lambda: OPS.ROLL(v(), shift=(1.0,), axis=(0,)), sg.ShapeError, "roll", V, "float 1.0"),
    ("roll-axis-int", lambda: OPS.ROLL(M(), shift=(1,), axis=1), sg.ShapeError, "roll", MM, "shift"),
    ("roll-axis-unsorted", lambda: OPS.ROLL(M(), shift=(1, 1), axis=(1, 0)), sg.ShapeError, "roll", MM,
     "normal form"),
    ("pad-mode", lambda: OPS.PAD(v(), pad_width=((1, 1),), mode="wrap", constant_values=((0.0, 0.0),)),
     sg.ShapeError, "pad", V, "'wrap'"),
    ("pad-width-pairs", lambda: OPS.PAD(v(), pad_width=(1, 1), mode="edge", constant_values=((0.0, 0.0),)),
     sg.ShapeError, "pad", V, "pair"),
    ("pad-constants-int", lambda: OPS.PAD(v(), pad_width=((1, 1),), mode="constant", constant_values=((0, 0),)),
     sg.ShapeError, "pad", V, "normal form"),
    ("pad_adjoint-too-wide", lambda: OPS.PAD_ADJOINT(v(), pad_width=((2, 2),), mode="constant"), sg.ShapeError,
     "pad_adjoint", V, "shorter"),
    ("pad_adjoint-mode", lambda: OPS.PAD_ADJOINT(v(), pad_width=((1, 1),), mode=None), sg.ShapeError,
     "pad_adjoint", V, "mode"),
    ("take_along_axis-axis-negative", lambda: OPS.TAKE_ALONG_AXIS(M(), sg.constant([[0], [1]]), axis=-1),
     sg.ShapeError, "take_along_axis", MM, "normal form"),
    ("scatter_along_axis-out-of-bounds", lambda: OPS.SCATTER_ALONG_AXIS(
        sg.matrix("d", 1, 3), M(), sg.constant([[0, 1, 2]]), axis=0), sg.IndexingError, "scatter_along_axis",
     MM, "index 2"),
    ("scatter_along_axis-shape", lambda: OPS.SCATTER_ALONG_AXIS(
        sg.matrix("d", 2, 2), M(), sg.constant([[0], [1]]), axis=1), sg.ShapeError, "scatter_along_axis",
     "'d' f64[2,2]", "does not fit"),
    ("at_set-extra", lambda: OPS.AT_SET(v(), s(), spec=(("int", 0),), unique_indices=True), sg.ShapeError,
     "at_set", V, "unique_indices"),
    ("at_set-bad-spec", lambda: OPS.AT_SET(v(), s(), spec=(("zzz",),)), sg.ShapeError, "at_set", V,
     "bad index item"),
    ("at_multiply-unique-int", lambda: OPS.AT_MULTIPLY(v(), s(), spec=(("int", 0),), unique_indices=1),
     sg.DTypeError, "at_multiply", V, "unique_indices"),
    ("solve_triangular-lower-int", lambda: OPS.SOLVE_TRIANGULAR(Q(), v(), lower=1), sg.DTypeError,
     "solve_triangular", QQ, "lower"),
    ("solve_triangular-no-lower", lambda: OPS.SOLVE_TRIANGULAR(Q(), v()), sg.ShapeError, "solve_triangular", QQ,
     "lower"),
    ("solve-extra", lambda: OPS.SOLVE(Q(), v(), lower=True), sg.ShapeError, "solve", QQ, "lower"),
]
for _label, _misuse, _error, *_words in DIRECT_NEW:
    add(f"direct-{_label}", _misuse, _error, *_words)


# --- values refused at run time ------------------------------------------------------------------------
def _one_hot_out_of_range():
    labels = y()
    return sg.evaluate(sg.one_hot(labels, 3), {labels: np.array([0, 3])})


def _one_hot_negative_compiled():
    labels = y()
    return sg.function([labels], sg.one_hot(labels, 3))(np.array([-1, 0]))


def _cross_entropy_label_out_of_range():
    logits, labels = M(), y()
    return sg.evaluate(sg.cross_entropy(logits, labels), {logits: np.zeros((2, 3)), labels: np.array([0, 5])})


def _cross_entropy_label_compiled():
    logits, labels = M(), y()
    return sg.function([logits, labels], sg.cross_entropy(logits, labels))(np.zeros((2, 3)), np.array([7, 0]))


for _label, _misuse in [("one_hot-label-3", _one_hot_out_of_range),
                        ("one_hot-label-negative", _one_hot_negative_compiled),
                        ("cross_entropy-label-5", _cross_entropy_label_out_of_range),
                        ("cross_entropy-label-compiled", _cross_entropy_label_compiled)]:
    add(f"runtime-{_label}", _misuse, sg.IndexingError, "labels must lie in [0, 3)", "while computing one_hot")


# --- saving what cannot be loaded -------------------------------------------------------------------------
def _save(outputs) -> None:
    sg.save(outputs, os.path.join(tempfile.mkdtemp(), "graph.json"))


INT_NAMED_OP = sg.Op(12345, np.negative, lambda x: (x.shape, x.dtype))
EMPTY_NAMED_OP = sg.Op("", np.negative, lambda x: (x.shape, x.dtype))
SAVES = [
    ("placeholder-float128", lambda: _save(sg.placeholder("q", (2,), "float128") * 2.0), "'q' f128[2]", "float128"),
    ("constant-float128", lambda: _save(sg.constant(np.ones(2, np.longdouble))), "constant", "float128"),
    ("op-named-12345", lambda: _save(INT_NAMED_OP(v())), "12345", "non-empty string"),
    ("op-named-empty", lambda: _save(EMPTY_NAMED_OP(v())), "''", "non-empty string"),
]
for _label, _misuse, *_words in SAVES:
    add(f"save-{_label}", _misuse, sg.FormatError, "save", *_words)


# --- loading files whose parameters the ops refuse ----------------------------------------------------------
def _document() -> dict:
    """A saved graph using every op with parameters, as JSON objects."""
    with sg.Graph():
        x, A, labels = v(), M(), y()
        outputs = [sg.sum(A, 0), sg.max(A, 1, keepdims=True), sg.transpose(A), sg.reshape(A, (3, 2)),
                   sg.broadcast_to(x, (2, 3)), sg.leaky_relu(x, 0.1), sg.cast(x, "float32"), sg.one_hot(labels, 3),
                   sg.argmax(A, 1), sg.concatenate([x, x]), x[1:3], sg.exp(x), sg.log_softmax(A)]
        return to_json(outputs)


def _edited(op: str, **params):
    def misuse():
        document = _document()
        record = next(r for r in document["nodes"] if r["op"] == op)
        record["params"].update(params)
        return from_json(document)
    return misuse


LOADS = [
    ("sum-axis-9", _edited("sum", axis=[9]), "sum", "axis 9 is out of range"),
    ("sum-axis-true", _edited("sum", axis=[True]), "sum", "bool True"),
    ("sum-axis-int", _edited("sum", axis=0), "sum", "normal form"),
    ("max-keepdims-str", _edited("max", keepdims="no"), "max", "keepdims"),
    ("max-axis-repeated", _edited("max", axis=[1, 1]), "max", "repeated axis"),
    ("transpose-axes-2-1", _edited("transpose", axes=[2, 1]), "transpose", "axis 2 is out of range"),
    ("reshape-float", _edited("reshape", shape=[{"float": "2.5"}, 2]), "reshape", "float 2.5"),
    ("broadcast_to-negative", _edited("broadcast_to", shape=[-2, 3]), "broadcast_to", "non-negative"),
    ("leaky_relu-alpha-str", _edited("leaky_relu", alpha="a"), "leaky_relu", "real number"),
    ("leaky_relu-alpha-null", _edited("leaky_relu", alpha=None), "leaky_relu", "real number"),
    ("cast-dtype-string", _edited("cast", dtype="float32"), "cast", "normal form"),
    ("one_hot-depth-negative", _edited("one_hot", depth=-1), "one_hot", "at least 0"),
    ("one_hot-dtype-missing", _edited("one_hot", dtype=None), "one_hot", "normal form"),
    ("argmax-axis-7", _edited("argmax", axis=7), "argmax", "axis 7 is out of range"),
    ("concatenate-axis-float", _edited("concatenate", axis={"float": "0.0"}), "concatenate", "float 0.0"),
    ("getitem-step-0", _edited("getitem", spec=[["slice", 1, 2, 0]]), "getitem", "bad index item"),
    ("getitem-unknown-kind", _edited("getitem", spec=[["zzz"]]), "getitem", "bad index item"),
    ("exp-extra-param", _edited("exp", foo=1), "exp", "foo"),
    ("log_softmax-axis-5", _edited("log_softmax", axis=[5]), "log_softmax", "axis 5 is out of range"),
]
for _label, _misuse, *_words in LOADS:
    add(f"load-{_label}", _misuse, sg.FormatError, "load: node", "cannot be rebuilt", *_words)


# --- the test ----------------------------------------------------------------------------------------------
def message(err: BaseException) -> str:
    """The error's text and its notes (the evaluator's note names the node at run time)."""
    return "\n".join([str(err), *getattr(err, "__notes__", [])])


def test_the_catalogue_is_large_and_its_ids_distinct():
    ids = [case[0] for case in MISUSES]
    assert len(ids) >= 250
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("misuse, error, words", [case[1:] for case in MISUSES], ids=[case[0] for case in MISUSES])
def test_misuse_raises_a_clear_error(misuse, error, words):
    with sg.Graph():
        with pytest.raises(error) as info:
            misuse()
    text = message(info.value)
    missing = [w for w in words if w not in text]
    assert not missing, f"{missing} not in: {text}"


def outcome(misuse, error, words) -> str:
    """How one misuse turns out: clear, other symgrad error, generic exception, or silently accepted."""
    try:
        with sg.Graph():
            misuse()
    except Exception as err:  # noqa: BLE001 - every outcome is counted
        text = message(err)
        if isinstance(err, error) and isinstance(err, getattr(sg, "Error", ())) and all(w in text for w in words):
            return "clear symgrad error"
        if isinstance(err, getattr(sg, "Error", ())):
            return "symgrad error, other class or message"
        return "generic exception"
    return "silently accepted"


if __name__ == "__main__":
    counts = Counter()
    for case_id, misuse, error, words in MISUSES:
        result = outcome(misuse, error, words)
        counts[result] += 1
        if "-v" in sys.argv:
            print(f"{result:40} {case_id}")
    print(f"{len(MISUSES)} misuses")
    for result, count in counts.most_common():
        print(f"  {count:4}  {result}")


# --- what NumPy accepts is accepted, and means what it means in NumPy ----------------------------------------
A = np.array([[0.5, -2.0, 3.0], [1.5, 4.0, -1.0]])
W = np.array([0.25, -1.5, 2.0])
ACCEPTED = [
    ("x[()]", lambda x, w: x[()], lambda a, b: a[()]),
    ("clip without a lower bound", lambda x, w: sg.clip(x, None, 1.0), lambda a, b: np.clip(a, None, 1.0)),
    ("clip without an upper bound", lambda x, w: sg.clip(x, 0.0, None), lambda a, b: np.clip(a, 0.0, None)),
    ("clip without bounds", lambda x, w: sg.clip(x, None, None), lambda a, b: np.clip(a, None, None)),
    ("argmax of all", lambda x, w: sg.argmax(x, None), lambda a, b: np.argmax(a, None)),
    ("argmin of all", lambda x, w: sg.argmin(x, axis=None), lambda a, b: np.argmin(a, None)),
    ("argmax axis np.int8", lambda x, w: sg.argmax(x, np.int8(0)), lambda a, b: np.argmax(a, 0)),
    ("expand_dims of a tuple", lambda x, w: sg.expand_dims(x, (0, -1)), lambda a, b: np.expand_dims(a, (0, -1))),
    ("transpose given a tuple", lambda x, w: x.transpose((1, 0)), lambda a, b: a.transpose((1, 0))),
    ("transpose given a list", lambda x, w: sg.transpose(x, [-1, 0]), lambda a, b: np.transpose(a, [-1, 0])),
    ("concatenate axis None", lambda x, w: sg.concatenate([x, w], None),
     lambda a, b: np.concatenate([a, b], axis=None)),
    ("concatenate an array's rows", lambda x, w: sg.concatenate(x), lambda a, b: np.concatenate(a)),
    ("concatenate axis -1", lambda x, w: sg.concatenate([x, x], -1), lambda a, b: np.concatenate([a, a], -1)),
    ("stack axis -1", lambda x, w: sg.stack([w, w], -1), lambda a, b: np.stack([b, b], -1)),
    ("broadcast_to an int array shape", lambda x, w: sg.broadcast_to(w, np.array([2, 3])),
     lambda a, b: np.broadcast_to(b, np.array([2, 3]))),
    ("broadcast_to an int", lambda x, w: sg.broadcast_to(w[:1], 4), lambda a, b: np.broadcast_to(b[:1], 4)),
    ("reshape with np.int64", lambda x, w: sg.reshape(x, (np.int64(3), -1)), lambda a, b: a.reshape(3, -1)),
    ("sum keepdims np.bool_", lambda x, w: sg.sum(x, 0, keepdims=np.True_), lambda a, b: a.sum(0, keepdims=True)),
    ("sum over axis list", lambda x, w: sg.sum(x, [0, -1]), lambda a, b: a.sum((0, 1))),
    ("index with np.int64 slice", lambda x, w: w[np.int64(1):], lambda a, b: b[1:]),
    ("index with an empty list", lambda x, w: w[[]], lambda a, b: b[[]]),
    ("leaky_relu int slope", lambda x, w: sg.leaky_relu(w, 1), lambda a, b: np.where(b > 0, b, b * 1.0)),
    ("one_hot depth np.int32", lambda x, w: sg.one_hot(sg.constant([2, 0]), np.int32(3)),
     lambda a, b: np.eye(3)[[2, 0]]),
    ("roll np.int64 shift", lambda x, w: sg.roll(x, np.int64(-1), np.int8(1)), lambda a, b: np.roll(a, -1, 1)),
    ("roll shifts on a list of axes", lambda x, w: sg.roll(x, [1, 2], [0, -1]),
     lambda a, b: np.roll(a, (1, 2), (0, 1))),
    ("argsort kind stable", lambda x, w: sg.argsort(w, kind="stable"), lambda a, b: np.argsort(b, kind="stable")),
    ("pad np.int64 width, np.float32 fill", lambda x, w: sg.pad(w, np.int64(1), constant_values=np.float32(2.5)),
     lambda a, b: np.pad(b, 1, constant_values=2.5)),
    ("var with a float ddof", lambda x, w: sg.var(x, 1, ddof=0.5), lambda a, b: np.var(a, 1, ddof=0.5)),
    ("tile np.int64 reps", lambda x, w: sg.tile(w, np.int64(2)), lambda a, b: np.tile(b, 2)),
    ("take_along_axis np.int8 axis", lambda x, w: sg.take_along_axis(x, np.array([[2], [0]]), np.int8(-1)),
     lambda a, b: np.take_along_axis(a, np.array([[2], [0]]), -1)),
]


@pytest.mark.parametrize("build, numpy", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_valid_arguments_at_the_edges_give_numpys_values_in_both_executors(build, numpy):
    with sg.Graph():
        x, w = sg.matrix("x", 2, 3), sg.vector("w", 3)
        out = build(x, w)
        expected = numpy(A, W)
        evaluated = sg.evaluate(out, {x: A, w: W})
        compiled = sg.function([x, w], out)(A, W)
    for value in (evaluated, compiled):
        assert value.shape == expected.shape and value.dtype == expected.dtype
        np.testing.assert_array_equal(value, expected)
