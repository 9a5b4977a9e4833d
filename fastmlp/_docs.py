"""Parameter and attribute descriptions shared by both estimators' docstrings.

The options of a kind (activations, losses) are listed from the registries,
so the docstrings name exactly what the estimators accept.
"""
import textwrap

from ._registry import (
    ACTIVATION_ALIASES,
    ACTIVATION_PARAMS,
    ACTIVATIONS,
    LOSS_PARAMETERS,
    OPTIMIZERS,
    SCHEDULES,
    WEIGHT_INITS,
)


# Where fastmlp's documentation lives: the README on GitHub (pyproject.toml's
# project URLs name the same repository). The estimators' HTML repr links its
# "Usage" section, as scikit-learn's link their API pages.
REPOSITORY = "https://github.com/fastmlp/fastmlp"
DOC_LINK = f"{REPOSITORY}/blob/main/README.md#usage"


def _options(names):
    return "{" + ", ".join(repr(name) for name in names) + "}"


def _activation_doc():
    lines = [f"    activation : {_options(ACTIVATIONS)} or list of them, default='relu'",
             "        Activation function of the hidden layers, f(z): one name for all of",
             "        them, or a list with one name per hidden layer.",
             ""]
    for info in ACTIVATIONS.values():
        lines.append(f"        - {info.name!r}: {info.formula}")
    if ACTIVATION_ALIASES:
        aliases = ", ".join(f"{a!r} for {n!r}" for a, n in ACTIVATION_ALIASES.items())
        lines.append(f"        Also accepted: {aliases}.")
    keeps_z = ", ".join(repr(info.name) for info in ACTIVATIONS.values()
                        if not info.derivative_from_output(_default_params(info)))
    lines += ["", _paragraph(
        "Definitions are torch.nn.functional's. A layer whose derivative cannot be "
        f"written from its output ({keeps_z}) keeps f'(z), evaluated in the forward "
        "pass, for the backward pass: one more value per unit and row of a minibatch. "
        "weight_init='sklearn' draws weights with scikit-learn's factor 2 for "
        "'logistic' and 6 otherwise; with a list, each layer's for the activation "
        "of the units it feeds, the output layer's for the last hidden layer's. "
        "The activations' parameters are listed last.")]
    return "\n".join(lines) + "\n"


def _activation_params_doc():
    lines = []
    for param in ACTIVATION_PARAMS.values():
        users = [repr(info.name) for info in ACTIVATIONS.values() if param.name in info.params]
        lines += ["", f"    {param.name} : float, default={param.default}",
                  _paragraph(f"{param.description} Read by {', '.join(users)} only.")]
    return "\n".join(lines) + "\n"


def _weight_init_doc():
    lines = [f"    weight_init : {_options(WEIGHT_INITS)}, default='sklearn'",
             "        How the initial coefficients and intercepts are drawn from",
             "        random_state, per layer (fan_in inputs, fan_out units):", ""]
    for info in WEIGHT_INITS.values():
        lines.append(f"        - {info.name!r}: {info.description}")
    return "\n".join(lines) + "\n"


def _paragraph(text):
    return textwrap.fill(text, width=78, initial_indent=" " * 8, subsequent_indent=" " * 8)


def _default_params(info):
    return {name: ACTIVATION_PARAMS[name].default for name in info.params}


def _solver_doc():
    lines = [f"    solver : {_options(OPTIMIZERS)}, default='adam'",
             "        The solver for weight optimization (the learning rate is",
             "        learning_rate_init for each stochastic one):", ""]
    for info in OPTIMIZERS.values():
        lines.append(f"        - {info.name!r}: {info.description} ({info.reference})")
    return "\n".join(lines) + "\n"


def _schedule_doc():
    lines = [f"    learning_rate : {_options(SCHEDULES)}, default='constant'",
             "        Learning-rate schedule of the stochastic solvers, t counting",
             "        epochs or, with lr_schedule_unit='step', minibatch steps:", ""]
    for info in SCHEDULES.values():
        lines.append(f"        - {info.name!r}: {info.formula} ({info.reference})")
    lines += ["",
              "        'invscaling' and 'adaptive' do not apply to solver='adam', as in",
              "        scikit-learn; every other stochastic solver applies every schedule.",
              "        lbfgs refuses the schedules scikit-learn does not have."]
    return "\n".join(lines) + "\n"


