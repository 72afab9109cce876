"""Larger than memory: a full-batch loss and gradient over Dask data that exceeds one worker's
memory, on a LocalCluster of worker processes (issue 17)."""

import pickle
import threading
import time

import numpy as np
import pytest

import symgrad as sg
from example_modules import load_example
from libraries import require

dask = require("dask")
da = require("dask.array")
distributed = require("dask.distributed")
psutil = require("psutil")  # a dependency of dask.distributed

FEATURES = 10
ROWS = 7_500_000  # 600 MB of float64: more than either worker's 200 MB
CHUNKS = 60       # 10 MB a chunk


def least_squares(backend):
    X, y = sg.placeholder("X", (None, FEATURES)), sg.placeholder("y", (None,))
    w = sg.vector("w", FEATURES)
    loss = sg.mean(sg.square(X @ w - y))
    return sg.function([X, y, w], [loss, sg.grad(loss, w)], backend=backend)


def test_gradient_over_data_larger_than_a_worker():
    f = least_squares("dask")

    def watch(dask_worker):
        """Sample this worker's resident memory every 5 ms until told to stop (a closure: shipped by value)."""
        process, state = psutil.Process(), {"peak": 0, "stop": False}

        def loop():
            while not state["stop"]:
                state["peak"] = max(state["peak"], process.memory_info().rss)
                time.sleep(0.005)
        dask_worker.symgrad_watch = state
        threading.Thread(target=loop, daemon=True).start()

    def peak(dask_worker):
        dask_worker.symgrad_watch["stop"] = True
        return dask_worker.symgrad_watch["peak"]

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="200MB", processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        X = da.random.default_rng(1).normal(size=(ROWS, FEATURES), chunks=(ROWS // CHUNKS, FEATURES))
        y = X[:, 0] - 0.5 * X[:, 3]
        assert X.nbytes > 2.5 * 200e6
        w = da.from_array(np.full(FEATURES, 0.1), chunks=FEATURES)
        workers = set(client.scheduler_info()["workers"])
        client.run(watch)
        loss, gradient = dask.compute(*f(X, y, w))
        peaks = client.run(peak)
        # no worker was restarted for exceeding its limit, and none held more than a third of the data
        assert set(client.scheduler_info()["workers"]) == workers
        assert max(peaks.values()) < 200e6
        print("peak memory per worker (MB):", sorted(round(p / 1e6) for p in peaks.values()))
        # oracle: the same quantities by Dask's own reductions, with no symgrad in between
        r = X @ w - y
        want_loss, want_gradient = dask.compute((r * r).mean(), 2 * (X * r[:, None]).mean(axis=0))
        np.testing.assert_allclose(loss, want_loss, rtol=1e-10)
        np.testing.assert_allclose(gradient, want_gradient, rtol=1e-9, atol=1e-12)
        # a sample that fits: Dask on the cluster equals NumPy in this process
        Xs, ys = dask.compute(X[:50_000], y[:50_000])
        sample = dask.compute(*f(X[:50_000], y[:50_000], w))
        for a, b in zip(sample, least_squares("numpy")(Xs, ys, np.full(FEATURES, 0.1))):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        # and a compiled function ships to the workers
        g = least_squares("numpy")
        shipped = client.submit(g, Xs[:100], ys[:100], np.zeros(FEATURES)).result()
        np.testing.assert_allclose(shipped[1], g(Xs[:100], ys[:100], np.zeros(FEATURES))[1])
        assert pickle.loads(pickle.dumps(f)).backend == "dask"


def test_the_example_compiles_the_same_gradient_for_dask_and_numpy():
    example = load_example("dask_gradient")
    rng = np.random.default_rng(2)
    X, y, w = rng.normal(size=(1000, FEATURES)), rng.normal(size=1000), rng.normal(size=FEATURES)
    lazy = example.loss_and_gradient("dask")(da.from_array(X, chunks=100), da.from_array(y, chunks=100),
                                             da.from_array(w))
    r = X @ w - y  # the closed form: mean(r^2) and 2 X^T r / n
    for got, want in zip(dask.compute(*lazy), [np.mean(r * r), 2 * X.T @ r / len(y)]):
        np.testing.assert_allclose(got, want, rtol=1e-12)
