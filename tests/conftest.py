"""Hypothesis in CI draws the same examples every run (derandomize), so a
submission's CI result does not depend on luck; locally, runs keep exploring
new examples (and replay the failures they find from .hypothesis/)."""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
