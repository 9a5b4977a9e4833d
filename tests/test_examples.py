"""Every script in examples/ runs, writes its figure, and prints what it claims.

Each runs as a user runs it (``python examples/x.py --out fig.png``), with
matplotlib's Agg backend and FASTMLP_EXAMPLES_QUICK=1 (fewer epochs, a few
seconds each); its printed numbers are then checked against the theory
notes and against what the example's docstring says they show.
"""
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

EXAMPLES = Path(__file__).parents[1] / "examples"
BY_DEFAULT = "perceptron_or.py"


def _run(script, tmp_path):
    """Run the script; its stdout. The figure goes to --out, except one
    script's, which goes to its default place: FASTMLP_EXAMPLES_OUT's
    directory (the working directory is examples/ then, which must stay
    clean)."""
    out = tmp_path / (Path(script).stem + ".png")
    env = {**os.environ, "MPLBACKEND": "Agg", "FASTMLP_EXAMPLES_QUICK": "1",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, str(EXAMPLES / script)]
    if script == BY_DEFAULT:
        env["FASTMLP_EXAMPLES_OUT"] = str(tmp_path)
        cwd = EXAMPLES
    else:
        command += ["--out", str(out)]
        cwd = tmp_path
    in_examples = EXAMPLES / out.name
    before = in_examples.stat().st_mtime_ns if in_examples.exists() else None
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert f"wrote {out}" in done.stdout
    assert (in_examples.stat().st_mtime_ns if in_examples.exists() else None) == before
    return done.stdout


def _numbers(pattern, text):
    """The floats of every match of `pattern` (its groups) in `text`."""
    found = re.findall(pattern, text)
    assert found, (pattern, text)
    return [tuple(float(v) for v in (m if isinstance(m, tuple) else (m,))) for m in found]


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def check_perceptron_or(out):
    notes, fitted = out.split("Fitted to the four rows")
    rows = _numbers(r"\n (\d)  (\d) \| +(-?[\d.]+) \| +([\d.]+) \| +(\d) \| +(\d)", notes)
    assert len(rows) == 4
    for x1, x2, z, a, predicted, target in rows:
        assert z == 20 * x1 + 20 * x2 - 10
        assert a == round(_sigmoid(z), 7)  # 0.0000454 and 0.9999546, as the notes
        assert predicted == target == float(x1 or x2)
    ((w1, w2, b),) = _numbers(r"w1 = (-?[\d.]+), w2 = (-?[\d.]+), b = (-?[\d.]+)", fitted)
    # an OR unit: b < 0 alone, b + w > 0 with either input on
    assert b < 0 < b + w1 and b + w2 > 0
    assert out.count("computes OR: True") == 2


def check_xor_hidden_layer(out):
    linear, hidden = out.split("four tanh hidden units")
    ((loss, accuracy, gap),) = _numbers(
        r"log loss ([\d.]+), accuracy ([\d.]+), .* = (-?[\d.]+)", linear)
    assert loss == round(math.log(2), 4) and accuracy <= 0.75 and gap == 0.0
    ((loss, accuracy, gap),) = _numbers(
        r"log loss ([\d.]+), accuracy ([\d.]+), .* = (-?[\d.]+)", hidden)
    assert accuracy == 1.0 and loss < 0.01 and abs(gap) > 1.0


def check_backprop_worked_example(out):
    values = dict(re.findall(r"  (\S+) += +(-?[\d.]+)", out))
    values = {name: float(v) for name, v in values.items()}
    a11 = _sigmoid(1.0)
    y = a11 + 1.0
    exact = {"a11": a11, "y": y, "dJ/dw21": (y - 2) * a11, "dJ/db2": y - 2,
             "dJ/dw11": (y - 2) * a11 * (1 - a11), "dJ/db1": (y - 2) * a11 * (1 - a11),
             "J": (y - 2) ** 2 / 2}
    for name, value in exact.items():
        assert abs(values[name] - value) <= 5e-7, name  # printed to 6 decimals
    # the notes' values, from intermediates rounded to three decimals
    notes = {"a11": (0.731, 5e-4), "y": (1.731, 5e-4), "dJ/dw21": (-0.196639, 5e-5),
             "dJ/db2": (-0.269, 5e-4), "dJ/dw11": (-0.052895, 5e-5),
             "dJ/db1": (-0.052895, 5e-5)}
    for name, (value, precision) in notes.items():
        assert abs(values[name] - value) <= precision, name
    ((after,),) = _numbers(r"learning rate 0.1: y = ([\d.]+)", out)
    ((by_sgd,),) = _numbers(r"partial_fit \(solver='sgd'\): y = ([\d.]+)", out)
    w11 = b1 = 0.5 - 0.1 * exact["dJ/dw11"]
    w21, b2 = 1.0 - 0.1 * exact["dJ/dw21"], 1.0 - 0.1 * exact["dJ/db2"]
    assert abs(after - (_sigmoid(w11 + b1) * w21 + b2)) <= 5e-7
    assert abs(after - 1.775) < 1e-3 and by_sgd == after
    ((y_last, j_last),) = _numbers(r"after 20 steps: y = ([\d.]+), J = ([\d.]+)", out)
    assert after < y_last < 2 and j_last < values["J"] / 100


def check_batch_norm_deep(out):
    ((first, last, accuracy),) = _numbers(
        r"batch_norm=False: first loss ([\d.]+), final loss ([\d.]+), test accuracy ([\d.]+)",
        out)
    ((first_bn, last_bn, accuracy_bn),) = _numbers(
        r"batch_norm=True : first loss ([\d.]+), final loss ([\d.]+), test accuracy ([\d.]+)",
        out)
    assert first - last < 0.1  # barely moves: log(10) = 2.303 is a uniform guess
    assert abs(last - math.log(10)) < 0.05
    assert first_bn - last_bn > 0.4 and accuracy_bn > accuracy + 0.3


def check_lr_schedules(out):
    results = {name.strip(): (loss, accuracy) for name, loss, accuracy in re.findall(
        r"\n?(.+?): final training loss ([\d.]+), validation loss [\d.]+, "
        r"validation accuracy ([\d.]+)", out)}
    assert set(results) == {"constant 0.1", "constant 0.01", "step decay", "warm-up + cosine"}
    for decayed in ("step decay", "warm-up + cosine"):
        for constant in ("constant 0.1", "constant 0.01"):
            assert float(results[decayed][0]) < float(results[constant][0])
            assert float(results[decayed][1]) > float(results[constant][1])


CHECKS = {
    "perceptron_or.py": check_perceptron_or,
    "xor_hidden_layer.py": check_xor_hidden_layer,
    "backprop_worked_example.py": check_backprop_worked_example,
    "batch_norm_deep.py": check_batch_norm_deep,
    "lr_schedules.py": check_lr_schedules,
}


def test_every_example_is_run_here():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CHECKS)


@pytest.mark.parametrize("script", sorted(CHECKS))
def test_example_runs_writes_its_figure_and_prints_what_it_claims(script, tmp_path):
    CHECKS[script](_run(script, tmp_path))


def test_numbers_helper_reads_signed_floats():
    assert _numbers(r"x = (-?[\d.]+)", "x = -1.5, x = 2") == [(-1.5,), (2.0,)]
    assert np.isclose(_sigmoid(10), 0.9999546, atol=1e-7)
