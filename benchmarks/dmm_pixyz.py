"""The DMM step in Pixyz 0.3.3 (a comparison column; needs the ``bench`` extra).

Written as Pixyz writes a DMM: the per-frame objective summed over time by
Pixyz's ``IterativeLoss`` (time-first tensors, so the batch is transposed
once), the backward RNN a ``Deterministic`` distribution taken in expectation.
Same networks and weights as every other column; cache on and off as in
:mod:`benchmarks.vae_pixyz`.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from benchmarks.harness import Column, Inputs
from benchmarks.vae_pixyz import available, uncached_get_params

__all__ = ["available", "pixyz_columns"]


def pixyz_columns(cfg: Any, nets: tuple[nn.Module, ...], groups: tuple[str, ...]) -> list[Column]:
    """Pixyz, cache on and off, for each objective group."""
    import pixyz.distributions as pd
    import pixyz.losses as pl
    import pixyz.models as pm

    plain_get_params = uncached_get_params()

    def classes(cache: bool) -> tuple[type, ...]:
        class RNN(pd.Deterministic):
            def __init__(self, net: nn.Module) -> None:
                super().__init__(var=["h"], cond_var=["x"], name="f")
                self.net = net

            def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
                return {"h": self.net(x.transpose(0, 1)).transpose(0, 1)}

        class Inference(pd.Normal):
            def __init__(self, net: nn.Module) -> None:
                super().__init__(var=["z"], cond_var=["z_prev", "h"], name="q")
                self.net = net

            def forward(self, z_prev: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
                loc, scale = self.net(z_prev, h)
                return {"loc": loc, "scale": scale}

        class Prior(pd.Normal):
            def __init__(self, net: nn.Module) -> None:
                super().__init__(var=["z"], cond_var=["z_prev"], name="p")
                self.net = net

            def forward(self, z_prev: torch.Tensor) -> dict[str, torch.Tensor]:
                loc, scale = self.net(z_prev)
                return {"loc": loc, "scale": scale}

        class Generator(pd.Bernoulli):
            def __init__(self, net: nn.Module) -> None:
                super().__init__(var=["x"], cond_var=["z"], name="p")
                self.net = net

            def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
                out = self.net(z)
                return {"probs": out if self.net.gives == "probs" else torch.sigmoid(out)}

        if not cache:
            for cls in (RNN, Inference, Prior, Generator):
                cls.get_params = plain_get_params  # type: ignore[attr-defined]
        return RNN, Inference, Prior, Generator

    out = []
    for group in groups:
        for cache in (True, False):
            mine = copy.deepcopy(nets)
            rnn, q, prior, p = (cls(net) for cls, net in zip(classes(cache), mine, strict=True))
            if group == "analytic":
                step_loss = pl.KullbackLeibler(q, prior) - pl.Expectation(q, pl.LogProb(p))
            else:
                step_loss = -pl.ELBO(p * prior, q)
            series = pl.IterativeLoss(step_loss, series_var=["x", "h"], update_value={"z": "z_prev"})
            loss = series.expectation(rnn).mean()
            model = pm.Model(loss, distributions=[rnn, q, prior, p], optimizer=torch.optim.Adam,
                             optimizer_params={"lr": cfg.lr})

            def inputs(x: Inputs, z_dim: int = cfg.z_dim) -> dict[str, torch.Tensor]:
                xs = x["x"]
                return {"x": xs.transpose(0, 1), "z_prev": xs.new_zeros(xs.shape[0], z_dim)}

            def step(x: Inputs, model: Any = model, inputs: Any = inputs) -> None:
                model.train(inputs(x))

            def value(x: Inputs, loss: Any = loss, inputs: Any = inputs) -> torch.Tensor:
                return loss.eval(inputs(x))

            label = "analytic" if group == "analytic" else "MC"
            name = f"Pixyz {label}" + ("" if cache else ", cache off")
            out.append(Column(name, group, step, value, mine))
    return out
