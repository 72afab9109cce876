"""``check_grad``: compare any derivative symgrad builds with central differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .autodiff import vjp
from .errors import FeedError, GradCheckError
from .evaluate import Plan, convert_feed, prepare_feeds, resolve_feeds
from .ir import Node, as_list


@dataclass(frozen=True)
class GradCheck:
    """The outcome of :func:`check_grad`: the worst element and whether all passed."""

    ok: bool
    max_abs_error: float
    worst_input: str
    worst_index: tuple
    symbolic: float
    numeric: float

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        return (f"check_grad {verdict}: max abs error {self.max_abs_error:.3g}; worst at "
                f"{self.worst_input}{list(self.worst_index)}: symbolic {self.symbolic:.10g}, "
                f"finite difference {self.numeric:.10g}")


def check_grad(output: Node, wrt, feeds: Mapping, *, eps: float | None = None,
               rtol: float | None = None, atol: float | None = None, seed: int = 0,
               raise_on_failure: bool = True) -> GradCheck:
    """Check the reverse-mode derivative of ``output`` against central differences.

    A non-scalar ``output`` is reduced to ``sum(u * output)`` with a random
    ``u``, so the whole Jacobian is exercised. ``output`` may itself be a
    derivative (check a gradient by checking ``sg.grad(cost, x)``), which is
    how second derivatives are checked. Each element of each placeholder in
    ``wrt`` is moved by ``±h``, ``h = eps * max(1, |x|)``, with ``eps`` the
    cube root of the dtype's machine epsilon. Where that difference disagrees,
    it is refined by Richardson extrapolation (sixth order, at the step among
    ``h, h/8, h/64, h/512`` where it is most consistent) before it counts as a
    mismatch: a fast oscillation (sin(77 x³)) has third derivatives large
    enough to spoil the plain difference.

    Returns a :class:`GradCheck` describing the worst element; raises
    :class:`GradCheckError` on a mismatch unless ``raise_on_failure=False``.

    Examples
    --------
    >>> import symgrad as sg
    >>> x = sg.vector("x", 3)
    >>> sg.check_grad(sg.sin(x).sum(), x, {x: [0.1, 0.2, 0.3]}).ok
    True
    """
    targets = as_list(wrt)[0]
    graph = output.graph
    feeds = resolve_feeds(graph, feeds)
    rng = np.random.default_rng(seed)
    finfo = np.finfo(output.dtype)
    eps = float(np.cbrt(finfo.eps)) if eps is None else eps
    single = output.dtype == np.float32
    rtol = (2e-2 if single else 1e-5) if rtol is None else rtol
    atol = (1e-3 if single else 1e-6) if atol is None else atol

    value_plan = Plan([output])
    (probe,) = value_plan.run(prepare_feeds(value_plan, feeds))
    weights = rng.standard_normal(probe.shape).astype(output.dtype) if probe.shape else np.ones((), output.dtype)
    target_bars = vjp([output], targets, [weights], disconnected="zero")
    plan = Plan([output] + target_bars)
    base = prepare_feeds(plan, feeds)
    for target in targets:
        if target not in feeds:
            raise FeedError(f"check_grad: no value fed for {target.describe()}")
        base[target] = convert_feed(target, feeds[target])
    symbolic = plan.run(base)[1:]

    def projected(point: dict) -> float:
        (value,) = value_plan.run(point)
        return float(np.sum(weights.astype(np.float64) * value))

    def central(target: Node, index: tuple, h: float) -> float:
        x = base[target]
        moved = dict(base)
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        moved[target] = plus
        f_plus = projected(moved)
        moved[target] = minus
        return (f_plus - projected(moved)) / (float(plus[index]) - float(minus[index]))

    def refined(target: Node, index: tuple, h: float) -> float:
        """Richardson's sixth-order extrapolation over steps s, s/2, s/4, at the s among h, h/8,
        h/64, h/512 where its two fourth-order estimates agree best (large steps lose to the
        function's curvature, small ones to rounding)."""
        best = None
        for step in (h, h / 8, h / 64, h / 512):
            d0, d1, d2 = (central(target, index, step / 2 ** k) for k in range(3))
            r0, r1 = (4 * d1 - d0) / 3, (4 * d2 - d1) / 3
            if best is None or abs(r1 - r0) < best[0]:
                best = (abs(r1 - r0), (16 * r1 - r0) / 15)
        return best[1]

    def score_of(have: float, numeric: float) -> float:
        return abs(have - numeric) / (atol + rtol * abs(numeric))

    worst = None
    for target, sym in zip(targets, symbolic):
        x = base[target]
        for index in np.ndindex(x.shape):
            h = eps * max(1.0, abs(float(x[index])))
            have = float(sym[index])
            numeric = central(target, index, h)
            if score_of(have, numeric) > 1.0:  # refine before blaming the derivative
                numeric = refined(target, index, h)
            error = abs(have - numeric)
            score = score_of(have, numeric)
            if worst is None or score > worst[0]:
                worst = (score, error, target, index, have, numeric)
    if worst is None:
        return GradCheck(True, 0.0, "", (), 0.0, 0.0)
    score, error, target, index, have, numeric = worst
    result = GradCheck(bool(score <= 1.0), error, target.name or target.describe(), index, have, numeric)
    if raise_on_failure and not result.ok:
        raise GradCheckError(str(result))
    return result
