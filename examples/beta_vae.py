"""A β-VAE (Higgins et al., "β-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", ICLR 2017) whose KL weight is a ``Parameter`` annealed during training.

The objective is the VAE's with the KL term weighted by β, supplied at each step
through the input dict (``Parameter("beta")``):

    loss = mean(β KL[q(z|x) || p(z)] - E_{q(z|x)}[log p(x|z)]),

with β raised linearly from 0 to ``--beta`` over the first half of training (the
warm-up of Bowman et al. 2016 and Sønderby et al. 2016, then the β-VAE's weight).
The same loss with β = 1 is the negative ELBO reported on the test digits. For
comparison the script trains a second model at β = 1 throughout: a larger β buys a
smaller KL (a more compressed code) with a worse reconstruction.
Outputs: ``traversal.png`` (each latent dimension swept from -2.5 to 2.5 with the
others at 0), ``metrics.json``, ``history.csv``.

Usage:
    python examples/beta_vae.py [--quick] [--epochs 40] [--beta 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from common import X_DIM, Digits, batches, mlp, parse, parser, save_grid, write_metrics
from torch.nn import functional as F

from dgmcore.distributions import Bernoulli, Normal
from dgmcore.losses import KullbackLeibler, Parameter
from dgmcore.models import Model

Z_DIM, HIDDEN = 6, 256


class Encoder(Normal):  # q(z|x)
    def __init__(self) -> None:
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.net = mlp(X_DIM, HIDDEN, 2 * Z_DIM)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(x).chunk(2, -1)
        return {"loc": loc, "scale": F.softplus(scale) + 1e-3}


class Decoder(Bernoulli):  # p(x|z)
    def __init__(self) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.net = mlp(Z_DIM, HIDDEN, X_DIM)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(z)}


def beta_at(epoch: int, epochs: int, final: float) -> float:
    """Linear from 0 (first epoch) to ``final`` at half of training, then constant."""
    return final * min(1.0, epoch / max(1, epochs // 2))


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p_ = parser(__doc__, epochs=40, quick_epochs=6, out="runs/beta_vae")
    p_.add_argument("--beta", type=float, default=2.0, help="the final KL weight")
    args = parse(p_, argv)
    data = Digits.load(args.seed)
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z_DIM], name="p_{prior}")
    runs: dict[str, tuple[Encoder, Decoder, Model, float]] = {}
    for name, final in (("beta", args.beta), ("beta1", 1.0)):
        q, p = Encoder(), Decoder()
        kl, rec = KullbackLeibler(q, prior).mean(), -p.log_prob().expectation(q).mean()
        loss = Parameter("beta") * kl + rec
        runs[name] = (q, p, Model(loss, distributions=[p, q], optimizer_params={"lr": args.lr}), final)
    print(loss)

    def evaluate(q: Encoder, p: Decoder) -> tuple[float, float]:
        with torch.no_grad():
            x = {"x": data.test_x}
            kl = KullbackLeibler(q, prior).mean().eval(x).item()
            return kl, kl - p.log_prob().expectation(q).mean().eval(x).item()

    initial = evaluate(*runs["beta"][:2])[1]
    history = []
    for epoch in range(1, args.epochs + 1):
        row: dict[str, float] = {"epoch": epoch}
        for name, (q, p, model, final) in runs.items():
            beta = beta_at(epoch, args.epochs, final)
            for idx in batches(len(data.train_x), args.batch_size):
                model.train({"x": data.train_x[idx], "beta": beta})
            row[f"{name}_weight"] = beta
            row[f"{name}_test_kl"], row[f"{name}_test_loss"] = evaluate(q, p)
        history.append(row)
        print(
            f"epoch {epoch:3d}  beta {row['beta_weight']:.2f}: test -ELBO {row['beta_test_loss']:7.3f} "
            f"KL {row['beta_test_kl']:6.3f}   beta 1: test -ELBO {row['beta1_test_loss']:7.3f} "
            f"KL {row['beta1_test_kl']:6.3f}"
        )

    q, p = runs["beta"][:2]
    steps = torch.linspace(-2.5, 2.5, 9)
    with torch.no_grad():
        rows = []
        for d in range(Z_DIM):
            z = torch.zeros(len(steps), Z_DIM)
            z[:, d] = steps
            rows.append(p.sample_mean({"z": z}))
    save_grid(
        rows,
        args.out / "traversal.png",
        f"β-VAE (β={args.beta:g}): one latent dimension per row",
        [f"z{d}" for d in range(Z_DIM)],
    )
    last = history[-1]
    metrics = {
        "beta": args.beta,
        "initial_test_loss": initial,
        "test_loss": last["beta_test_loss"],
        "test_kl": last["beta_test_kl"],
        "beta1_test_loss": last["beta1_test_loss"],
        "beta1_test_kl": last["beta1_test_kl"],
        "epochs": args.epochs,
    }
    write_metrics(args.out, metrics, history)
    print(f"test KL: beta {args.beta:g} {metrics['test_kl']:.3f} vs beta 1 {metrics['beta1_test_kl']:.3f}")
    return metrics


if __name__ == "__main__":
    main()
