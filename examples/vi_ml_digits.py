"""Maximum likelihood (ML) and variational inference (VI) of one small model on the scikit-learn
digits: softmax regression p(y|x, w), with logits W x + b.

ML fits the weights w as parameters, minimising the negative log-likelihood of the
training labels,

    loss_ML = -mean log p(y|x, w).

VI (Bayesian softmax regression; Blei, Kucukelbir and McAuliffe, "Variational
Inference: A Review for Statisticians", JASA 2017) treats w as a latent variable
with prior p(w) = N(0, I) and fits a mean-field Gaussian q(w), maximising the ELBO
of the whole training set D = (X, Y),

    ELBO = E_{q(w)}[log p(Y|X, w)] - KL[q(w) || p(w)],   loss_VI = -ELBO / N.

The whole training set is one observation here (a batch of one, the N digits on
its feature dimension), since w is shared by every digit. Both are scored on the
test digits by accuracy and negative log-likelihood per digit (VI by its
predictive distribution, averaged over w ~ q(w)), next to scikit-learn's
LogisticRegression. Outputs: ``weights.png`` (the ML weights and the VI posterior
means and standard deviations per class, as 8x8 images), ``metrics.json``,
``history.csv``.

Usage:
    python examples/vi_ml_digits.py [--quick] [--epochs 400] [--lr 0.05]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from common import N_CLASSES, X_DIM, Digits, parse, parser, save_grid, write_metrics
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Categorical, Normal
from dgmcore.losses import KullbackLeibler
from dgmcore.models import Model

W_DIM = (X_DIM + 1) * N_CLASSES  # weights and biases, flattened


def logits(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """W x + b for weights ``w`` of shape (..., W_DIM) and digits ``x`` of shape (..., n, 64)."""
    weight = w[..., : X_DIM * N_CLASSES].unflatten(-1, (X_DIM, N_CLASSES))
    return x @ weight + w[..., X_DIM * N_CLASSES :].unsqueeze(-2)


class Classifier(Categorical):
    """p(y|x) with the weights as parameters (ML)."""

    def __init__(self) -> None:
        super().__init__(var=["y"], cond_var=["x"], name="p")
        self.w = nn.Parameter(torch.zeros(W_DIM))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": logits(x, self.w)}


class Likelihood(Categorical):
    """p(y|x, w) with the weights as a variable (VI)."""

    def __init__(self) -> None:
        super().__init__(var=["y"], cond_var=["x", "w"], name="p")

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": logits(x, w)}


class Posterior(Normal):
    """q(w): a mean-field Gaussian with free parameters."""

    def __init__(self) -> None:
        super().__init__(var=["w"], features_shape=[W_DIM], name="q")
        self.loc = nn.Parameter(torch.zeros(W_DIM))
        self.raw_scale = nn.Parameter(torch.full((W_DIM,), -3.0))

    def forward(self) -> dict[str, torch.Tensor]:
        return {"loc": self.loc, "scale": F.softplus(self.raw_scale)}


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p_ = parser(__doc__, epochs=400, quick_epochs=60, out="runs/vi_ml_digits")
    p_.set_defaults(lr=0.05)
    p_.add_argument("--samples", type=int, default=8, help="Monte-Carlo samples of w per step")
    args = parse(p_, argv)
    data = Digits.load(args.seed)
    n = len(data.train_x)
    train = {"x": data.train_x[None], "y": data.train_y[None]}  # one observation of N digits

    clf = Classifier()
    ml_loss = -clf.log_prob().mean() / n
    lik, q = Likelihood(), Posterior()
    prior = Normal(loc=0.0, scale=1.0, var=["w"], features_shape=[W_DIM], name="p")
    vi_loss = (
        KullbackLeibler(q, prior) - lik.log_prob().expectation(q, sample_shape=(args.samples,))
    ).mean() / n
    print(f"ML: {ml_loss}\nVI: {vi_loss}")
    ml = Model(ml_loss, distributions=[clf], optimizer_params={"lr": args.lr})
    vi = Model(vi_loss, distributions=[q], optimizer_params={"lr": args.lr})

    def scores() -> dict[str, float]:
        with torch.no_grad():
            ml_logp = torch.log_softmax(logits(data.test_x, clf.w), -1)
            w = q.sample(batch_n=100)["w"]  # (100, W_DIM): the predictive averages over q(w)
            vi_logp = torch.log_softmax(logits(data.test_x, w), -1).logsumexp(0) - torch.log(
                torch.tensor(100.0)
            )
        out = {}
        for name, logp in (("ml", ml_logp), ("vi", vi_logp)):
            out[f"{name}_test_nll"] = -logp.gather(-1, data.test_y[:, None]).mean().item()
            out[f"{name}_test_accuracy"] = (logp.argmax(-1) == data.test_y).float().mean().item()
        return out

    initial = scores()
    history = []
    for epoch in range(1, args.epochs + 1):
        ml.train(train)
        vi.train(train)
        if epoch % max(1, args.epochs // 10) == 0 or epoch == args.epochs:
            history.append({"step": epoch, **scores(), "vi_train_loss": vi.test(train).item()})
            h = history[-1]
            print(
                f"step {epoch:4d}  test NLL: ML {h['ml_test_nll']:.3f}  VI {h['vi_test_nll']:.3f}   "
                f"accuracy: ML {h['ml_test_accuracy']:.3f}  VI {h['vi_test_accuracy']:.3f}"
            )

    from sklearn.linear_model import LogisticRegression

    sk = LogisticRegression(max_iter=3000).fit(data.train_x.numpy(), data.train_y.numpy())
    sk_logp = torch.as_tensor(sk.predict_log_proba(data.test_x.numpy()), dtype=torch.float32)
    with torch.no_grad():
        images = [
            w[: X_DIM * N_CLASSES].reshape(X_DIM, N_CLASSES).T
            for w in (clf.w, q.loc, F.softplus(q.raw_scale))
        ]
    save_grid(
        [(im - im.min()) / (im.max() - im.min()) for im in images],
        args.out / "weights.png",
        "per class: ML weights, VI posterior mean, VI posterior sd",
        ["ML", "VI mean", "VI sd"],
    )
    metrics = {
        **{f"initial_{k}": v for k, v in initial.items()},
        **{k: v for k, v in history[-1].items() if k != "step"},
        "sklearn_test_accuracy": float(sk.score(data.test_x.numpy(), data.test_y.numpy())),
        "sklearn_test_nll": -sk_logp.gather(-1, data.test_y[:, None]).mean().item(),
        "steps": args.epochs,
    }
    write_metrics(args.out, metrics, history)
    print(
        "test accuracy: ML {ml_test_accuracy:.3f}, VI {vi_test_accuracy:.3f}, scikit-learn "
        "{sklearn_test_accuracy:.3f}".format(**metrics)
    )
    return metrics


if __name__ == "__main__":
    main()
