"""The engine's Cython compiles without a single Cython warning under the
build's own directives (setup.py).

Cython reports a negative index under wraparound=False, or a name used
before its assignment, only as a warning in a long build log, and the build
goes on: coef_start[-1] in _network.pyx was such a warning, and on numpy 2.5
every fit failed (issue 10). The build itself does not turn warnings into
errors, so that a warning a newer Cython adds cannot break a user's pip
install; this test, which CI runs on every Python with the newest Cython,
does.
"""
import runpy
from pathlib import Path

from Cython.Build import cythonize

ROOT = Path(__file__).resolve().parents[1]


def test_every_module_cythonizes_without_warnings(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(ROOT)
    build = runpy.run_path(str(ROOT / "setup.py"), run_name="fastmlp_setup")
    # the release build's directives, which users build with
    cythonize(build["extensions"], compiler_directives=build["compiler_directives"](False),
              build_dir=str(tmp_path), force=True, quiet=True)
    out, err = capfd.readouterr()
    found = [line for line in (out + err).splitlines() if line.startswith("warning:")]
    assert not found, "\n".join(found)
