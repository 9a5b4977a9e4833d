"""The theory notes' worked example of back-propagation, through fastmlp.

The notes' network: one input x = 1, a sigmoid unit (w11 = 0.5, b1 = 0.5),
then a relu unit (w21 = 1, b2 = 1) whose output is y; target 2, loss
J = (y - 2)^2 / 2. By hand they find y = 1.731, the gradients
dJ/dw21 = -0.196639, dJ/db2 = -0.269, dJ/dw11 = dJ/db1 = -0.052895, and after
one gradient step at learning rate 0.1, y = 1.775, closer to 2.

fastmlp's engine computes the same: ``forward_pass`` gives every layer's
values and ``loss_gradient`` the loss and its exact gradient (the README's
"Inspecting a network"). The notes round every intermediate to three
decimals, so their last digits differ from the exact values printed here.
The script then takes gradient steps by hand, w <- w - 0.1 dJ/dw, as the
notes do, checks the first against one ``partial_fit`` step of plain SGD,
and plots y and J over 20 steps.

    python examples/backprop_worked_example.py [--out backprop_worked_example.png]

(``pip install "fastmlp[examples]"`` for matplotlib.)
"""
import argparse
import os

import numpy as np

from fastmlp import MLPRegressor

X = [[1.0]]
TARGET = [2.0]
LEARNING_RATE = 0.1
NOTES = {"a11": 0.731, "y": 1.731, "dJ/dw21": -0.196639, "dJ/db2": -0.269,
         "dJ/dw11": -0.052895, "dJ/db1": -0.052895, "y after one step": 1.775}


def notes_network():
    """x -> sigmoid unit (w11, b1) -> relu unit (w21, b2) -> y. MLPRegressor's
    output layer is linear, so it passes y on (weight 1, bias 0) and the relu
    unit is a hidden layer; partial_fit builds the network, then the notes'
    weights replace its own."""
    net = MLPRegressor(hidden_layer_sizes=(1, 1), activation=["logistic", "relu"],
                       alpha=0.0).partial_fit(X, TARGET)
    net.coefs_ = [[[0.5]], [[1.0]], [[1.0]]]        # w11, w21, output weight
    net.intercepts_ = [[0.5], [1.0], [0.0]]         # b1, b2, output bias
    return net


def values_and_gradients(net):
    """The notes' quantities, computed by the engine."""
    Z, A = net.forward_pass(X)
    loss, coef_grads, intercept_grads = net.loss_gradient(X, TARGET)
    return {"a11": A[1][0, 0], "y": A[2][0, 0], "J": loss,
            "dJ/dw21": coef_grads[1][0, 0], "dJ/db2": intercept_grads[1][0],
            "dJ/dw11": coef_grads[0][0, 0], "dJ/db1": intercept_grads[0][0]}


def gradient_step(net):
    """w <- w - learning_rate * dJ/dw on the notes' four parameters (the
    output layer, which only passes y on, stays as it is)."""
    _, coef_grads, intercept_grads = net.loss_gradient(X, TARGET)
    for layer in (0, 1):
        net.coefs_[layer] -= LEARNING_RATE * coef_grads[layer]
        net.intercepts_[layer] -= LEARNING_RATE * intercept_grads[layer]


def sgd_step():
    """The same step by the estimator's own SGD: the notes' network with the
    relu unit folded into the linear output (1.731 > 0, so it passes its
    input and its derivative is 1), one partial_fit of plain SGD."""
    net = MLPRegressor(hidden_layer_sizes=(1,), activation="logistic", solver="sgd",
                       learning_rate_init=LEARNING_RATE, momentum=0.0, alpha=0.0,
                       batch_size=1).partial_fit(X, TARGET)
    net.coefs_ = [[[0.5]], [[1.0]]]
    net.intercepts_ = [[0.5], [1.0]]
    net.partial_fit(X, TARGET)
    return net.predict(X)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(
        os.environ.get("FASTMLP_EXAMPLES_OUT", "."), "backprop_worked_example.png"))
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()

    net = notes_network()
    first = values_and_gradients(net)
    print("forward and backward, fastmlp (exact) beside the notes (rounded):")
    for name in ("a11", "y", "dJ/dw21", "dJ/db2", "dJ/dw11", "dJ/db1"):
        print(f"  {name:8} = {first[name]: .6f}   notes {NOTES[name]: .6f}")
    print(f"  J        = {first['J']: .6f}   (y - 2)^2 / 2")

    history = [first]
    for _ in range(args.steps):
        gradient_step(net)
        history.append(values_and_gradients(net))
    print(f"after one step at learning rate {LEARNING_RATE}: y = {history[1]['y']:.6f}   "
          f"notes {NOTES['y after one step']:.3f}")
    print(f"the same step by partial_fit (solver='sgd'): y = {sgd_step():.6f}")
    print(f"after {args.steps} steps: y = {history[-1]['y']:.6f}, J = {history[-1]['J']:.6f}")

    import matplotlib.pyplot as plt

    steps = np.arange(len(history))
    fig, (ax_y, ax_j) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    ax_y.plot(steps, [h["y"] for h in history], marker="o", label="fastmlp")
    ax_y.plot([0, 1], [NOTES["y"], NOTES["y after one step"]], marker="x", linestyle="none",
              markersize=10, color="black", label="the notes")
    ax_y.axhline(TARGET[0], color="grey", linestyle="--", label="target")
    ax_y.set(xlabel="gradient step (learning rate 0.1)", ylabel="output y", title="y")
    ax_y.legend()
    ax_j.plot(steps, [h["J"] for h in history], marker="o")
    ax_j.set(xlabel="gradient step (learning rate 0.1)", ylabel="J = (y - 2)^2 / 2",
             title="loss", yscale="log")
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
