"""The engine's training entry points (Epochs, loss_gradient)
refuse buffers they would read or write out of bounds, before using them."""
import numpy as np
import pytest

from engine_specs import network_spec
from fastmlp._engine._epochs import Epochs
from fastmlp._engine._full_batch import loss_gradient
from fastmlp._engine._network import Network
from fastmlp._engine._optimizers import Rule, StepSettings

N_ROWS, BATCH, N_PARTS = 10, 4, 2


def _buffers(dtype=np.float64):
    network = Network(network_spec([3, 5, 1], "relu", "binary_log_loss"))
    n = network.n_params
    part_rows = -(-BATCH // N_PARTS)
    rng = np.random.RandomState(0)
    return dict(
        network=network,
        params=rng.randn(n).astype(dtype),
        grads=np.empty(N_PARTS * n, dtype),
        moment_1=np.zeros(n, dtype),
        moment_2=np.zeros(n, dtype),
        work=np.empty(N_PARTS * network.work_size(part_rows, True), dtype),
        X=rng.randn(N_ROWS, 3).astype(dtype),
        X_data=np.empty(0, dtype),
        X_indices=np.empty(0, np.intp),
        X_indptr=np.empty(0, np.intp),
        Y=(rng.rand(N_ROWS, 1) > 0.5).astype(dtype),
        sample_weight=np.empty(0, dtype),
        order=np.arange(N_ROWS, dtype=np.intp),
        batch_size=BATCH,
        gather=True,
        n_parts=N_PARTS,
        n_threads=2,
    )


def _adam(epochs, t=0):
    settings = StepSettings(Rule.ADAM, 1e-3, 1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                            t=t)
    loss_sum, n_batches, finite, interrupt = epochs.run(settings)
    return loss_sum, settings.t, n_batches, finite, interrupt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_epochs_run_and_count_minibatches(dtype):
    b = _buffers(dtype)
    before = b["params"].copy()
    epochs = Epochs(**b)
    loss_sum, t, n_batches, finite, interrupt = _adam(epochs)
    assert (t, n_batches, finite, interrupt) == (3, 3, True, None)
    assert np.isfinite(loss_sum) and loss_sum > 0
    assert not np.array_equal(b["params"], before)   # stepped in place
    assert _adam(epochs, t)[1] == 6                  # the same buffers again


@pytest.mark.parametrize("change, message", [
    (dict(moment_1=np.zeros(3)), "optimizer state"),
    (dict(params=np.zeros(4)), "wrong size"),
    (dict(grads=np.zeros(5)), "wrong size"),
    (dict(work=np.zeros(5)), "wrong size"),
    (dict(order=np.array([0, 1, N_ROWS], dtype=np.intp)), "out of range"),
    (dict(order=np.array([-1, 1], dtype=np.intp)), "out of range"),
    (dict(order=np.arange(N_ROWS + 1, dtype=np.intp)), "more rows"),
    (dict(order=np.empty(0, dtype=np.intp)), "needs rows"),
    (dict(sample_weight=np.ones(N_ROWS - 1)), "numbers of rows"),
    (dict(X=np.zeros((N_ROWS - 1, 3))), "numbers of rows"),
    (dict(X=np.zeros((N_ROWS, 2))), "columns for 3 inputs"),
    # a sparse X (dense X empty) whose row pointers cover fewer rows than Y
    (dict(X=np.empty((0, 0)), X_data=np.ones(2), X_indices=np.zeros(2, np.intp),
          X_indptr=np.array([0, 1, 2], np.intp), gather=False), "3 row pointers for 10 rows"),
    (dict(Y=np.zeros((N_ROWS, 2))), "columns"),
    (dict(n_parts=0), "needs rows"),
])
def test_epochs_refuse_buffers_of_the_wrong_size(change, message):
    b = _buffers()
    b.update(change)
    with pytest.raises(ValueError, match=message):
        Epochs(**b)


def test_adam_needs_its_second_moment():
    # SGD passes a one-value placeholder for the moment it does not use
    b = _buffers()
    b["moment_2"] = np.zeros(1)
    epochs = Epochs(**b)
    with pytest.raises(ValueError, match="second state buffer"):
        _adam(epochs)
    assert epochs.run(StepSettings(Rule.SGD, 1e-3, 1e-4, momentum=0.9, nesterov=True))[2]


@pytest.mark.parametrize("change, message", [
    (dict(), None),
    (dict(X=np.zeros((N_ROWS - 1, 3))), "numbers of rows"),
    (dict(X=np.zeros((N_ROWS, 4))), "columns for 3 inputs"),
    (dict(sample_weight=np.ones(N_ROWS + 1)), "numbers of rows"),
])
def test_loss_gradient_checks_its_buffers_too(change, message):
    b = _buffers()
    b.update(change)
    args = (b["network"], b["params"], b["grads"], b["work"], b["X"], b["X_data"],
            b["X_indices"], b["X_indptr"], b["Y"], b["sample_weight"], BATCH, N_PARTS,
            2, 1e-4, 1.0)
    if message is None:
        assert np.isfinite(loss_gradient(*args))
    else:
        with pytest.raises(ValueError, match=message):
            loss_gradient(*args)


class _ClaimsRows(np.ndarray):
    """An array whose shape attribute claims more rows than its buffer has."""

    @property
    def shape(self):
        return (10**9, 1)


def test_epochs_take_the_row_count_from_the_buffer_not_the_shape_attribute():
    # the rows the order may name are Y's rows in memory
    b = _buffers()
    b["Y"] = b["Y"].view(_ClaimsRows)
    b["order"] = np.array([0, 10**8], dtype=np.intp)
    with pytest.raises(ValueError, match="out of range"):
        Epochs(**b)
