"""W4: time and memory to build the gradient of an n-op scalar chain, n = 10^3 ... 10^5 (10^6 with --huge).

The chain cycles through sin, multiply by a constant and add a constant:
y_0 = x, y_{k+1} = op_k(y_k); the gradient is ``sg.grad(y_n, x)``. Each size runs
in a fresh process: the build is timed (the median of five below 10^6), then
repeated under tracemalloc for its peak traced memory; the process's peak RSS
is reported too. The growth
factor is the ratio of times between successive decades (linear: about 10).

A second table compiles the gradient (``sg.function`` and its code), times one
call against ``sg.evaluate`` (the interpreter, whose cost per node it reports)
and a fresh function's first call (what a function called once costs: the
interpreter's run, or a large scalar graph's flat program).

    python bench/w4_chain.py [--huge]
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before NumPy loads)

import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import symgrad as sg  # noqa: E402
from common import print_table  # noqa: E402


def build(n: int):
    """The n-op chain in a private graph; returns (graph, x, y_n)."""
    graph = sg.Graph()
    with graph:
        x = sg.scalar("x")
        y = x
        for k in range(n):
            step = k % 3
            y = sg.sin(y) if step == 0 else y * 1.0001 if step == 1 else y + 0.5
        return graph, x, y


def measure(n: int) -> dict:
    """Run in a child process: time the forward build and the gradient, then trace memory."""
    forwards, gradients = [], []
    repeats = 5 if n <= 10**5 else 1  # small sizes are quick and noisy: the median of five builds
    for k in range(repeats):
        if k:
            del graph, x, y, g  # each build starts from an empty heap, like the first
            gc.collect()
        start = time.perf_counter()
        graph, x, y = build(n)
        forwards.append(time.perf_counter() - start)
        start = time.perf_counter()
        g = sg.grad(y, x)
        gradients.append(time.perf_counter() - start)
    forward, gradient = statistics.median(forwards), statistics.median(gradients)
    check = None
    if n <= 10**5:  # the gradient's value against the same chain run by hand with its derivative
        v, dv = 0.3, 1.0
        for k in range(n):
            step = k % 3
            v, dv = (math.sin(v), dv * math.cos(v)) if step == 0 else (v * 1.0001, dv * 1.0001) if step == 1 \
                else (v + 0.5, dv)
        got = float(sg.evaluate(g, {x: 0.3}))
        check = abs(got - dv) <= 1e-9 * max(1.0, abs(dv))
    nodes = len(graph)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    compiled = compile_and_call(x, g, check)
    del graph, x, y, g
    gc.collect()
    tracemalloc.start()
    graph, x, y = build(n)
    g = sg.grad(y, x)
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"n": n, "forward": forward, "gradient": gradient, "nodes": nodes, "traced": traced, "rss": rss,
            "check": check, **compiled}


def compile_and_call(x, g, check) -> dict:
    """Compile the gradient (``sg.function``, then its code, forced by asking for the source), call
    it, and run the interpreter; also a fresh function's first call (the interpreter's or a flat
    program's), which is what a function called once costs."""
    start = time.perf_counter()
    fn = sg.function([x], g)
    fn.source  # noqa: B018  (writes the code now, rather than at the second call)
    compile_s = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    got = fn(0.3)
    call_s = time.perf_counter() - start
    start = time.perf_counter()
    want = sg.evaluate(g, {x: 0.3})
    evaluate_s = time.perf_counter() - start
    start = time.perf_counter()
    first = sg.function([x], g)(0.3)
    once_s = time.perf_counter() - start
    for value in (got, first):  # the math module and NumPy may differ in the last bits
        assert abs(float(value) - float(want)) <= 1e-9 * max(1.0, abs(float(want))), (value, want)
    return {"compile": compile_s, "call": call_s, "evaluate": evaluate_s, "once": once_s,
            "evaluated_nodes": len(sg.ir.ancestors([g])), "compile_rss": rss}


def main(huge: bool = False) -> dict:
    sizes = [10**3, 10**4, 10**5] + ([10**6] if huge else [])
    results = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], stdout=subprocess.PIPE, text=True,
                             check=True)  # the child's stderr shows through
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    rows = []
    previous = None
    for r in results:
        total = r["forward"] + r["gradient"]
        growth = "" if previous is None else f"{r['gradient'] / previous:.1f}x"
        previous = r["gradient"]
        assert r["check"] in (True, None), f"gradient of the {r['n']}-op chain is wrong"
        rows.append([f"W4 n={r['n']:.0e}", r["nodes"], r["forward"], r["gradient"], growth, total,
                     r["traced"] / 2**20, r["rss"] / 2**20])
    print_table("W4 build the gradient of an n-op scalar chain (seconds; MB); growth per decade of grad time "
                "(target <= 11x; 10^6: forward + grad < 20 s, < 4 GB)",
                ["workload", "nodes", "forward s", "grad s", "growth", "total s", "traced MB", "peak RSS MB"],
                rows)
    compiled_rows = []
    previous = None
    for r in results:
        growth = "" if previous is None else f"{r['compile'] / previous:.1f}x"
        previous = r["compile"]
        compiled_rows.append([f"W4 n={r['n']:.0e}", r["evaluated_nodes"], r["compile"], growth, r["call"],
                              r["evaluate"], r["call"] / r["evaluate"], r["once"] / r["evaluate"],
                              r["evaluate"] / r["evaluated_nodes"] * 1e6, r["compile_rss"] / 2**20])
    print_table("W4 compile the gradient, call it, and evaluate it (seconds); targets: compile 10^4 < 0.3 s, "
                "10^6 < 30 s and < 4 GB, growth <= 11x; call/evaluate < 1 at 10^6; "
                "function+first call / evaluate <= 2",
                ["workload", "nodes", "compile s", "growth", "call s", "evaluate s", "call/eval",
                 "fn+1st/eval", "interp us/node", "peak RSS MB"], compiled_rows)
    small_rows = []
    for n in (3, 30, 300):  # small graphs, in this process: the best of five of each
        graph, x, y = build(n)
        g = sg.grad(y, x)
        once, evaluate = [], []
        for _ in range(5):
            start = time.perf_counter()
            sg.function([x], g)(0.3)
            once.append(time.perf_counter() - start)
            start = time.perf_counter()
            sg.evaluate(g, {x: 0.3})
            evaluate.append(time.perf_counter() - start)
        small_rows.append([f"W4 n={n}", len(sg.ir.ancestors([g])), min(once) * 1e3, min(evaluate) * 1e3,
                           min(once) / min(evaluate)])
    print_table("W4 small chains: a fresh function's first call vs sg.evaluate (ms, best of 5; target <= 2)",
                ["workload", "nodes", "fn+1st ms", "evaluate ms", "ratio"], small_rows)
    return {"results": results, "rows": rows, "compiled_rows": compiled_rows, "small_rows": small_rows}


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--huge", action="store_true", help="also n = 10^6 (about a minute, a few GB)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
    else:
        main(args.huge)
