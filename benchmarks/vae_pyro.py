"""The VAE step in Pyro (a comparison column; needs the ``bench`` extra).

Model and guide around the same networks, the batch in a ``pyro.plate`` scaled
by ``1/batch`` so that the loss is the batch mean like every other column.
``Trace_ELBO`` estimates the KL by Monte-Carlo (the "mc" group);
``TraceMeanField_ELBO`` uses the analytic KL (the "analytic" group). One step
is ``SVI.step``: loss, backward, Adam step, gradients zeroed.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import torch
from torch import nn

from benchmarks.harness import Column, Inputs

__all__ = ["available", "pyro_columns"]

_ids = itertools.count()


def available() -> bool:
    try:
        import pyro  # noqa: F401
    except ImportError:
        return False
    return True


def pyro_columns(cfg: Any, nets: tuple[nn.Module, nn.Module], groups: tuple[str, ...]) -> list[Column]:
    """Pyro with ``TraceMeanField_ELBO`` (analytic) and ``Trace_ELBO`` (mc)."""
    import pyro
    import pyro.distributions as dist
    from pyro import poutine
    from pyro.infer import SVI, Trace_ELBO, TraceMeanField_ELBO

    scale = 1.0 / cfg.batch
    zeros, ones = torch.zeros(cfg.z_dim), torch.ones(cfg.z_dim)
    out = []
    for group in groups:
        enc, dec = copy.deepcopy(nets)
        tag = f"bench{next(_ids)}"  # each column its own entries in Pyro's global param store

        def model(x: torch.Tensor, dec: nn.Module = dec, tag: str = tag) -> None:
            pyro.module(f"{tag}_decoder", dec)
            with pyro.plate("data", x.shape[0]), poutine.scale(scale=scale):
                z = pyro.sample("z", dist.Normal(zeros, ones).to_event(1))
                pyro.sample("x", dist.Bernoulli(**{dec.gives: dec(z)}).to_event(1), obs=x)

        def guide(x: torch.Tensor, enc: nn.Module = enc, tag: str = tag) -> None:
            pyro.module(f"{tag}_encoder", enc)
            with pyro.plate("data", x.shape[0]), poutine.scale(scale=scale):
                loc, sd = enc(x)
                pyro.sample("z", dist.Normal(loc, sd).to_event(1))

        elbo = TraceMeanField_ELBO() if group == "analytic" else Trace_ELBO()
        svi = SVI(model, guide, pyro.optim.Adam({"lr": cfg.lr}), elbo)

        def step(x: Inputs, svi: Any = svi) -> None:
            svi.step(x["x"])

        def loss(x: Inputs, elbo: Any = elbo, model: Any = model, guide: Any = guide) -> torch.Tensor:
            return elbo.differentiable_loss(model, guide, x["x"])

        name = "Pyro TraceMeanField_ELBO" if group == "analytic" else "Pyro Trace_ELBO"
        out.append(Column(name, group, step, loss, [enc, dec]))
    return out
