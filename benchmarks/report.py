"""Write the results: a markdown report, raw numbers as JSON, a bar chart per suite."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.suites import REFERENCES, CaseResult

__all__ = ["TARGETS", "markdown", "targets", "write"]

#: (suite, column, case filter, bound, text): the issue's targets, as median paired ratios.
TARGETS: list[tuple[str, str, Any, float, str]] = [
    ("vae", "dgmcore analytic", lambda c: c.hidden == 400, 1.05, "VAE analytic, hidden 400"),
    ("vae", "dgmcore analytic", lambda c: c.hidden == 2000, 1.03, "VAE analytic, hidden 2000"),
    ("vae", "dgmcore MC", lambda c: True, 1.08, "VAE Monte-Carlo"),
    ("vae", "dgmcore compiled", lambda c: c.hidden == 400, 1.00, "VAE loss.compile(), hidden 400"),
    ("dmm", "dgmcore analytic", lambda c: True, 1.10, "DMM analytic"),
    ("dmm", "dgmcore MC", lambda c: True, 1.10, "DMM Monte-Carlo"),
    ("tiny", "dgmcore analytic", lambda c: True, 1.5, "tiny VAE analytic"),
    ("tiny", "dgmcore MC", lambda c: True, 1.5, "tiny VAE Monte-Carlo"),
]


Summaries = dict[tuple[str, int], list[tuple[CaseResult, dict]]]


def _summaries(results: Sequence[CaseResult], clock: str) -> Summaries:
    table: Summaries = {}
    for r in results:
        if r.timing is not None:
            table.setdefault((r.case.suite, r.threads), []).append((r, r.timing.summary(REFERENCES, clock)))
    return table


def targets(results: Sequence[CaseResult], clock: str) -> list[str]:
    """One markdown table row per target, thread setting and case; judged on ``clock``."""
    rows = []
    other = "cpu" if clock == "wall" else "wall"
    second = _summaries(results, other)
    for key, entries in sorted(_summaries(results, clock).items()):
        suite, threads = key
        for t_suite, column, keep, bound, text in TARGETS:
            if t_suite != suite:
                continue
            for (r, s), (_, s2) in zip(entries, second[key], strict=True):
                if column in s and keep(r.case.config):
                    ratio, ratio2 = s[column]["ratio"], s2[column]["ratio"]
                    verdict = "met" if ratio <= bound else "**missed**"
                    rows.append(
                        f"| {text} | {r.case.label} | {threads} | ≤ {bound:.2f} | {ratio:.3f} "
                        f"[{s[column]['ratio_iqr']:.3f}] | {ratio2:.3f} | {verdict} |"
                    )
    return rows


def markdown(results: Sequence[CaseResult], header: str, extra: str = "", clock: str = "wall") -> str:
    lines = [header, ""]
    failed = [(r, c) for r in results for c in r.checks if not c.ok]
    lines.append("## Check")
    lines.append("")
    n = sum(len(r.checks) for r in results)
    if failed:
        lines.append(f"{len(failed)} of {n} column checks FAILED; those cases were not timed:")
        lines += [f"- {r.case.suite} {r.case.label}: `{c.line()}`" for r, c in failed]
    else:
        lines.append(
            f"All {n} column checks passed: every column's loss and gradients equal the "
            "hand-written twin's on the same weights and noise."
        )
    other = "cpu" if clock == "wall" else "wall"
    lines += ["", f"## Targets (judged on {clock} time)", ""]
    lines.append(f"| target | case | threads | bound | ratio, {clock} [IQR] | ratio, {other} | |")
    lines.append("|---|---|---:|---:|---:|---:|---|")
    lines += targets(results, clock)
    for (suite, threads), entries in sorted(_summaries(results, clock).items()):
        plural = "s" if threads > 1 else ""
        lines += ["", f"## {suite.upper()}, {threads} thread{plural} ({clock} time)", ""]
        head = " | ".join(f"{r.case.label}: ms [IQR] | ratio [IQR]" for r, _ in entries)
        head = f"| column | {head} |"
        lines += [head, "|---|" + "---:|---:|" * len(entries)]
        for name in entries[0][1]:
            cells = []
            for _, s in entries:
                v = s.get(name)
                if v is None:
                    cells += ["", ""]
                    continue
                cells.append(f"{v['median_ms']:.2f} [{v['iqr_ms']:.2f}]")
                cells.append(f"{v['ratio']:.3f} [{v['ratio_iqr']:.3f}]")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        steps = ", ".join(f"{r.case.label}: {r.timing.steps}" for r, _ in entries if r.timing)
        lines += ["", f"Steps per timed block: {steps}."]
        counts = sorted(
            {len(v) for r, _ in entries if r.timing for v in r.timing.per_round.values()}, reverse=True
        )
        if counts:
            rest = f"; the columns no target is judged on: {counts[-1]}" if len(counts) > 1 else ""
            lines.append(f"Rounds: {counts[0]}{rest}.")
        faults = [
            statistics.median(v)
            for r, _ in entries
            if r.timing
            for v in r.timing.faults_per_round.values()
            if v
        ]
        if faults:
            lines.append(
                "Page faults per step (median over a column's blocks): "
                f"{min(faults):.0f} to {max(faults):.0f}."
            )
    if extra:
        lines += ["", extra]
    return "\n".join(lines) + "\n"


def chart(results: Sequence[CaseResult], suite: str, path: Path, clock: str) -> bool:
    """Bars of the paired ratio of each column, one panel per thread setting."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = sorted((t, e) for (s, t), e in _summaries(results, clock).items() if s == suite)
    if not panels:
        return False
    fig, axes = plt.subplots(len(panels), 1, figsize=(14, 4.2 * len(panels)), squeeze=False)
    colors = plt.get_cmap("tab20").colors
    for ax, (threads, entries) in zip(axes[:, 0], panels, strict=True):
        names = list(entries[0][1])
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            xs = [k + (i - (len(names) - 1) / 2) * width for k in range(len(entries))]
            ys = [s[name]["ratio"] if name in s else float("nan") for _, s in entries]
            err = [s[name]["ratio_iqr"] / 2 if name in s else 0.0 for _, s in entries]
            ax.bar(xs, ys, width, yerr=err, label=name, capsize=2, color=colors[i % len(colors)])
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax.set_xticks(range(len(entries)), [r.case.label for r, _ in entries])
        ax.set_ylabel(f"{clock} time / hand-written\n(paired median, bars: IQR/2)")
        ax.set_title(f"{suite.upper()} training step, {threads} thread{'s' if threads > 1 else ''}")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(
    results: Sequence[CaseResult], out: Path, header: str, extra: str, raw: dict[str, Any], clock: str
) -> list[Path]:
    """Write ``results.md``, ``results.json`` and ``<suite>.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.md", out / "results.json"]
    written[0].write_text(markdown(results, header, extra, clock))
    raw = dict(raw)
    raw["cases"] = [
        {
            "suite": r.case.suite,
            "case": r.case.label,
            "threads": r.threads,
            "checks": [c.__dict__ for c in r.checks],
            "steps_per_block": r.timing.steps if r.timing else None,
            "seconds_per_step": r.timing.per_round if r.timing else None,
            "cpu_seconds_per_step": r.timing.cpu_per_round if r.timing else None,
            "page_faults_per_step": r.timing.faults_per_round if r.timing else None,
            "rounds_of": r.timing.rounds_of if r.timing else None,
            "warmup_s": r.warmup_s,
        }
        for r in results
    ]
    written[1].write_text(json.dumps(raw, indent=1))
    for suite in sorted({r.case.suite for r in results}):
        if chart(results, suite, out / f"{suite}.png", clock):
            written.append(out / f"{suite}.png")
    return written
