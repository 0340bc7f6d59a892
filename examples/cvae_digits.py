"""A VAE and a conditional VAE (given the digit label) on the scikit-learn digits.

VAE (Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014), maximising

    E_{q(z|x)}[log p(x|z)] - KL[q(z|x) || p(z)]

and the conditional VAE (Sohn, Lee and Yan, "Learning Structured Output
Representation using Deep Conditional Generative Models", NeurIPS 2015), where the
label y (one-hot) conditions both networks:

    E_{q(z|x,y)}[log p(x|z,y)] - KL[q(z|x,y) || p(z)]

The latent space is 2-D so that it can be drawn. Outputs in ``--out``:
``reconstructions.png``, ``samples_per_class.png`` (one row per label, drawn from
the conditional VAE), ``latent.png`` (test digits' posterior means, coloured by
label), ``metrics.json`` and ``history.csv``.

Usage:
    python examples/cvae_digits.py [--quick] [--epochs 60] [--out runs/cvae_digits]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from common import (
    N_CLASSES,
    X_DIM,
    Digits,
    merge,
    mlp,
    one_hot,
    parse,
    parser,
    save_grid,
    save_scatter,
    train,
    write_metrics,
)
from torch.nn import functional as F

from dgmcore.distributions import Bernoulli, Normal
from dgmcore.losses import KullbackLeibler
from dgmcore.models import Model

Z_DIM, HIDDEN = 2, 256


class Encoder(Normal):
    """q(z|x) or, with ``conditional``, q(z|x,y)."""

    def __init__(self, conditional: bool) -> None:
        super().__init__(var=["z"], cond_var=["x", "y"] if conditional else ["x"], name="q")
        self.net = mlp(X_DIM + N_CLASSES * conditional, HIDDEN, 2 * Z_DIM)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        loc, scale = self.net(x if y is None else torch.cat([x, y], -1)).chunk(2, -1)
        return {"loc": loc, "scale": F.softplus(scale) + 1e-3}


class Decoder(Bernoulli):
    """p(x|z) or, with ``conditional``, p(x|z,y)."""

    def __init__(self, conditional: bool) -> None:
        super().__init__(var=["x"], cond_var=["z", "y"] if conditional else ["z"], name="p")
        self.net = mlp(Z_DIM + N_CLASSES * conditional, HIDDEN, X_DIM)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return {"logits": self.net(z if y is None else torch.cat([z, y], -1))}


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = parse(parser(__doc__, epochs=60, quick_epochs=6, out="runs/cvae_digits"), argv)
    data = Digits.load(args.seed)
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z_DIM], name="p_{prior}")
    models, nets = {}, {}
    for kind, conditional in (("vae", False), ("cvae", True)):
        q, p = Encoder(conditional), Decoder(conditional)
        loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()
        print(f"{kind}: {loss}")
        models[kind] = Model(loss, distributions=[p, q], optimizer_params={"lr": args.lr})
        nets[kind] = (q, p)

    train_xy = {"x": data.train_x, "y": one_hot(data.train_y)}
    test = {"x": data.test_x, "y": one_hot(data.test_y)}
    initial = {k: m.test(test).item() for k, m in models.items()}
    history = merge({kind: train(model, train_xy, test, args, kind) for kind, model in models.items()})

    (q, p), (_, cp) = nets["vae"], nets["cvae"]
    with torch.no_grad():
        shown = data.test_x[:10]
        recon = p.sample_mean({"z": q.sample_mean({"x": shown})})
        labels = one_hot(torch.arange(N_CLASSES).repeat_interleave(8))
        z = prior.sample(batch_n=len(labels))["z"]
        per_class = cp.sample_mean({"z": z, "y": labels}).reshape(N_CLASSES, 8, X_DIM)
        latent = q.sample_mean({"x": data.test_x})
    save_grid([shown, recon], args.out / "reconstructions.png", "test digits (top) and VAE reconstructions")
    save_grid(
        list(per_class),
        args.out / "samples_per_class.png",
        "CVAE samples, one row per label",
        [str(c) for c in range(N_CLASSES)],
    )
    save_scatter(latent, data.test_y, args.out / "latent.png", "VAE posterior means of the test digits")
    metrics = {
        "vae_initial_test_loss": initial["vae"],
        "cvae_initial_test_loss": initial["cvae"],
        "vae_test_loss": history[-1]["vae_test_loss"],
        "cvae_test_loss": history[-1]["cvae_test_loss"],
        "epochs": args.epochs,
    }
    write_metrics(args.out, metrics, history)
    print(
        f"test -ELBO (nats per digit): VAE {metrics['vae_test_loss']:.3f},"
        f" CVAE {metrics['cvae_test_loss']:.3f}"
    )
    return metrics


if __name__ == "__main__":
    main()
