"""Graph sizes of repeated and dense derivatives.

1. d^n/dx^n tanh(x) for n = 1..8 by repeated ``sg.grad``: the number of nodes
   the n-th derivative needs (``len(sg.ancestors([d]))``), next to SymPy's
   ``diff`` of the same expression (``count_ops`` and the number of nodes in
   its expression tree; SymPy's tree repeats shared subexpressions, our graph
   does not).
2. How ``sg.jacobian`` and ``sg.hessian`` grow with the size n of x
   (n = 10, 20, 40): nodes in the result's graph and nodes added per element,
   with one sweep per element (``vectorized=False``; the default, one
   vectorized sweep, has the same size for every n).

    python bench/higher_order_counts.py
"""

from __future__ import annotations

import symgrad as sg


def tanh_derivative_counts(orders: int = 8) -> list[dict]:
    import sympy  # only this script needs it

    rows = []
    # Two graphs: hash-consing across the two chains would change the counts.
    reverse_graph, forward_graph = sg.Graph(), sg.Graph()
    x, x_fwd = sg.scalar("x", graph=reverse_graph), sg.scalar("x", graph=forward_graph)
    with reverse_graph:
        d = sg.tanh(x)
    with forward_graph:
        by_jvp = sg.tanh(x_fwd)
    s = sympy.Symbol("x")
    iterated = sympy.tanh(s)
    for n in range(1, orders + 1):
        d = sg.grad(d, x)
        by_jvp = sg.jvp(by_jvp, x_fwd, 1.0)  # forward mode shares more between orders
        expression = sympy.diff(sympy.tanh(s), s, n)
        iterated = sympy.diff(iterated, s)  # one order at a time, as repeated sg.grad does
        rows.append({"n": n, "symgrad nodes": len(sg.ancestors([d])),
                     "jvp nodes": len(sg.ancestors([by_jvp])),
                     "sympy count_ops": int(sympy.count_ops(expression)),
                     "sympy tree nodes": sum(1 for _ in sympy.preorder_traversal(expression)),
                     "sympy iterated count_ops": int(sympy.count_ops(iterated))})
    return rows


def dense_counts(sizes=(10, 20, 40)) -> list[dict]:
    rows = []
    for n in sizes:
        with sg.Graph():
            x = sg.vector("x", n)
            cost = sg.sum(sg.tanh(x * x[::-1]) * sg.softplus(x))
            gradient_nodes = len(sg.ancestors([sg.grad(cost, x)]))
            hessian_nodes = len(sg.ancestors([sg.hessian(cost, x, vectorized=False)]))
            y = sg.softmax(sg.tanh(x))
            forward_nodes = len(sg.ancestors([sg.jacobian(y, x, mode="forward", vectorized=False)]))
            reverse_nodes = len(sg.ancestors([sg.jacobian(y, x, mode="reverse", vectorized=False)]))
        rows.append({"n": n, "gradient": gradient_nodes, "hessian": hessian_nodes,
                     "jacobian forward": forward_nodes, "jacobian reverse": reverse_nodes})
    return rows


def main() -> dict:
    tanh_rows = tanh_derivative_counts()
    print("d^n/dx^n tanh(x): nodes in symgrad's graph vs the size of SymPy's diff")
    print("(grad: repeated sg.grad; jvp: repeated sg.jvp with tangent 1; SymPy: diff(tanh(x), x, n) "
          "and, iterated, diff applied n times)")
    print(f"{'n':>2} {'grad nodes':>11} {'growth':>7} {'jvp nodes':>10} {'sympy count_ops':>16} "
          f"{'sympy tree nodes':>17} {'sympy iterated ops':>19}")
    previous = None
    for row in tanh_rows:
        growth = f"{row['symgrad nodes'] / previous:.2f}" if previous else ""
        previous = row["symgrad nodes"]
        print(f"{row['n']:>2} {row['symgrad nodes']:>11} {growth:>7} {row['jvp nodes']:>10} "
              f"{row['sympy count_ops']:>16} {row['sympy tree nodes']:>17} {row['sympy iterated count_ops']:>19}")
    dense_rows = dense_counts()
    print("\ndense derivatives of f(x) = Σ tanh(x ⊙ reversed x) softplus(x) and y = softmax(tanh(x)), "
          "x of size n, one sweep per element (vectorized=False)")
    print(f"{'n':>3} {'grad f':>7} {'hessian f':>10} {'jacobian y (fwd)':>17} {'jacobian y (rev)':>17}")
    for row in dense_rows:
        print(f"{row['n']:>3} {row['gradient']:>7} {row['hessian']:>10} {row['jacobian forward']:>17} "
              f"{row['jacobian reverse']:>17}")
    first, last = dense_rows[0], dense_rows[-1]
    span = last["n"] - first["n"]
    per_sweep = {key: (last[key] - first[key]) / span
                 for key in ("hessian", "jacobian forward", "jacobian reverse")}
    print("nodes added per sweep (per element of x): "
          + ", ".join(f"{key} {value:.1f}" for key, value in per_sweep.items()))
    return {"tanh": tanh_rows, "dense": dense_rows, "nodes per sweep": per_sweep}


if __name__ == "__main__":
    main()
