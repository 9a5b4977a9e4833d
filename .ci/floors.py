"""Print pip constraints pinning every dependency in pyproject.toml to its
floor ("numpy>=1.25" -> "numpy==1.25"), for CI's run on the oldest versions
the package allows."""
import re
import sys
import tomllib

with open("pyproject.toml", "rb") as f:
    dependencies = tomllib.load(f)["project"]["dependencies"]
for dependency in dependencies:
    floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", dependency)
    if not floor:
        sys.exit(f".ci/floors.py pins dependencies of the form 'name>=X', not {dependency!r}")
    print(f"{floor[1]}=={floor[2]}")
