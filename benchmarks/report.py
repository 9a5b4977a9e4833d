"""Markdown tables of a run: printed, and written to results.md."""
from benchmarks.cases import PREDICT_ONE

SHORT = {"fastmlp": "fm", "sklearn": "skl", "torch": "torch"}


def fmt_time(seconds):
    """Seconds with a unit that keeps 3 significant digits readable."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _num(value, spec):
    return "-" if value is None else format(value, spec)


def _ratio(numerator, denominator):
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:.2f}x"


def table(header, rows):
    """A markdown table from a header list and rows of strings."""
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def results_table(case_results, peer_names):
    """The main table: one row per case and dtype.

    Times are medians; ratios are peer time / fastmlp time (above 1 means
    fastmlp is faster); the bound is the GEMM-only time of the same products.
    """
    others = [p for p in peer_names if p != "fastmlp"]
    header = (["case", "dtype"]
              + [f"time {SHORT[p]}" for p in peer_names]
              + [f"{SHORT[p]}/fm" for p in others]
              + [f"score {SHORT[p]}" for p in peer_names]
              + [f"GFLOP/s {SHORT[p]}" for p in peer_names]
              + ["GEMM bound", "GFLOP/s bound", "fm/bound"])
    rows = []
    for cr in case_results:
        res = cr.peers
        fm = res.get("fastmlp")
        fm_time = fm.median if fm else None
        latency = cr.case.kind == PREDICT_ONE

        def get(name, attr):
            return getattr(res[name], attr) if name in res else None

        bound = cr.bound.median if cr.bound else None
        rows.append(
            [cr.case.name, cr.dtype]
            + [fmt_time(get(p, "median")) for p in peer_names]
            + [_ratio(get(p, "median"), fm_time) for p in others]
            + [_num(get(p, "score"), ".4f") for p in peer_names]
            + [("-" if latency else _num(get(p, "gflops"), ".1f"))
               for p in peer_names]
            + [fmt_time(bound),
               _num(cr.bound.gflops if cr.bound else None, ".1f"),
               _ratio(fm_time, bound)])
    return table(header, rows)


def case_legend(case_results):
    """One line per case: what it runs."""
    seen, lines = set(), []
    for cr in case_results:
        c = cr.case
        if c.name in seen:
            continue
        seen.add(c.name)
        what = {"fit": f"fit, {c.solver}, max_iter={c.epochs}",
                "predict_one": f"predict of 1 row, median of {c.n_calls} calls "
                               "per round",
                "predict_proba": "predict_proba of all rows"}[c.kind]
        batch = f", batch {c.batch_size}" if c.kind == "fit" and c.solver != "lbfgs" else ""
        lines.append(f"- `{c.name}`: {c.title}; {what}{batch}; "
                     f"peers: {', '.join(c.peers)}")
    return "\n".join(lines)


def render(title_lines, machine_lines, case_results, peer_names, sections,
           notes):
    """The whole results.md.

    Parameters
    ----------
    title_lines : list of str
        Command, date, settings.
    machine_lines : list of str
        From :func:`benchmarks.machine.describe`.
    case_results : list of CaseResult
    peer_names : list of str
        Libraries present in this run, fastmlp first.
    sections : list of (str, str)
        Extra (heading, markdown body) sections: memory, threads, scaling.
    notes : list of str
        Run-wide notes (skipped libraries, stand-ins).
    """
    out = ["# fastmlp benchmarks", ""] + [f"- {line}" for line in title_lines]
    out += ["", "## Machine", ""] + [f"- {line}" for line in machine_lines]
    if notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    if case_results:
        out += ["", "## Fit and predict", "",
                results_table(case_results, peer_names), "",
                "Times are medians over the repeats (fit: whole fit; "
                "`predict_one`: one call; `predict_proba`: one call on all rows). "
                "`skl/fm`, `torch/fm`: that library's time over fastmlp's (above 1: "
                "fastmlp is faster). Scores are accuracy or R2 on the training data. "
                "GFLOP/s counts the matrix products of forward and backward. "
                "`GEMM bound`: the same products alone through scipy's BLAS "
                "(Python call overhead removed); `fm/bound`: fastmlp's time over it.",
                "", case_legend(case_results)]
        case_notes = [f"`{cr.case.name}` {cr.dtype}: {n}"
                      for cr in case_results for n in cr.notes]
        if case_notes:
            out += [""] + [f"- {n}" for n in case_notes]
    for heading, body in sections:
        out += ["", f"## {heading}", "", body]
    return "\n".join(out) + "\n"
