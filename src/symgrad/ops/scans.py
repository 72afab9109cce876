"""Scans and orderings along one axis: cumsum, cumprod, sort, argsort.

cumsum's reverse rule is a cumsum run backwards. cumprod's rules never divide
by the product (which is 0 once an element is 0): they are written with
``linear_recurrence``, the scan y[k] = a[k] y[k-1] + b[k], whose own rules are
again linear recurrences and shifts, so derivatives of every order are exact
polynomials in the input, at zeros too. ``prod``'s rules (ops.reductions) use
the same exclusive products.

sort's derivative moves the cotangent back through the sorting permutation;
elements that tie share it equally, as ``max``'s ties do (``sort(x)[-1]`` has
``max(x)``'s gradient). argsort is an integer result without a derivative.

Result dtypes are NumPy's: cumsum and cumprod of bools and narrower integers
accumulate in the platform integer (``np.cumsum``), sort keeps the dtype,
argsort gives the platform integer.
"""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError, ShapeError
from ..ir import Node, as_nodes, disconnected_rule, undefined_rule, zero_rule
from ..types import (check_bool_argument, check_choice_argument, combine_dtypes, label, normalize_axis,
                     require_canonical, sum_dtype)
from ._define import along_axis_sparsity, batch_axes, no_dependence, primitive
from .select import cast
from .shape import concatenate, getitem, reshape, zeros_like


def _axis(name: str, x: Node, axis) -> int:
    """``axis`` as a non-negative int for an op along one axis of ``x``."""
    return normalize_axis(name, x.ndim, axis, x)


def _along(name: str, x: Node, axis) -> tuple[Node, int]:
    """``x`` and the axis to scan: NumPy flattens ``x`` when ``axis`` is None."""
    if axis is None:
        return reshape(x, (-1,)), 0
    return x, _axis(name, x, axis)


def _infer_along(name: str, result_dtype, flags: tuple = ()):
    """The shape rule of an op along one axis; ``flags`` names its bool parameters."""
    def infer(x, *others, axis, **params):
        if set(params) != set(flags):
            raise ShapeError(f"{name}: takes the parameters axis{''.join(', ' + f for f in flags)}, "
                             f"not {sorted(params)} (for {x.describe()})")
        require_canonical(name, "axis", axis, normalize_axis(name, x.ndim, axis, x), x)
        for flag in flags:
            require_canonical(name, flag, params[flag], check_bool_argument(name, params[flag], x, flag), x)
        for other in others:
            if other.ndim != x.ndim or any(a is not None and b is not None and a != b
                                           for a, b in zip(x.shape, other.shape)):
                raise ShapeError(f"{name}: {x.describe()} and {other.describe()} differ in shape")
        return x.shape, result_dtype(x, *others)
    return infer


def _flip(x: Node, axis: int) -> Node:
    return getitem(x, (slice(None),) * axis + (slice(None, None, -1),))


def _shift(x: Node, axis: int, fill: float, later: bool = True) -> Node:
    """``x`` moved one place along ``axis`` (toward the end if ``later``), ``fill`` in the freed place."""
    lead = (slice(None),) * axis
    edge = zeros_like(getitem(x, lead + (slice(None, 1),)))
    if fill:
        edge = edge + fill
    if later:
        return concatenate([edge, getitem(x, lead + (slice(None, -1),))], axis)
    return concatenate([getitem(x, lead + (slice(1, None),)), edge], axis)


# --- linear recurrence ------------------------------------------------------------------------
# y[k] = a[k] y[k-1] + b[k] from y[-1] = 0 (reverse: y[k] = a[k+1] y[k+1] + b[k] from y[n] = 0).
# Either way a[j] links places j-1 and j, and a[0] is never used, so the transpose of the
# recurrence in one direction is the recurrence in the other with the same a.
#
# The forward doubles its reach each step (Hillis-Steele): log2(n) vectorised passes, n log n
# multiplications. A window's product of a is formed only where it is used, but it may
# overflow where the sequential recurrence would not (products beyond the float range).

def _linear_recurrence(a, b, axis, reverse):
    a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
    if reverse:  # read backwards, the reverse recurrence is the forward one with a shifted
        a, b = np.roll(a[..., ::-1], 1, -1), b[..., ::-1]
    floats = [v.dtype for v in (a, b) if v.dtype.kind == "f"]  # the static rule: combine_dtypes
    y = np.array(b, dtype=floats[0] if floats else np.result_type(a, b))
    reach = np.array(a, dtype=y.dtype)  # reach[k]: the product of a over (k - step, k]
    n, step = y.shape[-1], 1
    while step < n:
        y[..., step:] += reach[..., step:] * y[..., :-step]
        if 2 * step < n:
            reach[..., step:] *= reach[..., :-step]  # NumPy buffers the overlapping operands
        step *= 2
    if reverse:
        y = y[..., ::-1]
    return np.moveaxis(y, -1, axis)


