"""W1 on JAX: the ReLU net's loss + gradient and its Hessian-vector product compiled with
``backend="jax"``, beside symgrad's NumPy code and JAX's own ``jax.jit`` of the same loss
(``jax.value_and_grad``; the HVP as forward-over-reverse ``jax.jvp`` of ``jax.grad``).
One BLAS / XLA thread, float64, medians of interleaved rounds.

    python bench/w1_jax_backend.py [--repeats N]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)
import os  # noqa: E402

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import statistics  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import symgrad as sg  # noqa: E402
from common import median_ratio, print_table, repeats_from_command_line, side_by_side  # noqa: E402
from w1_relu_net import BATCH, CLASSES, HIDDEN, INPUTS, L2, make_data  # noqa: E402

jax.config.update("jax_enable_x64", True)


def symgrad_functions(X, labels, backend):
    """(loss + gradient, HVP) of the W1 net, compiled for ``backend``."""
    with sg.Graph():
        W1, W2 = sg.matrix("W1", INPUTS, HIDDEN), sg.matrix("W2", HIDDEN, CLASSES)
        V1, V2 = sg.matrix("V1", INPUTS, HIDDEN), sg.matrix("V2", HIDDEN, CLASSES)
        logits = sg.relu(sg.constant(X) @ W1) @ W2
        loss = sg.cross_entropy(logits, labels) + L2 * (sg.square(W1).sum() + sg.square(W2).sum())
        g1, g2 = sg.grad(loss, [W1, W2])
        hvp = sg.grad((g1 * V1).sum() + (g2 * V2).sum(), [W1, W2])
        return (sg.function([W1, W2], [loss, g1, g2], backend=backend),
                sg.function([W1, W2, V1, V2], hvp, backend=backend))


def jax_functions(X, labels):
    """JAX's own: jit of value_and_grad, and jit of jvp-of-grad (the HVP)."""
    Xj, rows, lj = jnp.asarray(X), jnp.arange(BATCH), jnp.asarray(labels)

    def loss(W1, W2):
        log_p = jax.nn.log_softmax(jnp.maximum(Xj @ W1, 0.0) @ W2, axis=1)
        return -log_p[rows, lj].mean() + L2 * ((W1 * W1).sum() + (W2 * W2).sum())

    grad = jax.grad(loss, argnums=(0, 1))
    value_and_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
    hvp = jax.jit(lambda W1, W2, V1, V2: jax.jvp(lambda a, b: grad(a, b), (W1, W2), (V1, V2))[1])
    return value_and_grad, hvp


def main(repeats: int = 15) -> dict:
    X, labels, W1, W2 = make_data()
    rng = np.random.default_rng(1)
    V1, V2 = rng.normal(size=W1.shape), rng.normal(size=W2.shape)
    grad_np, hvp_np = symgrad_functions(X, labels, "numpy")
    grad_sj, hvp_sj = symgrad_functions(X, labels, "jax")
    grad_jj, hvp_jj = jax_functions(X, labels)
    J = [jnp.asarray(a) for a in (W1, W2, V1, V2)]
    ready = jax.block_until_ready
    expected = grad_np(W1, W2) + hvp_np(W1, W2, V1, V2)
    got = list(grad_sj(*J[:2])) + list(hvp_sj(*J))
    own = [grad_jj(*J[:2])[0], *grad_jj(*J[:2])[1], *hvp_jj(*J)]
    for e, g, o in zip(expected, got, own):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(np.asarray(o), e, rtol=1e-9, atol=1e-12)
    times = side_by_side({
        "grad numpy": lambda: grad_np(W1, W2),
        "grad jax backend": lambda: ready(grad_sj(*J[:2])),
        "grad jax.jit": lambda: ready(grad_jj(*J[:2])),
        "hvp numpy": lambda: hvp_np(W1, W2, V1, V2),
        "hvp jax backend": lambda: ready(hvp_sj(*J)),
        "hvp jax.jit": lambda: ready(hvp_jj(*J)),
    }, repeats)
    t = {name: statistics.median(v) for name, v in times.items()}
    rows = []
    for work in ("grad", "hvp"):
        rows.append([f"W1 {work}", t[f"{work} jax backend"] * 1e3, t[f"{work} jax.jit"] * 1e3, "jax.jit (target <= 1.05)",
                     median_ratio(times, f"{work} jax backend", f"{work} jax.jit")])
        rows.append([f"W1 {work}", t[f"{work} jax backend"] * 1e3, t[f"{work} numpy"] * 1e3, "symgrad numpy",
                     median_ratio(times, f"{work} jax backend", f"{work} numpy")])
    print_table(f"W1 ReLU net {BATCH}x{INPUTS} -> {HIDDEN} -> {CLASSES} with backend='jax', medians of {repeats} "
                "interleaved rounds (ms); ratio = median of per-round ratios",
                ["workload", "symgrad jax", "reference", "reference is", "ratio"], rows)
    return {"seconds": t, "rows": rows}


if __name__ == "__main__":
    main(repeats_from_command_line(__doc__))
