"""The adversarial terms: values against hand-written formulas, gradient isolation, text, errors."""

from __future__ import annotations

import copy

import pytest
import torch
from dgmcore_adversarial import (
    AdversarialJensenShannon,
    AdversarialKullbackLeibler,
    AdversarialWassersteinDistance,
    DensityRatio,
    VariableMismatchError,
)
from dgmcore_families import Normal
from nets import Discriminator, Generator, generator_model

from dgmcore.distributions import EmpiricalDistribution
from dgmcore.errors import (
    InputTypeError,
    MissingVariableError,
    NonFiniteLossError,
    ParameterError,
    ShapeError,
)
from dgmcore.models import Model

KINDS = {
    "js": (AdversarialJensenShannon, {}, True),
    "js-minimax": (AdversarialJensenShannon, {"inverse_g_loss": False}, True),
    "kl": (AdversarialKullbackLeibler, {}, True),
    "wasserstein": (AdversarialWassersteinDistance, {"gradient_penalty": 10.0}, False),
    "wasserstein-clip": (AdversarialWassersteinDistance, {"clip_value": 0.05}, False),
}


def _data(n: int = 32) -> dict[str, torch.Tensor]:
    return {"x": torch.randn(n, 3) + 1.0}


def _conditional(kind: str):
    """p(x|z) with z given: no randomness, so the value has a closed form."""
    cls, kw, sigmoid = KINDS[kind]
    g, d = Generator(), Discriminator(sigmoid=sigmoid)
    return g, d, cls(g, EmpiricalDistribution(["x"]), d, **kw)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_generator_value_is_the_formula(kind):
    g, d, loss = _conditional(kind)
    x, z = torch.randn(8, 3), torch.randn(8, 2)
    got = loss.eval({"x": x, "z": z})
    y_p, y_q = d.net(g.net(z)).squeeze(-1), d.net(x).squeeze(-1)
    expected = {
        "js": -torch.log(1 - y_p) - torch.log(y_q),
        "js-minimax": torch.log(y_p) + torch.log(1 - y_q),
        "kl": torch.log(y_p) - torch.log(1 - y_p),
        "wasserstein": y_p - y_q,
        "wasserstein-clip": y_p - y_q,
    }[kind]
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("kind", ["js", "kl"])
def test_discriminator_loss_is_the_binary_cross_entropy(kind):
    g, d, loss = _conditional(kind)
    x, z = torch.randn(8, 3), torch.randn(8, 2)
    y_p, y_q = d.net(g.net(z)).squeeze(-1), d.net(x).squeeze(-1)
    expected = -torch.log(y_p).mean() - torch.log(1 - y_q).mean()
    torch.testing.assert_close(loss.loss_train({"x": x, "z": z}), expected)


def test_critic_loss_without_penalty_is_the_mean_difference():
    g, d = Generator(), Discriminator(sigmoid=False)
    loss = AdversarialWassersteinDistance(g, EmpiricalDistribution(["x"]), d)
    x, z = torch.randn(8, 3), torch.randn(8, 2)
    expected = d.net(x).mean() - d.net(g.net(z)).mean()
    torch.testing.assert_close(loss.loss_train({"x": x, "z": z}), expected)


