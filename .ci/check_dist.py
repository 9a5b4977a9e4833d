"""Check what python -m build made: python3 .ci/check_dist.py DIST_DIR

The sdist must hold what building and the whole suite need (LICENSE, setup.py,
the engine's sources, the test-only module's source, tests/ and the tools
they run) and nothing generated (.c, built modules). The wheel must hold the
package, typed, without generated C or the test-only module (_testing).
"""
import re
import sys
import tarfile
import zipfile
from pathlib import Path

dist = Path(sys.argv[1])
(sdist,) = dist.glob("*.tar.gz")
(wheel,) = dist.glob("*.whl")
problems = []

with tarfile.open(sdist) as tar:
    # names without the top directory (fastmlp-VERSION/)
    names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
needed = ["LICENSE", "README.md", "pyproject.toml", "setup.py", "MANIFEST.in",
          "fastmlp/__init__.py", "fastmlp/py.typed", "fastmlp/_engine/_team.pyx",
          "fastmlp/_engine/_team.pxd", "fastmlp/_engine/_openmp.pxd",
          "fastmlp/_engine/vmath.h", "fastmlp/_engine/_testing.pyx",
          "tests/conftest.py", "tests/kernel_twins.py", "tools/memory_growth.py"]
problems += [f"sdist lacks {name}" for name in needed if name not in names]
problems += [f"sdist holds {name}" for name in sorted(names)
             if re.search(r"\.(c|so|pyd|o)$|__pycache__|\.hypothesis|^build/", name)]

with zipfile.ZipFile(wheel) as whl:
    files = whl.namelist()
problems += [f"wheel holds {name}" for name in files
             if name.endswith((".c", ".o")) or "_testing" in name.rsplit("/", 1)[-1]]
problems += [f"wheel lacks {name}" for name in ("fastmlp/py.typed", "fastmlp/__init__.py")
             if name not in files]
if not any(re.fullmatch(r"fastmlp-[^/]+\.dist-info/licenses/LICENSE", name) for name in files):
    problems.append("wheel lacks its LICENSE")
if not any(name.startswith("fastmlp/_engine/_team.") and name.endswith(".so") for name in files):
    problems.append("wheel holds no compiled engine")

print(f"{sdist.name}: {len(names)} files; {wheel.name}: {len(files)} files")
if problems:
    sys.exit("\n".join(problems))
