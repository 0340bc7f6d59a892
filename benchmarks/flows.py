"""The ``flows`` suite: a training step of MAF, NSF and multiscale RealNVP against zuko, normflows, by hand.

    python -m benchmarks.flows                 # all three cases, 1 thread
    python -m benchmarks.flows --rounds 20 --case MAF

Cases (dgmcore-flows against its peers on the same work):

* ``MAF``: 5 affine autoregressive transforms (MADE, two hidden layers of 128)
  with reversals between them, 64 features (the digits), batch 256;
* ``NSF``: 3 autoregressive rational-quadratic splines (8 bins, bound 5, same
  MADE), 64 features, batch 256;
* ``RealNVP 8x8``: the multiscale RealNVP on ``1 x 8 x 8`` images (2 scales,
  2 couplings per mask type and scale, 32 hidden channels), batch 256.

Columns: ``dgmcore`` (an ``InverseTransformedDistribution`` trained on
``-p.log_prob().mean()``, the way a user writes it), ``hand-written`` (the same
weights, the same maths in plain tensor operations: MAF and RealNVP), and the
same architecture in ``zuko`` and ``normflows`` where the library has it (zuko
has no image flows; normflows' MAF scores data with its sequential direction,
64 network passes a step, so it is left out). Each column owns its copy of the
weights and its own Adam; the dgmcore column is first checked against the
hand-written twin (loss and gradients on the same batch). Timing is the
interleaved method of ``benchmarks/harness.py``; results go to
``benchmarks/results/flows.md``.
"""

from __future__ import annotations

import argparse
import copy
import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from benchmarks.check import check_columns
from benchmarks.harness import Column, Inputs, interleave

D, HIDDEN, BATCH = 64, 128, 256
LOG_2PI = math.log(2 * math.pi)


def _standard_normal_nll(z: Tensor, logdet: Tensor) -> Tensor:
    return (0.5 * (z**2).flatten(1).sum(-1) + 0.5 * LOG_2PI * z[0].numel() - logdet).mean()


# -- dgmcore ---------------------------------------------------------------------------------
def dgmcore_flow(case: str) -> nn.Module:
    from dgmcore_flows import MAF, FlowList, RealNVP, Reverse, SplineAutoregressive

    if case == "RealNVP 8x8":
        return RealNVP(1, levels=2, steps=2, hidden=32)
    layers: list[nn.Module] = []
    for i in range(5 if case == "MAF" else 3):
        block = (
            MAF(D, hidden=HIDDEN)
            if case == "MAF"
            else SplineAutoregressive(D, bins=8, bound=5.0, hidden=HIDDEN)
        )
        layers += ([Reverse(D)] if i else []) + [block]
    return FlowList(layers)  # type: ignore[arg-type]


def dgmcore_column(flow: nn.Module, case: str) -> Column:
    from dgmcore_flows import InverseTransformedDistribution

    from dgmcore.distributions import Normal

    shape = [1, 8, 8] if case == "RealNVP 8x8" else [D]
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=shape)
    p = InverseTransformedDistribution(prior, flow, var="x")
    loss = -p.log_prob().mean()
    opt = torch.optim.Adam(flow.parameters(), lr=1e-3)

    def step(inputs: Inputs) -> Tensor:
        opt.zero_grad()
        value = loss.eval(inputs)
        value.backward()
        opt.step()
        return value

    return Column("dgmcore", "flows", step, lambda inputs: loss.eval(inputs), [flow])


# -- hand-written twins (the same weights, plain tensor operations) --------------------------------
def _made(made: nn.Module, x: Tensor) -> Tensor:
    h = x
    layers = [m for m in made.net if isinstance(m, nn.Linear)]
    for layer in layers[:-1]:
        h = F.relu(F.linear(h, layer.weight * layer.mask, layer.bias))
    last = layers[-1]
    return F.linear(h, last.weight * last.mask, last.bias).view(*x.shape, 2)


def _hand_maf(flow: nn.Module, x: Tensor) -> Tensor:
    logdet = x.new_zeros(x.shape[0])
    for module in flow.flows:
        if not hasattr(module, "made"):
            x = x.flip(-1)  # Reverse
            continue
        p = _made(module.made, x)
        log_scale = 3.0 * torch.tanh(p[..., 1] / 3.0)
        x = x * log_scale.exp() + p[..., 0]
        logdet = logdet + log_scale.sum(-1)
    return _standard_normal_nll(x, logdet)


