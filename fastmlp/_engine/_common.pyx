"""The engine's codes, exported to Python (Activation, Loss, OutActivation):
the registries in fastmlp/_registry.py are checked against them."""
