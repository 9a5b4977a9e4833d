"""The PyTorch peer: a plain hand-written loop equivalent to scikit-learn's MLP.

What a user would write to train the same model in PyTorch on the CPU: the
same layer sizes and hidden activation (relu unless the case says otherwise;
torch.nn's module of the same name and defaults), the same output and loss (softmax +
cross-entropy, one logistic unit for two classes, half squared error for
regression, or the case's loss: F.huber_loss for huber), Adam with scikit-learn's hyperparameters, scikit-learn's L2 term
``0.5 * alpha * ||W||^2 / batch_size`` on weights only, the same batch size, a
fresh shuffle every epoch, the same epochs, dtype and thread count. The
initialisation is PyTorch's own (the issue does not ask for the same).

A sparse X enters through ``nn.EmbeddingBag(mode="sum")`` weighted by the
CSR values, i.e. ``X @ W`` without densifying: the idiomatic PyTorch input
layer for bag-of-words data, and 10x faster than a sparse CSR tensor @ dense
weight, whose backward is very slow on the CPU.

torch is optional: :func:`load` returns None when it is not installed.
"""
import math
import warnings

import numpy as np
import scipy.sparse as sp

from benchmarks.machine import blas_threads

try:
    import torch
    from torch import nn
except ImportError:
    torch = None

ALPHA, LEARNING_RATE, BETAS, EPSILON = 1e-4, 1e-3, (0.9, 0.999), 1e-8

# SequentialLR passes an epoch to the scheduler it switches to, which torch
# then warns about; the rates are the documented ones
warnings.filterwarnings("ignore", message="The epoch parameter", category=UserWarning)


def load():
    """Return a :class:`TorchPeer`, or None when torch is not importable."""
    return None if torch is None else TorchPeer()


if torch is not None:
    class SparseLinear(nn.Module):
        """``X @ W + b`` for CSR rows given as ``(indices, offsets, values)``."""

        def __init__(self, fan_in, fan_out, dtype):
            super().__init__()
            self.bag = nn.EmbeddingBag(fan_in, fan_out, mode="sum", dtype=dtype)
            self.weight = self.bag.weight
            self.bias = nn.Parameter(torch.empty(fan_out, dtype=dtype))
            # nn.Linear's default init, not the bag's N(0, 1).
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(self.weight, -bound, bound)
            nn.init.uniform_(self.bias, -bound, bound)

        def forward(self, csr):
            indices, offsets, values = csr
            return self.bag(indices, offsets, per_sample_weights=values) + self.bias


class TorchModel:
    """A trained network plus what is needed to turn outputs into labels."""

    def __init__(self, net, task, classes, n_iter):
        self.net, self.task, self.classes, self.n_iter = net, task, classes, n_iter

    @property
    def binary(self):
        return self.task == "classification" and len(self.classes) == 2


