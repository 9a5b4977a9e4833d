"""Optimizer state between epochs, and the learning-rate schedules.

The step itself is one fused loop in `_optimizers.pyx`, run by the engine for
every minibatch, at a rate the engine's schedule state gives it
(`_schedules.pyx`). What lives here changes only between epochs: the
moments and step count the engine hands back, the schedule's clock in
epochs, and the rates Python sets from what training reports (scikit-learn's
'invscaling' and 'adaptive', whose rules it keeps, and 'plateau').

Schedules counted in epochs (``lr_schedule_unit='epoch'``) are evaluated
here once per epoch with the engine's own formula (`rate_at`); counted in
steps, the engine evaluates them per minibatch. Either way a linear
warm-up comes first and the decay's clock starts when it ends.
"""
import math

import numpy as np

from ._engine._optimizers import StepSettings
from ._engine._schedules import Decay, rate_at
from ._registry import OPTIMIZERS, SCHEDULES, SKLEARN_SCHEDULES


def _setting(estimator, schedule, name):
    """A schedule parameter's value, PyTorch's default when left None."""
    value = getattr(estimator, name)
    return schedule.defaults.get(name) if value is None else value


def weight_decay(estimator):
    """The weight decay the solver applies: the estimator's, or PyTorch's
    default for the solver when None (0 for solvers that take none)."""
    info = OPTIMIZERS[estimator.solver]
    if estimator.weight_decay is not None:
        return float(estimator.weight_decay)
    return 0.0 if info.weight_decay is None else info.weight_decay


class OptimizerState:
    """A stochastic solver's state: the engine's per-parameter buffers, its
    step count, and the learning-rate schedule's state.

    Parameters
    ----------
    estimator : BaseMultilayerPerceptron
        Its solver, schedule and hyperparameters (read once, here).
    n_params : int
    dtype : dtype
    """

    def __init__(self, estimator, n_params, dtype):
        info = OPTIMIZERS[estimator.solver]
        self.solver = info.name
        self.rule = info.code
        self.hyper = dict(
            momentum=estimator.momentum, nesterov=estimator.nesterovs_momentum,
            beta_1=estimator.beta_1, beta_2=estimator.beta_2, epsilon=estimator.epsilon,
            weight_decay=weight_decay(estimator), momentum_decay=estimator.momentum_decay,
            rho=estimator.rho, max_grad_norm=estimator.max_grad_norm or 0.0)
        self.moment_1 = np.zeros(n_params, dtype=dtype)
        # one-value placeholder for the buffer a rule does not use
        self.moment_2 = np.zeros(n_params if info.state_buffers > 1 else 1, dtype=dtype)
        self.t = 0
        self.mu_product = 1.0
        self._init_schedule(estimator, info)

    def _init_schedule(self, estimator, info):
        schedule = SCHEDULES[estimator.learning_rate]
        if schedule.name in ("invscaling", "adaptive") and not info.sklearn_schedules:
            # scikit-learn's Adam ignores them: the same settings, its model
            schedule = SCHEDULES["constant"]
        self.lr_schedule = schedule.name
        self.learning_rate_init = estimator.learning_rate_init
        self.learning_rate = float(estimator.learning_rate_init)
        self.power_t = estimator.power_t
        self.unit = estimator.lr_schedule_unit
        decay = Decay.CONSTANT if schedule.decay is None else schedule.decay
        self.clock = dict(
            decay=decay, warmup=estimator.warmup_iters,
            warmup_start=estimator.warmup_start_factor,
            step_size=_setting(estimator, schedule, "lr_step_size") or 1,
            gamma=_setting(estimator, schedule, "lr_gamma") or 1.0,
            t_max=_setting(estimator, schedule, "lr_t_max") or 1,
            eta_min=estimator.lr_eta_min if schedule.name == "cosine" else 0.0)
        self.epoch = 0    # epochs completed: the clock counted in epochs
        self.plateau = dict(factor=estimator.plateau_factor,
                            patience=estimator.plateau_patience,
                            threshold=estimator.plateau_threshold,
                            best=None, n_bad=0)

    # -- model files (fastmlp/_files.py) -----------------------------------------

    def record(self):
        """The state as plain values (numbers, text, dicts of them) and its
        two arrays, for a model file: everything a partial_fit reads.

        Returns
        -------
        values : dict
        arrays : dict of str to ndarray
            ``moment_1`` and ``moment_2``.
        """
        clock = {key: value for key, value in self.clock.items() if key != "decay"}
        values = dict(solver=self.solver, hyper=dict(self.hyper), t=int(self.t),
                      mu_product=float(self.mu_product), lr_schedule=self.lr_schedule,
                      learning_rate_init=self.learning_rate_init,
                      learning_rate=float(self.learning_rate), power_t=self.power_t,
                      unit=self.unit, clock=clock, epoch=int(self.epoch),
                      plateau=dict(self.plateau))
        return values, {"moment_1": self.moment_1, "moment_2": self.moment_2}

    @classmethod
    def from_record(cls, values, moment_1, moment_2):
        """The state `record` gave, from values its caller checked (the
        solver and schedule are registry names; the engine codes follow
        from them, never from the file)."""
        state = cls.__new__(cls)
        info = OPTIMIZERS[values["solver"]]
        schedule = SCHEDULES[values["lr_schedule"]]
        state.solver, state.rule = info.name, info.code
        state.hyper = dict(values["hyper"])
        state.moment_1, state.moment_2 = moment_1, moment_2
        state.t, state.mu_product = values["t"], values["mu_product"]
        state.lr_schedule = schedule.name
        for name in ("learning_rate_init", "learning_rate", "power_t", "unit", "epoch"):
            setattr(state, name, values[name])
        decay = Decay.CONSTANT if schedule.decay is None else schedule.decay
        state.clock = dict(decay=decay, **values["clock"])
        state.plateau = dict(values["plateau"])
        return state

    def step_settings(self, alpha):
        """This epoch's settings for the engine's steps, L2 penalty alpha:
        the schedule in steps, or its rate for this epoch."""
        if self.unit == "step":
            clock = self.clock
            rate = self.learning_rate
        else:
            clock = {}
            rate = rate_at(self.epoch, self.learning_rate, **self.clock)
        return StepSettings(self.rule, rate, alpha, t=self.t, mu_product=self.mu_product,
                            **self.hyper, **clock)

    def took_steps(self, settings):
        """Keep what the engine's epoch left in `settings`."""
        self.t = settings.t
        self.mu_product = settings.mu_product

    def astype(self, dtype):
        """Follow the parameters when a later call brings another dtype."""
        self.moment_1 = self.moment_1.astype(dtype, copy=False)
        self.moment_2 = self.moment_2.astype(dtype, copy=False)

    def iteration_ends(self, time_step, metric=None, higher_is_better=False):
        """The schedule after an epoch: its clock, inverse scaling
        (lr = lr_init / (t + 1) ** power_t, t = samples seen), and
        reduce-on-plateau, which watches `metric`."""
        self.epoch += 1
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t
        elif self.lr_schedule == "plateau" and metric is not None:
            self._plateau_step(metric, higher_is_better)

    def _plateau_step(self, metric, higher_is_better):
        """torch.optim.lr_scheduler.ReduceLROnPlateau's step, threshold_mode
        'rel', cooldown 0, min_lr 0, eps 1e-8."""
        state = self.plateau
        best = state["best"]
        if best is None:
            best = -math.inf if higher_is_better else math.inf
        if higher_is_better:
            better = metric > best * (1 + state["threshold"])
        else:
            better = metric < best * (1 - state["threshold"])
        if better:
            state["best"], state["n_bad"] = metric, 0
        else:
            state["best"] = best
            state["n_bad"] += 1
        if state["n_bad"] > state["patience"]:
            new_rate = max(self.learning_rate * state["factor"], 0.0)
            if self.learning_rate - new_rate > 1e-8:
                self.learning_rate = new_rate
            state["n_bad"] = 0

    def trigger_stopping(self, msg, verbose):
        """Stop, or with the adaptive schedule divide the rate by 5 first.

        Returns
        -------
        is_stopping : bool
        """
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