def _coefficient_vjp(out_bar, out, a, b):
    axis, reverse = out.params.axis, out.params.reverse
    b_bar = linear_recurrence(a, out_bar, axis, not reverse)
    if reverse:  # a[j] carries y[j] into place j-1
        return _shift(b_bar, axis, 0.0) * out
    return b_bar * _shift(out, axis, 0.0)  # a[k] carries y[k-1] into place k


def _coefficient_jvp(a_dot, out, a, b):
    axis, reverse = out.params.axis, out.params.reverse
    if reverse:
        injected = _shift(a_dot * out, axis, 0.0, later=False)
    else:
        injected = a_dot * _shift(out, axis, 0.0)
    return linear_recurrence(a, injected, axis, reverse)


def _recurrence_dtype(a, b):
    return combine_dtypes("linear_recurrence", [a.dtype, b.dtype], [a, b])


def _linear_recurrence_xp(xp):
    """The NumPy forward's log-depth scan in the standard: each doubling step a concatenation."""
    def kernel(a, b, axis, reverse):
        a, b = xp.broadcast_arrays(xp.moveaxis(a, axis, -1), xp.moveaxis(b, axis, -1))
        if reverse:
            a, b = xp.roll(xp.flip(a, axis=-1), 1, axis=-1), xp.flip(b, axis=-1)
        y = xp.astype(b, xp.result_type(a, b))
        reach = xp.astype(a, y.dtype)  # reach[k]: the product of a over (k - step, k]
        n, step = y.shape[-1], 1
        while step < n:
            y = xp.concat([y[..., :step], y[..., step:] + reach[..., step:] * y[..., :-step]], axis=-1)
            if 2 * step < n:
                reach = xp.concat([reach[..., :step], reach[..., step:] * reach[..., :-step]], axis=-1)
            step *= 2
        return xp.moveaxis(xp.flip(y, axis=-1) if reverse else y, -1, axis)
    return kernel


LINEAR_RECURRENCE = primitive(
    "linear_recurrence", _linear_recurrence, _infer_along("linear_recurrence", _recurrence_dtype, ("reverse",)),
    vjp=(_coefficient_vjp,
         lambda out_bar, out, a, b: linear_recurrence(a, out_bar, out.params.axis, not out.params.reverse)),
    jvp=(_coefficient_jvp,
         lambda b_dot, out, a, b: linear_recurrence(a, b_dot, out.params.axis, out.params.reverse)),
    batch=batch_axes("axis"), sparsity=along_axis_sparsity("all", data=(0, 1)),
    array_api=_linear_recurrence_xp)


def linear_recurrence(a, b, axis: int = -1, reverse: bool = False) -> Node:
    """The scan ``y[k] = a[k] * y[k-1] + b[k]`` along ``axis``, from ``y[-1] = 0``.

    With ``reverse``, ``y[k] = a[k+1] * y[k+1] + b[k]`` from the end. ``a[0]``
    is never used. ``cumprod``'s derivatives are written with it: unlike a
    division by the product, it is exact where elements are zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> a, b = sg.constant([9.0, 2.0, 3.0]), sg.constant([1.0, 1.0, 1.0])
    >>> sg.ops.linear_recurrence(a, b).eval()  # 1, 2*1 + 1, 3*3 + 1
    array([ 1.,  3., 10.])
    >>> sg.ops.linear_recurrence(a, b, reverse=True).eval()  # 2*4 + 1, 3*1 + 1, 1
    array([9., 4., 1.])
    """
    a, b = as_nodes(a, b)
    axis = _axis("linear_recurrence", a, axis)
    reverse = check_bool_argument("linear_recurrence", reverse, a, "reverse")
    return a.graph.apply(LINEAR_RECURRENCE, (a, b), {"axis": axis, "reverse": reverse})


# --- cumsum and cumprod ---------------------------------------------------------------------

def _accumulated(x):
    return sum_dtype(x.dtype)


