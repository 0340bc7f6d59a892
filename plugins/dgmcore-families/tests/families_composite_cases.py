"""The conformance cases of the plugin's mixtures and products of experts.

Run by ``test_conformance.py`` with the other families' cases. References are
``torch.distributions`` mixtures built from the same components, or closed forms
written out here (products of Gaussian experts, posteriors over the components).
"""

from __future__ import annotations

import math

import dgmcore_families as fam
import torch
from torch.nn import functional as F

from dgmcore.testing import Case, Formula

D = torch.distributions
B, N = 4, 3  # batch, features


def _rand(*shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    return low + (high - low) * torch.rand(*shape)


def product_reference(locs, scales, present=None):
    """Closed-form product of N(0, 1) and the Gaussian experts (stacked on dim 0)."""
    prec = scales.pow(-2) if present is None else torch.where(present, scales.pow(-2), 0.0)
    total = 1.0 + prec.sum(0)
    return D.Normal((prec * locs).sum(0) / total, total.rsqrt())


# Constants are made when used, so that they land on torch's default device (see the CUDA test).
def w_expert():
    return torch.linspace(-1.0, 1.0, 4 * N).reshape(4, N)


class AttributeExpert(fam.Normal):
    """p(z|a) for ElementWiseProductOfNormal: linear in the attribute vector a (4 elements)."""

    def __init__(self):
        super().__init__(var=["z"], cond_var=["a"], features_shape=[N])
        self.register_buffer("w", w_expert())

    def forward(self, a):
        return {"loc": a @ self.w, "scale": F.softplus(a @ self.w.flip(0)) + 0.5}


def _gauss_experts():
    return [fam.Normal(loc=v, scale="s" + v, var=["z"], cond_var=[v, "s" + v], name="q") for v in "xy"]


def _expert_inputs():
    return {
        "x": torch.randn(B, N),
        "sx": _rand(B, N, low=0.5),
        "y": torch.randn(B, N),
        "sy": _rand(B, N, low=0.5),
    }


def _mixture_components():
    return [
        fam.Normal(loc=float(m), scale=0.5 + i / 4, var=["x"], features_shape=[2])
        for i, m in enumerate((-2, 0, 3))
    ]


def mix_w():
    return torch.tensor([0.2, 0.5, 0.3])


def _mixture_reference(w=None):
    w = mix_w() if w is None else w
    locs = torch.tensor([-2.0, 0.0, 3.0]).unsqueeze(-1).expand(3, 2)
    scales = torch.tensor([0.5, 0.75, 1.0]).unsqueeze(-1).expand(3, 2)
    return D.MixtureSameFamily(D.Categorical(w), D.Independent(D.Normal(locs, scales), 1))


def _posterior_reference(x):
    comps = D.Independent(
        D.Normal(
            torch.tensor([[-2.0] * 2, [0.0] * 2, [3.0] * 2]), torch.tensor([[0.5] * 2, [0.75] * 2, [1.0] * 2])
        ),
        1,
    )
    return D.Categorical(logits=mix_w().log() + comps.log_prob(x["x"].unsqueeze(-2)))


def _elementwise_reference(x):
    a = x["a"]
    w = w_expert()
    experts = [a[:, i : i + 1] * w[i] for i in range(4)]
    scales = [F.softplus(a[:, i : i + 1] * w.flip(0)[i]) + 0.5 for i in range(4)]
    present = (a != 0).T.unsqueeze(-1).expand(4, B, N)
    return product_reference(torch.stack(experts), torch.stack(scales), present)


# A mixture draws its component discretely: its reparameterised samples do not depend on the
# weights (pathwise), while its log-density does. The kit checks both.
PATHWISE_FREE = ("log_weights",)


def c(name, build, inputs=None, reference=None, **options):
    return Case(name, build, inputs, reference, options)


CASES = [
    c(
        "MixtureModel-weights",
        lambda: fam.MixtureModel(_mixture_components(), [0.2, 0.5, 0.3]),
        None,
        lambda x: _mixture_reference(),
        no_rsample_grad=PATHWISE_FREE,
        batch_n=32,  # so that every component is drawn and gets its pathwise gradient
    ),
    c(
        "MixtureModel-prior",
        lambda: fam.MixtureModel(
            _mixture_components(), fam.Categorical(probs="w", var=["k"], cond_var=["w"], name="pi")
        ),
        lambda: {"w": F.softmax(torch.randn(B, 3), -1)},
        lambda x: _mixture_reference(x["w"]),
    ),
    c(
        "PosteriorMixtureModel",
        lambda: fam.MixtureModel(_mixture_components(), [0.2, 0.5, 0.3]).posterior(),
        lambda: {"x": torch.randn(B, 2) * 2},
        _posterior_reference,
        # without k its density is the (K, N) table of every component (Pixyz's), not a
        # MissingVariableError: tests/test_mixture_posterior.py checks its errors instead
        skip=["errors"],
    ),
    c(
        "MixtureOfNormal",
        lambda: fam.MixtureOfNormal(_gauss_experts(), [0.3, 0.7]),
        _expert_inputs,
        lambda x: D.MixtureSameFamily(
            D.Categorical(torch.tensor([0.3, 0.7])),
            D.Independent(D.Normal(torch.stack([x["x"], x["y"]], 1), torch.stack([x["sx"], x["sy"]], 1)), 1),
        ),
        no_rsample_grad=PATHWISE_FREE,
    ),
    c(
        "MixtureOfExperts",
        lambda: fam.MixtureOfExperts(
            [
                fam.Laplace(loc="x", scale=1.0, var=["z"], cond_var=["x"]),
                fam.Normal(loc="y", scale=0.5, var=["z"], cond_var=["y"]),
            ]
        ),
        lambda: {"x": torch.randn(B, N), "y": torch.randn(B, N)},
        lambda x: Formula(
            lambda v: (
                torch.logsumexp(
                    torch.stack(
                        [
                            D.Laplace(x["x"], 1.0).log_prob(v).sum(-1),
                            D.Normal(x["y"], 0.5).log_prob(v).sum(-1),
                        ]
                    ),
                    0,
                )
                + math.log(0.5)
            )
        ),
        no_rsample_grad=PATHWISE_FREE,
    ),
    c(
        "ProductOfNormal",
        lambda: fam.ProductOfNormal(_gauss_experts()),
        _expert_inputs,
        lambda x: product_reference(torch.stack([x["x"], x["y"]]), torch.stack([x["sx"], x["sy"]])),
    ),
    c(
        "ProductOfNormal-one-missing",
        lambda: fam.ProductOfNormal(_gauss_experts()),
        lambda: {"x": torch.randn(B, N), "sx": _rand(B, N, low=0.5)},
        lambda x: product_reference(x["x"][None], x["sx"][None]),
    ),
    c(
        "ProductOfNormal-prior-only",
        lambda: fam.ProductOfNormal(_gauss_experts(), features_shape=[N]),
        None,
        lambda x: D.Normal(torch.zeros(N), torch.ones(N)),
    ),
    c(
        "ProductOfNormal-mask",
        lambda: fam.ProductOfNormal(_gauss_experts(), mask_var="present"),
        lambda: {
            **_expert_inputs(),
            "present": torch.tensor([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=torch.bool),
        },
        lambda x: product_reference(
            torch.stack([x["x"], x["y"]]),
            torch.stack([x["sx"], x["sy"]]),
            x["present"].T.unsqueeze(-1).expand(2, B, N),
        ),
    ),
    c(
        "ElementWiseProductOfNormal",
        lambda: fam.ElementWiseProductOfNormal(AttributeExpert()),
        lambda: {"a": torch.randn(B, 4) * (torch.rand(B, 4) > 0.4)},
        _elementwise_reference,
    ),
]
