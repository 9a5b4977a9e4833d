"""Command line of the benchmark harness: ``python -m benchmarks [options]``.

Also runnable as ``python benchmarks/run.py``. See ``--help``.
"""
import argparse
import datetime
import gc
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file: import the package from the repository root instead, and
    # drop benchmarks/ itself from sys.path so its module names shadow nothing.
    _HERE = Path(__file__).resolve().parent
    sys.path = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))

from benchmarks import cases as cases_mod  # noqa: E402
from benchmarks import machine, report  # noqa: E402
from benchmarks.peers import load_peers  # noqa: E402

HERE = Path(__file__).resolve().parent
EXTRAS = ("memory", "threads", "contention", "callbacks", "scaling", "activations")
DTYPES = {"float32": ["float32"], "float64": ["float64"],
          "both": ["float32", "float64"]}


def parse_args(argv):
    names = list(cases_mod.cases()) + list(EXTRAS)
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="fastmlp vs scikit-learn vs PyTorch, interleaved in one "
                    "process (issue 3).")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes and 1 repeat: proves the harness runs (CI)")
    p.add_argument("--cases", nargs="+", metavar="NAME",
                   help=f"what to run (comma or space separated) from: "
                        f"{', '.join(names)}; default: all ('scaling' only in "
                        f"full runs or with --plot)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed repeats per case after one warm-up, median "
                        "reported (default 5, 1 with --quick)")
    p.add_argument("--dtype", choices=list(DTYPES), default="both")
    p.add_argument("--out", type=Path, default=None,
                   help="markdown results file (default benchmarks/results.md, "
                        "benchmarks/results_quick.md with --quick)")
    plot = p.add_mutually_exclusive_group()
    plot.add_argument("--plot", action="store_true",
                      help="run the scaling sweep and draw scaling.png even "
                           "with --quick")
    plot.add_argument("--no-plot", action="store_true",
                      help="skip the scaling sweep and plot")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="limit BLAS, OpenMP and torch to N threads for the whole "
                        "run (default: the libraries' own, all cores; 1 with "
                        "--quick); 1 gives steadier numbers on a busy machine")
    p.add_argument("--peers", default="fastmlp,sklearn,torch",
                   help="comma-separated libraries to compare (fastmlp first)")
    args = p.parse_args(argv)

    selected = [n for item in (args.cases or []) for n in item.split(",") if n]
    unknown = sorted(set(selected) - set(names))
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    if not selected:
        selected = [n for n in names if n != "scaling" or not args.quick]
    if args.plot and "scaling" not in selected:
        selected.append("scaling")
    if args.no_plot and "scaling" in selected:
        selected.remove("scaling")
    args.selected = selected
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    if args.quick and args.threads is None:
        # --quick only proves the harness runs; multithreaded BLAS on a busy
        # CI machine can make its tiny fits 10x slower for nothing.
        args.threads = 1
    suffix = "_quick" if args.quick else ""
    if args.out is None:
        args.out = HERE / f"results{suffix}.md"
    args.plot_path = args.out.with_name(f"scaling{suffix}.png")
    return args


_T0 = time.perf_counter()


