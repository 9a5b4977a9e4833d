"""One description of a network: `NetworkSpec`.

A spec says what a network is: the input width, each hidden layer's units
and activation (with its parameters), the output width, the loss and the
output activation it implies, and the dtype. Everything that follows from
that is derived here and nowhere else:

- the parameter layout: where every parameter group (coefficients and
  intercepts of each layer, then the batch-normalised layers' gamma and
  beta) lives in the flat buffer;
- the state layout: each batch-normalised layer's running mean and
  variance in a flat float64 state buffer;
- the work layout: which columns of a row part's work buffer hold the
  gathered input, targets, sample weights, and each layer's activations,
  derivatives f'(Z) (only where they cannot be written from the
  activations), deltas, normalised pre-activations (batch norm) and
  dropout's scaled derivatives;
- the memory a fit needs, estimated before anything is allocated;
- the multiply-adds per row, which sizes row parts.

The engine's `Network` is built from a spec, initialisation draws from it,
the estimator pickles it, and its loss is stored in it, never inferred.
"""
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import accumulate

import numpy as np

from ._registry import ACTIVATIONS, LOSSES, OPTIMIZERS, OUT_ACTIVATIONS


@dataclass(frozen=True)
class HiddenLayer:
    """A hidden layer: its width and activation.

    Parameters
    ----------
    units : int
    activation : str
        A canonical name in `ACTIVATIONS`.
    activation_params : tuple of (str, float)
        The activation's parameters, in the registry's order.
    batch_norm : bool
        Normalise the layer's pre-activations over the minibatch, then
        scale by gamma and shift by beta, before the activation (issue 13).
    dropout : float
        The rate at which training zeroes the layer's outputs (inverted
        dropout: the kept ones are scaled by 1 / (1 - rate)); 0: none.
    """

    units: int
    activation: str
    activation_params: tuple = ()
    batch_norm: bool = False
    dropout: float = 0.0

    @property
    def keeps_z(self) -> bool:
        """Whether the layer keeps f'(z), evaluated with f(z) in the forward
        pass, for the backward pass: only when the derivative cannot be
        written from the output a = f(z)."""
        info = ACTIVATIONS[self.activation]
        return not info.derivative_from_output(dict(self.activation_params))


@dataclass(frozen=True)
class ParameterGroup:
    """Where one layer's coefficients or intercepts live in the flat buffer."""

    kind: str        # "coef", "intercept", "gamma" or "beta"
    layer: int       # the weight layer, 0 = input -> first hidden
    start: int
    stop: int
    shape: tuple


@dataclass(frozen=True)
class WorkColumns:
    """A row part's work buffer as columns per row. Each block holds the part's
    ``max_rows`` rows of its width and starts at ``max_rows`` times its
    column; the engine multiplies, nothing else computes offsets.

    Blocks, in order: ``x`` (the gathered input rows; width 0 unless
    gathering), ``y`` (targets), ``sw`` (sample weights), ``ones`` (a column
    of ones: BLAS sums a delta's columns as a product with it), ``act`` (every
    layer's output A_{l+1}; the output layer's z, then its output), ``pre``
    (f'(Z_{l+1}) of the layers that keep it), ``delta`` (every layer's
    dLoss/dZ_{l+1}), ``norm`` (the normalised pre-activations of the
    batch-normalised layers) and ``mask`` (dropout's keep scale times f',
    per dropout layer). ``act_cols``, ``pre_cols``, ``delta_cols``,
    ``norm_cols`` and ``mask_cols`` give each weight layer's column within
    its block (-1: none).
    """

    x: int
    y: int
    sw: int
    ones: int
    act: int
    pre: int
    delta: int
    norm: int
    mask: int
    total: int
    act_cols: tuple
    pre_cols: tuple
    delta_cols: tuple
    norm_cols: tuple
    mask_cols: tuple


