"""Run the benchmarks: ``python -m benchmarks [--quick] [--threads 1 2] [--only vae dmm tiny]``.

Writes ``results.md``, ``results.json`` and a bar chart per suite into
``--out`` (default ``benchmarks/results``). ``--check`` only checks that every
column computes the hand-written objective, and exits non-zero if one does not.
See ``benchmarks/README.md`` for the method and how to read the results.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from benchmarks import allocator, overhead, report
from benchmarks.suites import SUITES, Case, CaseResult, run_case

ROUNDS = {"vae": 150, "dmm": 90, "tiny": 200}
#: the columns no target is judged on (memo off, Pixyz, Pyro) run in one round out of this many
OTHERS_EVERY = {"vae": 1, "dmm": 3, "tiny": 1}
QUICK_ROUNDS = {"vae": 5, "dmm": 3, "tiny": 10}
WARMUP = {"vae": 5, "dmm": 2, "tiny": 10}
BLOCK_S = 0.02  # seconds a block of steps lasts (at least one step)
CLOCKS = {"wall": "time.perf_counter", "cpu": "time.process_time, all threads of the process"}


def _versions() -> str:
    out = [f"torch {torch.__version__}", f"Python {platform.python_version()}"]
    for name in ("pixyz", "pyro"):
        try:
            module = __import__(name)
            out.append(f"{name} {module.__version__}")
        except ImportError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def _families() -> str:
    from importlib import metadata

    from dgmcore.distributions import Normal

    try:
        return f"{Normal.__module__} (dgmcore-families {metadata.version('dgmcore-families')})"
    except metadata.PackageNotFoundError:
        return Normal.__module__


def _commit() -> str:
    """The git commit of the working tree, ``-dirty`` when it has uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return head + ("-dirty" if dirty else "")


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds (for development)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch thread settings")
    parser.add_argument("--only", nargs="+", choices=sorted(SUITES), default=sorted(SUITES))
    parser.add_argument("--check", action="store_true", help="only check the columns agree; no timing")
    parser.add_argument("--rounds", type=int, help="rounds per case (default: by suite)")
    parser.add_argument(
        "--case", action="append", metavar="LABEL",
        help='only cases whose label contains LABEL, e.g. --case "T 64, latent 20" (repeatable)',
    )
    parser.add_argument("--no-compile", action="store_true", help="leave out the loss.compile() column")
    parser.add_argument("--no-third-party", action="store_true", help="leave out Pixyz and Pyro")
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall",
        help="time the tables and targets use: wall clock, or process CPU time (steadier under load)",
    )
    parser.add_argument(
        "--system-malloc", action="store_true",
        help="leave glibc's malloc thresholds alone (steps may page-fault; see benchmarks/allocator.py)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    start, load_start, commit = time.time(), _load(), _commit()
    malloc_line = (
        "allocator: as the platform gives it (--system-malloc)"
        if args.system_malloc
        else allocator.keep_freed_memory()
    )
    results: list[CaseResult] = []

    def write(extra: str, final: bool) -> list[Path]:
        elapsed = time.time() - start
        status = "complete" if final else "in progress (written after each case)"
        header = "\n".join(
            [
                "# dgmcore benchmark results",
                "",
                f"- command: `{command}` ({status}), commit {commit}",
                f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, {elapsed / 60:.1f} min",
                f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores, {_versions()}",
                f"- load average (1/5/15 min) at start: {load_start}; now: {_load()}",
                f"- families: {_families()}",
                f"- clock: {args.clock} ({CLOCKS[args.clock]})",
                f"- {malloc_line}",
                "- ms: median milliseconds per training step over the rounds, [IQR]; ratio: median over "
                "rounds of the per-round ratio to the hand-written column of the same objective "
                "(analytic or MC), [IQR]",
            ]
        )
        raw = {"command": command, "clock": args.clock, "complete": final}
        if final:
            print(report.markdown(results, header, extra, args.clock))
        return report.write(results, args.out, header, extra, raw, args.clock)

    for threads in args.threads:
        for suite in args.only:
            for cfg in SUITES[suite][1 if args.quick else 0]:
                case = Case(suite, cfg)
                if args.case and not any(label in case.label for label in args.case):
                    continue
                print(f"[{suite}] {case.label}, {threads} thread(s)", flush=True)
                rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)[suite]
                results.append(
                    run_case(
                        case, threads, rounds=rounds, warmup=2 if args.quick else WARMUP[suite],
                        block_s=BLOCK_S, third_party=not args.no_third_party, compile=not args.no_compile,
                        check_only=args.check, others_every=1 if args.quick else OTHERS_EVERY[suite],
                    )
                )
                if not args.check:
                    write("", final=False)
        if args.check:
            break  # the check does not depend on the thread setting
    ok = all(c.ok for r in results for c in r.checks)
    if args.check:
        print("check: all columns agree" if ok else "check: MISMATCH (see above)")
        return 0 if ok else 1

    extra = []
    if "tiny" in args.only:
        costs = overhead.memo_costs(n=2000 if args.quick else 20000)
        extra += ["## Memo cost per `get_dist` call (µs, best of 7)", "", "| call | µs |", "|---|---:|"]
        extra += [f"| {k} | {v:.2f} |" for k, v in costs.items()]
        extra += ["", "## Import and plugin discovery (benchmarks/import_time.py)", ""]
        extra.append(overhead.import_table(runs=7))
    written = write("\n".join(extra), final=True)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
