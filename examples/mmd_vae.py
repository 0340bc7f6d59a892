"""The MMD-VAE (InfoVAE; Zhao, Song and Ermon, "InfoVAE: Balancing Learning and Inference in
Variational Autoencoders", AAAI 2019) against the plain VAE on the scikit-learn digits.

The InfoVAE objective with α = 1 drops the per-digit KL term and matches the
aggregate posterior q(z) = E_{p_data(x)}[q(z|x)] to the prior instead, with the
(squared, unbiased) maximum mean discrepancy of the dgmcore-adversarial plugin:

    loss = -mean E_{q(z|x)}[log p(x|z)] + λ MMD²[q(z) || p(z)],

where MMD² is estimated from the batch's codes z ~ q(z|x) and as many prior
draws (``MMD(q, prior)``, Gaussian kernel). The VAE maximises the ELBO. Both are
scored on the test digits by the reconstruction term, the MMD² of their
aggregate posterior to the prior (lower: the prior's samples look like the
codes of real digits) and the importance-sampled log-likelihood
(``log_marginal``; without a KL term q(z|x) narrows, so it is a poorer proposal
and the estimate a looser bound). ``--weight 0`` is the baseline without the MMD
term: a plain autoencoder, whose codes drift away from the prior. Outputs:
``samples.png`` (prior samples of each model), ``latent.png`` (the MMD-VAE's test
codes, first two dimensions), ``metrics.json``, ``history.csv``.

Usage:
    python examples/mmd_vae.py [--quick] [--epochs 40] [--weight 100]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from common import X_DIM, Digits, merge, mlp, parse, parser, save_grid, save_scatter, train, write_metrics
from torch.nn import functional as F

from dgmcore.distributions import Bernoulli, Normal
from dgmcore.losses import MMD, KullbackLeibler, log_marginal
from dgmcore.models import Model

Z_DIM, HIDDEN = 4, 256


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
    p_ = parser(__doc__, epochs=40, quick_epochs=5, out="runs/mmd_vae")
    p_.add_argument("--weight", type=float, default=100.0, help="λ, the weight of the MMD term")
    args = parse(p_, argv)
    data = Digits.load(args.seed)
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z_DIM], name="p_{prior}")
    runs = {}
    for kind in ("mmd_vae", "vae"):
        torch.manual_seed(args.seed)  # the same initial networks for both
        q, p = Encoder(), Decoder()
        rec = -p.log_prob().expectation(q).mean()
        if kind == "vae":
            loss = KullbackLeibler(q, prior).mean() + rec
        else:
            loss = rec + args.weight * MMD(q, prior, bandwidth=1.0)
        print(f"{kind}: {loss}")
        runs[kind] = (q, p, rec, Model(loss, distributions=[p, q], optimizer_params={"lr": args.lr}))

    test = {"x": data.test_x}

    def scores(q: Encoder, p: Decoder, rec: object) -> dict[str, float]:
        with torch.no_grad():
            return {
                "rec": rec.eval(test).item(),  # type: ignore[attr-defined]
                "mmd": MMD(q, prior, bandwidth=1.0).eval(test).item(),
            }

    initial = {kind: scores(*r[:3]) for kind, r in runs.items()}
    x = {"x": data.train_x}
    history = merge({kind: train(r[3], x, test, args, kind) for kind, r in runs.items()})

    metrics: dict[str, float] = {"epochs": args.epochs, "weight": args.weight}
    samples = []
    for kind, (q, p, rec, _) in runs.items():
        final = scores(q, p, rec)
        metrics[f"{kind}_initial_test_rec"] = initial[kind]["rec"]
        metrics[f"{kind}_test_rec"] = final["rec"]
        metrics[f"{kind}_test_mmd"] = final["mmd"]
        metrics[f"{kind}_test_loglik"] = (
            log_marginal(p * prior, q, test, k=200 if args.quick else 1000).mean().item()
        )
        with torch.no_grad():
            samples.append(p.sample_mean(prior.sample(batch_n=12)))
    q = runs["mmd_vae"][0]
    with torch.no_grad():
        codes = q.sample_mean(test)
    save_grid(samples, args.out / "samples.png", "prior samples: MMD-VAE (top), VAE", ["MMD-VAE", "VAE"])
    save_scatter(codes, data.test_y, args.out / "latent.png", "MMD-VAE: test codes (dimensions 1 and 2)")
    write_metrics(args.out, metrics, history)
    print(
        "test log p(x): MMD-VAE {mmd_vae_test_loglik:.3f}, VAE {vae_test_loglik:.3f}; MMD² to the prior: "
        "MMD-VAE {mmd_vae_test_mmd:.4f}, VAE {vae_test_mmd:.4f}".format(**metrics)
    )
    return metrics


if __name__ == "__main__":
    main()