def check_optimizer_settings(estimator):
    """Settings each valid alone that make no sense together: a schedule
    without its parameter, weight_decay or clipping for a solver that does
    not take them, a schedule for lbfgs.

    Raises
    ------
    ValueError
        Naming the parameters and what to do.
    """
    solver = OPTIMIZERS[estimator.solver]
    schedule = SCHEDULES[estimator.learning_rate]
    if solver.weight_decay is None and estimator.weight_decay not in (None, 0):
        takers = ", ".join(repr(name) for name, info in OPTIMIZERS.items()
                           if info.weight_decay is not None)
        raise ValueError(
            f"weight_decay={estimator.weight_decay!r} is not used by solver="
            f"{solver.name!r}: weight_decay applies to {takers}. For {solver.name!r} "
            "use alpha (scikit-learn's L2 penalty), or leave weight_decay=None."
        )
    if not solver.stochastic:
        if estimator.max_grad_norm is not None:
            raise ValueError(
                f"max_grad_norm={estimator.max_grad_norm!r} clips each minibatch's "
                "gradient, but solver='lbfgs' takes whole-data steps whose length its "
                "line search decides. Leave max_grad_norm=None, or choose a stochastic "
                f"solver ({', '.join(map(repr, STOCHASTIC_NAMES))})."
            )
        if schedule.name not in SKLEARN_SCHEDULES or estimator.warmup_iters:
            what = (f"learning_rate={schedule.name!r}" if schedule.name not in
                    SKLEARN_SCHEDULES else f"warmup_iters={estimator.warmup_iters!r}")
            raise ValueError(
                f"{what} schedules the learning rate of a stochastic solver, but "
                "solver='lbfgs' has no learning rate (its line search sets each step). "
                "Leave learning_rate='constant' and warmup_iters=0, or choose a "
                "stochastic solver."
            )
        return
    for name in schedule.required:
        if getattr(estimator, name) is None:
            raise ValueError(
                f"learning_rate={schedule.name!r} needs {name} ({_REQUIRED[name]}), "
                f"which is None. Set {name}, as {schedule.reference} requires."
            )


STOCHASTIC_NAMES = [name for name, info in OPTIMIZERS.items() if info.stochastic]

_REQUIRED = {
    "lr_step_size": "the epochs, or steps with lr_schedule_unit='step', between two "
                    "decays by lr_gamma",
    "lr_gamma": "the factor the rate is multiplied by each epoch, or step with "
                "lr_schedule_unit='step'",
    "lr_t_max": "the epochs, or steps with lr_schedule_unit='step', the rate takes to "
                "fall to lr_eta_min",
}
