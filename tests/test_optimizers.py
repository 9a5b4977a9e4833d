"""The optimizers, schedules and gradient clipping beyond scikit-learn's
(issue 12): each step and rate against torch.optim's, clipping against
clip_grad_norm_'s definition for any number of row parts and threads, and
the estimator's checks of the settings."""
import copy
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.datasets import load_digits

from engine_specs import network_spec
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._engine._epochs import Epochs
from fastmlp._engine._full_batch import loss_gradient
from fastmlp._engine._network import Network
from fastmlp._engine._optimizers import Rule, StepSettings
from fastmlp._engine._schedules import Decay, rate_at
from fastmlp._optimizer_state import OptimizerState
from fastmlp._registry import OPTIMIZERS, SCHEDULES, STOCHASTIC_SOLVERS

try:
    import torch
except ImportError:  # the PyTorch equivalences are skipped without it
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


@pytest.fixture
def torch64():
    # torch keeps optimizer scalars (NAdam's mu_product) in the default dtype
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


# -- each step against torch.optim's -----------------------------------------

TORCH_RULES = {
    "adamw": (Rule.ADAMW, lambda p, wd: torch.optim.AdamW(p, lr=0.01, weight_decay=wd),
              dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8)),
    "nadam": (Rule.NADAM, lambda p, wd: torch.optim.NAdam(p, lr=0.01, weight_decay=wd),
              dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8, momentum_decay=4e-3)),
    "rmsprop": (Rule.RMSPROP, lambda p, wd: torch.optim.RMSprop(p, lr=0.01, weight_decay=wd),
                dict(rho=0.99, epsilon=1e-8)),
}


@needs_torch
@pytest.mark.parametrize("name", list(TORCH_RULES))
@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_steps_equal_torch_optim(torch64, name, wd):
    rule, make, hyper = TORCH_RULES[name]
    rng = np.random.RandomState(0)
    n, n_coefs, alpha, sw_sum = 40, 30, 0.3, 7.0
    p = rng.randn(n)
    tp = torch.tensor(p.copy(), requires_grad=True)
    opt = make([tp], wd)
    m1, m2 = np.zeros(n), np.zeros(n)
    s = StepSettings(rule, 0.01, alpha, weight_decay=wd, **hyper)
    for _ in range(60):
        # gradients from far below epsilon to large: where epsilon is added shows
        g = rng.randn(n) * 10.0 ** rng.uniform(-12, 2)
        # the engine gets raw sums and finishes g = (raw + alpha W) / sw_sum itself
        raw = g * sw_sum - np.r_[alpha * p[:n_coefs], np.zeros(n - n_coefs)]
        tp.grad = torch.tensor(g)
        opt.step()
        s.step(s.begin(), p, raw, m1, m2, n_coefs, sw_sum)
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["adamw", "nadam", "rmsprop"])
def test_float32_steps_follow_float64(name):
    rule, _, hyper = TORCH_RULES[name] if torch else (None, None, None)
    if rule is None:
        rule, hyper = {"adamw": (Rule.ADAMW, dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8)),
                       "nadam": (Rule.NADAM, dict(beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                                                  momentum_decay=4e-3)),
                       "rmsprop": (Rule.RMSPROP, dict(rho=0.99, epsilon=1e-8))}[name]
    rng = np.random.RandomState(1)
    p64 = rng.randn(50)
    p32 = p64.astype(np.float32)
    state = {dt: [np.zeros(50, dt), np.zeros(50, dt)] for dt in (np.float32, np.float64)}
    s64 = StepSettings(rule, 1e-3, 1e-4, weight_decay=1e-2, **hyper)
    s32 = StepSettings(rule, 1e-3, 1e-4, weight_decay=1e-2, **hyper)
    for _ in range(20):
        raw = rng.randn(50)
        s64.step(s64.begin(), p64, raw, *state[np.float64], 40, 3.0)
        s32.step(s32.begin(), p32, raw.astype(np.float32), *state[np.float32], 40, 3.0)
    np.testing.assert_allclose(p32, p64, rtol=1e-4, atol=1e-5)


def test_adamw_decay_is_decoupled_and_on_every_parameter():
    # a zero gradient leaves Adam's moments at 0: only the decay moves p
    p = np.array([2.0, -4.0])
    s = StepSettings(Rule.ADAMW, 0.1, 0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                     weight_decay=0.5)
    s.step(s.begin(), p, np.zeros(2), np.zeros(2), np.zeros(2), 1)
    np.testing.assert_array_equal(p, [2.0 * 0.95, -4.0 * 0.95])


