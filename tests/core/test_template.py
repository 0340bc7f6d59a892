"""The Distribution template: a subclass written to the docstring's requirements is complete.

Issue 13's probe: a subclass that implemented only ``sample`` and
``get_log_prob`` silently used the score-function estimator in every
``Expectation``, had no memo and reported ``distribution_name``
"Distribution". With the template it declares ``has_reparam`` (or is refused),
the public methods check and sum for it, and the memo is one call away.
"""

from __future__ import annotations

import math

import pytest
import torch

from dgmcore import memo
from dgmcore.distributions import Distribution
from dgmcore.errors import DGMError, InputTypeError, MissingVariableError, ShapeError
from dgmcore.losses import Expectation, Loss


class Box(Distribution):
    """Uniform on [0, width]^dim, reparameterised as width * U."""

    has_reparam = True

    def __init__(self, width: float = 2.0, dim: int = 3) -> None:
        super().__init__(var=["u"], features_shape=[dim])
        self.width = torch.nn.Parameter(torch.tensor(width))
        self.draws = 0

    def _draw(self, x_dict, batch_n, sample_shape, reparam):  # type: ignore[no-untyped-def]
        self.draws += 1
        return {"u": self.width * torch.rand(*sample_shape, batch_n or 1, *self.features_shape)}

    def _log_density(self, x_dict):  # type: ignore[no-untyped-def]
        u = x_dict["u"]
        inside = (u >= 0) & (u <= self.width)
        return torch.where(inside, -self.width.log(), torch.full_like(u, -math.inf)), 1


def test_the_template_checks_sums_and_names() -> None:
    box = Box()
    assert box.distribution_name == "Box"
    u = torch.ones(4, 3)
    torch.testing.assert_close(box.get_log_prob({"u": u}), torch.full((4,), -3 * math.log(2.0)))
    assert box.get_log_prob({"u": u}, sum_features=False).shape == (4, 3)
    assert box.get_log_prob({"u": u}, feature_dims=[]).shape == (4, 3)
    with pytest.raises(ShapeError, match="feature_dims"):
        box.get_log_prob({"u": u}, feature_dims=[0])  # the batch
    with pytest.raises(MissingVariableError, match=r"p\(u\).*'u'"):
        box.get_log_prob({"v": u})
    with pytest.raises(InputTypeError, match="x_dict"):
        box.get_log_prob(u)  # type: ignore[arg-type]
    with pytest.raises(InputTypeError, match="sample_shape"):
        box.sample(sample_shape=True)  # type: ignore[arg-type]
    out = box.sample({"other": u}, batch_n=5, sample_shape=(2,))
    assert out["other"] is u and out["u"].shape == (2, 5, 3)
    assert set(box.sample(batch_n=2, return_all=False)) == {"u"}


def test_an_expectation_over_it_takes_the_pathwise_gradient() -> None:
    # d/dw E[sum(u)] = E[sum(U)] = dim / 2 by the pathwise estimator; the score function has none here
    box = Box(width=2.0, dim=3)
    loss = Expectation(box, _SumOf("u"), sample_shape=(4000,)).mean()
    loss.eval({}).backward()
    assert box.width.grad is not None
    assert abs(float(box.width.grad) - 1.5) < 0.1


class _SumOf(Loss):  # the sum of a variable's features
    def __init__(self, var: str) -> None:
        super().__init__([var])
        self.var = var

    def _eval(self, x, samples):  # type: ignore[no-untyped-def]
        return x[self.var].sum(-1)

    def _text(self) -> str:
        return f"sum({self.var})"


def test_a_class_that_draws_must_declare_has_reparam() -> None:
    class Undeclared(Distribution):
        def _draw(self, x_dict, batch_n, sample_shape, reparam):  # type: ignore[no-untyped-def]
            return {"u": torch.zeros(batch_n or 1)}

    with pytest.raises(DGMError, match="has_reparam"):
        Undeclared(var=["u"])

    class Legacy(Distribution):  # overriding the public sample counts as drawing too
        def sample(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return {}

    with pytest.raises(DGMError, match="has_reparam"):
        Legacy(var=["u"])


def test_reparam_is_refused_where_it_is_not_declared() -> None:
    class Coin(Distribution):
        has_reparam = False

        def _draw(self, x_dict, batch_n, sample_shape, reparam):  # type: ignore[no-untyped-def]
            return {"c": torch.randint(0, 2, (*sample_shape, batch_n or 1)).float()}

    with pytest.raises(DGMError, match="reparameterised"):
        Coin(var=["c"]).sample(reparam=True)


def test_its_results_can_be_memoized_through_the_one_lookup() -> None:
    class Cached(Box):
        def _draw(self, x_dict, batch_n, sample_shape, reparam):  # type: ignore[no-untyped-def]
            draw = super()._draw
            return memo.cached(self, [], lambda: draw(x_dict, batch_n, sample_shape, reparam))

    box = Cached()
    with memo.scope():
        a, b = box.sample(return_all=False), box.sample(return_all=False)
    assert a["u"] is b["u"] and box.draws == 1
    box.sample()
    assert box.draws == 2  # outside a scope: drawn afresh
