"""The deep Markov model (Krishnan, Shalit and Sontag, AAAI 2017), written with dgmcore.

The architecture of the paper and of Pyro's DMM example, batch first:

* emitter ``p(x_t|z_t) = Bernoulli(logits)`` of a two-hidden-layer ReLU MLP;
* gated transition ``p(z_t|z_{t-1}) = N(loc, scale)``: a gate mixes a linear map
  of ``z_{t-1}`` (initialised to the identity) with a proposed nonlinear mean;
* combiner ``q(z_t|z_{t-1}, h_t) = N(loc, scale)`` of
  ``(tanh(W z_{t-1}) + h_t) / 2``, where ``h_t`` is the state of an RNN run
  over the reversed sequence (it summarises ``x_{t:T}``: the "ST-R" inference
  network of the paper);
* ``z_0 = 0`` for both prior and posterior.

The negative ELBO of a batch is one :class:`~dgmcore_timeseries.IterativeLoss`
over the frames, in expectation over the RNN, with the mask of the padded batch::

    step = KullbackLeibler(q, prior) - p.log_prob().expectation(q)
    loss = IterativeLoss(step, series_var=["x", "h"], update_value={"z": "z_prev"},
                         mask_var="mask").expectation(rnn)
"""

from __future__ import annotations

from typing import Any

import torch
from dgmcore_families import Bernoulli, Normal
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Deterministic, Distribution
from dgmcore.losses import KullbackLeibler, Loss, Parameter
from dgmcore_timeseries.iterative import IterativeLoss
from dgmcore_timeseries.rollout import rollout

__all__ = ["DMM", "Combiner", "Emitter", "GatedTransition", "reverse_padded"]


class Emitter(nn.Module):
    """``z_t -> `` Bernoulli logits of ``x_t`` (two ReLU hidden layers)."""

    def __init__(self, x_dim: int, z_dim: int, emission_dim: int) -> None:
        super().__init__()
        self.z_to_hidden = nn.Linear(z_dim, emission_dim)
        self.hidden_to_hidden = nn.Linear(emission_dim, emission_dim)
        self.hidden_to_x = nn.Linear(emission_dim, x_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.hidden_to_hidden(F.relu(self.z_to_hidden(z))))
        return self.hidden_to_x(h)


