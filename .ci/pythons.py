"""Print the Pythons (3.N) that pyproject.toml's requires-python admits among
the interpreters under a pyenv root: python3 .ci/pythons.py PYENV_ROOT"""
import re
import sys
import tomllib
from pathlib import Path

with open("pyproject.toml", "rb") as f:
    spec = tomllib.load(f)["project"]["requires-python"]
floor = re.fullmatch(r">=3\.(\d+)", spec)
if not floor:
    sys.exit(f".ci/pythons.py reads requires-python as '>=3.N', not {spec!r}")
minors = {int(m[1]) for d in Path(sys.argv[1], "versions").iterdir()
          if (m := re.fullmatch(r"3\.(\d+)\.\d+", d.name))}
admitted = [f"3.{n}" for n in sorted(minors) if n >= int(floor[1])]
if not admitted:
    sys.exit(f"no Python under {sys.argv[1]} satisfies requires-python {spec!r}")
print(" ".join(admitted))
