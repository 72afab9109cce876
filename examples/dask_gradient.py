"""A full-batch loss and gradient over data larger than one worker's memory, on a Dask cluster.

The graph is built once with symgrad; ``backend="dask"`` compiles it to Dask array code, so the
loss and gradient over all rows are one lazy task graph that the cluster computes chunk by
chunk (each chunk's partial sums, then a tree of additions). The data never gathers anywhere.

    python examples/dask_gradient.py [rows] [chunks]
"""

import sys
import threading
import time

import dask
import dask.array as da
import numpy as np
import psutil
from dask.distributed import Client, LocalCluster

import symgrad as sg

FEATURES = 10


def loss_and_gradient(backend="dask"):
    """Least squares: mean((X w - y)^2) and its gradient in w, as one compiled function."""
    X, y = sg.placeholder("X", (None, FEATURES)), sg.placeholder("y", (None,))
    w = sg.vector("w", FEATURES)
    loss = sg.mean(sg.square(X @ w - y))
    return sg.function([X, y, w], [loss, sg.grad(loss, w)], backend=backend)


def watch(dask_worker):
    """Sample this worker's resident memory every 5 ms into ``dask_worker.symgrad_memory``."""
    process = psutil.Process()
    state = dask_worker.symgrad_memory = {"base": process.memory_info().rss, "peak": 0, "stop": False}

    def loop():
        while not state["stop"]:
            state["peak"] = max(state["peak"], process.memory_info().rss)
            time.sleep(0.005)
    threading.Thread(target=loop, daemon=True).start()


def stop_watching(dask_worker):
    """(resident memory before, peak during) in MB."""
    state = dask_worker.symgrad_memory
    state["stop"] = True
    return state["base"] / 1e6, state["peak"] / 1e6


def main(rows=10_000_000, chunks=64):
    f = loss_and_gradient()
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="400MB", processes=True) as cluster, \
            Client(cluster) as client:
        size = rows // chunks
        X = da.random.default_rng(0).normal(size=(rows, FEATURES), chunks=(size, FEATURES))
        y = X @ da.from_array(np.linspace(-1, 1, FEATURES)) + 0.1
        w = da.zeros(FEATURES, chunks=FEATURES)
        client.run(watch)
        start = time.perf_counter()
        loss, gradient = dask.compute(*f(X, y, w))
        took = time.perf_counter() - start
        memory = client.run(stop_watching)
        print(f"{rows} rows x {FEATURES} features in {chunks} chunks ({X.nbytes / 1e6:.0f} MB): loss {loss:.6f}, "
              f"{took:.1f} s; chunk {size * FEATURES * 8 / 1e6:.1f} MB")
        for address, (base, peak) in sorted(memory.items()):
            print(f"  worker {address}: resident {base:.0f} MB before, peak {peak:.0f} MB during "
                  f"(+{peak - base:.0f} MB, {(peak - base) / (size * FEATURES * 8 / 1e6):.1f} chunks)")
        print("gradient", np.round(gradient, 6))
        # the same on the first rows, in NumPy
        Xs, ys = dask.compute(X[:100_000], y[:100_000])
        same = dask.compute(*f(X[:100_000], y[:100_000], w))
        numpy = loss_and_gradient("numpy")(Xs, ys, np.zeros(FEATURES))
        print("first 10^5 rows, Dask vs NumPy: max difference",
              max(float(np.max(np.abs(a - b))) for a, b in zip(same, numpy)))
        return memory


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
