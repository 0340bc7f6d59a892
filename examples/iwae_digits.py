"""The importance-weighted autoencoder (Burda, Grosse and Salakhutdinov, "Importance Weighted
Autoencoders", ICLR 2016) against the plain VAE on the scikit-learn digits.

The VAE maximises the ELBO; the IWAE maximises the tighter bound with k samples,

    L_k(x) = E_{z_1..z_k ~ q(z|x)}[log (1/k) sum_i p(x, z_i) / q(z_i|x)],

written ``IWELBO(p * prior, q, k)`` (L_1 is the ELBO). Every model is scored by the
same importance-sampled estimate of the test log-likelihood, ``log_marginal`` with
``--eval-k`` samples. Burda et al. report that training with larger k gives a
better log-likelihood (and a looser ELBO). Outputs: ``bound.png`` (each model's test
bound per epoch),
``samples.png`` (one row per model), ``metrics.json``, ``history.csv``.

Usage:
    python examples/iwae_digits.py [--quick] [--epochs 40] [--eval-k 1000]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from common import X_DIM, Digits, merge, mlp, parse, parser, save_curves, save_grid, train, write_metrics
from torch.nn import functional as F

from dgmcore.distributions import Bernoulli, Normal
from dgmcore.losses import ELBO, IWELBO, log_marginal
from dgmcore.models import Model

Z_DIM, HIDDEN = 8, 200


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


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p_ = parser(__doc__, epochs=40, quick_epochs=5, out="runs/iwae_digits")
    p_.add_argument(
        "--eval-k", type=int, default=None, help="importance samples of log p(x) (1000; 200 with --quick)"
    )
    p_.add_argument("--k", type=int, nargs="+", default=[5, 50], help="the IWAE sample sizes")
    args = parse(p_, argv)
    args.eval_k = args.eval_k or (200 if args.quick else 1000)
    data = Digits.load(args.seed)
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z_DIM], name="p_{prior}")
    runs = {}
    for k in [1, *args.k]:
        torch.manual_seed(args.seed)  # the same initial networks for every model
        q, p = Encoder(), Decoder()
        bound = ELBO(p * prior, q) if k == 1 else IWELBO(p * prior, q, k=k)
        loss = -bound.mean()
        print(loss)
        runs["vae" if k == 1 else f"iwae{k}"] = (
            q,
            p,
            Model(loss, distributions=[p, q], optimizer_params={"lr": args.lr}),
        )

    def loglik(q: Encoder, p: Decoder, k: int) -> float:
        return log_marginal(p * prior, q, {"x": data.test_x}, k=k).mean().item()

    def elbo(q: Encoder, p: Decoder) -> float:
        with torch.no_grad():
            return ELBO(p * prior, q).eval({"x": data.test_x}).mean().item()

    initial = {"loglik": loglik(*runs["vae"][:2], k=args.eval_k), "elbo": elbo(*runs["vae"][:2])}
    x, test = {"x": data.train_x}, {"x": data.test_x}
    history = merge({name: train(model, x, test, args, name) for name, (_, _, model) in runs.items()})
    curves = {name: [-row[f"{name}_test_loss"] for row in history] for name in runs}

    metrics: dict[str, float] = {
        "initial_test_loglik": initial["loglik"],
        "initial_test_elbo": initial["elbo"],
        "eval_k": args.eval_k,
        "epochs": args.epochs,
    }
    with torch.no_grad():
        for name, (q, p, _) in runs.items():
            metrics[f"{name}_test_loglik"] = loglik(q, p, args.eval_k)
            metrics[f"{name}_test_elbo"] = elbo(q, p)
        samples = [p.sample_mean(prior.sample(batch_n=10)) for q, p, _ in runs.values()]
    save_curves(curves, args.out / "bound.png", "test bound (ELBO, IWELBO_k), nats per digit")
    save_grid(samples, args.out / "samples.png", "samples: " + ", ".join(runs), list(runs))
    write_metrics(args.out, metrics, history)
    print(
        f"test log p(x) (k={args.eval_k}): "
        + ", ".join(f"{n} {metrics[f'{n}_test_loglik']:.3f}" for n in runs)
    )
    return metrics


if __name__ == "__main__":
    main()