def loss_doc(losses, default):
    """The ``loss`` parameter's description, from a registry of losses."""
    lines = [f"    loss : {_options(losses)}, default={default!r}",
             "        The loss function, per sample and output:", ""]
    for info in losses.values():
        output = ", ".join(sorted({out for _, out in info.outputs.values()}))
        lines.append(f"        - {info.name!r}: {info.formula} ({output} output)")
    beyond = [name for name, info in losses.items() if info.reference != "scikit-learn"]
    lines += [
        "",
        f"        {_options(beyond)} go beyond scikit-learn: the loss reported is",
        "        their mean over the samples and outputs (plus the L2 term), and the",
        "        gradient is that mean's, with every solver. Where a loss has a kink",
        "        (|y - f| at f = y, the quantile loss at f = y, a hinge at margin 1) the",
        "        subgradient taken is 0.",
    ]
    scores = [name for name, info in losses.items()
              if info.estimator == "classifier" and not info.proba]
    if scores:
        lines += [
            f"        With {' or '.join(map(repr, scores))} the outputs are scores, not",
            "        probabilities: decision_function gives them and predict_proba is",
            "        unavailable (as for scikit-learn's SGDClassifier); predict takes",
            "        their sign (binary, multilabel) or argmax (multiclass). Binary and",
            "        multilabel targets s are -1 or +1: the label's indicator y (0 or 1)",
            "        as s = 2y - 1.",
        ]
    return "\n".join(lines) + "\n"


def loss_parameters_doc(losses):
    """The descriptions of the parameters the losses of a registry read."""
    lines = []
    for info in losses.values():
        for name in info.params:
            parameter = LOSS_PARAMETERS[name]
            lines += [f"    {name} : float, default={parameter.default!r}",
                      textwrap.fill(parameter.description, 78, initial_indent=" " * 8,
                                    subsequent_indent=" " * 8), ""]
    return "\n".join(lines)


PARAMETERS = """
    hidden_layer_sizes : array-like of shape(n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith
        hidden layer. An empty tuple gives a network with no hidden layer.

""" + _activation_doc() + """
""" + _solver_doc() + """
    alpha : float, default=0.0001
        Strength of the L2 regularization term on the weights (not the
        intercepts), divided by the sample-weight sum of each batch.

    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers; 'auto' means
        ``min(200, n_samples)``. Unused by lbfgs.

""" + _schedule_doc() + """
    learning_rate_init : float, default=0.001
        The initial learning rate (every stochastic solver).

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate (sgd, invscaling).

    max_iter : int, default=200
        Maximum number of iterations: epochs for the stochastic solvers,
        iterations for lbfgs.

    shuffle : bool, default=True
        Whether to shuffle samples in each iteration (stochastic solvers).

    random_state : int, RandomState instance, default=None
        Determines weight and bias initialization, the validation split of
        early stopping and the shuffling; the same value gives the same
        model as scikit-learn's.

    tol : float, default=1e-4
        Tolerance for the optimization: training stops (or the adaptive rate
        decreases) after ``n_iter_no_change`` epochs without improving the
        loss or validation score by at least tol.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        When True, reuse the solution of the previous call to fit as
        initialization.

    momentum : float, default=0.9
        Momentum for gradient descent update, between 0 and 1 (sgd).

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum (sgd with momentum > 0).

    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the training data (or
        use the X_val given to fit) and stop when the validation score (or
        loss, see early_stopping_metric) stops improving; the best weights
        seen are restored at the end of the fit.

    validation_fraction : float, default=0.1
        Proportion of training data set aside for early stopping; unused
        when fit is given X_val.

    beta_1 : float, default=0.9
        Exponential decay rate of the first moment estimates (adam).

    beta_2 : float, default=0.999
        Exponential decay rate of the second moment estimates (adam).

    epsilon : float, default=1e-8
        Value for numerical stability in adam.

    n_iter_no_change : int, default=10
        Maximum number of epochs not meeting ``tol`` improvement
        (stochastic solvers); ``np.inf`` never stops early.

    max_fun : int, default=15000
        Maximum number of loss function calls (lbfgs).

""" + _weight_init_doc() + """
    init_scale : float, default=0.01
        Standard deviation of weight_init='normal' (the notes' small Gaussian
        random numbers); unused by the other schemes.
"""

