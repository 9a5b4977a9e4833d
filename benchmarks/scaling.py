"""How fit time grows with rows and with hidden width, per library: scaling.png.

Two sweeps on the large case's data (100 features, 10 classes, adam, batch
200): rows at hidden (100,), then width of one hidden layer at a fixed row
count. Each point is an ordinary :func:`benchmarks.measure.run_case`, so it is
interleaved and carries its GEMM-only bound, drawn as a dashed floor.
"""
import dataclasses

from benchmarks import cases as cases_mod
from benchmarks.measure import run_case
from benchmarks.report import fmt_time, table

FULL = {"rows": (2000, 8000, 32000, 64000), "widths": (16, 64, 256, 1024),
        "width_rows": 8000, "epochs": 2}
QUICK = {"rows": (500, 1000, 2000), "widths": (8, 32, 128),
         "width_rows": 1000, "epochs": 1}


def _points(quick):
    """(sweep, x, Case) for every point of both sweeps."""
    s = QUICK if quick else FULL
    base = cases_mod.cases(quick)["large"]
    for n_rows in s["rows"]:
        yield "rows", n_rows, dataclasses.replace(
            base, name=f"rows={n_rows}", n_rows=n_rows, hidden=(100,),
            epochs=s["epochs"])
    for width in s["widths"]:
        yield "width", width, dataclasses.replace(
            base, name=f"width={width}", n_rows=s["width_rows"],
            hidden=(width,), epochs=s["epochs"])


def sweep(peers, dtype, repeats, quick, log=print):
    """Measure every point; return ``[(sweep, x, CaseResult), ...]``."""
    points = []
    for kind, x, case in _points(quick):
        log(f"  scaling: {case.name}")
        points.append((kind, x, run_case(case, dtype, peers, repeats, log=lambda m: None)))
    return points


def plot(points, path, dtype):
    """Draw both sweeps side by side (log-log) into ``path``.

    Returns
    -------
    str or None
        Why no plot was drawn, or None when it was.
    """
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no plot."
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, kind, xlabel in ((axes[0], "rows", "rows (hidden (100,))"),
                             (axes[1], "width", "hidden units (one layer)")):
        sel = [(x, cr) for k, x, cr in points if k == kind]
        xs = [x for x, _ in sel]
        for name in sel[0][1].peers:
            ax.plot(xs, [cr.peers[name].median for _, cr in sel], "o-", label=name)
        ax.plot(xs, [cr.bound.median for _, cr in sel], "k--", label="GEMM bound")
        ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="fit time (s)")
        # Label the measured sizes only; log-scale minor labels overlap.
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"Fit time vs problem size ({dtype}, adam, batch 200)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def section(points, dtype):
    """Markdown table of the sweep."""
    names = list(points[0][2].peers)
    rows = [[kind, x, cr.case.epochs, *(fmt_time(cr.peers[n].median) for n in names),
             fmt_time(cr.bound.median)] for kind, x, cr in points]
    return (table(["sweep", "size", "epochs", *names, "GEMM bound"], rows)
            + f"\n\n{dtype}; `rows`: hidden (100,); `width`: one hidden layer "
            f"of that many units on {points[-1][2].case.n_rows} rows.")