@dataclass(frozen=True)
class NetworkSpec:
    """What a network is; see the module docstring.

    Parameters
    ----------
    n_features : int
    hidden : tuple of HiddenLayer
    n_outputs : int
    loss : str
        A name in `LOSSES`.
    target_type : str
        The kind of target the loss is applied to: "binary", "multiclass",
        "multilabel-indicator" or "continuous".
    loss_params : tuple of (str, float)
    dtype : str
        "float32" or "float64".
    out_activation : str, optional
        What predictions apply to the output layer's z; by default the one
        the loss implies (scikit-learn's ``out_activation_``).
    batch_norm_momentum : float
        Weight of a minibatch's statistics in the running ones (PyTorch's
        momentum).
    batch_norm_eps : float
        Added to the variance before its square root (PyTorch's eps).
    """

    n_features: int
    hidden: tuple
    n_outputs: int
    loss: str
    target_type: str
    loss_params: tuple = ()
    dtype: str = "float64"
    out_activation: str = None  # type: ignore[assignment]  # None: the loss's, set in __post_init__
    batch_norm_momentum: float = 0.1
    batch_norm_eps: float = 1e-5

    def __post_init__(self):
        if self.target_type not in LOSSES[self.loss].outputs:
            raise ValueError(
                f"loss={self.loss!r} does not apply to {self.target_type} targets")
        if self.out_activation is None:
            object.__setattr__(self, "out_activation",
                               LOSSES[self.loss].outputs[self.target_type][1])

    # -- shape ---------------------------------------------------------------

    @cached_property
    def layer_units(self) -> list:
        """Widths from the input to the output layer."""
        return [self.n_features] + [layer.units for layer in self.hidden] + [self.n_outputs]

    @property
    def n_layers(self) -> int:
        """Weight layers (one more than the hidden layers)."""
        return len(self.hidden) + 1

    @property
    def loss_code(self) -> int:
        return LOSSES[self.loss].outputs[self.target_type][0]

    @property
    def out_activation_code(self) -> int:
        return OUT_ACTIVATIONS[self.out_activation]

    def hidden_activation_code(self, layer) -> int:
        """The engine code of hidden layer `layer`'s activation."""
        return ACTIVATIONS[self.hidden[layer].activation].code

    def activation_params(self, layer) -> tuple:
        """Hidden layer `layer`'s activation parameters, as floats in the
        registry's order."""
        return tuple(float(value) for _, value in self.hidden[layer].activation_params)

    @property
    def loss_param(self) -> float:
        """The loss's parameter (huber's delta, the quantile), or 0."""
        return float(self.loss_params[0][1]) if self.loss_params else 0.0

    @property
    def n_targets(self) -> int:
        """Columns of the targets the engine reads: one class index per row
        for the multiclass losses, else one per output."""
        return 1 if self.target_type == "multiclass" else self.n_outputs

    def with_units(self, layer_units):
        """The same network with other widths (coefs_ assigned by a user),
        keeping each layer's activation."""
        layer_units = [int(u) for u in layer_units]
        if len(layer_units) != len(self.layer_units):
            raise ValueError(
                f"coefs_ describe {len(layer_units) - 1} weight layers, but the model "
                f"has {self.n_layers}: assign one coefficient matrix per layer "
                "(hidden layers and activations cannot be added by assigning coefs_).")
        hidden = tuple(
            replace(layer, units=units) for units, layer in zip(layer_units[1:-1], self.hidden))
        return replace(self, n_features=layer_units[0], hidden=hidden,
                       n_outputs=layer_units[-1])

    # -- the flat parameter buffer ---------------------------------------------

    @property
    def batch_norm_layers(self) -> tuple:
        """The weight layers whose outputs are batch-normalised."""
        return tuple(l for l, layer in enumerate(self.hidden) if layer.batch_norm)

    @property
    def dropout_layers(self) -> tuple:
        """The weight layers whose outputs dropout zeroes in training."""
        return tuple(l for l, layer in enumerate(self.hidden) if layer.dropout > 0)

    @property
    def n_stats(self) -> int:
        """Units of the batch-normalised layers: a running mean and a running
        variance each, in the state buffer."""
        return sum(self.hidden[l].units for l in self.batch_norm_layers)

    def stat_offsets(self) -> tuple:
        """Per weight layer, where its running mean starts in the state
        buffer (its running variance follows n_stats later), or -1."""
        offsets, start = [], 0
        for l in range(self.n_layers):
            if l < len(self.hidden) and self.hidden[l].batch_norm:
                offsets.append(start)
                start += self.hidden[l].units
            else:
                offsets.append(-1)
        return tuple(offsets)

    def without_training_layers(self):
        """The network predictions run: batch norm folded into the weights
        (see fastmlp/_batch_norm.py), dropout off."""
        hidden = tuple(replace(layer, batch_norm=False, dropout=0.0) for layer in self.hidden)
        return replace(self, hidden=hidden)

    @cached_property
    def parameter_groups(self) -> tuple:
        """Every parameter group in buffer order: all coefficient matrices
        (row-major), then all intercept vectors, as scikit-learn packs them
        for lbfgs, then each batch-normalised layer's gamma and beta; the L2
        penalty covers the coefficients, [0, n_coefs)."""
        units = self.layer_units
        groups = []
        start = 0
        for layer in range(self.n_layers):
            shape = (units[layer], units[layer + 1])
            groups.append(ParameterGroup("coef", layer, start, start + shape[0] * shape[1],
                                         shape))
            start += shape[0] * shape[1]
        for layer in range(self.n_layers):
            n = units[layer + 1]
            groups.append(ParameterGroup("intercept", layer, start, start + n, (n,)))
            start += n
        for layer in self.batch_norm_layers:
            n = units[layer + 1]
            for kind in ("gamma", "beta"):
                groups.append(ParameterGroup(kind, layer, start, start + n, (n,)))
                start += n
        return tuple(groups)

    def groups(self, kind):
        return [group for group in self.parameter_groups if group.kind == kind]

    @property
    def n_params(self) -> int:
        return self.parameter_groups[-1].stop

    @property
    def n_coefs(self) -> int:
        """Coefficients come first in the buffer: the L2 penalty's range."""
        return self.groups("coef")[-1].stop

    @property
    def multiply_adds_per_row(self) -> int:
        units = self.layer_units
        return sum(a * b for a, b in zip(units[:-1], units[1:]))

    # -- the work buffer ---------------------------------------------------------

    def work_columns(self, gather: bool) -> WorkColumns:
        """The training work layout (see `WorkColumns`), in Python integers
        (a memory check reads it before any width reaches the engine)."""
        units = self.layer_units
        outputs = units[1:]
        normed = [width if l < len(self.hidden) and self.hidden[l].batch_norm else 0
                  for l, width in enumerate(outputs)]
        masked = [width if l < len(self.hidden) and self.hidden[l].dropout > 0 else 0
                  for l, width in enumerate(outputs)]
        kept = [layer.keeps_z for layer in self.hidden] + [False]
        pre_widths = [width if keep else 0 for width, keep in zip(outputs, kept)]
        act_cols = tuple(accumulate(outputs[:-1], initial=0))
        pre_cols = tuple(start if keep else -1
                         for start, keep in zip(accumulate(pre_widths, initial=0), kept))
        x = 0
        y = x + (units[0] if gather else 0)
        # targets as wide as the output (the engine also takes a one-hot
        # matrix where class indices are usual)
        sw = y + self.n_outputs
        ones = sw + 1
        act = ones + 1
        pre = act + sum(outputs)
        delta = pre + sum(pre_widths)
        norm = delta + sum(outputs)
        mask = norm + sum(normed)
        total = mask + sum(masked)
        return WorkColumns(x, y, sw, ones, act, pre, delta, norm, mask, total,
                           act_cols, pre_cols, act_cols, _columns(normed), _columns(masked))

    @property
    def values_per_row(self) -> int:
        """Input and work values one row of a chunk touches: what bounds a
        chunk's rows (lbfgs, predictions)."""
        columns = self.work_columns(False)
        return self.n_features + columns.total - columns.act

    @property
    def inference_columns(self) -> int:
        """Values per row of a prediction's work buffer: the activations."""
        return sum(self.layer_units[1:])

    # -- memory -------------------------------------------------------------------

    def fit_bytes(self, solver, batch_rows, gather, n_parts, warm):
        """Bytes a fit holds at once, in exact integer arithmetic, before
        anything is allocated.

        Parameter-sized buffers: the parameters, the copy kept to restore
        them if the call fails, the best parameters of early stopping, a
        gradient per row part, and lbfgs's float64 history (10 correction
        pairs and a few vectors) or the stochastic solver's state (twice
        when a warm call keeps a copy to restore). Then a work buffer per
        row part.

        Parameters
        ----------
        solver : str
        batch_rows : int
            Rows per minibatch (lbfgs: per chunk).
        gather : bool
        n_parts : int
        warm : bool
            The call goes on from a fitted model.

        Returns
        -------
        params_bytes, work_bytes : int
        """
        itemsize = np.dtype(self.dtype).itemsize
        if solver == "lbfgs":
            per_param = (3 + n_parts) * itemsize + 30 * 8
        else:
            state = OPTIMIZERS[solver].state_buffers * (2 if warm else 1)
            per_param = (3 + n_parts + state) * itemsize
        part_rows = -(-batch_rows // n_parts)
        work = n_parts * part_rows * self.work_columns(gather).total * itemsize
        return self.n_params * per_param, work


def _columns(widths):
    """Each width's first column in a block of them all; -1 for width 0."""
    return tuple(start if width else -1
                 for start, width in zip(accumulate(widths, initial=0), widths))
