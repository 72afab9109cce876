"""A full-batch loss and gradient over data larger than one worker's memory, on a Dask cluster.

The graph is built once with symgrad; ``backend="dask"`` compiles it to Dask array code, so the
loss and gradient over all rows are one lazy task graph that the cluster computes chunk by
chunk (each chunk's partial sums, then a tree of additions). The data never gathers anywhere.

    python examples/dask_gradient.py [rows] [chunks]
"""

import resource
import sys
import time

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

import symgrad as sg

FEATURES = 10


def loss_and_gradient(backend="dask"):
    """Least squares: mean((X w - y)^2) and its gradient in w, as one compiled function."""
    X, y = sg.placeholder("X", (None, FEATURES)), sg.placeholder("y", (None,))
    w = sg.vector("w", FEATURES)
    loss = sg.mean(sg.square(X @ w - y))
    return sg.function([X, y, w], [loss, sg.grad(loss, w)], backend=backend)


def loss_and_gradient_numpy():
    return loss_and_gradient("numpy")


def main(rows=10_000_000, chunks=64):
    f = loss_and_gradient()
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="400MB", processes=True) as cluster, \
            Client(cluster) as client:
        size = rows // chunks
        X = da.random.default_rng(0).normal(size=(rows, FEATURES), chunks=(size, FEATURES))
        y = X @ da.from_array(np.linspace(-1, 1, FEATURES)) + 0.1
        w = da.zeros(FEATURES, chunks=FEATURES)
        start = time.perf_counter()
        loss, gradient = dask.compute(*f(X, y, w))
        took = time.perf_counter() - start
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)  # MB, Linux
        print(f"{rows} rows x {FEATURES} features in {chunks} chunks ({X.nbytes / 1e6:.0f} MB): loss {loss:.6f}, "
              f"{took:.1f} s; chunk {size * FEATURES * 8 / 1e6:.0f} MB; peak memory per worker (MB): "
              f"{sorted(round(p) for p in peaks.values())}")
        print("gradient", np.round(gradient, 6))
        # the same on the first rows, in NumPy
        Xs, ys = dask.compute(X[:100_000], y[:100_000])
        same = dask.compute(*f(X[:100_000], y[:100_000], w))
        numpy = loss_and_gradient_numpy()(Xs, ys, np.zeros(FEATURES))
        print("first 10^5 rows, Dask vs NumPy: max difference",
              max(float(np.max(np.abs(a - b))) for a, b in zip(same, numpy)))
        return peaks


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
