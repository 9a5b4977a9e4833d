"""Registries: every public name of a kind, mapped to its engine code and properties.

One table per kind: hidden activations, losses (with the output layer each
implies for each kind of target), weight initialisations. Parameter
constraints, docstrings, error messages and tests are derived from these
tables, so adding an item is one entry here plus its kernels in the engine.
The engine codes must equal the engine's enums (``fastmlp._engine._common``);
a test checks every table against them, and the engine refuses a code it
does not know.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

# Engine codes, as in fastmlp/_engine/_common.pxd (Activation, Loss, OutputActivation).


def _from_output(params):
    return True


def _from_z(params):
    return False


@dataclass(frozen=True)
class ActivationInfo:
    """A hidden-layer activation.

    Parameters
    ----------
    name : str
        The public name (``activation=``).
    code : int
        The engine's ``Activation`` code.
    formula : str
        f(z), for docstrings.
    params : tuple of str
        Estimator parameters the activation reads, in the engine's order
        (at most two).
    derivative_from_output : callable
        ``(params dict) -> bool``: whether f'(z) can be written from the
        output a = f(z); if not, the forward pass evaluates f'(z) and the
        layer keeps it for the backward pass.
    sklearn_factor : float
        scikit-learn's Glorot factor for ``weight_init="sklearn"``: 2 for
        logistic, 6 for every other activation.
    reference : str
        Where the definition comes from.
    """

    name: str
    code: int
    formula: str
    params: tuple = ()
    derivative_from_output: Callable[[dict], bool] = field(default=_from_output, repr=False)
    sklearn_factor: float = 6.0
    reference: str = ""


@dataclass(frozen=True)
class ActivationParam:
    """An estimator parameter of one or more activations.

    Parameters
    ----------
    name : str
        The estimator parameter.
    default : float
        PyTorch's default.
    constraint : object
        scikit-learn's parameter constraint for it.
    description : str
        For docstrings.
    """

    name: str
    default: float
    constraint: object
    description: str


ACTIVATION_PARAMS = {
    param.name: param
    for param in [
        ActivationParam("negative_slope", 0.01, Interval(Real, None, None, closed="neither"),
                        "The slope of 'leaky_relu' below 0. With a negative slope the "
                        "layers keep f'(z) for the backward pass."),
        # scikit-learn's MLP already names the L2 strength alpha
        ActivationParam("elu_alpha", 1.0, Interval(Real, None, None, closed="neither"),
                        "ELU's alpha: 'elu' tends to -elu_alpha below 0. With a "
                        "negative value the layers keep f'(z) for the backward pass."),
        ActivationParam("softplus_beta", 1.0, Interval(Real, 0, None, closed="neither"),
                        "The sharpness beta of 'softplus'."),
        ActivationParam("softplus_threshold", 20.0,
                        Interval(Real, None, None, closed="neither"),
                        "'softplus' is z itself where beta z exceeds this, as "
                        "PyTorch's is."),
    ]
}


ACTIVATIONS = {
    info.name: info
    for info in [
        ActivationInfo("identity", 0, "z", reference="scikit-learn"),
        ActivationInfo("logistic", 1, "1 / (1 + exp(-z))", sklearn_factor=2.0,
                       reference="scikit-learn; the notes' sigmoid"),
        ActivationInfo("tanh", 2, "tanh(z)", reference="scikit-learn"),
        ActivationInfo("relu", 3, "max(z, 0)", reference="scikit-learn"),
        # a >= 0 exactly where z >= 0 unless the slope is negative
        ActivationInfo("leaky_relu", 4, "z if z > 0 else negative_slope * z",
                       ("negative_slope",), lambda p: p["negative_slope"] >= 0,
                       reference="Maas, Hannun and Ng 2013; the notes' leaky ReLU; "
                                 "torch.nn.functional.leaky_relu"),
        ActivationInfo("elu", 5, "z if z > 0 else elu_alpha * (exp(z) - 1)",
                       ("elu_alpha",), lambda p: p["elu_alpha"] >= 0,
                       reference="Clevert, Unterthiner and Hochreiter 2016; the notes' "
                                 "ELU; torch.nn.functional.elu"),
        ActivationInfo("selu", 6, "scale * (z if z > 0 else alpha * (exp(z) - 1)), "
                                  "alpha = 1.6733, scale = 1.0507",
                       reference="Klambauer et al. 2017; torch.nn.functional.selu"),
        ActivationInfo("gelu", 7, "z * Phi(z) = z * (1 + erf(z / sqrt(2))) / 2",
                       derivative_from_output=_from_z,
                       reference="Hendrycks and Gimpel 2016; torch.nn.functional.gelu"),
        ActivationInfo("gelu_tanh", 8,
                       "z * (1 + tanh(sqrt(2 / pi) * (z + 0.044715 * z**3))) / 2",
                       derivative_from_output=_from_z,
                       reference="Hendrycks and Gimpel 2016; torch.nn.functional.gelu "
                                 "with approximate='tanh'"),
        ActivationInfo("silu", 9, "z / (1 + exp(-z))", derivative_from_output=_from_z,
                       reference="Elfwing, Uchibe and Doya 2018; Ramachandran, Zoph "
                                 "and Le 2017 (swish); torch.nn.functional.silu"),
        # the output does not say which of the two pieces z was in
        ActivationInfo("softplus", 10,
                       "log(1 + exp(softplus_beta * z)) / softplus_beta, or z where "
                       "softplus_beta * z > softplus_threshold",
                       ("softplus_beta", "softplus_threshold"), _from_z,
                       reference="Dugas et al. 2001; torch.nn.functional.softplus"),
    ]
}

# Other accepted spellings of an activation's name.
ACTIVATION_ALIASES = {"sigmoid": "logistic", "swish": "silu"}


def activation_name(name):
    """The canonical name of an activation (aliases resolved), or None."""
    if not isinstance(name, str):
        return None
    name = ACTIVATION_ALIASES.get(name, name)
    return name if name in ACTIVATIONS else None


# -- output layers and losses ---------------------------------------------------

# Output activations: what predict applies to the last layer's z.
OUT_ACTIVATIONS = {"identity": 0, "exp": 1, "logistic": 2, "softmax": 3}


@dataclass(frozen=True)
class LossInfo:
    """A loss, and the output layer it implies for each kind of target.

    Parameters
    ----------
    name : str
        The public name (``loss=``).
    estimator : {"classifier", "regressor"}
    outputs : dict
        Kind of target (``"binary"``, ``"multiclass"``, ``"multilabel-indicator"``
        for classifiers, ``"continuous"`` for regressors) -> (engine ``Loss``
        code, output activation name).
    formula : str
        The per-sample loss, for docstrings.
    params : tuple of str
        Estimator parameters the loss reads (at most one), in
        `LOSS_PARAMETERS`.
    proba : bool
        Whether the output is a probability (``predict_proba`` exists);
        otherwise a classifier's outputs are scores (``decision_function``).
    reference : str
    """

    name: str
    estimator: str
    outputs: dict
    formula: str
    params: tuple = ()
    proba: bool = False
    reference: str = ""


@dataclass(frozen=True)
class LossParameter:
    """An estimator parameter a loss reads.

    Parameters
    ----------
    name : str
    default : float
    constraint : sklearn.utils._param_validation.Interval
    description : str
        For docstrings.
    """

    name: str
    default: float
    constraint: object
    description: str


LOSS_PARAMETERS = {
    info.name: info
    for info in [
        LossParameter("delta", 1.0, Interval(Real, 0, None, closed="neither"),
                      "Where loss='huber' turns from quadratic to linear (in units of "
                      "y), as torch.nn.HuberLoss's delta. Unused by the other losses."),
        LossParameter("quantile", 0.5, Interval(Real, 0, 1, closed="neither"),
                      "The quantile loss='quantile' estimates, in (0, 1): 0.5 gives the "
                      "median, 0.05 and 0.95 a 90% prediction interval. Unused by the "
                      "other losses."),
    ]
}

_CLASSIFIER_LOSSES = [
    LossInfo("log_loss", "classifier",
             {"binary": (2, "logistic"), "multilabel-indicator": (2, "logistic"),
              "multiclass": (3, "softmax")},
             "-sum_k y_k log p_k (softmax p), or the binary log-loss per output column",
             proba=True, reference="scikit-learn"),
    LossInfo("hinge", "classifier",
             {"binary": (7, "identity"), "multilabel-indicator": (7, "identity"),
              "multiclass": (9, "identity")},
             "max(0, 1 - s f) per output column (s = -1 or +1: the column's class or "
             "label), or sum_{k != t} max(0, f_k - f_t + 1) / n_classes (multiclass, "
             "class t)",
             reference="the notes' binary and multiclass hinge; Weston and Watkins 1999; "
                       "torch.nn.functional.multi_margin_loss"),
    LossInfo("squared_hinge", "classifier",
             {"binary": (8, "identity"), "multilabel-indicator": (8, "identity"),
              "multiclass": (10, "identity")},
             "max(0, 1 - s f)**2 per output column, or sum_{k != t} "
             "max(0, f_k - f_t + 1)**2 / n_classes (multiclass)",
             reference="scikit-learn's SGDClassifier (binary); "
                       "torch.nn.functional.multi_margin_loss(p=2)"),
]

_REGRESSOR_LOSSES = [
    LossInfo("squared_error", "regressor", {"continuous": (0, "identity")},
             "(y - f)**2 / 2", reference="scikit-learn"),
    LossInfo("poisson", "regressor", {"continuous": (1, "exp")},
             "y log(y / exp(f)) - y + exp(f), for y >= 0", reference="scikit-learn"),
    LossInfo("absolute_error", "regressor", {"continuous": (4, "identity")},
             "|y - f|", reference="the notes (MAE); torch.nn.L1Loss"),
    LossInfo("huber", "regressor", {"continuous": (5, "identity")},
             "(y - f)**2 / 2 where |y - f| <= delta, else delta (|y - f| - delta / 2)",
             params=("delta",), reference="the notes; Huber 1964; torch.nn.HuberLoss"),
    LossInfo("quantile", "regressor", {"continuous": (6, "identity")},
             "quantile (y - f) where y >= f, else (1 - quantile) (f - y): the pinball loss",
             params=("quantile",),
             reference="Koenker and Bassett 1978; scikit-learn's QuantileRegressor"),
]

LOSSES = {info.name: info for info in _CLASSIFIER_LOSSES + _REGRESSOR_LOSSES}
CLASSIFIER_LOSSES = {info.name: info for info in _CLASSIFIER_LOSSES}
REGRESSOR_LOSSES = {info.name: info for info in _REGRESSOR_LOSSES}


# -- weight initialisation ------------------------------------------------------


@dataclass(frozen=True)
class InitInfo:
    """A weight initialisation: how one layer's coefficients and intercepts
    are drawn from ``random_state``.

    Parameters
    ----------
    name : str
        The public name (``weight_init=``).
    draw : callable
        ``(random_state, fan_in, fan_out, activation_info, init_scale)``
        -> (coef of shape (fan_in, fan_out), intercept of shape (fan_out,)),
        float64.
    description : str
    reference : str
    """

    name: str
    draw: object = field(repr=False)
    description: str = ""
    reference: str = ""


def _sklearn(rng, fan_in, fan_out, activation, scale):
    # scikit-learn's draws, in its order: the weights, then the intercepts
    bound = np.sqrt(activation.sklearn_factor / (fan_in + fan_out))
    coef = rng.uniform(-bound, bound, (fan_in, fan_out))
    return coef, rng.uniform(-bound, bound, fan_out)


def _glorot_uniform(rng, fan_in, fan_out, activation, scale):
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, (fan_in, fan_out)), np.zeros(fan_out)


def _glorot_normal(rng, fan_in, fan_out, activation, scale):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, (fan_in, fan_out)), np.zeros(fan_out)


def _he_uniform(rng, fan_in, fan_out, activation, scale):
    bound = np.sqrt(6.0 / fan_in)
    return rng.uniform(-bound, bound, (fan_in, fan_out)), np.zeros(fan_out)


def _he_normal(rng, fan_in, fan_out, activation, scale):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)


def _lecun_normal(rng, fan_in, fan_out, activation, scale):
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), (fan_in, fan_out)), np.zeros(fan_out)


def _normal(rng, fan_in, fan_out, activation, scale):
    coef = rng.normal(0.0, scale, (fan_in, fan_out))
    return coef, rng.normal(0.0, scale, fan_out)


def _uniform(rng, fan_in, fan_out, activation, scale):
    coef = rng.uniform(-1.0, 1.0, (fan_in, fan_out))
    return coef, rng.uniform(-1.0, 1.0, fan_out)


WEIGHT_INITS = {
    info.name: info
    for info in [
        InitInfo("sklearn", _sklearn,
                 "U(-b, b) for weights and intercepts, b = sqrt(factor / (fan_in + "
                 "fan_out)), factor 2 for logistic and 6 otherwise: scikit-learn's draws",
                 "scikit-learn; Glorot and Bengio 2010"),
        InitInfo("glorot_uniform", _glorot_uniform,
                 "U(-b, b), b = sqrt(6 / (fan_in + fan_out)); intercepts 0",
                 "Glorot and Bengio 2010; torch.nn.init.xavier_uniform_"),
        InitInfo("glorot_normal", _glorot_normal,
                 "N(0, 2 / (fan_in + fan_out)); intercepts 0",
                 "Glorot and Bengio 2010; torch.nn.init.xavier_normal_"),
        InitInfo("he_uniform", _he_uniform,
                 "U(-b, b), b = sqrt(6 / fan_in); intercepts 0",
                 "He et al. 2015; torch.nn.init.kaiming_uniform_(nonlinearity='relu')"),
        InitInfo("he_normal", _he_normal,
                 "N(0, 2 / fan_in); intercepts 0",
                 "He et al. 2015; torch.nn.init.kaiming_normal_(nonlinearity='relu')"),
        InitInfo("lecun_normal", _lecun_normal,
                 "N(0, 1 / fan_in); intercepts 0 (for selu)",
                 "LeCun et al. 1998; Klambauer et al. 2017; "
                 "torch.nn.init.kaiming_normal_(nonlinearity='linear')"),
        InitInfo("normal", _normal,
                 "N(0, init_scale**2) for weights and intercepts",
                 "the notes: small Gaussian random numbers"),
        InitInfo("uniform", _uniform,
                 "U(-1, 1) for weights and intercepts",
                 "the notes' exercise (micrograd's Neuron)"),
    ]
}


# -- optimizers -----------------------------------------------------------------

# Engine codes, as in fastmlp/_engine/_optimizers.pxd (Rule).


@dataclass(frozen=True)
class OptimizerInfo:
    """A solver.

    Parameters
    ----------
    name : str
        The public name (``solver=``).
    code : int or None
        The engine's ``Rule`` code; None for lbfgs, which scipy steps.
    state_buffers : int
        Parameter-sized buffers of optimizer state (0 for lbfgs).
    params : tuple of str
        Estimator parameters the optimizer reads besides learning_rate_init
        and alpha.
    weight_decay : float or None
        What ``weight_decay=None`` means for it (PyTorch's default); None
        when the optimizer takes no weight_decay (alpha is its L2 term).
    sklearn_schedules : bool
        Whether scikit-learn's 'invscaling' and 'adaptive' rates apply to it:
        scikit-learn's Adam ignores them, and so does fastmlp's, to give
        scikit-learn's model.
    description, reference : str
    """

    name: str
    code: object
    state_buffers: int
    params: tuple = ()
    weight_decay: object = None
    sklearn_schedules: bool = True
    description: str = ""
    reference: str = ""

    @property
    def stochastic(self):
        return self.code is not None


OPTIMIZERS = {
    info.name: info
    for info in [
        OptimizerInfo("lbfgs", None, 0, ("max_fun",),
                      description="quasi-Newton (scipy's L-BFGS-B) on the whole data set",
                      reference="scikit-learn"),
        OptimizerInfo("sgd", 0, 1, ("momentum", "nesterovs_momentum", "power_t"),
                      description="stochastic gradient descent with momentum",
                      reference="scikit-learn"),
        OptimizerInfo("adam", 1, 2, ("beta_1", "beta_2", "epsilon"),
                      sklearn_schedules=False,
                      description="Kingma and Ba's Adam, epsilon added to the "
                                  "uncorrected sqrt(v) as scikit-learn adds it",
                      reference="scikit-learn; Kingma and Ba 2015"),
        OptimizerInfo("adamw", 2, 2, ("beta_1", "beta_2", "epsilon", "weight_decay"),
                      weight_decay=1e-2,
                      description="Adam with decoupled weight decay "
                                  "(p *= 1 - lr * weight_decay each step)",
                      reference="torch.optim.AdamW; Loshchilov and Hutter 2019"),
        OptimizerInfo("nadam", 3, 2, ("beta_1", "beta_2", "epsilon", "weight_decay",
                                      "momentum_decay"),
                      weight_decay=0.0,
                      description="Adam with Nesterov momentum (weight_decay added "
                                  "to the gradient)",
                      reference="torch.optim.NAdam; Dozat 2016"),
        OptimizerInfo("rmsprop", 4, 1, ("rho", "epsilon", "weight_decay"),
                      weight_decay=0.0,
                      description="RMSprop, no momentum, not centered (weight_decay "
                                  "added to the gradient)",
                      reference="torch.optim.RMSprop; Hinton's lecture 6e"),
    ]
}

STOCHASTIC_SOLVERS = [name for name, info in OPTIMIZERS.items() if info.stochastic]


# -- learning-rate schedules ----------------------------------------------------

# Engine codes, as in fastmlp/_engine/_schedules.pxd (Decay).


@dataclass(frozen=True)
class ScheduleInfo:
    """A learning-rate schedule (``learning_rate=``).

    Parameters
    ----------
    name : str
    decay : int or None
        The engine's ``Decay`` code of a clocked schedule (a function of the
        steps or epochs taken); None for those Python changes between epochs
        from what training reports (invscaling, adaptive, plateau).
    params : tuple of str
        Estimator parameters it reads.
    required : tuple of str
        Those of `params` without a default (None means "not set").
    defaults : dict
        Values for parameters left None (PyTorch's defaults).
    formula, reference : str
    """

    name: str
    decay: object
    params: tuple = ()
    required: tuple = ()
    defaults: dict = field(default_factory=dict)
    formula: str = ""
    reference: str = ""


SCHEDULES = {
    info.name: info
    for info in [
        ScheduleInfo("constant", 0, formula="learning_rate_init",
                     reference="scikit-learn"),
        ScheduleInfo("invscaling", None, ("power_t",),
                     formula="learning_rate_init / (t + 1) ** power_t, t the samples "
                             "seen, each epoch",
                     reference="scikit-learn"),
        ScheduleInfo("adaptive", None,
                     formula="divided by 5 each time n_iter_no_change epochs fail to "
                             "improve by tol, down to 1e-6",
                     reference="scikit-learn"),
        ScheduleInfo("step", 1, ("lr_step_size", "lr_gamma"), ("lr_step_size",),
                     {"lr_gamma": 0.1},
                     formula="learning_rate_init * lr_gamma ** (t // lr_step_size)",
                     reference="torch.optim.lr_scheduler.StepLR"),
        ScheduleInfo("exponential", 2, ("lr_gamma",), ("lr_gamma",),
                     formula="learning_rate_init * lr_gamma ** t",
                     reference="torch.optim.lr_scheduler.ExponentialLR"),
        ScheduleInfo("cosine", 3, ("lr_t_max", "lr_eta_min"), ("lr_t_max",),
                     formula="lr_eta_min + (learning_rate_init - lr_eta_min) * (1 + "
                             "cos(pi * t / lr_t_max)) / 2, then lr_eta_min from t = "
                             "lr_t_max on",
                     reference="torch.optim.lr_scheduler.CosineAnnealingLR"),
        ScheduleInfo("plateau", None,
                     ("plateau_factor", "plateau_patience", "plateau_threshold"),
                     formula="multiplied by plateau_factor when the monitored loss "
                             "(or validation score) has not improved by a relative "
                             "plateau_threshold for more than plateau_patience epochs",
                     reference="torch.optim.lr_scheduler.ReduceLROnPlateau"),
    ]
}

# Schedules scikit-learn has: lbfgs ignores them, as scikit-learn's does.
SKLEARN_SCHEDULES = ("constant", "invscaling", "adaptive")
