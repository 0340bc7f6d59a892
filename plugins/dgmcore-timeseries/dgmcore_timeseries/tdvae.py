"""The temporal difference VAE (Gregor, Papamakarios, Besse, Buesing and Weber, ICLR 2019).

As in Pixyz's TD-VAE example (after the paper's section 3), batch first:

* a belief LSTM reads the frames: ``b_t`` summarises ``x_{1:t}``;
* the belief ``p_B(z|b)`` (a Gaussian), used at two times ``t_1 < t_2``;
* the smoothing posterior ``q_S(z_1|z_2, b_1, b_2)``;
* the jumpy transition ``p_T(z_2|z_1)`` and the decoder ``p_D(x_2|z_2)``.

For each ``t_1`` a jump ``t_2 = t_1 + d``, ``d`` uniform in ``1..max_jump``, is
drawn by the ``slice_step`` of :class:`~dgmcore_timeseries.IterativeLoss`
(Pixyz's mechanism: a distribution that picks the step's inputs from the whole
series and the time index). The step loss is the negative of the paper's
equation (8), with the KL of ``z_1`` in closed form:

.. math::

    \\mathbb{E}_{p_B(z_2|b_2)}\\Big[\\mathrm{KL}(q_S \\| p_B(z_1|b_1))
    + \\mathbb{E}_{q_S}\\big[\\log p_B(z_2|b_2) - \\log p_T(z_2|z_1) - \\log p_D(x_2|z_2)\\big]\\Big]

Jumpy prediction (:meth:`TDVAE.predict`) samples ``z`` from the belief at the
end of a context and rolls ``p_T`` forward with :func:`~dgmcore_timeseries.rollout`.
"""

from __future__ import annotations

import torch
from dgmcore_families import Bernoulli, Normal
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Deterministic, Distribution
from dgmcore.losses import KullbackLeibler, Loss
from dgmcore_timeseries.iterative import IterativeLoss
from dgmcore_timeseries.rollout import rollout

__all__ = ["TDVAE"]


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


def _loc_scale(out: torch.Tensor) -> dict[str, torch.Tensor]:
    loc, s = out.chunk(2, -1)
    return {"loc": loc, "scale": F.softplus(s) + 1e-3}


class _Beliefs(Deterministic):
    def __init__(self, lstm: nn.LSTM) -> None:
        super().__init__(var=["b"], cond_var=["x"], name="f")
        self.lstm = lstm

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        return {"b": self.lstm(x)[0]}


class _Jump(Deterministic):
    """The step's inputs: beliefs at ``t``, ``t + d`` and the frame at ``t + d``, ``d ~ U{1..max_jump}``."""

    def __init__(self, max_jump: int) -> None:
        super().__init__(var=["b1", "b2", "x2"], cond_var=["b", "x", "t"], name="s")
        self.max_jump = max_jump

    def forward(  # type: ignore[override]
        self, b: torch.Tensor, x: torch.Tensor, t: int
    ) -> dict[str, torch.Tensor]:
        t2 = t + int(torch.randint(1, self.max_jump + 1, ()))
        return {"b1": b[:, t], "b2": b[:, t2], "x2": x[:, t2]}


class _Belief(Normal):
    def __init__(self, net: nn.Module) -> None:
        super().__init__(var=["z"], cond_var=["b"], name="p_B")
        self.net = net

    def forward(self, b: torch.Tensor) -> dict[str, torch.Tensor]:
        return _loc_scale(self.net(b))


class _Smoothing(Normal):
    def __init__(self, net: nn.Module) -> None:
        super().__init__(var=["z1"], cond_var=["z2", "b1", "b2"], name="q_S")
        self.net = net

    def forward(self, z2: torch.Tensor, b1: torch.Tensor, b2: torch.Tensor) -> dict[str, torch.Tensor]:
        return _loc_scale(self.net(torch.cat([z2, b1, b2], -1)))


class _Transition(Normal):
    def __init__(self, net: nn.Module) -> None:
        super().__init__(var=["z2"], cond_var=["z1"], name="p_T")
        self.net = net

    def forward(self, z1: torch.Tensor) -> dict[str, torch.Tensor]:
        out = _loc_scale(self.net(z1))
        out["loc"] = z1 + out["loc"]  # a residual jump: small moves are easy to learn
        return out


class _Decoder(Bernoulli):
    def __init__(self, net: nn.Module) -> None:
        super().__init__(var=["x2"], cond_var=["z2"], name="p_D")
        self.net = net

    def forward(self, z2: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(z2)}


class TDVAE(nn.Module):
    """A TD-VAE: its networks, its distributions, its loss and jumpy predictions.

    Args:
        x_dim: frame size; z_dim, b_dim, hidden: latent, belief and MLP widths.
        max_jump: the largest jump ``t_2 - t_1`` seen in training.

    Example:
        >>> model = TDVAE(x_dim=6, z_dim=2, b_dim=8, hidden=8, max_jump=2)
        >>> x = torch.bernoulli(torch.full((3, 7, 6), 0.3))
        >>> model.loss(steps=7).eval(model.inputs(x)).shape
        torch.Size([3])
        >>> model.predict(x[:, :4], jumps=5).shape
        torch.Size([3, 5, 6])
    """

    def __init__(self, x_dim: int = 64, z_dim: int = 8, b_dim: int = 64, hidden: int = 64,
                 max_jump: int = 4) -> None:
        super().__init__()
        self.max_jump = max_jump
        self.beliefs = _Beliefs(nn.LSTM(x_dim, b_dim, batch_first=True))
        self.belief = _Belief(_mlp(b_dim, hidden, 2 * z_dim))
        self.q = _Smoothing(_mlp(z_dim + 2 * b_dim, hidden, 2 * z_dim))
        self.transition = _Transition(_mlp(z_dim, hidden, 2 * z_dim))
        self.decoder = _Decoder(_mlp(z_dim, hidden, x_dim))
        self.jump = _Jump(max_jump)

    @property
    def distributions(self) -> list[Distribution]:
        """The networks' distributions (for :class:`dgmcore.models.Model`)."""
        return [self.beliefs, self.belief, self.q, self.transition, self.decoder]

    def loss(self, steps: int) -> Loss:
        """The negative bound of each sequence of ``steps`` frames, summed over ``t_1``."""
        p_b1 = self.belief.replace_var(z="z1", b="b1")
        p_b2 = self.belief.replace_var(z="z2", b="b2")
        inner = (p_b2.log_prob() - self.transition.log_prob() - self.decoder.log_prob()).expectation(self.q)
        step = (KullbackLeibler(self.q, p_b1) + inner).expectation(p_b2)
        frames = IterativeLoss(step, max_iter=steps - self.max_jump, slice_step=self.jump, timestep_var="t")
        return frames.expectation(self.beliefs)

    def inputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The ``x_dict`` of :meth:`loss`."""
        return {"x": x}

    @torch.no_grad()
    def predict(self, context: torch.Tensor, jumps: int) -> torch.Tensor:
        """Frame probabilities ``(batch, jumps, x_dim)`` of ``jumps`` jumps after ``context``."""
        b = self.beliefs.sample({"x": context}, return_all=False)["b"][:, -1]
        z = self.belief.sample({"b": b}, return_all=False)["z"]
        walk = self.transition.replace_var(z1="z_prev", z2="z")
        out = rollout(walk, jumps, {"z_prev": z}, update_value={"z": "z_prev"})
        return torch.sigmoid(self.decoder.net(out["z"]))
