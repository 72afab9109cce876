"""sg.vectorize: a batched graph computes what the unbatched one computes on each batch element.

The oracle is the unbatched graph itself, evaluated once per element and stacked (and, for the
dense derivatives built on vectorize, finite differences).
"""

import numpy as np
import pytest

import symgrad as sg
from helpers import CASES, IDS, instantiate, squared_cost

BATCH = 3


def batch_of(value: np.ndarray, k: int) -> np.ndarray:
    """``k`` copies of ``value``, nudged apart by less than the cases' margins (no new ties or kinks)."""
    scale = 1.0 + 0.003 * np.arange(k).reshape((k,) + (1,) * value.ndim)
    return (value[None] * scale).astype(value.dtype)


def check_case(case, only_first: bool):
    with sg.Graph():
        out, targets, feeds = instantiate(case)
        if not targets:
            pytest.skip("no float input to batch")  # integer inputs are never batched
        chosen = targets[:1] if only_first else targets
        batched = {x: sg.placeholder(f"{x.name}_batch", (BATCH,) + x.shape, x.dtype) for x in chosen}
        values = {x: batch_of(feeds[x], BATCH) for x in chosen}
        grads = sg.grad(squared_cost(out), targets, disconnected="zero") if out.dtype.kind == "f" else []
        outputs = [out, *grads]
        vectorized = sg.vectorize(outputs, batched)
        got = sg.evaluate(vectorized, {**feeds, **{batched[x]: v for x, v in values.items()}})
        for k in range(BATCH):
            want = sg.evaluate(outputs, {**feeds, **{x: v[k] for x, v in values.items()}})
            for g, w, node in zip(got, want, outputs):
                assert g.shape == (BATCH,) + w.shape, node.describe()
                assert g.dtype == w.dtype, node.describe()
                np.testing.assert_allclose(g[k], w, rtol=1e-9, atol=1e-12, err_msg=f"{node.describe()} [{k}]")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_case_batched_over_all_float_inputs_equals_stacked_evaluations(case):
    check_case(case, only_first=False)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_case_batched_over_one_input_equals_stacked_evaluations(case):
    check_case(case, only_first=True)
