"""Run every benchmark and print one table per workload, each measured against hand-written code.

    python bench/run.py [--repeats N] [--huge] [--only W1,W3,...]

One BLAS thread (set before NumPy loads), medians of repeats, every ratio
measured side by side in this run. W2 (the HVP) comes from ``bench_hvp.py``;
ROSEN (Rosenbrock's jac and hessp against scipy.optimize's) needs SciPy.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import common  # noqa: E402,F401  (pins BLAS threads before NumPy loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--huge", action="store_true", help="W4 also at n = 10^6")
    parser.add_argument("--only", default="W1,W2,W3,W4,W5,GP,ROSEN,DD,SP", help="comma-separated workloads")
    args = parser.parse_args()
    wanted = {w.strip().upper() for w in args.only.split(",")}
    import numpy as np
    print(f"symgrad benchmarks: NumPy {np.__version__}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}, median of {args.repeats} repeats")
    if "W1" in wanted:
        importlib.import_module("w1_relu_net").main(args.repeats)
    if "W2" in wanted:
        print("\nW2 Hessian-vector product of the W1 net (bench_hvp.py)")
        importlib.import_module("bench_hvp").main(args.repeats)
    if "W3" in wanted:
        importlib.import_module("w3_scalar").main(args.repeats)
    if "W4" in wanted:
        importlib.import_module("w4_chain").main(args.huge)
    if "W5" in wanted:
        importlib.import_module("w5_tanh").main()
    if "GP" in wanted:
        importlib.import_module("gp_likelihood").main(args.repeats)
    if "ROSEN" in wanted:
        importlib.import_module("rosenbrock").main(args.repeats)
    if "DD" in wanted:
        importlib.import_module("dense_derivatives").main(args.repeats)
    if "SP" in wanted:
        importlib.import_module("sparse_derivatives").main(args.repeats)


if __name__ == "__main__":
    main()