def _hand_realnvp(flows: nn.Module, x: Tensor, logdet: Tensor) -> tuple[Tensor, Tensor]:
    for m in flows:
        kind = type(m).__name__
        if kind == "AffineCoupling":
            x, logdet = _hand_coupling(m, x, logdet)
        elif kind == "Squeeze":
            b, c, h, w = x.shape
            x = (
                x.reshape(b, c, h // 2, 2, w // 2, 2)
                .permute(0, 1, 3, 5, 2, 4)
                .reshape(b, 4 * c, h // 2, w // 2)
            )
        elif kind == "Unsqueeze":
            b, c, h, w = x.shape
            x = x.reshape(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c // 4, 2 * h, 2 * w)
        else:  # FactorOut: half the channels leave, the rest go through the inner flows
            half = x.shape[1] // 2
            rest, logdet = _hand_realnvp(m.flow.flows, x[:, half:], logdet)
            x = torch.cat([x[:, :half], rest], 1)
    return x, logdet


def _hand_coupling(m: nn.Module, x: Tensor, logdet: Tensor) -> tuple[Tensor, Tensor]:
    if m.spatial:  # checkerboard over the pixels
        h, w = x.shape[-2:]
        keep = ((torch.arange(h)[:, None] + torch.arange(w)) % 2 == 0) ^ m.invert_mask
        p = m.net(x * keep).unflatten(1, (-1, 2))
        log_scale = 3.0 * torch.tanh(p[:, :, 1] / 3.0)
        y = x * log_scale.exp() + p[:, :, 0]
        return torch.where(keep, x, y), logdet + (log_scale * ~keep).flatten(1).sum(-1)
    kept, moved = x[:, m.kept], x[:, m.moved]
    p = m.net(kept).unflatten(1, (-1, 2))
    log_scale = 3.0 * torch.tanh(p[:, :, 1] / 3.0)
    y = torch.cat([kept, moved * log_scale.exp() + p[:, :, 0]], 1)[:, m.order]
    return y, logdet + log_scale.flatten(1).sum(-1)


def hand_column(flow: nn.Module, case: str) -> Column:
    def nll(inputs: Inputs) -> Tensor:
        x = inputs["x"]
        if case == "MAF":
            return _hand_maf(flow, x)
        z, logdet = _hand_realnvp(flow.flows, x, x.new_zeros(x.shape[0]))
        return _standard_normal_nll(z, logdet)

    return _plain_column("hand-written", nll, flow)


def _plain_column(name: str, nll: Callable[[Inputs], Tensor], module: nn.Module) -> Column:
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)

    def step(inputs: Inputs) -> Tensor:
        opt.zero_grad()
        value = nll(inputs)
        value.backward()
        opt.step()
        return value

    return Column(name, name, step, nll, [module])


# -- the peers --------------------------------------------------------------------------------
def zuko_column(case: str) -> Column | None:
    try:
        import zuko
    except ImportError:
        return None
    if case == "MAF":
        flow = zuko.flows.MAF(D, transforms=5, hidden_features=(HIDDEN, HIDDEN))
    elif case == "NSF":
        flow = zuko.flows.NSF(D, transforms=3, bins=8, hidden_features=(HIDDEN, HIDDEN))
    else:
        return None
    return _plain_column("zuko", lambda inputs: -flow().log_prob(inputs["x"]).mean(), flow)


def normflows_column(case: str) -> Column | None:
    try:
        import normflows as nf
    except ImportError:
        return None
    if case != "NSF":
        return None
    flows: list[nn.Module] = []
    for i in range(3):
        if i:
            perm = nf.flows.Permute(D, mode="shuffle")
            perm.perm.copy_(torch.arange(D - 1, -1, -1))
            perm.inv_perm.copy_(torch.arange(D - 1, -1, -1))
            flows.append(perm)
        flows.append(nf.flows.AutoregressiveRationalQuadraticSpline(D, 1, HIDDEN, num_bins=8, tail_bound=5.0))
    model = nf.NormalizingFlow(nf.distributions.DiagGaussian(D, trainable=False), flows)
    return _plain_column("normflows", lambda inputs: -model.log_prob(inputs["x"]).mean(), model)


CASES = ("MAF", "NSF", "RealNVP 8x8")


def columns(case: str) -> list[Column]:
    torch.manual_seed(0)
    flow = dgmcore_flow(case)
    with torch.no_grad():  # away from the identity the zero-initialised last layers start at
        for p in flow.parameters():
            p.add_(0.01 * torch.randn_like(p))
    cols = [dgmcore_column(flow, case)]
    if case != "NSF":
        cols.append(hand_column(copy.deepcopy(flow), case))
    cols += [c for c in (zuko_column(case), normflows_column(case)) if c is not None]
    return cols


def make_inputs(case: str) -> Inputs:
    shape = (BATCH, 1, 8, 8) if case == "RealNVP 8x8" else (BATCH, D)
    return {"x": torch.randn(shape)}


def run(case: str, rounds: int, warmup: int = 3) -> tuple[list[str], dict[str, dict[str, float]]]:
    cols = columns(case)
    lines = []
    if any(c.name == "hand-written" for c in cols):
        for name in ("dgmcore", "hand-written"):
            next(c for c in cols if c.name == name).group = "flows"
        checked = check_columns(
            [c for c in cols if c.group == "flows"], make_inputs(case), {"flows": "hand-written"}
        )
        lines += [c.line() for c in checked]
        if not all(c.ok for c in checked):
            return lines, {}
    for c in cols:  # every column is its own group: ratios are computed below, paired by round
        c.group = c.name
    timing = interleave(cols, lambda: make_inputs(case), rounds=rounds, warmup=warmup, block_s=0.05)
    stats = timing.summary({c.name: c.name for c in cols})
    base = timing.per_round["dgmcore"]
    for c in cols:
        ratios = sorted(b / t for b, t in zip(base, timing.per_round[c.name], strict=True))
        stats[c.name]["dgmcore_over"] = ratios[len(ratios) // 2]
    return lines, stats


def main() -> None:
    parser = argparse.ArgumentParser(description="the flows benchmark suite")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--case", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "flows.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = [
        f"# flows suite: {args.rounds} interleaved rounds, {args.threads} thread(s), "
        f"torch {torch.__version__}",
        "",
        "| case | column | median ms/step | IQR ms | dgmcore / column (median paired ratio) |",
        "|---|---|---|---|---|",
    ]
    for case in args.case:
        lines, stats = run(case, args.rounds)
        for line in lines:
            print(f"  {case}: {line}")
        for name, s in stats.items():
            out.append(
                f"| {case} | {name} | {s['median_ms']:.2f} | {s['iqr_ms']:.2f} | {s['dgmcore_over']:.3f} |"
            )
            print(out[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
