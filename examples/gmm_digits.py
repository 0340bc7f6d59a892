"""A Gaussian mixture fitted to the scikit-learn digits (projected on their first principal
components) by maximising its exact log-likelihood, and read through its exact posterior.

The mixture p(x) = sum_k pi_k N(x | mu_k, diag sigma_k^2) has the closed-form
log-density log p(x) = logsumexp_k [log pi_k + log N(x | mu_k, sigma_k^2)]
(``MixtureModel``), so the objective is plain maximum likelihood,

    loss = -mean log p(x),

whose gradient is the posterior-weighted one of EM (Dempster, Laird and Rubin
1977; Bishop, "Pattern Recognition and Machine Learning", 2006, section 9.2):
grad log p(x) = sum_k p(k|x) grad log [pi_k N(x | mu_k, sigma_k^2)]. The exact
posterior over the component, p(k|x) = pi_k N(x|mu_k, sigma_k^2) / p(x)
(``p.posterior()``), assigns each digit to a cluster. Reported: the test
log-likelihood per digit next to scikit-learn's GaussianMixture (EM, the same
diagonal model) and a single Gaussian, and the adjusted Rand index of the clusters
against the labels. Outputs: ``clusters.png`` (the first two components, coloured
by cluster), ``means.png`` (each component's mean mapped back to an image),
``metrics.json``, ``history.csv``.

Usage:
    python examples/gmm_digits.py [--quick] [--epochs 300] [--components 10] [--dims 10]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from common import Digits, parse, parser, save_grid, save_scatter, write_metrics
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Categorical, MixtureModel, Normal
from dgmcore.models import Model


class Component(Normal):
    """N(x | mu_k, diag sigma_k^2) with free parameters."""

    def __init__(self, k: int, init: torch.Tensor) -> None:
        super().__init__(var=["x"], features_shape=init.shape, name=f"p_{{{k}}}")
        self.loc = nn.Parameter(init.clone())
        self.raw_scale = nn.Parameter(torch.zeros_like(init))

    def forward(self) -> dict[str, torch.Tensor]:
        return {"loc": self.loc, "scale": F.softplus(self.raw_scale) + 1e-2}


class Weights(Categorical):
    """pi: the mixture weights, free logits."""

    def __init__(self, k: int) -> None:
        super().__init__(var=["k"], name="pi")
        self.logits = nn.Parameter(torch.zeros(k))

    def forward(self) -> dict[str, torch.Tensor]:
        return {"logits": self.logits}


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p_ = parser(__doc__, epochs=300, quick_epochs=60, out="runs/gmm_digits")
    p_.set_defaults(lr=0.05)
    p_.add_argument("--components", type=int, default=10)
    p_.add_argument("--dims", type=int, default=10, help="principal components kept")
    args = parse(p_, argv)
    data = Digits.load(args.seed)
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    pca = PCA(args.dims, whiten=True).fit(data.train_x.numpy())
    x_train = torch.tensor(pca.transform(data.train_x.numpy()), dtype=torch.float32)
    x_test = torch.tensor(pca.transform(data.test_x.numpy()), dtype=torch.float32)

    starts = x_train[torch.randperm(len(x_train))[: args.components]]  # means start at random digits
    p = MixtureModel([Component(k, s) for k, s in enumerate(starts)], prior=Weights(args.components))
    loss = -p.log_prob().mean()
    print(loss)
    print(p.prob_factorized_text)
    model = Model(loss, distributions=[p], optimizer_params={"lr": args.lr})
    initial = model.test({"x": x_test}).item()
    history = []
    for step in range(1, args.epochs + 1):
        train_loss = model.train({"x": x_train}).item()  # full batch: 1,437 digits
        if step % max(1, args.epochs // 10) == 0 or step == args.epochs:
            history.append(
                {"step": step, "train_loss": train_loss, "test_loss": model.test({"x": x_test}).item()}
            )
            print(f"step {step:4d}  train -log p(x) {train_loss:7.3f}  test {history[-1]['test_loss']:7.3f}")

    with torch.no_grad():
        clusters = p.posterior().get_dist({"x": x_test}).probs.argmax(-1)
        means = torch.stack([c.loc for c in p.components])
    em = GaussianMixture(args.components, covariance_type="diag", random_state=args.seed).fit(x_train.numpy())
    single = GaussianMixture(1, covariance_type="diag").fit(x_train.numpy())
    metrics = {
        "initial_test_loss": initial,
        "test_loss": history[-1]["test_loss"],
        "test_loglik": -history[-1]["test_loss"],
        "sklearn_em_test_loglik": float(em.score(x_test.numpy())),
        "single_gaussian_test_loglik": float(single.score(x_test.numpy())),
        "adjusted_rand_index": float(adjusted_rand_score(data.test_y.numpy(), clusters.numpy())),
        "sklearn_em_adjusted_rand_index": float(
            adjusted_rand_score(data.test_y.numpy(), em.predict(x_test.numpy()))
        ),
        "steps": args.epochs,
    }
    save_scatter(x_test, clusters, args.out / "clusters.png", "test digits by p(k|x) (first two components)")
    images = torch.tensor(pca.inverse_transform(means.numpy()), dtype=torch.float32).clamp(0, 1)
    save_grid([images], args.out / "means.png", "component means, as images")
    write_metrics(args.out, metrics, history)
    print(
        "test log p(x): {test_loglik:.3f} (scikit-learn EM {sklearn_em_test_loglik:.3f}, one Gaussian "
        "{single_gaussian_test_loglik:.3f}); adjusted Rand index {adjusted_rand_index:.3f}".format(**metrics)
    )
    return metrics


if __name__ == "__main__":
    main()
