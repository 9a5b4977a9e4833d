"""A single logistic unit computes OR: the theory notes' perceptron.

The notes (neurons and multilayer perceptrons): with f the sigmoid,
w1 = w2 = 20 and b = -10, the unit f(w1 x1 + w2 x2 + b) computes x1 OR x2.
Its pre-activation is -10 at (0, 0) and at least +10 elsewhere, so its
output is sigmoid(-10) = 0.0000454 for (0, 0) and at least sigmoid(10) =
0.9999546 for the other three inputs.

An MLPClassifier without hidden layers (``hidden_layer_sizes=()``) is that
unit: one weight per input, a bias, a logistic output. The script sets the
notes' weights and prints the truth table, then fits the same unit to the
four rows and shows it finds an OR too (other weights, the same signs). The
figure shows both units' output over the plane.

    python examples/perceptron_or.py [--out perceptron_or.png]

(``pip install "fastmlp[examples]"`` for matplotlib.)
"""
import argparse
import os

import numpy as np

from fastmlp import DecisionRegionsDisplay, MLPClassifier

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_OR = np.array([0, 1, 1, 1])


def notes_unit():
    """The notes' unit: w1 = w2 = 20, b = -10, built by one partial_fit
    (which fixes the shapes) and then given the notes' weights."""
    unit = MLPClassifier(hidden_layer_sizes=()).partial_fit(X, Y_OR, classes=[0, 1])
    unit.coefs_ = [[[20.0], [20.0]]]
    unit.intercepts_ = [[-10.0]]
    return unit


def fitted_unit():
    """The same unit fitted to OR's four rows (lbfgs, no L2 term to hold the
    weights small)."""
    return MLPClassifier(hidden_layer_sizes=(), solver="lbfgs", alpha=0.0,
                         random_state=0).fit(X, Y_OR)


def truth_table(unit):
    """Print x1, x2, the pre-activation z, the unit's output and its class."""
    Z, A = unit.forward_pass(X)
    predicted = unit.predict(X)
    print("x1 x2 |      z | sigmoid(z) | predicted | x1 OR x2")
    for x, z, a, p, t in zip(X, Z[-1][:, 0], A[-1][:, 0], predicted, Y_OR):
        print(f" {x[0]:.0f}  {x[1]:.0f} | {z:6.2f} | {a:10.7f} | {p:9d} | {t:8d}")
    return predicted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(
        os.environ.get("FASTMLP_EXAMPLES_OUT", "."), "perceptron_or.png"))
    args = parser.parse_args()

    notes = notes_unit()
    print("The notes' unit: w1 = w2 = 20, b = -10")
    predicted = truth_table(notes)
    print(f"computes OR: {bool(np.all(predicted == Y_OR))}")

    fitted = fitted_unit()
    w1, w2 = fitted.coefs_[0][:, 0]
    b = fitted.intercepts_[0][0]
    print(f"\nFitted to the four rows: w1 = {w1:.2f}, w2 = {w2:.2f}, b = {b:.2f}")
    predicted = truth_table(fitted)
    print(f"computes OR: {bool(np.all(predicted == Y_OR))}")

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
    for ax, unit, title in ((axes[0], notes, "the notes' weights: w1 = w2 = 20, b = -10"),
                            (axes[1], fitted, f"fitted: w1 = {w1:.1f}, w2 = {w2:.1f}, "
                                              f"b = {b:.1f}")):
        display = DecisionRegionsDisplay.from_estimator(
            unit, X, Y_OR, response_method="predict_proba", eps=0.5, ax=ax,
            levels=np.linspace(0, 1, 11), alpha=0.7, scatter_kwargs={"s": 120})
        ax.set(title=title, xlabel="x1", ylabel="x2")
    fig.colorbar(display.surface_, ax=axes, label="unit output, sigmoid(w1 x1 + w2 x2 + b)")
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
