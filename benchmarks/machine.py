"""What machine and software a run measured: the header of results.md."""
import os
import platform
from importlib import metadata


def cpu_model():
    """CPU model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def n_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def blas_pools():
    """threadpoolctl's view of the loaded BLAS libraries ([] without it)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    # Load both BLAS users so both pools are listed.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401

    return [p for p in threadpool_info() if p.get("user_api") == "blas"]


def blas_threads():
    """Threads scipy's BLAS (the one fastmlp calls) uses, to match in torch."""
    pools = blas_pools()
    scipy_pools = [p for p in pools if "scipy.libs" in p.get("filepath", "")]
    for p in scipy_pools or pools:
        return int(p["num_threads"])
    return n_cores()


def _cpu_jiffies():
    """(total, idle) jiffies of all CPUs from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields[:8]), fields[3] + fields[4]  # idle + iowait


class LoadMeter:
    """Share of the machine's CPU that other processes used during a run.

    A run on a shared machine is only as good as the CPU it got: this is
    busy time of all CPUs minus this process's own (and its children's),
    over the wall-clock capacity of all CPUs.
    """

    def __init__(self):
        self.start = _cpu_jiffies(), os.times()

    def others_share(self):
        """Fraction in [0, 1], or None where /proc/stat is missing."""
        (j0, t0), (j1, t1) = self.start, (_cpu_jiffies(), os.times())
        if j0 is None or j1 is None or j1[0] == j0[0]:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        total = j1[0] - j0[0]
        busy = total - (j1[1] - j0[1])
        own = sum(getattr(t1, a) - getattr(t0, a) for a in
                  ("user", "system", "children_user", "children_system")) * tick
        return min(max((busy - own) / total, 0.0), 1.0)


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def describe():
    """Lines of machine and software facts, for the report header."""
    lines = [
        f"CPU: {cpu_model()}",
        f"cores available: {n_cores()} (os.cpu_count() = {os.cpu_count()})",
        f"OS: {platform.platform()}",
        f"Python: {platform.python_version()}",
        "load average (1, 5, 15 min) at the end: "
        + ", ".join(f"{v:.2f}" for v in os.getloadavg()),
    ]
    versions = {d: _version(d) for d in
                ("fastmlp", "numpy", "scipy", "scikit-learn", "torch",
                 "matplotlib", "threadpoolctl")}
    lines.append("versions: " + ", ".join(
        f"{d} {v}" for d, v in versions.items() if v is not None))
    missing = [d for d, v in versions.items() if v is None]
    if missing:
        lines.append("not installed: " + ", ".join(missing))
    pools = blas_pools()
    if not pools:
        lines.append("BLAS: unknown (threadpoolctl not installed)")
    for p in pools:
        owner = "scipy" if "scipy.libs" in p["filepath"] else (
            "numpy" if "numpy.libs" in p["filepath"] else
            os.path.basename(p["filepath"]))
        lines.append(
            f"BLAS ({owner}): {p['internal_api']} {p.get('version')}, "
            f"{p['num_threads']} threads, arch {p.get('architecture')}")
    try:
        import torch

        lines.append(f"torch threads: {torch.get_num_threads()}, "
                     f"MKL: {torch.backends.mkl.is_available()}")
    except ImportError:
        pass
    return lines
