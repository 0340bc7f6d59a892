"""IterativeLoss against a hand-written loop: values, gradients, masks, layouts and errors."""

from __future__ import annotations

import pytest
import timeseries_cases as cases
import torch
from dgmcore_timeseries import IterativeLoss

import dgmcore.losses
from dgmcore.distributions import Deterministic
from dgmcore.errors import DGMError, MissingVariableError, ShapeError
from dgmcore.losses import KullbackLeibler, Parameter


def objective(nets: cases.Nets, **kwargs) -> IterativeLoss:
    q, f, prior, p = cases.model(nets)
    step = KullbackLeibler(q, prior) - p.log_prob().expectation(f)
    kwargs.setdefault("series_var", ["x", "eps"])
    return IterativeLoss(step, update_value={"z": "z_prev"}, **kwargs)


def test_registered_in_the_losses_namespace():
    assert dgmcore.losses.IterativeLoss is IterativeLoss


def test_equals_the_hand_written_loop_values_and_gradients():
    nets, data = cases.Nets(), cases.data()
    loss = objective(nets)
    value = loss.eval(data)
    assert value.shape == (4,)
    ref = cases.hand_loss(nets, data["x"], data["eps"], data["z_prev"])
    torch.testing.assert_close(value, ref)
    grads = torch.autograd.grad(value.sum(), list(nets.parameters()))
    refs = torch.autograd.grad(ref.sum(), list(nets.parameters()))
    for g, r in zip(grads, refs, strict=True):
        torch.testing.assert_close(g, r)


def test_sampled_noise_equals_the_hand_loop_on_the_same_seed():
    nets, data = cases.Nets(), cases.data()
    q, _, prior, p = cases.model(nets)
    loss = IterativeLoss(KullbackLeibler(q, prior) - p.log_prob().expectation(q), series_var=["x"],
                         update_value={"z": "z_prev"})
    torch.manual_seed(7)
    value = loss.eval(data)
    torch.manual_seed(7)
    eps = torch.stack([torch.randn(4, cases.Z) for _ in range(6)], 1)
    torch.testing.assert_close(value, cases.hand_loss(nets, data["x"], eps, data["z_prev"]))


def test_time_first_tensors_give_the_same_value():
    nets, data = cases.Nets(), cases.data()
    first = {"x": data["x"].transpose(0, 1), "eps": data["eps"].transpose(0, 1), "z_prev": data["z_prev"]}
    torch.testing.assert_close(objective(nets, time_dim=0).eval(first), objective(nets).eval(data))


def test_pixyz_issue_101_four_ways_of_writing_the_objective_agree():
    """Pixyz #101: equivalent sequential objectives gave different values (the carried input
    was overwritten by a first IterativeLoss, so a second one in the same sum started late)."""
    nets, data = cases.Nets(), cases.data()
    q, f, prior, p = cases.model(nets)
    kl = (q.log_prob() - prior.log_prob()).expectation(f)  # single-sample KL on the given noise
    rec = p.log_prob().expectation(f)
    kw = {"series_var": ["x", "eps"], "update_value": {"z": "z_prev"}}
    forms = {
        "one loop": IterativeLoss(kl - rec, **kw).mean(),
        "two loops summed": (IterativeLoss(kl, **kw) + IterativeLoss(-rec, **kw)).mean(),
        "one expectation": IterativeLoss((q.log_prob() - prior.log_prob() - p.log_prob()).expectation(f),
                                         **kw).mean(),
        "mean inside the step": IterativeLoss((-rec + kl).mean(), **kw),
    }
    before = {k: v.clone() for k, v in data.items()}
    values = {name: form.eval(data) for name, form in forms.items()}
    for k, v in before.items():  # nothing given is overwritten
        assert torch.equal(data[k], v), k
    z, total = data["z_prev"], torch.zeros(4)
    for t in range(6):
        loc, scale = nets.posterior(z, data["x"][:, t])
        z_new = loc + scale * data["eps"][:, t]
        log_q = torch.distributions.Normal(loc, scale).log_prob(z_new).sum(-1)
        log_p = torch.distributions.Normal(*nets.transition(z)).log_prob(z_new).sum(-1)
        log_x = -torch.nn.functional.binary_cross_entropy_with_logits(
            nets.emit(z_new), data["x"][:, t], reduction="none").sum(-1)
        total, z = total + log_q - log_p - log_x, z_new
    for name, value in values.items():
        torch.testing.assert_close(value, total.mean(), msg=name)


@pytest.mark.parametrize("side", ["right", "left"])
def test_masked_padded_batch_equals_each_sequence_alone(side):
    nets = cases.Nets()
    lengths, steps = [6, 3, 1, 4], 6
    seqs = [cases.data(1, n) for n in lengths]
    x, eps = torch.zeros(4, steps, cases.X), torch.zeros(4, steps, cases.Z)
    mask = torch.zeros(4, steps)
    for i, (s, n) in enumerate(zip(seqs, lengths, strict=True)):
        span = slice(0, n) if side == "right" else slice(steps - n, steps)
        x[i, span], eps[i, span], mask[i, span] = s["x"][0], s["eps"][0], 1.0
    z0 = torch.randn(4, cases.Z)
    padded = {"x": x, "eps": eps, "z_prev": z0, "mask": mask}
    value = objective(nets, mask_var="mask").eval(padded)
    alone = torch.cat([
        objective(nets).eval({"x": s["x"], "eps": s["eps"], "z_prev": z0[i : i + 1]})
        for i, s in enumerate(seqs)
    ])
    torch.testing.assert_close(value, alone)
    torch.testing.assert_close(value.sum(), alone.sum())


