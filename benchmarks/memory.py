"""Peak resident memory of the large fit, one library per child process.

Each library fits in a fresh interpreter so that one library's allocations
(or torch's own allocator caches) cannot hide another's. The child resets the
kernel's high-water mark after building the data, so the peak is data + model
+ whatever the fit allocates; the growth column is the fit's share alone.

Run as ``python -m benchmarks.memory LIB DTYPE [--quick]`` (the harness does)
it prints one JSON line.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import table

ROOT = Path(__file__).resolve().parents[1]
CASE = "large"


def _status_kb(field):
    """A ``Vm*`` field of /proc/self/status in kB, or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(lib, dtype, quick):
    """Fit the large case with one library and report memory as a dict."""
    import gc
    import resource

    import numpy as np

    from benchmarks import cases as cases_mod
    from benchmarks.peers import load_peers

    peers, notes = load_peers([lib])
    if lib not in peers:
        return {"error": " ".join(notes)}
    peer = peers[lib]
    case = cases_mod.cases(quick)[CASE]
    X, y = cases_mod.load(case)
    X = cases_mod.as_dtype(X, np.dtype(dtype))
    cases_mod.DATA[case.data].cache_clear()  # keep only the dtype's copy
    gc.collect()
    base_kb = _status_kb("VmRSS")
    exact = _reset_peak()
    start = time.perf_counter()
    peer.fit(case, X, y)
    fit_s = time.perf_counter() - start
    peak_kb = _status_kb("VmHWM") if exact else None
    if peak_kb is None:  # whole-process peak, data generation included
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"base_mb": base_kb / 1024 if base_kb else None,
            "peak_mb": peak_kb / 1024, "fit_s": fit_s, "exact": exact}


def measure(libs, dtypes, quick, threads=None, log=print):
    """Run one child per library and dtype; return the markdown section body.

    Parameters
    ----------
    libs : list of str
        Libraries available in the parent (children import only their own).
    dtypes : list of str
    quick : bool
    threads : int or None
        Thread limit of the run, passed on to the children.
    log : callable

    Returns
    -------
    str
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    rows = []
    for dtype in dtypes:
        for lib in libs:
            log(f"  memory: {lib} {dtype}")
            cmd = [sys.executable, "-m", "benchmarks.memory", lib, dtype]
            proc = subprocess.run(cmd + (["--quick"] if quick else []),
                                  cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=1800)
            try:
                res = json.loads(proc.stdout.strip().splitlines()[-1])
            except (IndexError, ValueError):
                err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                res = {"error": f"child failed: {err}"}
            if "error" in res:
                rows.append([lib, dtype, res["error"], "-", "-", "-"])
                continue
            growth = (res["peak_mb"] - res["base_mb"]) if res["base_mb"] else None
            rows.append([lib, dtype, f"{res['peak_mb']:.0f}",
                         f"{growth:.0f}" if growth is not None else "-",
                         f"{res['base_mb']:.0f}" if res["base_mb"] else "-",
                         f"{res['fit_s']:.2f} s"])
    body = table(["library", "dtype", "peak RSS (MB)", "growth in fit (MB)",
                  "RSS before fit (MB)", "fit time"], rows)
    return (body + "\n\nCase `large` (as sized in this run), each in a fresh "
            "process. Peak RSS includes the interpreter, imported libraries "
            "(torch alone is a few hundred MB) and the data; growth is the "
            "fit's own share.")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    lib, dtype = argv[0], argv[1]
    print(json.dumps(child(lib, dtype, "--quick" in argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