CUMSUM = primitive("cumsum", lambda x, axis: np.cumsum(x, axis), _infer_along("cumsum", _accumulated),
                   vjp=(lambda out_bar, out, x: _flip(cumsum(_flip(out_bar, out.params.axis), out.params.axis),
                                                      out.params.axis),),
                   jvp=(lambda x_dot, out, x: cumsum(x_dot, out.params.axis),),
                   numpy=lambda args, p: f"np.cumsum({args[0]}, {p['axis']})", batch=batch_axes("axis"), sparsity=along_axis_sparsity((), prefix=True),
    array_api=lambda xp: lambda x, axis: xp.cumulative_sum(x, axis=axis))


# d out[k] / d x[i] = (product of x[j], j < i) (product of x[j], i < j <= k) for i <= k. With
# exclusive = out shifted one place (1 first): x_bar[i] = exclusive[i] r[i], where
# r[i] = out_bar[i] + x[i+1] r[i+1] is a reverse recurrence, and
# out_dot[k] = x[k] out_dot[k-1] + exclusive[k] x_dot[k] is a forward one.
CUMPROD = primitive("cumprod", lambda x, axis: np.cumprod(x, axis), _infer_along("cumprod", _accumulated),
                    vjp=(lambda out_bar, out, x: _shift(out, out.params.axis, 1.0)
                         * linear_recurrence(x, out_bar, out.params.axis, reverse=True),),
                    jvp=(lambda x_dot, out, x: linear_recurrence(
                        x, _shift(out, out.params.axis, 1.0) * x_dot, out.params.axis),),
                    numpy=lambda args, p: f"np.cumprod({args[0]}, {p['axis']})", batch=batch_axes("axis"), sparsity=along_axis_sparsity("all", prefix=True),
    array_api=lambda xp: (lambda x, axis: xp.cumulative_prod(x, axis=axis)) if hasattr(xp, "cumulative_prod") else "the library has no cumulative_prod")


def _accumulate(op, x, axis, dtype) -> Node:
    (x,) = as_nodes(x)
    if dtype is not None:
        x = cast(x, dtype)
    x, axis = _along(op.name, x, axis)
    return x.graph.apply(op, (x,), {"axis": axis})


def cumsum(x, axis=None, *, dtype=None) -> Node:
    """Cumulative sum along ``axis`` (None: of the flattened array), as ``np.cumsum``.

    Bools and narrower integers accumulate in the platform integer, as in NumPy;
    ``dtype`` casts the elements first.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.cumsum(sg.constant([[1.0, 2.0], [3.0, 4.0]]), axis=1).eval()
    array([[1., 3.],
           [3., 7.]])
    >>> sg.cumsum(sg.constant([True, True, False])).eval()
    array([1, 2, 2])
    """
    return _accumulate(CUMSUM, x, axis, dtype)


def cumprod(x, axis=None, *, dtype=None) -> Node:
    """Cumulative product along ``axis`` (None: of the flattened array), as ``np.cumprod``.

    Its derivatives of every order are exact where elements are zero: they
    never divide by the product. Dtypes as :func:`cumsum`'s.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 3)
    >>> sg.cumprod(x).eval({x: [2.0, 0.0, 5.0]})
    array([2., 0., 0.])
    >>> sg.grad(sg.cumprod(x)[2], x).eval({x: [2.0, 0.0, 5.0]})  # d(x0 x1 x2)
    array([ 0., 10.,  0.])
    """
    return _accumulate(CUMPROD, x, axis, dtype)


def exclusive_cumprod(x: Node, axis: int, reverse: bool = False) -> Node:
    """For each element, the product of those before it along ``axis`` (after it, if
    ``reverse``); 1 for the first (last). No division: exact where elements are zero.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.constant([2.0, 0.0, 5.0])
    >>> sg.ops.scans.exclusive_cumprod(x, 0).eval(), sg.ops.scans.exclusive_cumprod(x, 0, reverse=True).eval()
    (array([1., 2., 0.]), array([0., 5., 1.]))
    """
    if not reverse:
        return _shift(cumprod(x, axis), axis, 1.0)
    return _flip(_shift(cumprod(_flip(x, axis), axis), axis, 1.0), axis)


# --- sort and argsort ------------------------------------------------------------------------

def _permute(x, order, axis, inverse):
    if not inverse:
        return np.take_along_axis(x, order, axis)
    out = np.empty_like(x)
    np.put_along_axis(out, order, x, axis)
    return out


def _permute_dtype(x, order):
    if order.dtype.kind not in "iu":
        raise DTypeError(f"permute: the order {label(order)} must be integer, not {order.dtype}")
    return x.dtype