class TorchPeer:
    """PyTorch (CPU) training loop with scikit-learn's settings."""

    name = "torch"

    def __init__(self):
        # Match the BLAS thread count fastmlp and scikit-learn run with.
        torch.set_num_threads(blas_threads())

    def _dtype(self, X):
        return torch.float32 if X.dtype == np.float32 else torch.float64

    def _network(self, sizes, dtype, sparse, activation="relu"):
        hidden = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "elu": nn.ELU,
                  "leaky_relu": nn.LeakyReLU, "selu": nn.SELU, "tanh": nn.Tanh,
                  "logistic": nn.Sigmoid, "softplus": nn.Softplus}[activation]
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            linear = SparseLinear if sparse and i == 0 else nn.Linear
            layers.append(linear(fan_in, fan_out, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(hidden())
        return nn.Sequential(*layers)

    def _tensor(self, X, rows=None):
        """``X[rows]`` as a tensor, or as :class:`SparseLinear`'s input."""
        if sp.issparse(X):
            Xb = X if rows is None else X[rows]
            return (torch.from_numpy(Xb.indices.astype(np.int64)),
                    torch.from_numpy(Xb.indptr[:-1].astype(np.int64)),
                    torch.from_numpy(Xb.data))
        return torch.from_numpy(X) if rows is None else torch.from_numpy(X)[rows]

    def fit(self, case, X, y):
        """Train a new network with the case's settings and return it."""
        torch.manual_seed(0)
        dtype = self._dtype(X)
        n_samples, n_features = X.shape
        if case.task == "classification":
            classes, codes = np.unique(y, return_inverse=True)
            binary = len(classes) == 2
            n_outputs = 1 if binary else len(classes)
            target = (torch.from_numpy(codes.astype(X.dtype)).unsqueeze(1)
                      if binary else torch.from_numpy(codes.astype(np.int64)))
        else:
            classes, binary, n_outputs = None, False, 1
            target = torch.from_numpy(np.asarray(y, dtype=X.dtype)).unsqueeze(1)
        sparse = sp.issparse(X)
        net = self._network([n_features, *case.hidden, n_outputs], dtype, sparse,
                            case.activation)
        weights = [m.weight for m in net if hasattr(m, "weight")]
        opt, sched, max_norm = self._optimizer(net, case.training)
        F = nn.functional
        Xt = None if sparse else torch.from_numpy(X)
        batch_size = min(case.batch_size, n_samples)
        for _ in range(case.epochs):
            perm = torch.randperm(n_samples)
            for start in range(0, n_samples, batch_size):
                rows = perm[start:start + batch_size]
                xb = self._tensor(X, rows.numpy()) if sparse else Xt[rows]
                out = net(xb)
                if case.loss == "huber":
                    # delta 1, the mean over rows: fastmlp's huber and default delta
                    loss = F.huber_loss(out, target[rows], delta=1.0)
                elif case.task == "regression":
                    loss = 0.5 * F.mse_loss(out, target[rows])
                elif binary:
                    loss = F.binary_cross_entropy_with_logits(out, target[rows])
                else:
                    loss = F.cross_entropy(out, target[rows])
                # scikit-learn's L2: 0.5 * alpha * ||W||^2 / batch, weights only.
                l2 = sum((w * w).sum() for w in weights)
                loss = loss + (0.5 * ALPHA / len(rows)) * l2
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if max_norm is not None:
                    nn.utils.clip_grad_norm_(net.parameters(), max_norm)
                opt.step()
                if sched is not None:
                    sched.step()
        return TorchModel(net, case.task, classes, case.epochs)

    @staticmethod
    def _optimizer(net, training):
        """Adam with scikit-learn's settings, or a case's AdamW with a linear
        warm-up then cosine decay stepped per batch and gradient clipping
        (the fastmlp parameters of cases.Case.training, PyTorch's way).

        Returns
        -------
        optimizer, scheduler or None, max_norm or None
        """
        if not training:
            return (torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, betas=BETAS,
                                     eps=EPSILON), None, None)
        if (training["solver"], training["learning_rate"],
                training["lr_schedule_unit"]) != ("adamw", "cosine", "step"):
            raise ValueError(f"no PyTorch loop for {training}")
        opt = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, betas=BETAS,
                                eps=EPSILON, weight_decay=training["weight_decay"])
        sched_ = torch.optim.lr_scheduler
        warmup = training["warmup_iters"]
        sched = sched_.SequentialLR(
            opt, [sched_.LinearLR(opt, start_factor=1 / 3, total_iters=warmup),
                  sched_.CosineAnnealingLR(opt, training["lr_t_max"])], [warmup])
        return opt, sched, training["max_grad_norm"]

    def _forward(self, model, X):
        with torch.inference_mode():
            return model.net(self._tensor(X))

    def predict(self, model, X):
        out = self._forward(model, X)
        if model.task == "regression":
            return out[:, 0].numpy()
        codes = (out[:, 0] > 0).long() if model.binary else out.argmax(dim=1)
        return model.classes[codes.numpy()]

    def predict_proba(self, model, X):
        out = self._forward(model, X)
        if model.binary:
            p = torch.sigmoid(out)
            return torch.cat([1 - p, p], dim=1).numpy()
        return torch.softmax(out, dim=1).numpy()

    def score(self, model, X, y):
        """Accuracy or R2, computed like scikit-learn's ``score``."""
        from sklearn.metrics import accuracy_score, r2_score

        pred = self.predict(model, X)
        if model.task == "regression":
            return r2_score(y, pred)
        return accuracy_score(y, pred)

    def n_iter(self, model):
        return model.n_iter
