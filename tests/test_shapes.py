"""NumPy's array-manipulation routines: values against NumPy, gradients and Hessian-vector
products against central differences of the NumPy function, at ordinary and edge points (size-1
and empty pieces, reflections longer than the axis, run-time dimensions), and clear errors."""

import numpy as np
import pytest

import symgrad as sg
from numpy_oracle import check_against_numpy, check_refused

RNG = np.random.default_rng(14)


def normal(*shape):
    return RNG.standard_normal(shape)


def weighted(pieces, axis, join):
    """Pieces joined back, each scaled differently, so a gradient tells them apart."""
    return join([p * float(k + 1) for k, p in enumerate(pieces)], axis)


# (id, build, NumPy reference, arguments, static shapes or None)
CASES = [
    ("squeeze_runtime", lambda x: sg.squeeze(x), np.squeeze, [normal(4, 1, 3)], [(None, 1, 3)]),
    ("squeeze_two_runtime", lambda x: sg.squeeze(x, 1), lambda x: np.squeeze(x, 1), [normal(4, 1, 2)],
     [(None, 1, None)]),
    ("squeeze_size_one_everywhere", lambda x: x.squeeze(), np.squeeze, [normal(1, 1)], None),
    ("moveaxis_runtime", lambda x: sg.moveaxis(x, -1, 0), lambda x: np.moveaxis(x, -1, 0), [normal(2, 3, 4)],
     [(None, 3, None)]),
    ("swapaxes_same_axis", lambda x: sg.swapaxes(x, 1, -1), lambda x: np.swapaxes(x, 1, -1), [normal(2, 3)], None),
    ("flip_runtime", lambda x: sg.flip(x, (0, 1)), lambda x: np.flip(x, (0, 1)), [normal(3, 2)], [(None, None)]),
    ("roll_runtime", lambda x: sg.roll(x, -4, 0), lambda x: np.roll(x, -4, 0), [normal(3, 2)], [(None, 2)]),
    ("roll_flat_runtime", lambda x: sg.roll(x, 5), lambda x: np.roll(x, 5), [normal(3, 2)], [(None, 2)]),
    ("roll_repeated_axis", lambda x: sg.roll(x, (1, 1), (1, 1)), lambda x: np.roll(x, (1, 1), (1, 1)),
     [normal(2, 3)], None),
    ("repeat_runtime_other_axis", lambda x: sg.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, axis=1),
     [normal(3, 2)], [(None, 2)]),
    ("repeat_zero", lambda x: sg.repeat(x, [0, 0, 2], axis=0), lambda x: np.repeat(x, [0, 0, 2], axis=0),
     [normal(3, 2)], None),
    ("repeat_size_one", lambda x: sg.repeat(x, 4, axis=0), lambda x: np.repeat(x, 4, axis=0), [normal(1, 2)], None),
    ("tile_runtime", lambda x: sg.tile(x, (3, 2)), lambda x: np.tile(x, (3, 2)), [normal(2, 2)], [(None, 2)]),
    ("tile_scalar", lambda x: sg.tile(x, 3), lambda x: np.tile(x, 3), [np.array(1.5)], None),
    ("tile_more_axes", lambda x: sg.tile(x, (2, 1, 1)), lambda x: np.tile(x, (2, 1, 1)), [normal(3)], None),
    ("pad_reflect_longer_than_axis", lambda x: sg.pad(x, (5, 4), "reflect"), lambda x: np.pad(x, (5, 4), "reflect"),
     [normal(3)], None),
    ("pad_reflect_size_one", lambda x: sg.pad(x, ((2, 1), (0, 0)), "reflect"),
     lambda x: np.pad(x, ((2, 1), (0, 0)), "reflect"), [normal(1, 3)], None),
    ("pad_edge_runtime", lambda x: sg.pad(x, ((1, 3), (2, 0)), "edge"), lambda x: np.pad(x, ((1, 3), (2, 0)), "edge"),
     [normal(2, 3)], [(None, 3)]),
    ("pad_constant_runtime", lambda x: sg.pad(x, 1, constant_values=-2.0),
     lambda x: np.pad(x, 1, constant_values=-2.0), [normal(2, 3)], [(None, None)]),
    ("pad_reflect_runtime", lambda x: sg.pad(x, (3, 2), "reflect"), lambda x: np.pad(x, (3, 2), "reflect"),
     [normal(4, 3)], [(None, 3)]),
    ("split_empty_pieces", lambda x: weighted(sg.split(x, [2, 2, 9]), 0, sg.concatenate),
     lambda x: weighted(np.split(x, [2, 2, 9]), 0, np.concatenate), [normal(4, 2)], None),
    ("split_runtime_axis", lambda x: weighted(sg.split(x, [1, 3], axis=0), 0, sg.concatenate),
     lambda x: weighted(np.split(x, [1, 3], axis=0), 0, np.concatenate), [normal(5, 2)], [(None, 2)]),
    ("array_split_more_sections_than_elements", lambda x: weighted(sg.array_split(x, 5), 0, sg.concatenate),
     lambda x: weighted(np.array_split(x, 5), 0, np.concatenate), [normal(3)], None),
    ("hstack_scalars", lambda a, b: sg.hstack([a, b, a * b]), lambda a, b: np.hstack([a, b, a * b]),
     [np.array(0.5), np.array(-1.5)], None),
    ("vstack_vector_and_matrix", lambda a, b: sg.vstack((a, b)), lambda a, b: np.vstack((a, b)),
     [normal(3), normal(2, 3)], None),
    ("column_stack_runtime", lambda a, b: sg.column_stack([a, b]), lambda a, b: np.column_stack([a, b]),
     [normal(4), normal(4, 2)], [(None,), (None, 2)]),
    ("atleast_2d_scalar", lambda a: sg.atleast_2d(a), np.atleast_2d, [np.array(2.0)], None),
    ("atleast_3d_matrix", lambda a: sg.atleast_3d(a), np.atleast_3d, [normal(2, 3)], None),
    ("atleast_1d_of_several", lambda a, b: sg.concatenate(sg.atleast_1d(a, b)),
     lambda a, b: np.concatenate(np.atleast_1d(a, b)), [np.array(3.0), normal(2)], None),
    ("ravel_runtime", lambda x: x.ravel(), np.ravel, [normal(2, 3)], [(None, None)]),
]


