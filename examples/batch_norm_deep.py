"""A deep narrow network that trains with batch normalisation and barely
without it.

The theory notes' claim ("training deep networks"): stacking logistic layers
shrinks the gradient that reaches the first ones (the logistic's derivative
is at most 1/4), so a deep narrow network barely moves from its start;
normalising each layer's pre-activations over the minibatch keeps them where
the logistic is steep, and the same network trains.

Six logistic hidden layers of 16 units on a 10-class problem, adam, the same
seed, with and without ``batch_norm=True``; the two loss curves
(``LossCurveDisplay``) go to ``batch_norm_deep.png``.

    python examples/batch_norm_deep.py [--out batch_norm_deep.png] [--epochs 60]

(``pip install "fastmlp[examples]"`` for matplotlib; FASTMLP_EXAMPLES_QUICK=1
trains 15 epochs, as the tests do.)
"""
import argparse
import os
import warnings

from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from fastmlp import LossCurveDisplay, MLPClassifier


def fit_both(epochs=60):
    X, y = make_classification(6000, 20, n_informative=12, n_classes=10,
                               n_clusters_per_class=1, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    models = {}
    for batch_norm in (False, True):
        model = MLPClassifier((16,) * 6, activation="logistic", batch_norm=batch_norm,
                              max_iter=epochs, random_state=0, tol=0,
                              n_iter_no_change=epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train, y_train)
        models[batch_norm] = (model, model.score(X_test, y_test))
    return models


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(
        os.environ.get("FASTMLP_EXAMPLES_OUT", "."), "batch_norm_deep.png"))
    parser.add_argument("--epochs", type=int,
                        default=15 if os.environ.get("FASTMLP_EXAMPLES_QUICK") else 60)
    args = parser.parse_args()
    models = fit_both(args.epochs)
    for batch_norm, (model, score) in models.items():
        print(f"batch_norm={batch_norm!s:5}: first loss {model.loss_curve_[0]:.3f}, "
              f"final loss {model.loss_:.3f}, test accuracy {score:.3f}")

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for batch_norm, (model, score) in models.items():
        name = f"{'with' if batch_norm else 'without'} batch norm (test acc. {score:.2f})"
        LossCurveDisplay.from_estimator(model, ax=ax, name=name)
    ax.set_title("Six logistic hidden layers of 16 units, adam")
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