# x reordered along an axis by a permutation ``order`` (an argsort): out = x[order] along the
# axis, or, inverse, the element x[k] put back in place order[k]. Each is the other's adjoint.
PERMUTE = primitive("permute", _permute, _infer_along("permute", _permute_dtype, ("inverse",)),
                    vjp=(lambda out_bar, out, x, order: permute(out_bar, order, out.params.axis,
                                                                not out.params.inverse),
                         disconnected_rule),
                    jvp=(lambda x_dot, out, x, order: permute(x_dot, order, out.params.axis, out.params.inverse),
                         disconnected_rule), batch=batch_axes("axis"), sparsity=along_axis_sparsity(()),
    array_api=lambda xp: (lambda x, order, axis, inverse: xp.take_along_axis(
        x, xp.argsort(order, axis=axis) if inverse else order, axis=axis))
    if hasattr(xp, "take_along_axis") else "the library has no take_along_axis")


def permute(x, order, axis: int = -1, inverse: bool = False) -> Node:
    """``x`` reordered along ``axis`` by the permutation ``order`` (as ``np.take_along_axis``);
    with ``inverse``, the permutation undone (``x[k]`` goes to place ``order[k]``).

    ``order`` must be a permutation along the axis (an ``argsort``): nothing
    is repeated or left out, so each direction is the other's adjoint.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.constant([30.0, 10.0, 20.0])
    >>> order = sg.argsort(x)
    >>> sg.ops.permute(x, order).eval()
    array([10., 20., 30.])
    >>> sg.ops.permute(sg.ops.permute(x, order), order, inverse=True).eval()
    array([30., 10., 20.])
    """
    x, order = as_nodes(x, order)
    axis = _axis("permute", x, axis)
    inverse = check_bool_argument("permute", inverse, x, "inverse")
    return x.graph.apply(PERMUTE, (x, order), {"axis": axis, "inverse": inverse})


def _tie_mean(v, keys, axis):
    v, keys = np.moveaxis(v, axis, -1), np.moveaxis(keys, axis, -1)
    tied = keys[..., 1:] == keys[..., :-1]
    if not tied.any():
        return np.moveaxis(v, -1, axis)
    starts = np.ones(keys.shape, bool)
    starts[..., 1:] = ~tied
    group = np.cumsum(starts.ravel()) - 1  # each row starts a group: groups never span rows
    sums = np.bincount(group, weights=v.ravel().astype(np.float64))
    means = (sums / np.bincount(group))[group].astype(v.dtype)
    return np.moveaxis(means.reshape(v.shape), -1, axis)


def _tie_mean_xp(xp):
    """tie_mean in the array-API standard: runs of equal keys found by comparing neighbours, each
    value replaced by its run's mean through an (n, n) same-run mask per row (no bincount)."""
    def kernel(v, keys, axis):
        v, keys = xp.moveaxis(v, axis, -1), xp.moveaxis(keys, axis, -1)
        starts = xp.concat([xp.ones(keys.shape[:-1] + (1,), dtype=xp.int64),
                            xp.astype(keys[..., 1:] != keys[..., :-1], xp.int64)], axis=-1)
        group = xp.cumulative_sum(starts, axis=-1)
        same = xp.astype(group[..., :, None] == group[..., None, :], v.dtype)
        means = xp.sum(same * v[..., None, :], axis=-1) / xp.sum(same, axis=-1)
        return xp.moveaxis(means, -1, axis)
    return kernel


# v averaged over each run of equal keys along the axis (the keys sorted along it, as sort's
# result is). A symmetric projection, so it is its own adjoint; the keys only choose the runs,
# which do not change under small moves of the keys: their derivative is zero.
TIE_MEAN = primitive("tie_mean", _tie_mean, _infer_along("tie_mean", lambda v, keys: v.dtype),
                     vjp=(lambda out_bar, out, v, keys: tie_mean(out_bar, keys, out.params.axis), zero_rule),
                     jvp=(lambda v_dot, out, v, keys: tie_mean(v_dot, keys, out.params.axis), zero_rule),
                     view=True, batch=batch_axes("axis"), sparsity=along_axis_sparsity(()),
    array_api=_tie_mean_xp)


def tie_mean(v, keys, axis: int = -1) -> Node:
    """``v`` averaged over each run of equal ``keys`` along ``axis`` (keys sorted along it).

    sort's derivatives use it so that tied elements share a cotangent equally.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.ops.tie_mean(sg.constant([1.0, 2.0, 6.0]), sg.constant([0.0, 5.0, 5.0])).eval()
    array([1., 4., 4.])
    """
    v, keys = as_nodes(v, keys)
    axis = _axis("tie_mean", v, axis)
    return v.graph.apply(TIE_MEAN, (v, keys), {"axis": axis})


