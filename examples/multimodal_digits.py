"""Two multimodal VAEs of an image x and its label y (one-hot) on the scikit-learn digits:
JMVAE and MVAE, each generating one modality from the other.

Both share the generative model p(x|z) p(y|z) p(z). JMVAE (Suzuki, Nakayama and
Matsuo, "Joint Multimodal Learning with Deep Generative Models", ICLR workshop
2017) infers z with a joint encoder q(z|x,y) and trains unimodal encoders q(z|x),
q(z|y) to follow it (JMVAE-kl):

    loss = -mean ELBO_{q(z|x,y)}(x, y) + alpha mean(KL[q(z|x,y) || q(z|x)] + KL[q(z|x,y) || q(z|y)]),
    ELBO_q(x, y) = E_{q}[log p(x|z) + λ log p(y|z)] - KL[q || p(z)].

The label carries log 10 nats against tens for the image, so its log-likelihood
is weighted by λ (``--label-weight``; the MVAE paper weights its label modality
the same way); the test bound is reported at λ = 1.

MVAE (Wu and Goodman, "Multimodal Generative Models for Scalable Weakly-Supervised
Learning", NeurIPS 2018) infers z with a product of experts,
q(z|x,y) ∝ p(z) q(z|x) q(z|y) (``ProductOfNormal``), and the product of the present
experts when a modality is missing, training on all three subsets:

    loss = -mean(ELBO_{q(z|x,y)}(x, y) + ELBO_{q(z|x)}(x) + ELBO_{q(z|y)}(y)).

Cross-modal generation: image → label accuracy (argmax p(y|z), z the mean of the
image-only posterior) and label → image samples (z from the label-only posterior),
whose digits a logistic regression trained on the real training digits reads back
(the label → image accuracy). Outputs: ``jmvae_label_to_image.png``,
``mvae_label_to_image.png``, ``metrics.json``, ``history.csv``.

Usage:
    python examples/multimodal_digits.py [--quick] [--epochs 40] [--alpha 1]
"""

from __future__ import annotations

import argparse
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
    train,
    write_metrics,
)
from torch.nn import functional as F

from dgmcore.distributions import Bernoulli, Distribution, Normal, OneHotCategorical, ProductOfNormal
from dgmcore.losses import ELBO, KullbackLeibler, Loss
from dgmcore.models import Model

Z_DIM, HIDDEN = 8, 256


class Expert(Normal):
    """q(z|x), q(z|y) or the joint q(z|x,y): a Gaussian from an MLP of the concatenated inputs."""

    def __init__(self, cond_var: list[str], in_dim: int) -> None:
        super().__init__(var=["z"], cond_var=cond_var, name="q")
        self.net = mlp(in_dim, HIDDEN, 2 * Z_DIM)

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(torch.cat([inputs[v] for v in self.cond_var], -1)).chunk(2, -1)
        return {"loc": loc, "scale": F.softplus(scale) + 1e-3}


class ImageDecoder(Bernoulli):  # p(x|z)
    def __init__(self) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.net = mlp(Z_DIM, HIDDEN, X_DIM)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(z)}


class LabelDecoder(OneHotCategorical):  # p(y|z)
    def __init__(self) -> None:
        super().__init__(var=["y"], cond_var=["z"], name="p")
        self.net = mlp(Z_DIM, HIDDEN, N_CLASSES)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(z)}