# -- schedules against torch.optim.lr_scheduler --------------------------------

def _torch_rates(n, lr, main, warmup, warmup_start):
    """The rates a torch optimizer steps with, its scheduler stepped n - 1
    times: main(optimizer) after a LinearLR warm-up chained by SequentialLR."""
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr)
    sched = main(opt)
    if warmup:
        warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=warmup_start,
                                                 total_iters=warmup)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, main(opt)], [warmup])
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's epoch argument, step order
        for _ in range(n):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(rates)


@needs_torch
@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["constant", "step", "exponential", "cosine"]),
       n=st.integers(1, 120), warmup=st.integers(0, 15),
       warmup_start=st.floats(0.01, 1.0), step_size=st.integers(1, 20),
       gamma=st.floats(0.5, 0.999), t_max=st.integers(1, 60),
       eta_min=st.sampled_from([0.0, 1e-4]))
def test_schedule_rates_equal_torch_lr_scheduler(kind, n, warmup, warmup_start, step_size,
                                                 gamma, t_max, eta_min):
    lr_sched = torch.optim.lr_scheduler
    lr = 0.01
    main = {
        "constant": lambda o: lr_sched.ConstantLR(o, factor=1.0, total_iters=0),
        "step": lambda o: lr_sched.StepLR(o, step_size, gamma),
        "exponential": lambda o: lr_sched.ExponentialLR(o, gamma),
        "cosine": lambda o: lr_sched.CosineAnnealingLR(o, t_max, eta_min),
    }[kind]
    if kind == "cosine":
        n = min(n, warmup + t_max + 1)   # after T_max torch's rises again; ours is floored
    expected = _torch_rates(n, lr, main, warmup, warmup_start)
    decay = {"constant": Decay.CONSTANT, "step": Decay.STEP,
             "exponential": Decay.EXPONENTIAL, "cosine": Decay.COSINE}[kind]
    got = [rate_at(t, lr, decay, warmup, warmup_start, step_size, gamma, t_max, eta_min)
           for t in range(n)]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)


@given(t=st.integers(0, 10_000), t_max=st.integers(1, 500))
def test_cosine_holds_its_floor(t, t_max):
    rate = rate_at(t, 0.1, Decay.COSINE, t_max=t_max, eta_min=1e-3)
    assert 1e-3 <= rate <= 0.1
    if t >= t_max:
        assert rate == 1e-3


def test_engine_steps_at_the_scheduled_rate():
    # begin() is what the epoch loop calls once per minibatch
    s = StepSettings(Rule.SGD, 0.5, 0.0, decay=Decay.COSINE, warmup=3, warmup_start=0.2,
                     t_max=7, eta_min=0.01)
    got = [s.begin() for _ in range(15)]
    assert got == [rate_at(t, 0.5, Decay.COSINE, 3, 0.2, 1, 1.0, 7, 0.01) for t in range(15)]
    assert s.t == 15


@needs_torch
@settings(max_examples=40, deadline=None)
@given(metrics=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=60),
       patience=st.integers(0, 5), factor=st.floats(0.05, 0.9),
       threshold=st.sampled_from([0.0, 1e-4, 0.05]), higher=st.booleans())
def test_plateau_equals_reduce_lr_on_plateau(metrics, patience, factor, threshold, higher):
    est = MLPClassifier(solver="adamw", learning_rate="plateau", plateau_patience=patience,
                        plateau_factor=factor, plateau_threshold=threshold)
    state = OptimizerState(est, 3, np.float64)
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=est.learning_rate_init)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="max" if higher else "min", factor=factor, patience=patience,
        threshold=threshold)
    for metric in metrics:
        state.iteration_ends(0, metric, higher)
        sched.step(metric)
        assert state.learning_rate == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)


# -- clipping by global norm ----------------------------------------------------

def _clip_case(layer_units, n_rows, seed):
    rng = np.random.RandomState(seed)
    network = Network(network_spec(layer_units, "tanh", "binary_log_loss"))
    X = rng.randn(n_rows, layer_units[0]) * 3
    Y = (rng.rand(n_rows, 1) > 0.5).astype(np.float64)
    return network, rng.randn(network.n_params) * 0.3, X, Y