def log(message):
    """Progress on stderr, stamped with seconds since start."""
    print(f"[{time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def main(argv=None):
    """Run the selected cases and checks, print and write the results."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    load = machine.LoadMeter()
    limits = None
    if args.threads:
        from threadpoolctl import threadpool_limits

        # Held for the whole run; torch reads the BLAS thread count from it.
        limits = threadpool_limits(limits=args.threads)
    wanted = [n.strip() for n in args.peers.split(",") if n.strip()]
    try:
        peers, notes = load_peers(wanted)
    except ImportError as exc:
        log(f"error: cannot import fastmlp ({exc}). Install it first: "
            "pip install -e . --no-build-isolation")
        return 2
    # Move everything imported so far out of the collector's sight: the
    # gc.collect() before each timed task then costs ~1 ms instead of ~100 ms.
    gc.collect()
    gc.freeze()
    dtypes = DTYPES[args.dtype]
    all_cases = cases_mod.cases(args.quick)

    from benchmarks.measure import run_case

    case_results = []
    for name in args.selected:
        if name not in all_cases:
            continue
        for dtype in dtypes:
            log(f"{name} {dtype}")
            case_results.append(run_case(all_cases[name], dtype, peers,
                                         args.repeats, log=log))

    sections = []
    if "memory" in args.selected:
        from benchmarks import memory

        log("memory (one child process per library)")
        # Children pay the imports again (torch's alone takes seconds): in
        # --quick one dtype and the two sklearn-API libraries prove the path.
        mem_dtypes, mem_libs = dtypes, list(peers)
        if args.quick:
            mem_dtypes, mem_libs = dtypes[:1], [n for n in peers if n != "torch"]
            if "torch" in peers:
                notes.append("Memory of the torch fit skipped in --quick mode.")
        sections.append(("Peak memory of the large fit",
                         memory.measure(mem_libs, mem_dtypes, args.quick,
                                        threads=args.threads, log=log)))
    if "threads" in args.selected:
        from benchmarks import threads

        log("threads")
        sections.append(("Threads: two fits at once",
                         threads.measure(peers, dtypes[0], min(args.repeats, 3),
                                         args.quick, log=log)))
    if "contention" in args.selected:
        from benchmarks import contention

        log("contention")
        # the issue quotes min-max over 7 fits: at least that many in full runs
        rounds = args.repeats if args.quick else max(args.repeats, 7)
        sections.append(("Contention: fits beside a busy process",
                         contention.measure(peers, dtypes[0], rounds, args.quick,
                                            log=log)))
    if "callbacks" in args.selected:
        from benchmarks import callbacks

        log("callbacks")
        sections.append(("Callbacks: what a ProgressBar costs",
                         callbacks.measure(dtypes[0], args.repeats, args.quick, log=log)))
    if "activations" in args.selected:
        from benchmarks import activations

        log("activations")
        sections.append(("Activations beyond scikit-learn's",
                         activations.measure(peers, dtypes, args.repeats, args.quick,
                                             log=log)))
    if "scaling" in args.selected:
        from benchmarks import scaling

        log("scaling")
        points = scaling.sweep(peers, dtypes[0], min(args.repeats, 3), args.quick,
                               log=log)
        why_not = scaling.plot(points, args.plot_path, dtypes[0])
        body = scaling.section(points, dtypes[0])
        if why_not:
            notes.append(f"Plot skipped: {why_not}")
        else:
            body += f"\n\n![fit time against problem size]({args.plot_path.name})"
        sections.append(("Scaling", body))
    elif args.quick:
        notes.append("Scaling sweep and plot skipped in --quick mode (add --plot).")

    elapsed = time.perf_counter() - started
    others = load.others_share()
    if others is not None and others > 0.10:
        notes.insert(0, f"Other processes used {others:.0%} of the machine's CPU "
                        "during this run: timings are noisy, compare ratios only "
                        "with care and rerun on a quiet machine.")
    title = [
        "command: `python -m benchmarks " + " ".join(
            sys.argv[1:] if argv is None else argv) + "`",
        f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"repeats: {args.repeats} after one warm-up, medians; dtypes: "
        f"{', '.join(dtypes)}; {'quick sizes' if args.quick else 'full sizes'}; "
        f"harness time {elapsed:.0f} s; threads: "
        + (f"limited to {args.threads}" if args.threads else "libraries' defaults"),
        "CPU used by other processes during the run: "
        + ("unknown" if others is None else f"{others:.0%}"),
    ]
    text = report.render(title, machine.describe(), case_results, list(peers),
                         sections, notes)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    log(f"wrote {args.out}")
    if limits is not None:
        limits.restore_original_limits()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
