"""The M2 semi-supervised VAE (Kingma, Rezende, Mohamed and Welling, "Semi-Supervised Learning
with Deep Generative Models", NeurIPS 2014) on the scikit-learn digits with 10% of the labels.

Generative model p(x|z,y) p(z) p(y); inference q(z|x,y) q(y|x). A labelled digit
(x, y) contributes the bound (log p(y) is a constant and is left out)

    L(x, y) = E_{q(z|x,y)}[log p(x|z,y) + log p(z) - log q(z|x,y)],

an unlabelled digit x_u the bound with the label inferred, the expectation over
y taken with a Gumbel-softmax relaxation of q(y|x_u) (Jang et al. 2017) so that it
backpropagates, and the label's KL term in closed form,

    U(x_u) = E_{q(y|x_u)}[L(x_u, y)] - KL[q(y|x_u) || p(y)],

and the classifier q(y|x) also learns from the labels directly (weight alpha):

    loss = -mean L(x, y) - mean U(x_u) - alpha mean log q(y|x).

The unlabelled bound uses the same distributions with x renamed x_u
(``replace_var``), so one loss reads both batches. The script reports the test accuracy of q(y|x) next
to a logistic regression (scikit-learn) trained on the same labelled subset.
Outputs: ``samples_per_class.png`` (p(x|z,y) for each y), ``metrics.json``,
``history.csv``.

Usage:
    python examples/m2_semisupervised.py [--quick] [--epochs 40] [--labelled 0.1]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from common import N_CLASSES, X_DIM, Digits, batches, mlp, one_hot, parse, parser, save_grid, write_metrics
from torch.nn import functional as F

from dgmcore.distributions import Bernoulli, Normal, OneHotCategorical, RelaxedOneHotCategorical
from dgmcore.losses import ELBO, KullbackLeibler
from dgmcore.models import Model

Z_DIM, HIDDEN, TEMPERATURE = 8, 256, 0.5


class Encoder(Normal):  # q(z|x,y)
    def __init__(self) -> None:
        super().__init__(var=["z"], cond_var=["x", "y"], name="q")
        self.net = mlp(X_DIM + N_CLASSES, HIDDEN, 2 * Z_DIM)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(torch.cat([x, y], -1)).chunk(2, -1)
        return {"loc": loc, "scale": F.softplus(scale) + 1e-3}


class Decoder(Bernoulli):  # p(x|z,y)
    def __init__(self) -> None:
        super().__init__(var=["x"], cond_var=["z", "y"], name="p")
        self.net = mlp(Z_DIM + N_CLASSES, HIDDEN, X_DIM)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(torch.cat([z, y], -1))}


class Classifier(OneHotCategorical):  # q(y|x), scored on the given labels
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__(var=["y"], cond_var=["x"], name="q")
        self.net = net

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(x)}


class RelaxedClassifier(RelaxedOneHotCategorical):  # the same q(y|x), relaxed to sample y
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__(var=["y"], cond_var=["x"], name="q", temperature=TEMPERATURE)
        self.net = net

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(x)}


def logistic_baseline(x: torch.Tensor, y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor) -> float:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=2000).fit(x.numpy(), y.numpy())
    return float(clf.score(test_x.numpy(), test_y.numpy()))


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p_ = parser(__doc__, epochs=40, quick_epochs=6, out="runs/m2_semisupervised")
    p_.add_argument("--labelled", type=float, default=0.1, help="fraction of training labels kept")
    p_.add_argument("--alpha", type=float, default=20.0, help="weight of the classifier's log-likelihood")
    args = parse(p_, argv)
    data = Digits.load(args.seed)
    n_lab = int(args.labelled * len(data.train_x))
    lab = torch.randperm(len(data.train_x))[:n_lab]
    lab_x, lab_y = data.train_x[lab], one_hot(data.train_y[lab])

    q_z, p_x = Encoder(), Decoder()
    net = mlp(X_DIM, HIDDEN, N_CLASSES)
    q_y, q_y_relaxed = Classifier(net), RelaxedClassifier(net)
    prior_z = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z_DIM], name="p_{prior}")
    prior_y = OneHotCategorical(probs=torch.full((N_CLASSES,), 0.1), var=["y"], name="p_{prior}")
    labelled = ELBO(p_x * prior_z, q_z)
    rename = {"x": "x_u"}
    unlabelled = ELBO((p_x * prior_z).replace_var(**rename), q_z.replace_var(**rename)).expectation(
        q_y_relaxed.replace_var(**rename)
    ) - KullbackLeibler(q_y.replace_var(**rename), prior_y)
    loss = -labelled.mean() - unlabelled.mean() - args.alpha * q_y.log_prob().mean()
    print(loss)
    model = Model(loss, distributions=[p_x, q_z, q_y], optimizer_params={"lr": args.lr})

    def accuracy() -> float:
        with torch.no_grad():
            return (net(data.test_x).argmax(-1) == data.test_y).float().mean().item()

    test_bound = -labelled.mean()
    test = {"x": data.test_x, "y": one_hot(data.test_y)}
    initial = test_bound.eval(test).item()
    history = []
    for epoch in range(1, args.epochs + 1):
        for idx in batches(len(data.train_x), args.batch_size):
            pick = torch.randint(0, n_lab, (min(args.batch_size, n_lab),))
            model.train({"x": lab_x[pick], "y": lab_y[pick], "x_u": data.train_x[idx]})
        with torch.no_grad():
            history.append(
                {"epoch": epoch, "test_loss": test_bound.eval(test).item(), "accuracy": accuracy()}
            )
        print(
            f"epoch {epoch:3d}  test -L(x,y) {history[-1]['test_loss']:7.3f}"
            f"  accuracy {history[-1]['accuracy']:.3f}"
        )

    baseline = logistic_baseline(lab_x, lab_y.argmax(-1), data.test_x, data.test_y)
    with torch.no_grad():
        z = prior_z.sample(batch_n=N_CLASSES * 8)["z"]
        y = one_hot(torch.arange(N_CLASSES).repeat_interleave(8))
        images = p_x.sample_mean({"z": z, "y": y}).reshape(N_CLASSES, 8, X_DIM)
    save_grid(
        list(images),
        args.out / "samples_per_class.png",
        "M2: p(x|z,y), one row per label",
        [str(c) for c in range(N_CLASSES)],
    )
    metrics = {
        "labelled": n_lab,
        "initial_test_loss": initial,
        "test_loss": history[-1]["test_loss"],
        "accuracy": history[-1]["accuracy"],
        "logistic_regression_accuracy": baseline,
        "epochs": args.epochs,
    }
    write_metrics(args.out, metrics, history)
    print(f"{n_lab} labels: M2 test accuracy {metrics['accuracy']:.3f}, logistic regression {baseline:.3f}")
    return metrics


if __name__ == "__main__":
    main()
