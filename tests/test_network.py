"""fastmlp/_engine/_network.pyx: a Network is its spec's layout, fixed when
it is made and checked before the kernels index it."""
import dataclasses

import pytest

from engine_specs import network_spec
from fastmlp._engine._network import Network
from fastmlp._spec import NetworkSpec


def _spec(layer_units=(3, 5, 2)):
    return network_spec(list(layer_units), "relu", "log_loss")


def test_a_network_cannot_exist_without_its_layers():
    # without them every kernel would read a NULL layer array
    with pytest.raises(TypeError):
        Network.__new__(Network)


def test_a_network_cannot_be_laid_out_again():
    # an Epochs sized its buffers for the layout it was handed
    network = Network(_spec())
    network.__init__(_spec((300, 50, 2)))
    assert network.spec.layer_units == [3, 5, 2]
    assert network.n_params == 3 * 5 + 5 * 2 + 5 + 2


def test_a_spec_whose_layouts_miss_a_layer_is_refused(monkeypatch):
    # the per-layer layouts are indexed without bounds checks
    spec = _spec()
    columns = spec.work_columns(False)
    short = dataclasses.replace(columns, act_cols=columns.act_cols[:1])
    monkeypatch.setattr(NetworkSpec, "work_columns", lambda self, gather: short)
    with pytest.raises(ValueError, match="per-layer layouts"):
        Network(spec)