@pytest.mark.parametrize("build, ref, args, shapes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_numpy_to_second_order(build, ref, args, shapes):
    check_against_numpy(build, ref, *args, shapes=shapes)


def test_squeeze_keeps_runtime_dimensions_and_static_shapes_follow_numpy():
    x = sg.placeholder("x", (None, 1, 3, 1))
    assert sg.squeeze(x).shape == (None, 3)
    assert sg.squeeze(x, -1).shape == (None, 1, 3)
    assert sg.moveaxis(x, [0, 1], [-1, -2]).shape == np.moveaxis(np.empty((7, 1, 3, 1)), [0, 1], [-1, -2]).shape[:2] \
        + (1, None)
    assert [p.shape for p in sg.split(x, [1], axis=2)] == [(None, 1, 1, 1), (None, 1, 2, 1)]
    assert sg.ravel(x).shape == (None,)


def test_split_and_atleast_return_lists_like_numpy():
    v = sg.constant(np.arange(6.0))
    pieces = sg.split(v, 3)
    assert isinstance(pieces, list) and [p.eval().tolist() for p in pieces] == [[0, 1], [2, 3], [4, 5]]
    assert [p.shape for p in sg.array_split(v, 4)] == [a.shape for a in np.array_split(np.arange(6.0), 4)]
    a, b = sg.atleast_2d(sg.constant(1.0), v)
    assert (a.shape, b.shape) == ((1, 1), (1, 6))


def test_methods_are_the_functions():
    x = sg.matrix("x", 1, 3)
    assert x.flatten() is x.ravel() is sg.ravel(x)
    assert x.squeeze() is sg.squeeze(x)
    assert x.swapaxes(0, 1) is sg.swapaxes(x, 0, 1)
    assert x.repeat(2, axis=1) is sg.repeat(x, 2, axis=1)


def test_int_repeat_is_a_broadcast_and_counts_a_gather():
    x = sg.matrix("x", 2, 3)
    assert "getitem" not in sg.listing(sg.repeat(x, 3, axis=0))
    cost = sg.sum(sg.repeat(x, 3, axis=1) ** 2)
    assert "scatter_add" not in sg.listing(sg.grad(cost, x))  # a sum undoes a broadcast
    assert "getitem" in sg.listing(sg.repeat(x, [1, 2, 0], axis=1))


def test_identities_return_the_input():
    x = sg.matrix("x", 2, 3)
    assert sg.roll(x, 3, 1) is x and sg.roll(x, 6) is x and sg.pad(x, 0) is x
    assert sg.tile(x, 1) is x and sg.repeat(x, 1, axis=0) is x and sg.squeeze(x) is x
    assert sg.moveaxis(x, 0, 0) is x and sg.flip(x, ()) is x


def test_generated_code_spells_roll_and_pad_with_numpy():
    x = sg.matrix("x", 2, 3)
    cost = sg.sum(sg.roll(sg.pad(x, 1, "reflect"), 1, 0) ** 2)
    f = sg.function([x], [cost, sg.grad(cost, x)])
    assert "np.roll(" in f.source and "np.pad(" in f.source and "'reflect'" in f.source
    assert "pad_adjoint" in f.source  # the gradient folds the border back


def test_pad_adjoint_is_the_transpose_of_pad():
    # <pad(x), y> == <x, pad_adjoint(y)> for every mode: the reverse rule is exact
    x, y = normal(3, 4), normal(8, 7)
    for mode in ("constant", "edge", "reflect"):
        xs = sg.placeholder("x", (3, 4))
        padded = sg.pad(xs, ((2, 3), (1, 2)), mode)
        (x_bar,) = sg.vjp([padded], [xs], [y])
        np.testing.assert_allclose(np.sum(np.pad(x, ((2, 3), (1, 2)), mode) * y),
                                   np.sum(x * x_bar.eval({xs: x})), rtol=1e-13)


def test_int_and_bool_arrays_move_without_derivatives():
    i = sg.placeholder("i", (2, 3), "int64")
    value = np.arange(6).reshape(2, 3)
    for f, ref in ((lambda a: sg.roll(a, 1), lambda a: np.roll(a, 1)),
                   (lambda a: sg.pad(a, 1, "edge"), lambda a: np.pad(a, 1, "edge")),
                   (lambda a: sg.tile(a, 2), lambda a: np.tile(a, 2))):
        out = f(i)
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out.eval({i: value}), ref(value))


