"""The mixture posterior p(k|x): a given index is scored; without it, the (K, N) table of every k.

The reference is Bayes' rule written out with torch.distributions; Pixyz 0.3.3's
own posterior is compared in tests/pixyz/test_examples_multimodal.py (the GMM's EM).
"""

from __future__ import annotations

import dgmcore_families as fam
import pytest
import torch

from dgmcore.errors import InputTypeError, MissingVariableError, ShapeError

D = torch.distributions
LOCS = torch.tensor([[-2.0, 0.0], [0.0, 1.0], [2.0, -1.0]])
SCALES = torch.tensor([[1.0, 0.5], [0.7, 1.2], [1.5, 0.8]])
WEIGHTS = torch.tensor([0.2, 0.5, 0.3])


def _mixture(prior_as_distribution: bool) -> fam.MixtureModel:
    pairs = enumerate(zip(LOCS, SCALES, strict=True))
    comps = [fam.Normal(loc=m, scale=s, var=["x"], name=f"p_{i}") for i, (m, s) in pairs]
    prior = fam.Categorical(probs=WEIGHTS, var=["z"]) if prior_as_distribution else WEIGHTS
    return fam.MixtureModel(comps, prior=prior)


def _bayes(x: torch.Tensor) -> torch.Tensor:
    """log p(k|x), components first: (K, *x.shape[:-1])."""
    rows = zip(LOCS, SCALES, WEIGHTS, strict=True)
    joint = torch.stack([D.Normal(m, s).log_prob(x).sum(-1) + w.log() for m, s, w in rows])
    return joint - joint.logsumexp(0)


@pytest.mark.parametrize("prior_as_distribution", [False, True])
def test_without_the_index_the_density_is_the_table_of_every_component(prior_as_distribution: bool) -> None:
    post = _mixture(prior_as_distribution).posterior()
    k = post.var[0]
    x = torch.randn(7, 2) * 2
    table = post.get_log_prob({"x": x})
    assert table.shape == (3, 7)
    torch.testing.assert_close(table, _bayes(x))
    torch.testing.assert_close(post.prob().eval({"x": x}).sum(0), torch.ones(7))
    torch.testing.assert_close(post.log_prob().eval({"x": x}), _bayes(x))
    torch.testing.assert_close((-post.log_prob()).eval({"x": x}), -_bayes(x))  # the signed path
    torch.testing.assert_close(post.log_prob().mean().eval({"x": x}), _bayes(x).mean())  # Pixyz: all of it
    mixed = (2 * post.prob() - post.log_prob()).eval({"x": x})
    torch.testing.assert_close(mixed, 2 * _bayes(x).exp() - _bayes(x))
    # given the index: one value per batch element, the table's entry
    labels = torch.randint(0, 3, (7,))
    scored = post.get_log_prob({"x": x, k: labels})
    assert scored.shape == (7,)
    torch.testing.assert_close(scored, _bayes(x).gather(0, labels[None])[0])
    torch.testing.assert_close(post.log_prob().eval({"x": x, k: labels}), scored)


def test_the_table_puts_components_in_front_of_sample_dims() -> None:
    post = _mixture(False).posterior()
    x = torch.randn(4, 5, 2)
    torch.testing.assert_close(post.get_log_prob({"x": x}), _bayes(x))  # (K, 4, 5)


def test_a_table_is_not_broadcast_against_a_per_batch_term() -> None:
    p = _mixture(False)
    post = p.posterior()
    with pytest.raises(ShapeError, match=r"\(3, 6\).*\(6,\)"):
        (post.log_prob() + p.log_prob()).eval({"x": torch.randn(6, 2)})


def test_its_errors_are_typed() -> None:
    post = _mixture(False).posterior()
    with pytest.raises(MissingVariableError, match="'x'"):
        post.get_log_prob({"k": torch.zeros(3, dtype=torch.long)})
    with pytest.raises(MissingVariableError, match="'x'"):
        post.prob().eval({})
    with pytest.raises(InputTypeError):
        post.get_log_prob(torch.zeros(3, 2))  # type: ignore[arg-type]
    with pytest.raises(InputTypeError):
        post.sample(torch.zeros(1))  # type: ignore[arg-type]