class GatedTransition(nn.Module):
    """``z_{t-1} -> (loc, scale)`` of ``p(z_t|z_{t-1})``, the gated transition of the paper."""

    def __init__(self, z_dim: int, transition_dim: int) -> None:
        super().__init__()
        self.gate_in, self.gate_out = nn.Linear(z_dim, transition_dim), nn.Linear(transition_dim, z_dim)
        self.mean_in, self.mean_out = nn.Linear(z_dim, transition_dim), nn.Linear(transition_dim, z_dim)
        self.z_to_loc = nn.Linear(z_dim, z_dim)
        self.to_scale = nn.Linear(z_dim, z_dim)
        with torch.no_grad():  # start as the identity map, as in the paper's code
            self.z_to_loc.weight.copy_(torch.eye(z_dim))
            self.z_to_loc.bias.zero_()

    def forward(self, z_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gate = torch.sigmoid(self.gate_out(F.relu(self.gate_in(z_prev))))
        proposed = self.mean_out(F.relu(self.mean_in(z_prev)))
        loc = (1 - gate) * self.z_to_loc(z_prev) + gate * proposed
        return loc, F.softplus(self.to_scale(F.relu(proposed)))


class Combiner(nn.Module):
    """``(z_{t-1}, h_t) -> (loc, scale)`` of ``q(z_t|z_{t-1}, h_t)``."""

    def __init__(self, z_dim: int, rnn_dim: int) -> None:
        super().__init__()
        self.z_to_hidden = nn.Linear(z_dim, rnn_dim)
        self.to_loc, self.to_scale = nn.Linear(rnn_dim, z_dim), nn.Linear(rnn_dim, z_dim)

    def forward(self, z_prev: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        combined = 0.5 * (torch.tanh(self.z_to_hidden(z_prev)) + h)
        return self.to_loc(combined), F.softplus(self.to_scale(combined))


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each right-padded sequence of ``x`` ``(batch, T, ...)`` reversed within its length.

    Example:
        >>> x = torch.tensor([[1, 2, 3], [4, 5, 0]]).unsqueeze(-1)
        >>> reverse_padded(x, torch.tensor([3, 2])).squeeze(-1).tolist()
        [[3, 2, 1], [5, 4, 0]]
    """
    steps = torch.arange(x.shape[1], device=x.device).expand(x.shape[0], -1)
    back = lengths.to(steps.device).unsqueeze(1) - 1 - steps
    index = torch.where(back >= 0, back, steps)
    return x.gather(1, index.reshape(index.shape + (1,) * (x.dim() - 2)).expand_as(x))


class _Summaries(Deterministic):
    def __init__(self, rnn: nn.RNN) -> None:
        super().__init__(var=["h"], cond_var=["x", "mask"], name="f")
        self.rnn = rnn

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        lengths = mask.sum(1).long()
        h, _ = self.rnn(reverse_padded(x, lengths))
        return {"h": reverse_padded(h, lengths)}


class _Posterior(Normal):
    def __init__(self, combiner: Combiner) -> None:
        super().__init__(var=["z"], cond_var=["z_prev", "h"], name="q")
        self.combiner = combiner

    def forward(self, z_prev: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.combiner(z_prev, h)
        return {"loc": loc, "scale": scale}


class _Prior(Normal):
    def __init__(self, transition: GatedTransition) -> None:
        super().__init__(var=["z"], cond_var=["z_prev"], name="p")
        self.transition = transition

    def forward(self, z_prev: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.transition(z_prev)
        return {"loc": loc, "scale": scale}


class _Emission(Bernoulli):
    def __init__(self, emitter: Emitter) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.emitter = emitter

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.emitter(z)}


class DMM(nn.Module):
    """A deep Markov model: its networks, its distributions and its negative ELBO.

    The distributions are ``encoder`` (``f(h|x, mask)``, the reversed RNN),
    ``q`` (``q(z|z_prev, h)``), ``prior`` (``p(z|z_prev)``) and ``p``
    (``p(x|z)``); :meth:`loss` is the objective, :meth:`inputs` its ``x_dict``.

    Args:
        x_dim: frame size (88 piano keys).
        z_dim, emission_dim, transition_dim, rnn_dim: widths (Pyro's example
            uses 100, 100, 200 and 600).

    Example:
        >>> model = DMM(x_dim=6, z_dim=2, emission_dim=8, transition_dim=8, rnn_dim=8)
        >>> x, mask = torch.bernoulli(torch.full((3, 5, 6), 0.3)), torch.ones(3, 5)
        >>> loss = model.loss()
        >>> print(loss)
        E_{f(h|x,mask)}[sum_{t=1}^{T} (KL[q(z|z_prev,h)||p(z|z_prev)] - E_{q(z|z_prev,h)}[log p(x|z)])]
        >>> loss.eval(model.inputs(x, mask)).shape  # one negative ELBO per sequence
        torch.Size([3])
        >>> model.generate(4, steps=10)["x"].shape
        torch.Size([4, 10, 6])
    """

    def __init__(self, x_dim: int = 88, z_dim: int = 100, emission_dim: int = 100,
                 transition_dim: int = 200, rnn_dim: int = 600) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.emitter = Emitter(x_dim, z_dim, emission_dim)
        self.transition = GatedTransition(z_dim, transition_dim)
        self.combiner = Combiner(z_dim, rnn_dim)
        self.rnn = nn.RNN(x_dim, rnn_dim, nonlinearity="relu", batch_first=True)
        self.encoder = _Summaries(self.rnn)
        self.q, self.prior = _Posterior(self.combiner), _Prior(self.transition)
        self.p = _Emission(self.emitter)

    @property
    def distributions(self) -> list[Distribution]:
        """The four distributions (for :class:`dgmcore.models.Model`)."""
        return [self.encoder, self.q, self.prior, self.p]

    def loss(self, analytic: bool = True, annealed: bool = False) -> Loss:
        """The negative ELBO of each sequence (sum over its frames): analytic KL or single-sample MC.

        With ``annealed``, the KL term of each frame is weighted by the parameter
        ``beta`` of the ``x_dict`` (KL annealing, as in the paper's training).
        """
        if analytic:
            kl: Loss = KullbackLeibler(self.q, self.prior)
            if annealed:
                kl = Parameter("beta") * kl
            step = kl - self.p.log_prob().expectation(self.q)
        else:
            kl = self.q.log_prob() - self.prior.log_prob()
            if annealed:
                kl = Parameter("beta") * kl
            step = (kl - self.p.log_prob()).expectation(self.q)
        iterate = IterativeLoss(step, series_var=["x", "h"], update_value={"z": "z_prev"}, mask_var="mask")
        return iterate.expectation(self.encoder)

    def inputs(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, beta: float | None = None
    ) -> dict[str, Any]:
        """The ``x_dict`` of :meth:`loss`: frames, mask (all ones by default), ``z_0 = 0``
        and, when given, the KL weight ``beta``."""
        if mask is None:
            mask = x.new_ones(x.shape[:2])
        out: dict[str, Any] = {"x": x, "mask": mask, "z_prev": x.new_zeros(x.shape[0], self.z_dim)}
        if beta is not None:  # a tensor once, not a number converted again at every frame
            out["beta"] = torch.as_tensor(beta, dtype=x.dtype, device=x.device)
        return out

    @torch.no_grad()
    def generate(self, n: int, steps: int) -> dict[str, torch.Tensor]:
        """``n`` sequences of ``steps`` frames from the prior: ``z``, ``x``, ``probs`` (batch first)."""
        z0 = self.combiner.to_loc.weight.new_zeros(n, self.z_dim)  # on the networks' device
        out = rollout(self.p * self.prior, steps, {"z_prev": z0},
                      update_value={"z": "z_prev"})
        out["probs"] = torch.sigmoid(self.emitter(out["z"]))
        return out
