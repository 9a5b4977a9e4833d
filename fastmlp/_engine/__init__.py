"""fastmlp's compiled engine (private): every numeric loop of training and
inference, in Cython, under the estimators.

Design
------
- A network reaches the engine as a `NetworkSpec` (fastmlp/_spec.py), from
  which `_network.Network` takes every offset: where each parameter group
  lives in the one flat parameter buffer (gradients mirror it), and which
  columns of a row part's work buffer hold the gathered input, targets,
  activations, pre-activations and deltas. No engine module computes a
  layout of its own.
- Codes of every kind (activation, loss, output activation, optimizer rule)
  are enums in `_common.pxd` and `_optimizers.pxd`; the registries in
  fastmlp/_registry.py map public names to them. Kernels dispatch on a code
  once per layer per call, outside row loops; a code without a kernel is
  refused when the Network is built.
- Matrix products go to BLAS (`_blas.pyx`, scipy's cython_blas); every other
  loop is ours, fused (bias + activation, derivative x delta, output
  activation + loss + delta, the whole optimizer step), on float32 or
  float64 through Cython's fused types.
- The activations' loops are the one place transcendentals dominate: on
  x86-64, setup.py builds `_activations` again for AVX2 and for AVX-512, and
  the baseline module hands out the widest build the CPU runs when it is
  imported (`_activations.ISA`; the environment variable FASTMLP_ISA caps
  it). Every build gives the same results bit for bit (no contraction into
  fused multiply-adds; elementwise loops).
- Training and inference each run as one call with the GIL released: an
  epoch of minibatches (`_epochs.pyx`), lbfgs's full-batch loss and
  gradient (`_full_batch.pyx`), a prediction (`_inference.pyx`). Buffers are
  allocated once per call (a fit's once per fit).
- A minibatch or chunk is cut into row parts run on OpenMP threads with
  single-threaded BLAS, each into its own gradient buffer; parts are added
  in part order, so results depend on the number of parts, never on which
  thread ran which part. `_part.pyx` is the one forward-loss-backward of a
  row part both training paths run. A fit's threads (`_team.pyx`) live in
  one parallel region for the whole fit and claim parts as jobs, so none
  waits for a descheduled one that has not started its part.
- Errors inside nogil loops set flags that Python turns into exceptions
  afterwards; nothing prints from C or aborts.

The glossary of the words used throughout (minibatch, chunk, row part,
slice, layer) opens `_common.pxd`.
"""
