"""The registries (fastmlp/_registry.py) against the engine and the estimators:
every public name has a kernel, every kernel a name, and the estimators'
constraints and docstrings list exactly the registered names."""
import inspect

import numpy as np
import pytest

from engine_specs import network_spec
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._engine._common import Activation, Loss, OutActivation
from fastmlp._engine._network import Network
from fastmlp._registry import (
    ACTIVATION_ALIASES,
    ACTIVATION_PARAMS,
    ACTIVATIONS,
    CLASSIFIER_LOSSES,
    LOSS_PARAMETERS,
    LOSSES,
    OUT_ACTIVATIONS,
    REGRESSOR_LOSSES,
)
from fastmlp._spec import HiddenLayer, NetworkSpec


def test_every_activation_has_a_kernel_and_every_kernel_a_name():
    assert sorted(info.code for info in ACTIVATIONS.values()) == sorted(
        int(code) for code in Activation)
    for info in ACTIVATIONS.values():
        assert Activation(info.code).name == info.name.upper()


def test_every_loss_has_a_kernel_and_every_kernel_a_loss():
    codes = {code for info in LOSSES.values() for code, _ in info.outputs.values()}
    assert codes == {int(code) for code in Loss}
    outs = {out for info in LOSSES.values() for _, out in info.outputs.values()}
    assert outs == set(OUT_ACTIVATIONS)
    assert sorted(OUT_ACTIVATIONS.values()) == sorted(int(code) for code in OutActivation)
    for name, code in OUT_ACTIVATIONS.items():
        assert OutActivation(code).name == "OUT_" + name.upper()


def test_losses_belong_to_one_estimator():
    assert set(CLASSIFIER_LOSSES) | set(REGRESSOR_LOSSES) == set(LOSSES)
    assert not set(CLASSIFIER_LOSSES) & set(REGRESSOR_LOSSES)
    for info in CLASSIFIER_LOSSES.values():
        assert set(info.outputs) == {"binary", "multiclass", "multilabel-indicator"}
    for info in REGRESSOR_LOSSES.values():
        assert set(info.outputs) == {"continuous"}


def test_constraints_and_docstrings_list_the_registry():
    names = set(ACTIVATIONS) | set(ACTIVATION_ALIASES)
    for Est in (MLPClassifier, MLPRegressor):
        # one name, or a list of them (checked per layer at fit)
        options, *sequences = Est._parameter_constraints["activation"]
        assert options.options == names
        assert sequences == [list, tuple]
        for name, info in ACTIVATIONS.items():
            assert f"{name!r}: {info.formula}" in Est.__doc__
        for alias in ACTIVATION_ALIASES:
            assert repr(alias) in Est.__doc__
        signature = inspect.signature(Est.__init__).parameters
        for name, param in ACTIVATION_PARAMS.items():
            assert Est._parameter_constraints[name] == [param.constraint]
            assert f"{name} : float, default={param.default}" in Est.__doc__
            assert signature[name].default == param.default
            assert signature[name].kind == inspect.Parameter.KEYWORD_ONLY
    for Est, losses in [(MLPRegressor, REGRESSOR_LOSSES), (MLPClassifier, CLASSIFIER_LOSSES)]:
        (options,) = Est._parameter_constraints["loss"]
        assert options.options == set(losses)
        for name, info in losses.items():
            assert f"{name!r}: {info.formula}" in Est.__doc__
            # every parameter a loss reads is the estimator's, constrained
            # and documented as the registry says, with its default
            for param in info.params:
                assert Est._parameter_constraints[param] == [LOSS_PARAMETERS[param].constraint]
                assert getattr(Est(), param) == LOSS_PARAMETERS[param].default
                assert f"{param} : float, default={LOSS_PARAMETERS[param].default!r}" \
                    in Est.__doc__
    assert "subgradient taken is 0" in MLPRegressor.__doc__
    assert "decision_function gives them" in MLPClassifier.__doc__


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_trains_and_predicts(name):
    X = np.random.RandomState(0).randn(40, 3)
    y = X[:, 0] > 0
    model = MLPClassifier((5,), activation=name, max_iter=3, random_state=0)
    with pytest.warns(Warning):
        model.fit(X, y)
    assert np.isfinite(model.predict_proba(X)).all()


def test_the_engine_refuses_a_code_it_has_no_kernel_for(monkeypatch):
    spec = network_spec([3, 4, 2], "relu", "log_loss")
    monkeypatch.setattr(NetworkSpec, "hidden_activation_code", lambda self, layer: 99)
    with pytest.raises(ValueError, match="no kernel"):
        Network(spec)


def test_spec_layout_is_consistent():
    hidden = (HiddenLayer(7, "relu"), HiddenLayer(3, "tanh"))
    spec = NetworkSpec(5, hidden, 2, "squared_error", "continuous")
    groups = spec.parameter_groups
    # contiguous, coefficients first (the L2 penalty's range), shapes chaining
    assert [g.start for g in groups[1:]] == [g.stop for g in groups[:-1]]
    assert groups[0].start == 0 and groups[-1].stop == spec.n_params == 5*7 + 7*3 + 3*2 + 12
    assert spec.n_coefs == 5*7 + 7*3 + 3*2
    assert [g.shape for g in spec.groups("coef")] == [(5, 7), (7, 3), (3, 2)]
    columns = spec.work_columns(gather=True)
    assert columns.y == 5 and columns.total == columns.delta + 12
    assert spec.work_columns(gather=False).total == columns.total - 5