def _gradient(network, params, X, Y, alpha):
    n = network.n_params
    grads = np.empty(n)
    work = np.empty(network.work_size(X.shape[0], False))
    empty = np.empty(0)
    loss_gradient(network, params.copy(), grads, work, X, empty, np.empty(0, np.intp),
                  np.empty(0, np.intp), Y, empty, X.shape[0], 1, 1, alpha, 1.0)
    return grads


def _one_sgd_step(network, params, X, Y, alpha, lr, max_norm, n_parts, n_threads):
    """params after one minibatch (all rows) of plain SGD in the engine."""
    n = network.n_params
    p = params.copy()
    part_rows = -(-X.shape[0] // n_parts)
    epochs = Epochs(network, p, np.empty(n_parts * n), np.zeros(n), np.zeros(1),
                    np.empty(n_parts * network.work_size(part_rows, True)), X, np.empty(0),
                    np.empty(0, np.intp), np.empty(0, np.intp), Y, np.empty(0),
                    np.arange(X.shape[0], dtype=np.intp), X.shape[0], True, n_parts,
                    n_threads)
    assert epochs.run(StepSettings(Rule.SGD, lr, alpha, max_grad_norm=max_norm))[2]
    return p


@settings(max_examples=25, deadline=None)
@given(big=st.booleans(), seed=st.integers(0, 1000), n_parts=st.integers(1, 4),
       n_threads=st.integers(1, 3), max_norm=st.floats(1e-3, 10.0),
       alpha=st.sampled_from([0.0, 0.5]))
def test_clipping_is_clip_grad_norm_for_any_parts_and_threads(big, seed, n_parts, n_threads,
                                                             max_norm, alpha):
    # big: enough parameters to be stepped in slices by the team, in three rounds
    layer_units = [40, 60, 1] if big else [3, 5, 1]
    network, params, X, Y = _clip_case(layer_units, 24, seed)
    assert (network.n_params >= 2048) == big
    g = _gradient(network, params, X, Y, alpha)
    norm = np.sqrt(np.sum(g * g))
    expected = params - 0.1 * g * min(1.0, max_norm / (norm + 1e-6))
    got = _one_sgd_step(network, params, X, Y, alpha, 0.1, max_norm, n_parts, n_threads)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_clipping_above_the_norm_changes_nothing():
    network, params, X, Y = _clip_case([40, 60, 1], 24, 0)
    plain = _one_sgd_step(network, params, X, Y, 0.1, 0.1, 0.0, 3, 2)
    loose = _one_sgd_step(network, params, X, Y, 0.1, 0.1, 1e30, 3, 2)
    np.testing.assert_array_equal(plain, loose)


@needs_torch
def test_clipping_equals_torch_clip_grad_norm(torch64):
    network, params, X, Y = _clip_case([3, 5, 1], 24, 3)
    g = _gradient(network, params, X, Y, 0.0)
    tp = torch.tensor(params.copy(), requires_grad=True)
    tp.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_([tp], 0.05)
    with torch.no_grad():
        tp -= 0.1 * tp.grad
    got = _one_sgd_step(network, params, X, Y, 0.0, 0.1, 0.05, 2, 2)
    np.testing.assert_allclose(got, tp.detach().numpy(), rtol=1e-12)


# -- the estimators -------------------------------------------------------------

@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


@pytest.mark.parametrize("solver", STOCHASTIC_SOLVERS)
@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_every_solver_trains_with_every_schedule(digits, solver, schedule):
    X, y = digits
    clf = MLPClassifier((20,), solver=solver, learning_rate=schedule, lr_step_size=2,
                        lr_gamma=0.5, lr_t_max=5, warmup_iters=2, max_grad_norm=5.0,
                        max_iter=5, random_state=0, learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert np.isfinite(clf.loss_curve_).all()
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(solver="adamw", learning_rate="step"), "needs lr_step_size"),
    (dict(solver="adamw", learning_rate="exponential"), "needs lr_gamma"),
    (dict(solver="sgd", learning_rate="cosine"), "needs lr_t_max"),
    (dict(solver="adam", weight_decay=0.1), "weight_decay=0.1 is not used by solver='adam'"),
    (dict(solver="sgd", weight_decay=0.1), "use alpha"),
    (dict(solver="lbfgs", max_grad_norm=1.0), "max_grad_norm=1.0"),
    (dict(solver="lbfgs", learning_rate="cosine", lr_t_max=3), "learning_rate='cosine'"),
    (dict(solver="lbfgs", warmup_iters=3), "warmup_iters=3"),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(max_grad_norm=0.0), "max_grad_norm"),
    (dict(rho=1.0), "rho"),
    (dict(lr_schedule_unit="batch"), "lr_schedule_unit"),
    (dict(warmup_start_factor=0.0), "warmup_start_factor"),
    (dict(plateau_factor=1.0), "plateau_factor"),
    (dict(learning_rate="linear"), "learning_rate"),
    (dict(solver="adagrad"), "solver"),
])
def test_settings_refused_by_name(digits, kwargs, message):
    X, y = digits
    with pytest.raises(ValueError, match=message):
        MLPClassifier((5,), max_iter=1, **kwargs).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_lbfgs_ignores_sklearns_schedules_as_sklearn_does(digits):
    X, y = digits
    a = MLPClassifier((5,), solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
    b = MLPClassifier((5,), solver="lbfgs", max_iter=5, random_state=0,
                      learning_rate="adaptive").fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_adam_ignores_sklearns_schedules_others_apply_them(digits, schedule):
    X, y = digits

    def fit(solver, learning_rate):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MLPClassifier((10,), solver=solver, learning_rate=learning_rate,
                                 max_iter=15, random_state=0, tol=0.5,
                                 n_iter_no_change=1).fit(X, y)

    np.testing.assert_array_equal(fit("adam", schedule).coefs_[0],
                                  fit("adam", "constant").coefs_[0])
    assert not np.array_equal(fit("rmsprop", schedule).coefs_[0],
                              fit("rmsprop", "constant").coefs_[0])


def test_warmup_in_steps_changes_rates_within_the_epoch(digits):
    # one epoch of 4 minibatches: per-step warm-up differs from per-epoch
    X, y = digits
    kw = dict(hidden_layer_sizes=(10,), solver="rmsprop", max_iter=1, batch_size=100,
              random_state=0, warmup_iters=4, warmup_start_factor=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        steps = MLPClassifier(lr_schedule_unit="step", **kw).fit(X, y)
        epochs = MLPClassifier(**kw).fit(X, y)
        first = MLPClassifier(**{**kw, "warmup_iters": 0, "learning_rate_init": 1e-4}).fit(X, y)
    # in epochs the whole first epoch runs at the warm-up's first rate
    np.testing.assert_array_equal(epochs.coefs_[0], first.coefs_[0])
    assert not np.array_equal(steps.coefs_[0], epochs.coefs_[0])


@pytest.mark.parametrize("solver", ["adamw", "nadam", "rmsprop"])
def test_partial_fit_goes_on_through_pickles_as_one_fit(digits, solver):
    # the clock (steps, epochs) and NAdam's mu_product survive the calls
    X, y = digits
    kw = dict(hidden_layer_sizes=(10,), solver=solver, shuffle=False, random_state=0,
              learning_rate="cosine", lr_t_max=40, lr_schedule_unit="step",
              warmup_iters=5, batch_size=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = MLPClassifier(max_iter=3, tol=0, n_iter_no_change=np.inf, **kw).fit(X, y)
    parts = MLPClassifier(**kw)
    for _ in range(3):
        parts.partial_fit(X, y, classes=np.unique(y))
        parts = pickle.loads(pickle.dumps(parts))
    for a, b in zip(whole.coefs_ + whole.intercepts_, parts.coefs_ + parts.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_refuses_another_solver(digits):
    X, y = digits
    clf = MLPClassifier((5,), solver="adam").partial_fit(X, y, classes=np.unique(y))
    before = copy.deepcopy(clf.coefs_)
    clf.set_params(solver="rmsprop")
    with pytest.raises(ValueError, match="solver='adam'"):
        clf.partial_fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], before[0])


def test_partial_fit_refuses_tampered_optimizer_state(digits):
    X, y = digits
    clf = MLPClassifier((5,), solver="nadam").partial_fit(X, y, classes=np.unique(y))
    clf._optimizer.moment_2 = np.zeros(3)
    with pytest.raises(ValueError, match="optimizer state"):
        clf.partial_fit(X, y)


def test_registry_codes_are_the_engines():
    for name, info in OPTIMIZERS.items():
        if info.stochastic:
            assert Rule[name.upper()] == info.code
    for name, info in SCHEDULES.items():
        if info.decay is not None:
            assert Decay[name.upper()] == info.decay
