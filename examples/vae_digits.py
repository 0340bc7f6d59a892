"""Train a VAE on the handwritten digits that scikit-learn ships; write pictures and a report.

The model is the VAE of Kingma and Welling (2014) written as in the paper:

    loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()

Usage:
    python examples/vae_digits.py [--epochs 30] [--out runs/vae_digits] [--seed 0]

Outputs in ``--out``: ``reconstructions.png`` (test digits above their
reconstructions), ``samples.png`` (digits drawn from the prior), ``loss.png``
(the loss per epoch) and ``report.md`` (the model, the objective, the figures
and the numbers).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Bernoulli, Normal
from dgmcore.losses import KullbackLeibler, log_marginal
from dgmcore.models import Model

X_DIM, Z_DIM, HIDDEN = 64, 8, 128


class Encoder(Normal):
    """q(z|x): a Gaussian whose mean and scale come from an MLP."""

    def __init__(self) -> None:
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.net = nn.Sequential(nn.Linear(X_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 2 * Z_DIM))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(x).chunk(2, dim=-1)
        return {"loc": loc, "scale": F.softplus(scale) + 1e-4}


class Decoder(Bernoulli):
    """p(x|z): pixel intensities in [0, 1] scored as Bernoulli probabilities."""

    def __init__(self) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.net = nn.Sequential(nn.Linear(Z_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, X_DIM))

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(z)}


def load_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 digits of scikit-learn, scaled to [0, 1] and split 80/20."""
    images = torch.tensor(load_digits().data, dtype=torch.float32) / 16.0
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    n_train = int(0.8 * len(images))
    return images[order[:n_train]], images[order[n_train:]]


def save_grid(rows: list[torch.Tensor], path: Path, title: str) -> None:
    """Save rows of 8x8 digit images as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), rows[0].shape[0]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * 0.8, n_rows * 0.8 + 0.4))
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c] if n_rows > 1 else axes[c]
            ax.imshow(row[c].reshape(8, 8).numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.axis("off")
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def save_curve(train: list[float], test: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    epochs = range(1, len(train) + 1)
    ax.plot(epochs, train, marker="o", label="train")
    ax.plot(epochs, test, marker="o", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("negative ELBO (nats per digit)")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=30, help="passes over the training digits")
    parser.add_argument("--batch-size", type=int, default=32, help="digits per training step")
    parser.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data split and of torch")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/vae_digits"), help="folder for the report and pictures"
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be positive")

    torch.manual_seed(args.seed)
    train_x, test_x = load_data(args.seed)
    q, p = Encoder(), Decoder()
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z_DIM], name="p_{prior}")
    loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()
    model = Model(loss, distributions=[p, q], optimizer=torch.optim.Adam, optimizer_params={"lr": args.lr})
    print(model)
    print(f"data: {len(train_x)} training and {len(test_x)} test digits (8x8, scikit-learn)")

    train_curve: list[float] = []
    test_curve: list[float] = []
    initial = model.test({"x": test_x}).item()
    print(f"epoch   0  (untrained)              test loss {initial:8.3f}")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(train_x))
        total = 0.0
        for i in range(0, len(train_x), args.batch_size):
            batch = train_x[order[i : i + args.batch_size]]
            total += model.train({"x": batch}).item() * len(batch)
        train_curve.append(total / len(train_x))
        test_curve.append(model.test({"x": test_x}).item())
        print(f"epoch {epoch:3d}  train loss {train_curve[-1]:8.3f}  test loss {test_curve[-1]:8.3f}")
    seconds = time.perf_counter() - start

    with torch.no_grad():
        log_px = log_marginal(p * prior, q, {"x": test_x}, k=500).mean().item()
        shown = test_x[:12]
        recon = p.sample_mean({"z": q.sample_mean({"x": shown})})
        samples = p.sample_mean(prior.sample(batch_n=12))

    args.out.mkdir(parents=True, exist_ok=True)
    save_grid([shown, recon], args.out / "reconstructions.png", "test digits (top), reconstructions")
    save_grid([samples], args.out / "samples.png", "digits drawn from the prior")
    save_curve(train_curve, test_curve, args.out / "loss.png")
    pairs = zip(train_curve, test_curve, strict=True)
    rows = "\n".join(f"| {i} | {tr:.3f} | {te:.3f} |" for i, (tr, te) in enumerate(pairs, 1))
    report = f"""# VAE on the scikit-learn digits

Objective: `{loss}`

$$ {loss.latex} $$

Model: {p.prob_factorized_text} with {q.prob_text}, latent size {Z_DIM}, hidden {HIDDEN};
Adam, learning rate {args.lr}, batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}
({seconds:.1f} s on {torch.get_num_threads()} threads).

| epoch | train loss | test loss |
|---|---|---|
{rows}

Test negative ELBO: **{test_curve[-1]:.3f}** nats per digit (untrained {initial:.3f},
first epoch {test_curve[0]:.3f}).
Importance-sampled test log-likelihood (k=500): **{log_px:.3f}** nats per digit.

![loss](loss.png)

![reconstructions](reconstructions.png)

![samples](samples.png)
"""
    (args.out / "report.md").write_text(report)
    print(f"test log p(x) ~ {log_px:.3f} (importance sampling, k=500)")
    print(f"wrote {args.out}/report.md, reconstructions.png, samples.png, loss.png")
    if not all(math.isfinite(v) for v in test_curve):
        raise SystemExit("training diverged")
    return {
        "initial_test_loss": initial,
        "first_test_loss": test_curve[0],
        "last_test_loss": test_curve[-1],
        "log_px": log_px,
    }


if __name__ == "__main__":
    main()