ERRORS = [
    ("squeeze_not_one", lambda: sg.squeeze(sg.matrix("a", 2, 3), 1), sg.ShapeError,
     ["squeeze", "axis 1", "placeholder 'a' f64[2,3]", "size 3"]),
    ("squeeze_runtime", lambda: sg.squeeze(sg.matrix("a", None, 3), 0), sg.ShapeError,
     ["squeeze", "known only at run time"]),
    ("moveaxis_out_of_range", lambda: sg.moveaxis(sg.matrix("a", 2, 3), 2, 0), sg.ShapeError,
     ["moveaxis", "axis 2", "placeholder 'a'"]),
    ("moveaxis_repeated", lambda: sg.moveaxis(sg.matrix("a", 2, 3), [0, 0], [0, 1]), sg.ShapeError,
     ["moveaxis", "repeated"]),
    ("swapaxes_bad", lambda: sg.swapaxes(sg.vector("a", 2), 0, 1), sg.ShapeError, ["swapaxes", "axis 1"]),
    ("flip_bad_axis", lambda: sg.flip(sg.vector("a", 2), 3), sg.ShapeError, ["flip", "axis 3"]),
    ("roll_mismatch", lambda: sg.roll(sg.matrix("a", 2, 3), (1, 2, 3), (0, 1)), sg.ShapeError,
     ["roll", "3 shifts for 2 axes"]),
    ("roll_tuple_without_axis", lambda: sg.roll(sg.vector("a", 2), (1, 2)), sg.ShapeError, ["roll", "axis=None"]),
    ("repeat_counts", lambda: sg.repeat(sg.vector("a", 3), [1, 2]), sg.ShapeError,
     ["repeat", "2 repeat counts", "length 3"]),
    ("repeat_negative", lambda: sg.repeat(sg.vector("a", 3), -1), sg.ShapeError, ["repeat", "negative"]),
    ("repeat_runtime", lambda: sg.repeat(sg.vector("a", None), 2), sg.ShapeError,
     ["repeat", "known only at run time"]),
    ("tile_negative", lambda: sg.tile(sg.vector("a", 3), -2), sg.ShapeError, ["tile", "non-negative"]),
    ("pad_mode", lambda: sg.pad(sg.vector("a", 3), 1, "wrap"), sg.ShapeError, ["pad", "'wrap'", "reflect"]),
    ("pad_negative", lambda: sg.pad(sg.vector("a", 3), -1), sg.ShapeError, ["pad", "pad width -1 must be at least 0"]),
    ("pad_widths", lambda: sg.pad(sg.matrix("a", 2, 3), [(1, 2), (3, 4), (5, 6)]), sg.ShapeError,
     ["pad", "does not fit the 2 axes", "placeholder 'a'"]),
    ("pad_empty_reflect", lambda: sg.pad(sg.vector("a", 0), 1, "reflect"), sg.ShapeError, ["pad", "empty axis"]),
    ("pad_int_fraction", lambda: sg.pad(sg.vector("a", 2, dtype="int64"), 1, constant_values=0.5), sg.DTypeError,
     ["pad", "0.5", "i64[2]"]),
    ("split_unequal", lambda: sg.split(sg.vector("a", 7), 3), sg.ShapeError,
     ["split", "length 7", "3 equal sections", "array_split"]),
    ("split_zero_sections", lambda: sg.array_split(sg.vector("a", 7), 0), sg.ShapeError, ["array_split", "positive"]),
    ("split_runtime_sections", lambda: sg.split(sg.vector("a", None), 2), sg.ShapeError,
     ["split", "known only at run time", "indices"]),
    ("split_axis", lambda: sg.split(sg.vector("a", 4), 2, axis=1), sg.ShapeError, ["split", "axis 1"]),
    ("hstack_node", lambda: sg.hstack(sg.vector("a", 4)), sg.ShapeError, ["hstack", "list or tuple"]),
    ("vstack_empty", lambda: sg.vstack([]), sg.ShapeError, ["vstack", "at least one"]),
    ("vstack_mismatch", lambda: sg.vstack([sg.vector("a", 2), sg.vector("b", 3)]), sg.ShapeError,
     ["concatenate", "axis 1"]),
]


@pytest.mark.parametrize("make, error, fragments", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_input_is_refused_when_built(make, error, fragments):
    check_refused(make, error, fragments)