def _grads(module):
    return [t.grad for t in module.parameters()]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_steps_put_gradients_only_into_their_own_networks(kind):
    cls, kw, sigmoid = KINDS[kind]
    g, p = generator_model()
    d = Discriminator(sigmoid=sigmoid)
    loss = cls(p, EmpiricalDistribution(["x"]), d, **kw)
    model = Model(loss.mean(), [g], optimizer_params={"lr": 1e-2})
    d_before = [t.detach().clone() for t in d.parameters()]
    model.train(_data())  # the generator's step
    assert all(grad is None for grad in _grads(d)), "a generator step reached the discriminator"
    assert all(grad is not None and grad.abs().sum() > 0 for grad in _grads(g))
    assert all(torch.equal(a, b) for a, b in zip(d_before, d.parameters(), strict=True))
    assert all(t.requires_grad for t in d.parameters())  # the freeze is undone
    g.zero_grad(set_to_none=True)
    g_before = [t.detach().clone() for t in g.parameters()]
    loss.train(_data())  # the discriminator's step
    assert all(grad is None for grad in _grads(g)), "a discriminator step reached the generator"
    assert any(grad is not None and grad.abs().sum() > 0 for grad in _grads(d))
    assert all(torch.equal(a, b) for a, b in zip(g_before, g.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(d_before, d.parameters(), strict=True))


def test_a_discriminator_loss_backpropagated_by_hand_reaches_only_the_discriminator():
    g, p = generator_model()
    d = Discriminator()
    loss = AdversarialJensenShannon(p, EmpiricalDistribution(["x"]), d)
    loss.loss_train(_data()).backward()
    assert all(grad is None for grad in _grads(g))
    assert all(grad is not None for grad in _grads(d))


def test_weight_clipping_bounds_the_critic_after_each_step():
    _, p = generator_model()
    d = Discriminator(sigmoid=False)
    loss = AdversarialWassersteinDistance(p, EmpiricalDistribution(["x"]), d, clip_value=0.05)
    loss.train(_data())
    assert max(t.abs().max() for t in d.parameters()) <= torch.tensor(0.05)
    with pytest.raises(ParameterError, match="clip_value must be positive"):
        AdversarialWassersteinDistance(p, EmpiricalDistribution(["x"]), d, clip_value=-1.0)


def test_test_evaluates_without_gradients_and_restores_the_mode():
    _, p = generator_model()
    d = Discriminator(sigmoid=False)
    loss = AdversarialWassersteinDistance(p, EmpiricalDistribution(["x"]), d, gradient_penalty=10.0)
    value = loss.test(_data())
    assert value.dim() == 0 and not value.requires_grad and torch.isfinite(value)
    assert d.training


def test_the_terms_read_like_the_papers_formulas():
    _, p = generator_model()
    data = EmpiricalDistribution(["x"])
    js = AdversarialJensenShannon(p, data, Discriminator())
    assert str(js.mean()) == "mean(D_JS^Adv[p(x)||p_{data}(x)])"  # as Pixyz prints it
    assert js.latex == r"D_{JS}^{Adv}\left[p\left(x\right) \| p_{data}\left(x\right)\right]"
    assert str(AdversarialKullbackLeibler(p, data, Discriminator())) == "D_KL^Adv[p(x)||p_{data}(x)]"
    w = AdversarialWassersteinDistance(p, data, Discriminator(sigmoid=False))
    assert str(w) == "W^Adv(p(x), p_{data}(x))"
    assert str(2 * w.mean() + js.mean()) == (
        "2 * mean(W^Adv(p(x), p_{data}(x))) + mean(D_JS^Adv[p(x)||p_{data}(x)])"
    )
    d = Discriminator()
    assert "d(t|x)" in str(d)  # the discriminator is a distribution: it prints as a formula
    assert js.input_var == ["x"]


def test_an_adversarial_autoencoder_term_trains_the_encoder():
    """JS between the aggregate posterior q(z|x) and the prior, discriminator on z."""
    enc = torch.nn.Linear(3, 2)

    class Encoder(Normal):
        def __init__(self):
            super().__init__(var=["z"], cond_var=["x"], name="q")
            self.net = enc

        def forward(self, x):
            return {"loc": self.net(x), "scale": torch.ones(x.shape[0], 2)}

    q = Encoder()
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_{prior}")
    d = Discriminator(x_dim=2, var="z")
    loss = AdversarialJensenShannon(q, prior, d)
    assert str(loss) == "D_JS^Adv[q(z|x)||p_{prior}(z)]" and loss.input_var == ["x"]
    loss.mean().eval(_data()).backward()
    assert enc.weight.grad is not None and all(grad is None for grad in _grads(d))
    assert torch.isfinite(loss.train(_data()))


def test_a_conditional_discriminator_reads_the_label_from_x_dict():
    g = Generator(z_dim=3)
    d = Discriminator(extra=("y",))
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[3], name="p_{prior}")
    p = (g * prior).marginalize_var("z")
    loss = AdversarialJensenShannon(p, EmpiricalDistribution(["x"]), d)
    assert loss.input_var == ["x", "y"]
    data = {"x": torch.randn(8, 3), "y": torch.ones(8, 1)}
    assert loss.eval(data).shape == (8,) and torch.isfinite(loss.train(data))
    with pytest.raises(MissingVariableError, match=r"D_JS\^Adv\[p\(x\)\|\|p_\{data\}\(x\)\].*'y'"):
        loss.eval({"x": torch.randn(8, 3)})


def test_density_ratio_is_evaluated_at_the_given_values():
    p = Normal(loc="m", scale=1.0, var=["x"], cond_var=["m"], name="p")
    q = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[3], name="q")
    d = Discriminator()
    ratio = DensityRatio(p, q, d)
    x = torch.randn(5, 3)
    assert ratio.input_var == ["x"]
    y = d.net(x).squeeze(-1)
    torch.testing.assert_close(ratio.eval({"x": x}), torch.log(y / (1 - y)))
    assert torch.isfinite(ratio.train({"m": torch.ones(16, 3)}))


