"""The Newton-CG and Hessian-spectrum examples run, and their results hold up."""

import numpy as np

from example_modules import load_example


def test_newton_cg_needs_far_fewer_iterations_than_gradient_descent(capsys):
    example = load_example("newton_cg")
    results = example.main()
    assert "Newton-CG" in capsys.readouterr().out
    newton, descent = results["Newton-CG (sg.hvp)"], results["gradient descent (1/L)"]
    assert newton["gradient norm"] < example.TOLERANCE
    assert newton["loss"] <= descent["loss"] + 1e-15
    assert 20 * newton["iterations"] < descent["iterations"]
    assert newton["Hessian-vector products"] + newton["gradient evaluations"] < descent["gradient evaluations"] / 5


def test_newton_cg_solution_is_the_minimum_by_a_numpy_gradient():
    example = load_example("newton_cg")
    X, y, loss_and_grad, hessian_times = example.make_problem(seed=3)
    w, figures = example.newton_cg(loss_and_grad, hessian_times, np.zeros(example.FEATURES))
    p = 1 / (1 + np.exp(-X @ w))
    numpy_gradient = X.T @ (p - y) / len(y) + 2 * example.L2 * w
    assert np.linalg.norm(numpy_gradient) < 1e-7
    assert figures["iterations"] < 30


def test_lanczos_top_eigenvalues_match_eigvalsh_of_the_dense_hessian(capsys):
    results = load_example("hessian_spectrum").main()
    assert "Lanczos" in capsys.readouterr().out
    np.testing.assert_allclose(results["lanczos"], results["eigvalsh"], rtol=1e-6)
    assert results["symmetric"]
    assert 100 <= results["parameters"] <= 300
    assert results["lanczos steps"] < results["parameters"]  # fewer products than a dense Hessian needs
