"""Side-by-side benchmarks of fastmlp, scikit-learn and PyTorch (issue 3).

Run from the repository root with ``python -m benchmarks`` (or
``python benchmarks/run.py``); ``--quick`` runs every case on tiny sizes and
``--help`` lists the options. One process runs the libraries alternately on
the same data and settings, so only ratios from one run are compared.

Modules, one concern each:

- ``cases``: the data sets and model settings of every case.
- ``peers``: fastmlp and scikit-learn behind one small interface.
- ``torch_loop``: the hand-written PyTorch equivalent (optional).
- ``gemm_bound``: flop counts and the BLAS-only time of the same products.
- ``measure``: interleaved, repeated timing of one case.
- ``memory``, ``threads``, ``contention``, ``scaling``: peak RSS, GIL, busy
  neighbour and growth checks.
- ``machine``, ``report``: machine description and the markdown tables.
- ``run``: the command line.
"""
