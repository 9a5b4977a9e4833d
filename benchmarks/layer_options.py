"""Batch norm and dropout beside the plain network and PyTorch (issue 13).

The `large` case (make_classification 100k x 100, 10 classes, (256, 256),
adam, batch 200, 3 epochs) and the `small` case (digits, (100,), 50 epochs),
float32: fastmlp without the options, fastmlp with ``batch_norm=True,
dropout=0.2`` on every hidden layer, and a PyTorch loop with the same layers
(Linear, BatchNorm1d, ReLU, Dropout(0.2)), loss, Adam settings, L2 term,
batch size, shuffles and thread count. The three run interleaved, repeat
after repeat; the medians and their ratios are printed with the load the
machine had meanwhile (the targets: at most 1.3x the plain network's time,
at least 1.5x faster than PyTorch; 3x on the small case).

    python -m benchmarks.layer_options [--repeats 3] [--cases large,small]
"""
import argparse
import os
import statistics
import time
import warnings

import numpy as np

from benchmarks.cases import as_dtype, cases, load as load_case

ALPHA, LEARNING_RATE = 1e-4, 1e-3
RATE = 0.2


def fastmlp_fit(case, X, y, **options):
    from fastmlp import MLPClassifier

    model = MLPClassifier(case.hidden, max_iter=case.epochs, batch_size=case.batch_size,
                          alpha=ALPHA, learning_rate_init=LEARNING_RATE, random_state=0,
                          tol=0, n_iter_no_change=np.inf, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def torch_fit(case, X, y):
    import torch
    from torch import nn

    torch.manual_seed(0)
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    classes, codes = np.unique(y, return_inverse=True)
    sizes = [X.shape[1], *case.hidden, len(classes)]
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out, dtype=dtype))
        if i < len(sizes) - 2:
            layers += [nn.BatchNorm1d(fan_out, dtype=dtype), nn.ReLU(), nn.Dropout(RATE)]
    net = nn.Sequential(*layers)
    net.train()
    weights = [m.weight for m in net if isinstance(m, nn.Linear)]
    opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8)
    Xt, target = torch.from_numpy(X), torch.from_numpy(codes.astype(np.int64))
    n = X.shape[0]
    for _ in range(case.epochs):
        perm = torch.randperm(n)
        for start in range(0, n, case.batch_size):
            rows = perm[start:start + case.batch_size]
            loss = nn.functional.cross_entropy(net(Xt[rows]), target[rows])
            loss = loss + (0.5 * ALPHA / len(rows)) * sum((w * w).sum() for w in weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    with torch.inference_mode():
        return (net(Xt).argmax(1).numpy() == codes).mean()


def load():
    """The 1-minute load average and the CPU share other processes took."""
    return os.getloadavg()[0]


def run(case_name, repeats, dtype):
    import torch

    from benchmarks.machine import blas_threads

    torch.set_num_threads(blas_threads())
    case = cases()[case_name]
    X, y = load_case(case)
    X = as_dtype(X, dtype)
    runs = {
        "fastmlp": lambda: fastmlp_fit(case, X, y).score(X, y),
        "fastmlp bn+dropout": lambda: fastmlp_fit(case, X, y, batch_norm=True,
                                                  dropout=RATE).score(X, y),
        "torch bn+dropout": lambda: torch_fit(case, X, y),
    }
    times = {name: [] for name in runs}
    scores = {}
    loads = []
    for repeat in range(repeats + 1):
        for name, fit in runs.items():
            start = time.perf_counter()
            scores[name] = fit()
            elapsed = time.perf_counter() - start
            if repeat:   # the first round warms up
                times[name].append(elapsed)
        loads.append(load())
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{case_name} ({case.title}), {dtype}, {repeats} repeats, median s "
          f"(train accuracy); load average during the run {min(loads):.2f}-{max(loads):.2f} "
          f"on {os.cpu_count()} cores")
    for name in runs:
        print(f"  {name:20s} {medians[name]:8.3f}  ({scores[name]:.3f})")
    print(f"  bn+dropout / plain: {medians['fastmlp bn+dropout'] / medians['fastmlp']:.2f}x "
          f"(target <= 1.3x);  torch / fastmlp bn+dropout: "
          f"{medians['torch bn+dropout'] / medians['fastmlp bn+dropout']:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cases", default="large,small")
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    for name in args.cases.split(","):
        run(name, args.repeats, args.dtype)


if __name__ == "__main__":
    main()
