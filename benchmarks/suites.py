"""The benchmark suites: which cases, which columns, and how each case is run.

A suite is a list of cases (model sizes); for each case :func:`build` makes
every column from one set of reference weights. :func:`run_case` checks the
columns against the hand-written twin, then times them interleaved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from benchmarks import dmm, dmm_pixyz, dmm_pyro, vae, vae_pixyz, vae_pyro
from benchmarks.check import CheckResult, check_columns
from benchmarks.harness import Column, Timing, interleave

__all__ = ["Case", "CaseResult", "SUITES", "TARGET_COLUMNS", "cases", "run_case"]

REFERENCES = {"analytic": "hand-written", "mc": "hand-written MC"}
#: the columns the targets are judged on (with the references): timed in every round
TARGET_COLUMNS = frozenset({*REFERENCES.values(), "dgmcore analytic", "dgmcore MC", "dgmcore compiled"})


@dataclass(frozen=True)
class Case:
    """One table row: a suite and the model's sizes."""

    suite: str
    config: Any

    @property
    def label(self) -> str:
        return self.config.label


@dataclass
class CaseResult:
    case: Case
    threads: int
    checks: list[CheckResult]
    timing: Timing | None
    warmup_s: dict[str, float] = field(default_factory=dict)


def _vae_columns(cfg: vae.VAEConfig, third_party: bool, compile: bool) -> list[Column]:
    nets = vae.make_networks(cfg)
    # loss.compile() is judged on the logits decoder only
    compile = compile and cfg.decoder == "logits"
    cols = vae.hand_columns(cfg, nets) + vae.dgmcore_columns(cfg, nets, compile=compile)
    if third_party and vae_pixyz.available():
        cols += vae_pixyz.pixyz_columns(cfg, nets, ("analytic", "mc"))
    if third_party and vae_pyro.available():
        cols += vae_pyro.pyro_columns(cfg, nets, ("analytic", "mc"))
    return cols


def _dmm_columns(cfg: dmm.DMMConfig, third_party: bool, compile: bool) -> list[Column]:
    nets = dmm.make_networks(cfg)
    cols = dmm.hand_columns(cfg, nets) + dmm.dgmcore_columns(cfg, nets)
    if third_party and dmm_pixyz.available():
        cols += dmm_pixyz.pixyz_columns(cfg, nets, ("analytic", "mc"))
    if third_party and dmm_pyro.available():
        cols += dmm_pyro.pyro_columns(cfg, nets, ("analytic", "mc"))
    return cols


#: the decoder users write (sigmoid probs, exp scale) at the sizes of the targets
VAE_PROBS = [vae.VAEConfig(h, z, decoder="probs") for h, z in ((400, 10), (400, 30), (2000, 10))]
DMM_PROBS = [dmm.DMMConfig(64, z, decoder="probs") for z in (20, 100)]

#: suite -> (cases at full size, cases for --quick, columns builder, inputs maker)
SUITES: dict[str, tuple[list[Any], list[Any], Callable[..., list[Column]], Callable[[Any], Any]]] = {
    "vae": (
        [vae.VAEConfig(h, z) for h in (400, 2000) for z in (10, 30)] + VAE_PROBS,
        [vae.VAEConfig(h, z) for h in (400, 2000) for z in (10, 30)] + VAE_PROBS,
        _vae_columns,
        vae.make_inputs,
    ),
    "dmm": (
        [dmm.DMMConfig(T, z) for T in (64, 129) for z in (20, 100)] + DMM_PROBS,
        [dmm.DMMConfig(T, z) for T in (64, 129) for z in (20, 100)] + DMM_PROBS,
        _dmm_columns,
        dmm.make_inputs,
    ),
    "tiny": ([vae.VAEConfig(16, 10)], [vae.VAEConfig(16, 10)], _vae_columns, vae.make_inputs),
}


def cases(suite: str) -> list[Case]:
    return [Case(suite, cfg) for cfg in SUITES[suite][0]]


def run_case(
    case: Case,
    threads: int,
    rounds: int,
    warmup: int,
    block_s: float,
    third_party: bool = True,
    compile: bool = True,
    check_only: bool = False,
    log: Callable[[str], None] = print,
    others_every: int = 1,
) -> CaseResult:
    """Check the columns of ``case``, then (unless ``check_only``) time them.

    ``others_every``: the columns outside :data:`TARGET_COLUMNS` run in one
    round out of that many (see :class:`~benchmarks.harness.Column`).
    """
    _, _, build, make_inputs = SUITES[case.suite]
    torch.set_num_threads(threads)
    cfg = case.config
    columns = build(cfg, third_party, compile)
    torch.manual_seed(0)
    checks = check_columns(columns, make_inputs(cfg), REFERENCES)
    for c in checks:
        log("  " + c.line())
    if check_only or not all(c.ok for c in checks):
        return CaseResult(case, threads, checks, None)
    for column in columns:
        if column.name not in TARGET_COLUMNS:
            column.every = others_every
    timing = interleave(columns, lambda: make_inputs(cfg), rounds=rounds, warmup=warmup, block_s=block_s)
    return CaseResult(case, threads, checks, timing, {c.name: c.warmup_s for c in columns})
