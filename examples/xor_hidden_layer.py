"""XOR needs a hidden layer.

The theory notes (multilayer perceptrons): Minsky and Papert showed in 1969
that a single-layer network cannot compute XOR; a multilayer perceptron,
with a hidden layer, can.

Why: without a hidden layer the network's logit is affine in x,
f(x) = w1 x1 + w2 x2 + b, and on XOR's four corners
f(0, 0) + f(1, 1) = f(0, 1) + f(1, 0), so the two class-0 corners cannot
both be on one side of 0 while the two class-1 corners are on the other.
The best such a unit can do for the log loss is 1/2 everywhere (loss
log 2 = 0.6931). Four tanh hidden units fit XOR exactly.

The figure shows both models' probability of class 1 over the plane.

    python examples/xor_hidden_layer.py [--out xor_hidden_layer.png]

(``pip install "fastmlp[examples]"`` for matplotlib.)
"""
import argparse
import os

import numpy as np

from fastmlp import DecisionRegionsDisplay, MLPClassifier

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([0, 1, 1, 0])


def fit(hidden_layer_sizes):
    return MLPClassifier(hidden_layer_sizes, activation="tanh", solver="lbfgs", alpha=0.0,
                         max_iter=2000, random_state=0).fit(X, Y_XOR)


def report(name, model):
    proba = model.predict_proba(X)[:, 1]
    f = model.forward_pass(X)[0][-1][:, 0]  # the output unit's logit
    print(f"{name}: P(class 1) at (0,0) (0,1) (1,0) (1,1) = "
          f"{' '.join(f'{p:.3f}' for p in proba)}")
    print(f"  log loss {model.loss_:.4f}, accuracy {model.score(X, Y_XOR):.2f}, "
          f"logits f(0,0) + f(1,1) - f(0,1) - f(1,0) = {f[0] + f[3] - f[1] - f[2]:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(
        os.environ.get("FASTMLP_EXAMPLES_OUT", "."), "xor_hidden_layer.png"))
    args = parser.parse_args()

    linear, hidden = fit(()), fit((4,))
    report("no hidden layer", linear)
    report("four tanh hidden units", hidden)

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
    for ax, model, title in ((axes[0], linear, "no hidden layer: 1/2 everywhere"),
                             (axes[1], hidden, "four tanh hidden units")):
        display = DecisionRegionsDisplay.from_estimator(
            model, X, Y_XOR, response_method="predict_proba", eps=0.5, ax=ax,
            levels=np.linspace(0, 1, 11), alpha=0.7, scatter_kwargs={"s": 120})
        ax.set(title=title, xlabel="x1", ylabel="x2")
    fig.colorbar(display.surface_, ax=axes, label="P(x1 XOR x2 = 1)")
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
