"""The DMM step in Pyro (a comparison column; needs the ``bench`` extra).

Model and guide unroll the frames with a Python loop (``pyro.markov``), the
batch in a ``pyro.plate`` scaled by ``1/batch``. ``TraceMeanField_ELBO`` gives
the analytic-KL objective, ``Trace_ELBO`` the Monte-Carlo one.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import torch
from torch import nn

from benchmarks.harness import Column, Inputs
from benchmarks.vae_pyro import available

__all__ = ["available", "pyro_columns"]

_ids = itertools.count()


def pyro_columns(cfg: Any, nets: tuple[nn.Module, ...], groups: tuple[str, ...]) -> list[Column]:
    """Pyro with ``TraceMeanField_ELBO`` (analytic) and ``Trace_ELBO`` (mc)."""
    import pyro
    import pyro.distributions as dist
    from pyro import poutine
    from pyro.infer import SVI, Trace_ELBO, TraceMeanField_ELBO

    scale, z_dim = 1.0 / cfg.batch, cfg.z_dim
    out = []
    for group in groups:
        rnn, combiner, transition, emitter = mine = copy.deepcopy(nets)
        tag = f"dmm{next(_ids)}"  # each column its own entries in Pyro's global param store

        def model(x: torch.Tensor, transition: nn.Module = transition, emitter: nn.Module = emitter,
                  tag: str = tag) -> None:
            pyro.module(f"{tag}_transition", transition)
            pyro.module(f"{tag}_emitter", emitter)
            z = x.new_zeros(x.shape[0], z_dim)
            with pyro.plate("data", x.shape[0]), poutine.scale(scale=scale):
                for t in pyro.markov(range(x.shape[1])):
                    loc, sd = transition(z)
                    z = pyro.sample(f"z_{t}", dist.Normal(loc, sd).to_event(1))
                    x_t = dist.Bernoulli(**{emitter.gives: emitter(z)}).to_event(1)
                    pyro.sample(f"x_{t}", x_t, obs=x[:, t])

        def guide(x: torch.Tensor, rnn: nn.Module = rnn, combiner: nn.Module = combiner,
                  tag: str = tag) -> None:
            pyro.module(f"{tag}_rnn", rnn)
            pyro.module(f"{tag}_combiner", combiner)
            h = rnn(x)
            z = x.new_zeros(x.shape[0], z_dim)
            with pyro.plate("data", x.shape[0]), poutine.scale(scale=scale):
                for t in pyro.markov(range(x.shape[1])):
                    loc, sd = combiner(z, h[:, t])
                    z = pyro.sample(f"z_{t}", dist.Normal(loc, sd).to_event(1))

        elbo = TraceMeanField_ELBO() if group == "analytic" else Trace_ELBO()
        svi = SVI(model, guide, pyro.optim.Adam({"lr": cfg.lr}), elbo)

        def step(x: Inputs, svi: Any = svi) -> None:
            svi.step(x["x"])

        def loss(x: Inputs, elbo: Any = elbo, model: Any = model, guide: Any = guide) -> torch.Tensor:
            return elbo.differentiable_loss(model, guide, x["x"])

        name = "Pyro TraceMeanField_ELBO" if group == "analytic" else "Pyro Trace_ELBO"
        out.append(Column(name, group, step, loss, list(mine)))
    return out