CLASS_WEIGHT = """
    class_weight : dict, list of dicts or 'balanced', default=None
        Weights of the classes, multiplied into sample_weight as
        :func:`sklearn.utils.class_weight.compute_sample_weight` computes
        them: ``{class: weight}`` (classes not named weigh 1; naming a class
        y does not have is an error); for multilabel y a list of one
        ``{0: weight, 1: weight}`` per label column; 'balanced' weighs each
        class by ``n_samples / (n_classes * count)`` over the y of the fit.
        partial_fit refuses 'balanced', as SGDClassifier does (one batch's
        class frequencies are not the data's): pass the dict that
        ``compute_class_weight('balanced', classes=classes, y=y)`` gives.
        The rows early_stopping holds out carry their class weights (they
        are scored with them); X_val rows carry only sample_weight_val, as
        in HistGradientBoostingClassifier.
"""

# fastmlp's own parameters after class_weight, as the signatures have them
OWN_PARAMETERS = """
    early_stopping_metric : {'score', 'loss'}, default='score'
        What early_stopping watches on the validation data, and picks the
        weights it restores by: 'score' (the estimator's score, accuracy or
        R^2, as scikit-learn) must improve by tol; 'loss' (the validation
        loss, ``validation_loss_curve_``) must fall by tol.
""" + _activation_params_doc() + """
    batch_norm : bool or list of bool, default=False
        Batch normalisation of the hidden layers (one value for all, or one
        per hidden layer), as PyTorch's ``BatchNorm1d`` after each
        ``Linear``: a layer's pre-activations are normalised over the
        minibatch (lbfgs: over all rows), then scaled by a learned gamma and
        shifted by a learned beta, before the activation. Statistics are
        over the whole minibatch however many threads run it, and
        unweighted (sample weights weigh each row's loss, not the batch's
        mean and variance). Minibatches need at least 2 rows. The layer's
        intercept is then redundant (its gradient is zero) and stays as
        drawn; gamma, beta and the running statistics are in
        ``batch_norm_``. Predictions use the running statistics, folded
        into the weights: one product per layer.

    batch_norm_momentum : float, default=0.1
        Weight of each minibatch's mean and (unbiased) variance in the
        running statistics predictions use, PyTorch's ``momentum``.

    dropout : float or list of float, default=0.0
        Inverted dropout after each hidden layer's activation (one rate for
        all, or one per hidden layer; each in [0, 1)), in training only:
        a unit is zeroed with this probability (rounded to a multiple of
        2**-16: a unit's draw is 16 random bits) and the kept ones are
        scaled by 1 / (1 - rate). Masks are drawn from a counter-based generator
        (Philox-4x32-10) keyed by random_state, the step, the layer and the
        row's index, so a fit is reproducible and the same on any number of
        threads. Predictions use no mask. Not with solver='lbfgs'.
"""

