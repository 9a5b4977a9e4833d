"""Print the Python and the releases a suite ran against, for CI's summary."""
import platform
from importlib.metadata import PackageNotFoundError, version


def _version(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


names = ["numpy", "scipy", "scikit-learn", "threadpoolctl", "torch"]
print(f"Python {platform.python_version()}, "
      + ", ".join(f"{name} {_version(name)}" for name in names))
