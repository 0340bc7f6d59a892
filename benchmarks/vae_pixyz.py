"""The VAE step in Pixyz 0.3.3 (a comparison column; needs the ``bench`` extra).

Written as the Pixyz documentation writes a VAE, around the same networks.
Pixyz's ``Bernoulli`` takes only ``probs``, so its decoder applies a sigmoid
to the shared logits (unless the network already ends with one, ``decoder="probs"``)
and Pixyz turns them back into logits to score: that is the cost of its API,
and the values agree with the other columns.

Pixyz memoizes ``get_params`` with an LRU cache fixed when Pixyz is imported.
The "cache off" column calls the undecorated method instead, so both settings
run in one process.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from benchmarks.harness import Column, Inputs

__all__ = ["available", "pixyz_columns", "uncached_get_params"]


def available() -> bool:
    try:
        import pixyz  # noqa: F401
    except ImportError:
        return False
    return True


def uncached_get_params() -> Callable[..., Any]:
    """Pixyz's ``DistributionBase.get_params`` without its LRU cache."""
    from pixyz.distributions.distributions import DistributionBase

    fn: Any = DistributionBase.get_params
    # the decorator wraps: frozen_wrapper -> lru_cache(wrapped_user_function) -> get_params
    for cell in fn.__closure__ or ():
        inner = cell.cell_contents
        if isinstance(inner, functools._lru_cache_wrapper):
            return inner.__wrapped__
    raise RuntimeError("this Pixyz version does not cache get_params as 0.3.3 does")


def pixyz_columns(cfg: Any, nets: tuple[nn.Module, nn.Module], groups: tuple[str, ...]) -> list[Column]:
    """Pixyz, cache on and off, for each objective group."""
    import pixyz.distributions as pd
    import pixyz.losses as pl
    import pixyz.models as pm

    plain_get_params = uncached_get_params()

    def classes(cache: bool) -> tuple[type, type]:
        class Encoder(pd.Normal):
            def __init__(self, net: nn.Module) -> None:
                super().__init__(var=["z"], cond_var=["x"], name="q")
                self.net = net

            def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
                loc, scale = self.net(x)
                return {"loc": loc, "scale": scale}

        class Decoder(pd.Bernoulli):
            def __init__(self, net: nn.Module) -> None:
                super().__init__(var=["x"], cond_var=["z"], name="p")
                self.net = net

            def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
                out = self.net(z)
                return {"probs": out if self.net.gives == "probs" else torch.sigmoid(out)}

        if not cache:
            Encoder.get_params = plain_get_params  # type: ignore[method-assign]
            Decoder.get_params = plain_get_params  # type: ignore[method-assign]
        return Encoder, Decoder

    out = []
    for group in groups:
        for cache in (True, False):
            encoder_cls, decoder_cls = classes(cache)
            enc, dec = copy.deepcopy(nets)
            q, p = encoder_cls(enc), decoder_cls(dec)
            prior = pd.Normal(
                loc=torch.tensor(0.0), scale=torch.tensor(1.0), var=["z"], features_shape=[cfg.z_dim],
                name="p_prior",
            )
            if group == "analytic":
                loss = (pl.KullbackLeibler(q, prior) - pl.Expectation(q, pl.LogProb(p))).mean()
            else:
                loss = -pl.ELBO(p * prior, q).mean()
            model = pm.Model(loss, distributions=[q, p], optimizer=torch.optim.Adam,
                             optimizer_params={"lr": cfg.lr})

            def step(x: Inputs, model: Any = model) -> None:
                model.train(x)

            label = "analytic" if group == "analytic" else "MC"
            name = f"Pixyz {label}" + ("" if cache else ", cache off")
            out.append(Column(name, group, step, model.loss_cls.eval, [enc, dec]))
    return out
