"""Optimizer state between epochs, and the learning-rate schedules.

The step itself is one fused loop in `_optimizers.pyx`, run by the engine for
every minibatch; what lives here changes only between epochs, as in
scikit-learn's `_stochastic_optimizers` whose rules it keeps.
"""
import numpy as np

from ._engine._optimizers import Rule, StepSettings


class SGDState:
    """SGD with momentum: velocity, learning rate and its schedule.

    Parameters
    ----------
    n_params : int
    dtype : dtype
    learning_rate_init : float
    lr_schedule : {"constant", "invscaling", "adaptive"}
    momentum : float
    nesterov : bool
    power_t : float
    """

    rule = Rule.SGD

    def __init__(self, n_params, dtype, learning_rate_init, lr_schedule, momentum,
                 nesterov, power_t):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.moment_1 = np.zeros(n_params, dtype=dtype)
        self.moment_2 = np.zeros(1, dtype=dtype)  # unused by SGD
        self.t = 0

    def step_settings(self, alpha):
        """This epoch's settings for the engine's steps, L2 penalty alpha."""
        return StepSettings(self.rule, self.learning_rate, alpha, momentum=self.momentum,
                            nesterov=self.nesterov, t=self.t)

    def astype(self, dtype):
        """Follow the parameters when a later call brings another dtype."""
        self.moment_1 = self.moment_1.astype(dtype, copy=False)
        self.moment_2 = self.moment_2.astype(dtype, copy=False)

    def iteration_ends(self, time_step):
        """Inverse scaling: lr = lr_init / (t + 1) ** power_t, t = samples seen."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

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


class AdamState:
    """Adam: first and second moments and the time step.

    Parameters
    ----------
    n_params : int
    dtype : dtype
    learning_rate_init : float
    beta_1, beta_2, epsilon : float
    """

    rule = Rule.ADAM

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        # Adam's step size is learning_rate_init, bias-corrected per step by
        # the engine; the schedules of SGD do not apply.
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.moment_1 = np.zeros(n_params, dtype=dtype)
        self.moment_2 = np.zeros(n_params, dtype=dtype)
        self.t = 0

    def step_settings(self, alpha):
        """The settings for the engine's steps, L2 penalty alpha."""
        return StepSettings(self.rule, self.learning_rate_init, alpha, beta_1=self.beta_1,
                            beta_2=self.beta_2, epsilon=self.epsilon, t=self.t)

    astype = SGDState.astype

    def iteration_ends(self, time_step):
        """Adam keeps its rate between epochs."""

    def trigger_stopping(self, msg, verbose):
        """Adam always stops when there is no improvement.

        Returns
        -------
        is_stopping : bool
        """
        if verbose:
            print(msg + " Stopping.")
        return True