def _sort_order(out: Node, x: Node) -> Node:
    # Any sorting permutation will do, since tied elements share: NumPy's default kind, four
    # times faster than a stable one, and the node of a user's sg.argsort(x).
    return argsort(x, out.params.axis)


SORT = primitive("sort", lambda x, axis: np.sort(x, axis), _infer_along("sort", lambda x: x.dtype),
                 vjp=(lambda out_bar, out, x: permute(tie_mean(out_bar, out, out.params.axis), _sort_order(out, x),
                                                      out.params.axis, inverse=True),),
                 jvp=(lambda x_dot, out, x: tie_mean(permute(x_dot, _sort_order(out, x), out.params.axis),
                                                     out, out.params.axis),),
                 numpy=lambda args, p: f"np.sort({args[0]}, {p['axis']})", batch=batch_axes("axis"), sparsity=along_axis_sparsity(()),
    array_api=lambda xp: lambda x, axis: xp.sort(x, axis=axis, stable=True))
_SORT_KINDS = (None, "quicksort", "mergesort", "heapsort", "stable")  # NumPy's; None is its default
_argsort_along = _infer_along("argsort", lambda x: np.dtype(np.intp))


def _argsort_infer(x, axis, kind):
    check_choice_argument("argsort", kind, _SORT_KINDS, x, "kind")  # a choice is its own normal form
    return _argsort_along(x, axis=axis)


ARGSORT = primitive("argsort", lambda x, axis, kind: np.argsort(x, axis, kind=kind), _argsort_infer,
                    vjp=(undefined_rule,), jvp=(undefined_rule,),
                    numpy=lambda args, p: f"np.argsort({args[0]}, {p['axis']}, kind={p['kind']!r})",
                    batch=batch_axes("axis"), sparsity=no_dependence,
    array_api=lambda xp: lambda x, axis, kind: xp.argsort(x, axis=axis, stable=True))


def sort(x, axis=-1, kind=None, *, stable=None) -> Node:
    """``x`` sorted along ``axis`` (None: the flattened array), as ``np.sort``.

    ``kind`` and ``stable`` are accepted for NumPy's signature; every kind
    gives the same sorted values. The derivative moves each cotangent back to
    the element that landed there; elements that tie share the cotangents of
    their places equally (as ``max``'s ties do), so ``sort(x)[-1]`` has the
    gradient of ``max(x)``. NaNs sort to the end, as in NumPy.

    ``Node`` has no ``sort`` method: ``ndarray.sort`` sorts in place and
    returns None, which an immutable node cannot do.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 3)
    >>> sg.sort(x).eval({x: [3.0, 1.0, 2.0]})
    array([1., 2., 3.])
    >>> sg.grad(sg.sort(x)[0], x).eval({x: [3.0, 1.0, 1.0]})  # the two smallest tie
    array([0. , 0.5, 0.5])
    """
    (x,) = as_nodes(x)
    check_choice_argument("sort", kind, _SORT_KINDS, x, "kind")  # every kind sorts alike: checked only
    if stable is not None:
        check_bool_argument("sort", stable, x, "stable")
    x, axis = _along("sort", x, axis)
    return x.graph.apply(SORT, (x,), {"axis": axis})


def argsort(x, axis=-1, kind=None, *, stable=None) -> Node:
    """The indices that sort ``x`` along ``axis`` (None: flattened), as ``np.argsort``.

    An integer result, without a derivative. ``kind`` and ``stable`` are
    NumPy's: ``stable=True`` (or ``kind="stable"``) keeps tied elements in
    their order.

    Examples
    --------
    >>> import symgrad as sg
    >>> sg.argsort(sg.constant([3.0, 1.0, 2.0])).eval()
    array([1, 2, 0])
    """
    (x,) = as_nodes(x)
    kind = check_choice_argument("argsort", kind, _SORT_KINDS, x, "kind")
    if stable is not None and check_bool_argument("argsort", stable, x, "stable"):
        kind = "stable"
    x, axis = _along("argsort", x, axis)
    return x.graph.apply(ARGSORT, (x,), {"axis": axis, "kind": kind})


__all__ = ["LINEAR_RECURRENCE", "CUMSUM", "CUMPROD", "PERMUTE", "TIE_MEAN", "SORT", "ARGSORT",
           "linear_recurrence", "cumsum", "cumprod", "permute", "tie_mean", "sort", "argsort"]
