"""Hierarchical variational inference: a VAE with two stochastic layers (Burda, Grosse and
Salakhutdinov 2016, section 5; Rezende, Mohamed and Wierstra 2014) against one layer,
on the scikit-learn digits.

Generative model p(x|z1) p(z1|z2) p(z2), inference model q(z1|x) q(z2|z1); both
joints are products of distributions, and the objective is the ELBO of the joints,

    ELBO = E_{q(z1|x) q(z2|z1)}[log p(x|z1) + log p(z1|z2) + log p(z2) - log q(z1|x) - log q(z2|z1)],
    loss = -mean ELBO,

against the one-layer VAE p(x|z1) p(z1) with q(z1|x). Both are scored by the test
ELBO and an importance-sampled log-likelihood (``log_marginal`` with the joint
proposal q(z1, z2|x)). Outputs: ``samples.png`` (ancestral samples of each
model, shown as the mean of p(x|z1)),
``metrics.json``, ``history.csv``.

Usage:
    python examples/hvae_digits.py [--quick] [--epochs 40]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from common import X_DIM, Digits, merge, mlp, parse, parser, save_grid, train, write_metrics
from torch.nn import functional as F

from dgmcore.distributions import Bernoulli, Distribution, Normal
from dgmcore.losses import ELBO, log_marginal
from dgmcore.models import Model

Z1, Z2, HIDDEN = 16, 4, 200


class Gaussian(Normal):
    """A Gaussian layer ``var | cond`` from an MLP: q(z1|x), q(z2|z1) or p(z1|z2)."""

    def __init__(self, var: str, cond: str, sizes: tuple[int, int], name: str) -> None:
        super().__init__(var=[var], cond_var=[cond], name=name)
        self.net = mlp(sizes[0], HIDDEN, 2 * sizes[1])

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(inputs[self.cond_var[0]]).chunk(2, -1)
        return {"loc": loc, "scale": F.softplus(scale) + 1e-3}


class Decoder(Bernoulli):  # p(x|z1)
    def __init__(self) -> None:
        super().__init__(var=["x"], cond_var=["z1"], name="p")
        self.net = mlp(Z1, HIDDEN, X_DIM)

    def forward(self, z1: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(z1)}


def build(levels: int, lr: float) -> tuple[Distribution, Distribution, Model, Decoder]:
    """The generative joint, the inference joint, the model and the decoder of a 1- or 2-layer VAE."""
    decoder = Decoder()
    q1 = Gaussian("z1", "x", (X_DIM, Z1), "q")
    if levels == 1:
        p = decoder * Normal(loc=0.0, scale=1.0, var=["z1"], features_shape=[Z1], name="p")
        q: Distribution = q1
    else:
        prior = Normal(loc=0.0, scale=1.0, var=["z2"], features_shape=[Z2], name="p")
        p = decoder * Gaussian("z1", "z2", (Z2, Z1), "p") * prior
        q = q1 * Gaussian("z2", "z1", (Z1, Z2), "q")
    loss = -ELBO(p, q).mean()
    print(f"{levels} layer(s): {p.prob_factorized_text}, {q.prob_factorized_text}\n  {loss}")
    return p, q, Model(loss, distributions=[p, q], optimizer_params={"lr": lr}), decoder


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p_ = parser(__doc__, epochs=40, quick_epochs=5, out="runs/hvae_digits")
    p_.add_argument(
        "--eval-k", type=int, default=None, help="importance samples of log p(x) (500; 100 with --quick)"
    )
    args = parse(p_, argv)
    eval_k = args.eval_k or (100 if args.quick else 500)
    data = Digits.load(args.seed)
    runs = {name: build(levels, args.lr) for name, levels in (("one_layer", 1), ("two_layers", 2))}
    test = {"x": data.test_x}
    initial = {name: model.test(test).item() for name, (_, _, model, _) in runs.items()}
    train_x = {"x": data.train_x}
    history = merge(
        {name: train(model, train_x, test, args, name) for name, (_, _, model, _) in runs.items()}
    )

    metrics: dict[str, float] = {"epochs": args.epochs, "eval_k": eval_k}
    samples = []
    for name, (p, q, _, decoder) in runs.items():
        metrics[f"{name}_initial_test_loss"] = initial[name]
        metrics[f"{name}_test_loss"] = history[-1][f"{name}_test_loss"]
        metrics[f"{name}_test_loglik"] = log_marginal(p, q, test, k=eval_k).mean().item()
        with torch.no_grad():
            samples.append(decoder.sample_mean(p.sample(batch_n=12)))  # the mean of p(x|z1)
    save_grid(
        samples,
        args.out / "samples.png",
        "ancestral samples: one layer (top), two layers",
        ["1 layer", "2 layers"],
    )
    write_metrics(args.out, metrics, history)
    print(
        "test log p(x): one layer {one_layer_test_loglik:.3f}, two layers "
        "{two_layers_test_loglik:.3f}".format(**metrics)
    )
    return metrics


if __name__ == "__main__":
    main()
