"""The package's shape: imports run one way, and every op carries every fact about itself."""

import ast
from pathlib import Path

import networkx as nx
import pytest

import symgrad as sg
from symgrad.ops import BUILTIN_OPS

PACKAGE = Path(sg.__file__).parent

# Bottom to top: a module may import only modules of earlier layers (README, "How the code is
# organised"). Modules of one layer do not import each other.
LAYERS = [
    ["errors"], ["types"], ["ir"], ["format"],
    ["ops._define"], ["ops.arith"], ["ops.select"], ["ops.elementary"], ["ops.shape"],
    ["ops.manipulation", "ops.indexing", "ops.scans"], ["ops.reductions"], ["ops.linalg"], ["ops.contract"], ["ops.decompositions"], ["ops.nn"],
    ["ops.special"],
    ["ops", "linalg", "special"],
    ["rewrite"], ["autodiff"], ["vectorize"], ["derivatives"], ["sparsity"], ["backend"],
    ["evaluate"], ["listing"],
    ["compile.steps"], ["compile.buffers"], ["compile.emit"], ["compile.codegen"], ["compile.xp"], ["compile.function"], ["compile"],
    ["check", "drawing", "serialize"],
    [""],  # symgrad/__init__.py
]
RANK = {name: k for k, layer in enumerate(LAYERS) for name in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def symgrad_imports(path: Path):
    """(imported module, whether the import is inside a function) for each import of a symgrad module."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join([p for p in base if p] + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "symgrad":
                target = node.module.partition(".")[2]
            else:
                continue
            targets = [target]
            if not node.module:  # from . import ops: the names are modules
                targets = [".".join(p for p in [target, a.name] if p) for a in node.names]
            for t in targets:
                yield t, id(node) in inside
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "symgrad":
                    yield alias.name.partition(".")[2], id(node) in inside


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    assert {module_name(p) for p in MODULES} == set(RANK)


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_run_downward_and_at_the_top(path):
    name = module_name(path)
    for target, in_function in symgrad_imports(path):
        while target and target not in RANK:  # a name imported from a module
            target = target.rpartition(".")[0]
        assert not in_function, f"{name} imports {target} inside a function"
        assert RANK[target] < RANK[name], f"{name} (layer {RANK[name]}) imports {target} (layer {RANK[target]})"


def test_no_import_cycles():
    graph = nx.DiGraph()
    for path in MODULES:
        for target, _ in symgrad_imports(path):
            while target and target not in RANK:
                target = target.rpartition(".")[0]
            graph.add_edge(module_name(path), target)
    assert list(nx.simple_cycles(graph)) == []


# --- every op carries its facts ---------------------------------------------------------------

# Ops without derivative rules, and why.
NO_RULES = {"placeholder": "a leaf: the evaluator supplies its value",
            "constant": "a leaf: it holds its value"}
# Ops without a scalar (``math``) spelling, and why: a scalar float64 graph that uses one runs
# the NumPy code instead, which is correct and only slower to call.
NO_SCALAR_FORM = {
    "reductions, shapes, indexing, matmul and nn ops": "a scalar graph has nothing to reduce, move or multiply",
    "relu, maximum, minimum, where, leaky_relu, softplus, sign, floor, round, comparisons, cast, "
    "stop_gradient": "Python's max, comparisons and rounding treat NaN, -0.0 and ties differently from NumPy",
    "sg.special's ops": "SciPy computes them; math has erf, erfc and lgamma only, which differ from SciPy's "
                        "in the last bits and raise at lgamma's poles",
}
SCALAR_FORMS = {"neg", "add", "sub", "mul", "div", "pow", "exp", "log", "log1p", "expm1", "sqrt", "square",
                "sin", "cos", "tan", "tanh", "sigmoid", "abs"}


@pytest.mark.parametrize("op", sorted(BUILTIN_OPS, key=lambda op: op.name), ids=lambda op: op.name)
def test_every_builtin_op_has_every_fact(op):
    assert callable(op.forward) and callable(op.infer)
    if op.name in NO_RULES:
        assert op.vjp == () and op.jvp == ()
        return
    assert op.pure, f"{op.name}: symgrad's own ops are pure (foldable, probed for dtype)"
    for rules in (op.vjp, op.jvp):
        assert callable(rules) or (isinstance(rules, tuple) and rules and all(callable(r) for r in rules))
    assert (op.math is not None) == (op.name in SCALAR_FORMS)
    assert callable(op.sparsity), f"{op.name}: give it a sparsity fact (symgrad.ops._define has the common kinds)"
    if op.numpy is None:  # the default spelling: the forward's own NumPy name, or the forward bound by name
        assert callable(op.forward)


LEAVES = {"placeholder", "constant"}  # no inputs: never rebuilt by sg.vectorize


@pytest.mark.parametrize("op", sorted(BUILTIN_OPS, key=lambda op: op.name), ids=lambda op: op.name)
def test_every_builtin_op_says_how_it_batches(op):
    """Op.batch, in the op's block: a rule, or one of ops._define's words."""
    if op.name in LEAVES:
        assert op.batch is None
        return
    kinds = {"elementwise", "leading", "loop"}
    assert callable(op.batch) or op.batch in kinds or (
        isinstance(op.batch, tuple) and op.batch[0] == "axes" and len(op.batch) > 1), op.name


def test_a_new_op_is_defined_in_one_place():
    """An op made in a user's module is complete: listed, drawn, saved, compiled and differentiated."""
    cube = sg.Op("cube_layout_test", lambda x: x ** 3, lambda x: (x.shape, x.dtype),
                 vjp=(lambda out_bar, out, x: out_bar * 3.0 * x * x,),
                 jvp=(lambda x_dot, out, x: x_dot * 3.0 * x * x,))
    x = sg.vector("x", 2)
    y = cube(x).sum()
    g = sg.grad(y, x)
    f = sg.function([x], [y, g])
    value, gradient = f([1.0, 2.0])
    assert float(value) == 9.0 and gradient.tolist() == [3.0, 12.0]
    assert "cube_layout_test" in sg.listing(g) and "cube_layout_test" in sg.to_dot(g)
    assert "f_cube_layout_test" in f.source


TESTS = Path(__file__).parent


@pytest.mark.parametrize("path", sorted(TESTS.glob("*.py")), ids=lambda p: p.name)
def test_tests_use_public_names_and_do_not_import_tests(path):
    """Tests import symgrad's public or documented internal names, and helpers, never another test module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert not node.module.startswith("test_"), f"{path.name} imports {node.module}"
            if node.module.split(".")[0] == "symgrad":
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"
        elif isinstance(node, ast.Import):
            assert not any(a.name.startswith("test_") for a in node.names), f"{path.name} imports a test"