# The optimizers' and schedules' parameters come last in the signatures, after
# the losses', so they are documented last too.
OPTIMIZER_PARAMETERS = """
    weight_decay : float, default=None
        Weight decay of 'adamw' (decoupled: each step multiplies every
        parameter by ``1 - lr * weight_decay``), 'nadam' and 'rmsprop' (added
        to the gradient, ``g + weight_decay * p``), on every parameter as
        PyTorch applies it. None is PyTorch's default: 0.01 for adamw, 0 for
        nadam and rmsprop. alpha stays scikit-learn's L2 term in the gradient
        (coefficients only, divided by the batch's weight sum): the two add
        up as a PyTorch loss with an L2 term under an optimizer with
        weight_decay. sgd, adam and lbfgs take no weight_decay (use alpha).

    momentum_decay : float, default=4e-3
        NAdam's momentum decay (torch.optim.NAdam's).

    rho : float, default=0.99
        RMSprop's smoothing constant of the squared-gradient average
        (torch.optim.RMSprop's ``alpha``, renamed: alpha is the L2 term).

    max_grad_norm : float, default=None
        Clip each minibatch's gradient to this global 2-norm, over all
        parameters, as torch.nn.utils.clip_grad_norm_ does (scaled by
        ``max_grad_norm / (norm + 1e-6)`` when that is below 1), before the
        optimizer's step and its weight_decay. None: no clipping. Stochastic
        solvers only.

    lr_schedule_unit : {'epoch', 'step'}, default='epoch'
        What the schedule's t and warmup_iters count: epochs (a PyTorch
        scheduler stepped once per epoch), or optimizer steps, i.e.
        minibatches (stepped once per batch), computed in the engine.

    lr_step_size : int, default=None
        Epochs (or steps) between two decays of learning_rate='step'
        (StepLR's step_size; required).

    lr_gamma : float, default=None
        Decay factor of 'step' (None: StepLR's 0.1) and 'exponential'
        (ExponentialLR's gamma; required).

    lr_t_max : int, default=None
        Epochs (or steps) of learning_rate='cosine' from learning_rate_init
        down to lr_eta_min (CosineAnnealingLR's T_max; required); the rate
        stays at lr_eta_min after it.

    lr_eta_min : float, default=0.0
        The floor of learning_rate='cosine' (CosineAnnealingLR's eta_min).

    warmup_iters : int, default=0
        Epochs (or steps) of linear warm-up before the schedule, from
        ``warmup_start_factor * learning_rate_init`` (LinearLR with
        total_iters=warmup_iters, then the schedule from its start, as
        SequentialLR chains them). Works with every schedule; 0: none.

    warmup_start_factor : float, default=1/3
        The warm-up's first rate over learning_rate_init (LinearLR's
        start_factor), in (0, 1].

    plateau_factor : float, default=0.1
        learning_rate='plateau' multiplies the rate by it on a plateau
        (ReduceLROnPlateau's factor).

    plateau_patience : int, default=10
        Epochs without improvement 'plateau' tolerates
        (ReduceLROnPlateau's patience).

    plateau_threshold : float, default=1e-4
        Relative improvement 'plateau' counts (ReduceLROnPlateau's
        threshold, mode 'rel'). It watches what early stopping watches:
        the training loss, or with early_stopping the validation score
        (or loss, early_stopping_metric='loss').
"""

ATTRIBUTES = """
    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting; None with
        early_stopping, where validation_scores_ is used instead.

    loss_curve_ : list of shape (`n_iter_`,)
        The loss at the end of each training step (stochastic solvers).

    validation_scores_ : list of shape (`n_iter_`,) or None
        The score on the validation set at each iteration, with
        early_stopping; None otherwise.

    best_validation_score_ : float or None
        The best validation score that triggered the early stop.

    validation_loss_curve_ : list of shape (`n_iter_`,) or None
        The loss of the validation data (early_stopping's split or X_val) at
        the end of each epoch, computed as loss_curve_'s: the weighted mean
        loss plus the same L2 term, so the gap between the curves is the
        data's alone. None without validation data.

    best_validation_loss_ : float or None
        The lowest value of validation_loss_curve_; None without validation
        data.

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        The ith element is the weight matrix between layer i and layer i + 1.
        Views into one flat buffer: in-place edits change the model.

    intercepts_ : list of shape (n_layers - 1,)
        The ith element is the bias vector of layer i + 1, likewise views.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string feature names.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    batch_norm_ : list of (dict or None) of shape (n_layers - 2,)
        With batch_norm only: per hidden layer, None, or the dict of its
        ``gamma``, ``beta``, ``running_mean`` and ``running_var`` (views
        into the model's buffers). coefs_ and intercepts_ are then the
        unfolded weights: the layer computes
        ``gamma * (A @ W + b - running_mean) / sqrt(running_var + 1e-5) + beta``
        in predictions.
"""

NOTES = """    Notes
    -----
    fit, partial_fit and predict release the GIL. A minibatch (or an lbfgs
    chunk, or a prediction's chunk) big enough is cut into row parts that
    run on OpenMP threads, as many as ``OMP_NUM_THREADS`` (or threadpoolctl)
    allows and no more than BLAS may use; meanwhile BLAS is held to one
    thread. The last bits of a fit depend on that number of threads: the
    same thread count gives bit-identical models.
"""