def test_state_dict_round_trip_restores_the_discriminator_and_its_optimizer():
    _, p = generator_model()
    loss = AdversarialJensenShannon(p, EmpiricalDistribution(["x"]), Discriminator())
    loss.train(_data())
    state = copy.deepcopy(loss.state_dict())  # torch's state dicts share storage with the module
    saved = [t.detach().clone() for t in loss.d.parameters()]
    loss.train(_data())
    loss.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(saved, loss.d.parameters(), strict=True))
    with pytest.raises(InputTypeError, match="optimizer"):
        loss.load_state_dict({"discriminator": state["discriminator"]})


# -- bad input ------------------------------------------------------------------------------
def test_mismatched_variables_name_the_loss_and_both_distributions():
    _, p = generator_model()
    name = r"D_JS\^Adv\[p\(x\)\|\|p_\{data\}\(y\)\]"
    with pytest.raises(VariableMismatchError, match=name + r".*\['x'\].*\['y'\]"):
        AdversarialJensenShannon(p, EmpiricalDistribution(["y"]), Discriminator())


def test_a_discriminator_that_reads_none_of_the_variables_is_rejected():
    _, p = generator_model()
    with pytest.raises(VariableMismatchError, match=r"d\(t\|z\) reads none"):
        AdversarialKullbackLeibler(p, EmpiricalDistribution(["x"]), Discriminator(var="z"))


@pytest.mark.parametrize("out", [2, 0])
def test_a_discriminator_output_of_the_wrong_shape_names_the_loss(out):
    _, p = generator_model()

    class Bad(Discriminator):
        def forward(self, x):
            y = self.net(x)
            return {"t": y.repeat(1, 2) if out == 2 else y.reshape(-1)[:4]}

    loss = AdversarialJensenShannon(p, EmpiricalDistribution(["x"]), Bad())
    name = r"D_JS\^Adv\[p\(x\)\|\|p_\{data\}\(x\)\]"
    with pytest.raises(ShapeError, match=name + r".*d\(t\|x\).*\(32,\) or \(32, 1\)"):
        loss.eval(_data())
    with pytest.raises(ShapeError, match="one value per sample"):
        loss.train(_data())


def test_a_discriminator_without_sigmoid_is_named():
    _, p = generator_model()
    loss = AdversarialJensenShannon(p, EmpiricalDistribution(["x"]), Discriminator(sigmoid=False))
    with torch.no_grad():
        for t in loss.d.parameters():
            t.fill_(1.0)  # outputs far outside [0, 1]
    with pytest.raises(ParameterError, match=r"D_JS\^Adv.*probabilities in \[0, 1\].*sigmoid"):
        loss.loss_train(_data())


def test_other_bad_arguments():
    _, p = generator_model()
    data = EmpiricalDistribution(["x"])
    with pytest.raises(InputTypeError, match="discriminator must be a dgmcore Distribution"):
        AdversarialJensenShannon(p, data, torch.nn.Linear(3, 1))
    prior = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[3])
    with pytest.raises(InputTypeError, match="nothing fixes the batch size"):
        AdversarialJensenShannon(p, prior, Discriminator())
    loss = AdversarialJensenShannon(p, data, Discriminator())
    with pytest.raises(InputTypeError, match="x_dict must be a dict"):
        loss.train(torch.randn(4, 3))
    with pytest.raises(MissingVariableError, match="'x'"):
        loss.train({"z": torch.randn(4, 3)})


def test_a_non_finite_discriminator_loss_changes_nothing():
    _, p = generator_model()
    d = Discriminator(sigmoid=False)
    loss = AdversarialWassersteinDistance(p, EmpiricalDistribution(["x"]), d)
    loss.train(_data())
    before = [t.detach().clone() for t in d.parameters()]
    state = {k: v.clone() for k, v in loss.d_optimizer.state_dict()["state"][0].items()}
    with pytest.raises(NonFiniteLossError, match=r"W\^Adv\(p\(x\), p_\{data\}\(x\)\).*unchanged"):
        loss.train({"x": torch.full((8, 3), float("nan"))})
    assert all(torch.equal(a, b) for a, b in zip(before, d.parameters(), strict=True))
    after = loss.d_optimizer.state_dict()["state"][0]
    assert all(torch.equal(state[k], after[k]) for k in state)


def test_frozen_restores_each_flag_also_when_the_block_raises():
    from dgmcore_adversarial.base import frozen

    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2), requires_grad=False)
    with frozen([a, b]):
        assert not a.requires_grad and not b.requires_grad
        assert not (a * 2).sum().requires_grad  # no graph into a inside the block
    assert a.requires_grad and not b.requires_grad
    with pytest.raises(RuntimeError, match="inside"):
        with frozen([a, b]):
            raise RuntimeError("inside")
    assert a.requires_grad and not b.requires_grad