def build(kind: str, args: argparse.Namespace, prior: Distribution) -> tuple[Model, dict[str, Distribution]]:
    """The model, and the distributions cross-modal generation needs (q_xy, q_x, q_y, p_x, p_y)."""
    p_x, p_y = ImageDecoder(), LabelDecoder()
    e_x, e_y = Expert(["x"], X_DIM), Expert(["y"], N_CLASSES)

    def elbo(q: Distribution, image: bool = True, label: bool = True) -> Loss:
        """The (label-weighted) ELBO of the present modalities, with z ~ q."""
        terms = [p_x.log_prob()] * image + [args.label_weight * p_y.log_prob()] * label
        return sum(terms[1:], terms[0]).expectation(q) - KullbackLeibler(q, prior)

    if kind == "jmvae":
        q_xy = Expert(["x", "y"], X_DIM + N_CLASSES)
        q_x, q_y = e_x, e_y
        unimodal = KullbackLeibler(q_xy, q_x) + KullbackLeibler(q_xy, q_y)
        loss = -elbo(q_xy).mean() + args.alpha * unimodal.mean()
        nets: list[Distribution] = [p_x, p_y, q_xy, q_x, q_y]
    else:
        q_xy = ProductOfNormal([e_x, e_y], name="q")
        q_x, q_y = ProductOfNormal([e_x], name="q"), ProductOfNormal([e_y], name="q")
        loss = -(elbo(q_xy) + elbo(q_x, label=False) + elbo(q_y, image=False)).mean()
        nets = [p_x, p_y, e_x, e_y]
    print(f"{kind}: {loss}")
    named = {"q_xy": q_xy, "q_x": q_x, "q_y": q_y, "p_x": p_x, "p_y": p_y, "p": p_x * p_y * prior}
    return Model(loss, distributions=nets, optimizer_params={"lr": args.lr}), named


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    p_ = parser(__doc__, epochs=40, quick_epochs=5, out="runs/multimodal_digits")
    p_.add_argument("--alpha", type=float, default=1.0, help="JMVAE's weight of the unimodal KL terms")
    p_.add_argument("--label-weight", type=float, default=20.0, help="the weight of log p(y|z) in training")
    args = parse(p_, argv)
    data = Digits.load(args.seed)
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z_DIM], name="p_{prior}")
    runs = {kind: build(kind, args, prior) for kind in ("jmvae", "mvae")}
    train_xy = {"x": data.train_x, "y": one_hot(data.train_y)}
    test = {"x": data.test_x, "y": one_hot(data.test_y)}

    def test_loss(d: dict[str, Distribution]) -> float:
        with torch.no_grad():
            return -ELBO(d["p"], d["q_xy"]).eval(test).mean().item()

    initial = {kind: test_loss(d) for kind, (_, d) in runs.items()}
    history = merge({kind: train(model, train_xy, test, args, kind) for kind, (model, _) in runs.items()})

    from sklearn.linear_model import LogisticRegression

    reader = LogisticRegression(max_iter=2000).fit(data.train_x.numpy(), data.train_y.numpy())
    metrics: dict[str, float] = {
        "epochs": args.epochs,
        "reader_accuracy": reader.score(data.test_x.numpy(), data.test_y.numpy()),
    }
    wanted = torch.arange(N_CLASSES).repeat_interleave(10)
    for kind, (_, d) in runs.items():
        with torch.no_grad():
            z = d["q_x"].sample_mean({"x": data.test_x})
            guess = d["p_y"].get_params({"z": z})["logits"].argmax(-1)
            z = d["q_y"].sample({"y": one_hot(wanted)})["z"]
            images = d["p_x"].sample_mean({"z": z})
        read = torch.as_tensor(reader.predict(images.numpy()))
        metrics[f"{kind}_initial_test_loss"] = initial[kind]
        metrics[f"{kind}_test_loss"] = test_loss(d)  # at label weight 1
        metrics[f"{kind}_image_to_label_accuracy"] = (guess == data.test_y).float().mean().item()
        metrics[f"{kind}_label_to_image_accuracy"] = (read == wanted).float().mean().item()
        save_grid(
            list(images.reshape(N_CLASSES, 10, X_DIM)),
            args.out / f"{kind}_label_to_image.png",
            f"{kind.upper()}: label → image, x ~ p(x|z), z ~ q(z|y)",
            [str(c) for c in range(N_CLASSES)],
        )
        print(
            f"{kind}: image → label accuracy {metrics[f'{kind}_image_to_label_accuracy']:.3f}, "
            f"label → image accuracy {metrics[f'{kind}_label_to_image_accuracy']:.3f}"
        )
    write_metrics(args.out, metrics, history)
    return metrics


if __name__ == "__main__":
    main()