def test_return_dict_stacks_the_draws_along_time_and_gives_the_last_carried_value():
    nets, data = cases.Nets(), cases.data()
    value, out = objective(nets).eval(data, return_dict=True, return_all=False)
    assert out["z"].shape == (4, 6, cases.Z)
    torch.testing.assert_close(out["z_prev"], out["z"][:, -1])
    assert "x" not in out


def test_timestep_max_iter_and_slice_step():
    assert IterativeLoss(Parameter("t") + 1, max_iter=4).eval({}).item() == 1 + 2 + 3 + 4

    class Frame(Deterministic):
        def __init__(self) -> None:
            super().__init__(var=["x_t"], cond_var=["x", "t"], name="s")

        def forward(self, x: torch.Tensor, t: int) -> dict[str, torch.Tensor]:
            return {"x_t": x[:, t] * (t + 1)}

    step = Parameter("x_t")
    x = torch.arange(6.0).reshape(2, 3)
    loss = IterativeLoss(step, series_var=["x"], slice_step=Frame())
    assert loss.input_var == ["x"]
    torch.testing.assert_close(loss.eval({"x": x}), (x * torch.tensor([1.0, 2.0, 3.0])).sum(1))


def test_text_and_latex():
    nets = cases.Nets()
    loss = objective(nets, max_iter=5)
    assert str(loss).startswith("sum_{t=1}^{5} ")
    assert loss.latex.startswith("\\sum_{t=1}^{5} ")
    assert "\\sum_{t=1}^{T}" in objective(nets).mean().latex
    assert loss.input_var == ["z_prev", "x", "eps"]


def test_a_series_shorter_than_max_iter_names_loss_variable_and_step():
    nets, data = cases.Nets(), cases.data(steps=4)
    with pytest.raises(ShapeError, match=r"sum_\{t=1\}.*'x'.*4 steps.*6.*step 4"):
        objective(nets, max_iter=6).eval(data)


def test_a_missing_carried_variable_names_loss_variable_and_step():
    nets, data = cases.Nets(), cases.data()
    del data["z_prev"]
    with pytest.raises(MissingVariableError, match=r"sum_\{t=1\}.*step 0.*z_prev"):
        objective(nets).eval(data)


@pytest.mark.parametrize("shape", [(4, 5), (3, 6), (4, 6, 1), (6, 4)])
def test_a_mask_of_the_wrong_shape_is_an_error(shape):
    nets, data = cases.Nets(), cases.data()
    data["mask"] = torch.ones(shape)
    with pytest.raises(ShapeError, match=r"sum_\{t=1\}.*'mask'.*\(batch, T\).*\(4, 6\)"):
        objective(nets, mask_var="mask").eval(data)


def test_bad_construction_is_a_dgm_error():
    nets = cases.Nets()
    with pytest.raises(DGMError, match="series_var or max_iter"):
        IterativeLoss(Parameter("a"))
    with pytest.raises(DGMError, match="time_dim"):
        objective(nets, time_dim=2)
    with pytest.raises(DGMError, match="step_loss"):
        IterativeLoss("not a loss", max_iter=2)  # type: ignore[arg-type]
    with pytest.raises(DGMError, match="reduce after the sum"):
        IterativeLoss(Parameter("a") * 1, series_var=["x"], mask_var="m").eval(
            {"x": torch.zeros(2, 3), "m": torch.ones(2, 3), "a": 1.0})


def test_time_first_masks_are_time_first_too():
    nets, data = cases.Nets(), cases.data()
    mask = (torch.arange(6) < torch.tensor([6, 2, 4, 1]).unsqueeze(1)).float()
    batch_first = objective(nets, mask_var="mask").eval({**data, "mask": mask})
    first = {"x": data["x"].transpose(0, 1), "eps": data["eps"].transpose(0, 1), "z_prev": data["z_prev"],
             "mask": mask.T}
    torch.testing.assert_close(objective(nets, mask_var="mask", time_dim=0).eval(first), batch_first)


def test_a_series_frame_can_be_carried():
    """update_value={"x": "x_prev"} carries the previous frame: an AR(1) log-likelihood."""
    from dgmcore_families import Normal

    ar = Normal(loc="x_prev", scale=0.5, var=["x"], cond_var=["x_prev"])
    loss = IterativeLoss(-ar.log_prob(), series_var=["x"], update_value={"x": "x_prev"})
    x, x0 = torch.randn(3, 7, 2), torch.zeros(3, 2)
    prev = torch.cat([x0.unsqueeze(1), x[:, :-1]], 1)
    ref = -torch.distributions.Normal(prev, 0.5).log_prob(x).sum((1, 2))
    torch.testing.assert_close(loss.eval({"x": x, "x_prev": x0}), ref)
