"""Test bits/dim on the digits: our MAF, NSF and RealNVP against zuko's and normflows', and two baselines.

The data (1797 8x8 digits, values 0..16) is split once (seeded permutation,
1437 train / 360 test), dequantised (``(x + u) / 17``: fresh noise every epoch
for training, one fixed draw for the test set) and mapped by a fixed logit
``y = logit(a + (1 - 2a) x)``, ``a = 0.05``, whose log-determinant is added back
to every model's log-density. So every model scores the same thing:

    bits/dim = -log p(v) / (64 log 2),  v = x + u  (each value owns a unit cell)

Every flow trains with the same budget (Adam, lr 1e-3, batch 128, the same
epochs) and the same layer sizes (two hidden layers of 128 units per
conditioner): MAF = 5 affine autoregressive transforms with reversals between
them, NSF = 3 autoregressive rational-quadratic splines (8 bins, bound 5),
RealNVP = 6 affine couplings with alternating masks. Baselines: a diagonal
Gaussian (closed-form fit) and scikit-learn's GaussianMixture (10 full
covariances), both on the same logit space.

Run (about 10 minutes on one core; writes a CSV, a markdown table and a PNG):

    .venv/bin/python plugins/dgmcore-flows/scripts/digits_bpd.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

ALPHA = 0.05
LEVELS = 17
D = 64
HIDDEN = 128
HERE = Path(__file__).resolve().parent


# -- data ---------------------------------------------------------------------------------
def digits_split(seed: int = 0) -> tuple[Tensor, Tensor]:
    """The digits as integers 0..16, ``(1437, 64)`` train and ``(360, 64)`` test, one fixed split."""
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().data, dtype=torch.float32)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return x[perm[:1437]], x[perm[1437:]]


def to_logit(counts: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
    """Dequantised, logit-mapped data and the log-determinant of that map (per sample)."""
    p = ALPHA + (1 - 2 * ALPHA) * (counts + noise) / LEVELS
    y = p.log() - torch.log1p(-p)
    ladj = (math.log((1 - 2 * ALPHA) / LEVELS) - p.log() - torch.log1p(-p)).sum(-1)
    return y, ladj


def from_logit(y: Tensor) -> Tensor:
    """Back to pixel intensities in [0, 1] (for pictures)."""
    return ((torch.sigmoid(y) - ALPHA) / (1 - 2 * ALPHA)).clamp(0, 1)


def bits_per_dim(log_density_y: Tensor, ladj: Tensor) -> float:
    """Bits per dimension of the discrete data from the log-density of its logit image."""
    # log p(v) = log p(y) + log|dy/dv|, v = x + u: each value's cell has volume 1
    log_px = log_density_y + ladj
    return float((-log_px.mean() / (D * math.log(2))).item())


# -- the three libraries' models --------------------------------------------------------------
def ours(arch: str) -> tuple[nn.Module, Callable[[Tensor], Tensor], Callable[[int], Tensor]]:
    from dgmcore_families import Normal
    from dgmcore_flows import (
        MAF,
        AffineCoupling,
        FlowList,
        InverseTransformedDistribution,
        Reverse,
        SplineAutoregressive,
    )

    if arch == "MAF":
        layers: list[nn.Module] = []
        for i in range(5):
            layers += ([Reverse(D)] if i else []) + [MAF(D, hidden=HIDDEN)]
    elif arch == "NSF":
        layers = []
        for i in range(3):
            layers += ([Reverse(D)] if i else []) + [
                SplineAutoregressive(D, bins=8, bound=5.0, hidden=HIDDEN)
            ]
    else:
        layers = [AffineCoupling(D, hidden=HIDDEN, invert_mask=i % 2 == 1) for i in range(6)]
    flow = FlowList(layers)  # type: ignore[arg-type]
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[D])
    p = InverseTransformedDistribution(prior, flow, var="x")
    loss = -p.log_prob().mean()
    return (
        p,
        lambda y: loss.eval({"x": y}),
        lambda n: p.sample(batch_n=n)["x"],
    )


def zuko_model(arch: str) -> tuple[nn.Module, Callable[[Tensor], Tensor], Callable[[int], Tensor]]:
    import zuko

    hidden = (HIDDEN, HIDDEN)
    if arch == "MAF":
        flow = zuko.flows.MAF(D, transforms=5, hidden_features=hidden)
    elif arch == "NSF":
        flow = zuko.flows.NSF(D, transforms=3, bins=8, hidden_features=hidden)
    else:
        flow = zuko.flows.RealNVP(D, transforms=6, hidden_features=hidden)
    return flow, lambda y: -flow().log_prob(y).mean(), lambda n: flow().sample((n,))


def normflows_model(arch: str) -> tuple[nn.Module, Callable[[Tensor], Tensor], Callable[[int], Tensor]]:
    import normflows as nf

    def reverse() -> nn.Module:
        perm = nf.flows.Permute(D, mode="shuffle")
        perm.perm.copy_(torch.arange(D - 1, -1, -1))
        perm.inv_perm.copy_(torch.arange(D - 1, -1, -1))
        return perm

    flows: list[nn.Module] = []
    if arch == "MAF":
        for i in range(5):
            flows += ([reverse()] if i else []) + [
                nf.flows.MaskedAffineAutoregressive(D, HIDDEN, num_blocks=1, use_residual_blocks=False)
            ]
    elif arch == "NSF":
        for i in range(3):
            flows += ([reverse()] if i else []) + [
                nf.flows.AutoregressiveRationalQuadraticSpline(D, 1, HIDDEN, num_bins=8, tail_bound=5.0)
            ]
    else:
        for i in range(6):
            mask = (torch.arange(D) % 2 == i % 2).float()
            s = nf.nets.MLP([D, HIDDEN, HIDDEN, D], init_zeros=True)
            t = nf.nets.MLP([D, HIDDEN, HIDDEN, D], init_zeros=True)
            flows.append(nf.flows.MaskedAffineFlow(mask, t, s))
    model = nf.NormalizingFlow(nf.distributions.DiagGaussian(D, trainable=False), flows)
    return model, lambda y: -model.log_prob(y).mean(), lambda n: model.sample(n)[0]


LIBRARIES = {"dgmcore": ours, "zuko": zuko_model, "normflows": normflows_model}

#: normflows' MaskedAffineAutoregressive scores data with its sequential direction
#: (64 network passes per batch, about 50x slower per epoch here): not trained unless asked (--all).
SLOW = {("MAF", "normflows")}


def train_flow(
    library: str, arch: str, seed: int, epochs: int, data: tuple[Tensor, Tensor]
) -> dict[str, float]:
    train, test = data
    torch.manual_seed(seed)
    model, nll, sample = LIBRARIES[library](arch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(train), generator=g)
        for i in range(0, len(train), 128):
            counts = train[perm[i : i + 128]]
            y, _ = to_logit(counts, torch.rand(counts.shape, generator=g))
            opt.zero_grad()
            nll(y).backward()
            opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    y_test, ladj = to_logit(test, torch.rand(test.shape, generator=torch.Generator().manual_seed(1234)))
    with torch.no_grad():
        bpd = bits_per_dim(-nll_per_sample(library, model, y_test), ladj)
    return {"bpd": bpd, "seconds": seconds, "model": model, "sample": sample}  # type: ignore[dict-item]


def nll_per_sample(library: str, model: nn.Module, y: Tensor) -> Tensor:
    if library == "dgmcore":
        return -model.get_log_prob({"x": y})  # type: ignore[operator]
    if library == "zuko":
        return -model().log_prob(y)  # type: ignore[operator]
    return -model.log_prob(y)  # type: ignore[operator]


def baselines(data: tuple[Tensor, Tensor], seed: int) -> dict[str, float]:
    from sklearn.mixture import GaussianMixture

    train, test = data
    g = torch.Generator().manual_seed(seed)
    y_train, _ = to_logit(train, torch.rand(train.shape, generator=g))
    y_test, ladj = to_logit(test, torch.rand(test.shape, generator=torch.Generator().manual_seed(1234)))
    diag = torch.distributions.Normal(y_train.mean(0), y_train.std(0))
    gmm = GaussianMixture(10, covariance_type="full", random_state=seed).fit(y_train.double().numpy())
    gmm_logp = torch.tensor(gmm.score_samples(y_test.double().numpy()), dtype=torch.float32)
    return {
        "diagonal Gaussian": bits_per_dim(diag.log_prob(y_test).sum(-1), ladj),
        "GaussianMixture (10, full)": bits_per_dim(gmm_logp, ladj),
    }


def save_grid(samples: Tensor, real: Tensor, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = torch.cat([real / 16, from_logit(samples)])
    fig, axes = plt.subplots(6, 8, figsize=(8, 6.4))
    for ax, img in zip(axes.flat, images, strict=False):
        ax.imshow(img.reshape(8, 8).numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.axis("off")
    fig.suptitle("digits: top row real test digits, below samples of dgmcore's NSF")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--archs", nargs="+", default=["MAF", "NSF", "RealNVP"])
    parser.add_argument("--libraries", nargs="+", default=list(LIBRARIES))
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--all", action="store_true", help="also train normflows' MAF (slow)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    data = digits_split(0)
    rows: list[dict[str, object]] = []
    for seed in args.seeds:
        for name, bpd in baselines(data, seed).items():
            rows.append({"model": name, "library": "-", "seed": seed, "bpd": bpd, "seconds": 0.0})
        for arch in args.archs:
            for library in args.libraries:
                if (arch, library) in SLOW and not args.all:
                    continue
                result = train_flow(library, arch, seed, args.epochs, data)
                rows.append(
                    {
                        "model": arch,
                        "library": library,
                        "seed": seed,
                        "bpd": result["bpd"],
                        "seconds": result["seconds"],
                    }
                )
                print(
                    f"{arch:8s} {library:10s} seed {seed}: {result['bpd']:.4f} bits/dim "
                    f"({result['seconds']:.1f} s)",
                    flush=True,
                )
                if library == "dgmcore" and arch == "NSF" and seed == args.seeds[0]:
                    with torch.no_grad():
                        torch.manual_seed(0)
                        save_grid(result["sample"](40), data[1][:8], args.out / "digits_samples.png")
    with open(args.out / "digits_bpd.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(table(rows))


def table(rows: list[dict[str, object]]) -> str:
    groups: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        groups.setdefault((str(r["model"]), str(r["library"])), []).append(float(r["bpd"]))  # type: ignore[arg-type]
    lines = ["| model | library | test bits/dim (mean ± sd over seeds) | seeds |", "|---|---|---|---|"]
    for (model, library), values in groups.items():
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        lines.append(f"| {model} | {library} | {np.mean(values):.3f} ± {sd:.3f} | {len(values)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
