"""The adversarial terms give what Pixyz 0.3.3 gives on the same networks and inputs (a peer reference)."""

from __future__ import annotations

import pytest
import torch
from dgmcore_adversarial import (
    AdversarialJensenShannon,
    AdversarialKullbackLeibler,
    AdversarialWassersteinDistance,
)
from nets import Discriminator, Generator

from dgmcore.distributions import EmpiricalDistribution

pixyz_dists = pytest.importorskip("pixyz.distributions")
pixyz_losses = pytest.importorskip("pixyz.losses")

CASES = {
    "js": (AdversarialJensenShannon, "AdversarialJensenShannon", {}, True),
    "js-minimax": (AdversarialJensenShannon, "AdversarialJensenShannon", {"inverse_g_loss": False}, True),
    "kl": (AdversarialKullbackLeibler, "AdversarialKullbackLeibler", {}, True),
    "wasserstein": (AdversarialWassersteinDistance, "AdversarialWassersteinDistance", {}, False),
}


def _pixyz_twin(module: torch.nn.Module, var: str, cond: str, name: str):
    class Twin(pixyz_dists.Deterministic):
        def __init__(self):
            super().__init__(var=[var], cond_var=[cond], name=name)
            self.net = module.net

        def forward(self, **inputs):
            return {var: self.net(inputs[cond])}

    return Twin()


@pytest.mark.parametrize("case", sorted(CASES))
def test_generator_and_discriminator_losses_match_pixyz(case):
    ours_cls, pixyz_name, kw, sigmoid = CASES[case]
    g, d = Generator(), Discriminator(sigmoid=sigmoid)
    ours = ours_cls(g, EmpiricalDistribution(["x"]), d, **kw)
    pixyz_kw = dict(kw, clip_value=1.0) if case == "wasserstein" else kw
    p_data = pixyz_dists.EmpiricalDistribution(["x"])
    theirs = getattr(pixyz_losses, pixyz_name)(
        _pixyz_twin(g, "x", "z", "p"), p_data, _pixyz_twin(d, "t", "x", "d"), **pixyz_kw
    )
    data = {"x": torch.randn(16, 3), "z": torch.randn(16, 2)}
    torch.testing.assert_close(ours.mean().eval(data), theirs.eval(data))
    torch.testing.assert_close(ours.loss_train(data), theirs.eval(data, discriminator=True))
