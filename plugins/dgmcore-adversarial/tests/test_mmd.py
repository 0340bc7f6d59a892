"""MMD: the unbiased estimator against NumPy, Pixyz's mistake, 1-D features, joints, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dgmcore_adversarial import MMD, VariableMismatchError, mmd_unbiased
from dgmcore_adversarial.mmd import gaussian_kernel, median_bandwidth
from dgmcore_families import Normal

from dgmcore.distributions import Deterministic, EmpiricalDistribution
from dgmcore.errors import InputTypeError, ParameterError


class Copy(Deterministic):
    """p(x|a) = delta(x - a): "samples" are the rows given as ``a``."""

    def __init__(self, source: str, var: tuple[str, ...] = ("x",), name: str = "p") -> None:
        super().__init__(var=list(var), cond_var=[source], name=name)
        self.source, self.names = source, var

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        a = inputs[self.source]
        if len(self.names) == 1:
            return {self.names[0]: a}
        return {self.names[0]: a[:, :2], self.names[1]: a[:, 2:]}  # a joint over two variables


def numpy_kernel(kind: str, x: np.ndarray, y: np.ndarray, h: float) -> float:
    d2 = float(((x - y) ** 2).sum())
    return float(np.exp(-d2 / (2 * h * h))) if kind == "gaussian" else h * h / (h * h + d2)


def numpy_mmd_unbiased(kind: str, x: np.ndarray, y: np.ndarray, h: float) -> float:
    """Gretton et al. (2012), Lemma 6, written as the three double sums."""
    m, n = len(x), len(y)
    xx = sum(numpy_kernel(kind, x[i], x[j], h) for i in range(m) for j in range(m) if i != j)
    yy = sum(numpy_kernel(kind, y[i], y[j], h) for i in range(n) for j in range(n) if i != j)
    xy = sum(numpy_kernel(kind, x[i], y[j], h) for i in range(m) for j in range(n))
    return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2 * xy / (m * n)


@pytest.mark.parametrize("kernel", ["gaussian", "inv-multiquadratic"])
@pytest.mark.parametrize(("m", "n", "dim"), [(7, 7, 3), (6, 9, 2), (5, 4, 1)])
def test_mmd_equals_the_unbiased_formula_in_numpy(kernel, m, n, dim):
    a, b = torch.randn(m, dim, dtype=torch.float64), torch.randn(n, dim, dtype=torch.float64) + 0.5
    mmd = MMD(Copy("a"), Copy("b", name="q"), kernel=kernel, bandwidth=1.3)
    expected = numpy_mmd_unbiased(kernel, a.numpy(), b.numpy(), 1.3)
    assert mmd.eval({"a": a, "b": b}).item() == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_pixyz_divides_by_the_feature_dimension_and_keeps_the_diagonal():
    """Regression: the value Pixyz 0.3.3 gives is its formula, not the estimator; ours is."""
    pixyz_dists = pytest.importorskip("pixyz.distributions")
    pixyz_losses = pytest.importorskip("pixyz.losses")

    class PixyzCopy(pixyz_dists.Deterministic):
        def __init__(self, source, name):
            super().__init__(var=["x"], cond_var=[source], name=name)
            self.source = source

        def forward(self, **inputs):
            return {"x": inputs[self.source]}

    a, b = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64) + 1.0
    h2 = 2.0  # Pixyz's sigma_sqr is 2 h^2 in our parametrisation
    pixyz = pixyz_losses.MMD(PixyzCopy("a", "p"), PixyzCopy("b", "q"), kernel="gaussian", sigma_sqr=h2)
    got_pixyz = pixyz.eval({"a": a, "b": b}).item()
    # Pixyz's formula: full sums (diagonal kept) over dim * (dim - 1) and dim * dim
    k = lambda x, y: gaussian_kernel(x, y, 1.0)  # noqa: E731
    dim = a.shape[1]
    pixyz_formula = (k(a, a).sum() / (dim * (dim - 1)) + k(b, b).sum() / (dim * (dim - 1))
                     - 2 * k(a, b).sum() / (dim * dim)).item()
    assert got_pixyz == pytest.approx(pixyz_formula, rel=1e-8)
    ours = MMD(Copy("a"), Copy("b", name="q"), bandwidth=1.0).eval({"a": a, "b": b}).item()
    assert ours == pytest.approx(numpy_mmd_unbiased("gaussian", a.numpy(), b.numpy(), 1.0), rel=1e-10)
    assert abs(ours - got_pixyz) > 0.1


def test_the_estimate_is_unbiased_where_keeping_the_diagonal_is_not():
    """Two samples of one distribution: the mean estimate is 0 (the V-statistic's is not)."""
    n, reps = 6, 3000
    x, y = torch.randn(reps, n, 2, dtype=torch.float64), torch.randn(reps, n, 2, dtype=torch.float64)
    k = torch.vmap(lambda a, b: gaussian_kernel(a, b, 1.0))
    ours = torch.stack([mmd_unbiased(x[r], y[r], gaussian_kernel, 1.0) for r in range(reps)])
    biased = k(x, x).mean((1, 2)) + k(y, y).mean((1, 2)) - 2 * k(x, y).mean((1, 2))
    se = ours.std() / reps**0.5
    assert abs(ours.mean()) < 4 * se
    assert biased.mean() > 20 * se


def test_one_dimensional_features_and_a_trailing_feature_axis_agree():
    a, b = torch.randn(8), torch.randn(8) + 1
    mmd = MMD(Copy("a"), Copy("b", name="q"))
    flat = mmd.eval({"a": a, "b": b})
    column = mmd.eval({"a": a[:, None], "b": b[:, None]})
    torch.testing.assert_close(flat, column)
    expected = numpy_mmd_unbiased("gaussian", a[:, None].double().numpy(), b[:, None].double().numpy(), 1.0)
    assert flat.item() == pytest.approx(expected, rel=1e-5)


def test_a_joint_over_several_variables_uses_every_variable():
    a, b = torch.randn(7, 5, dtype=torch.float64), torch.randn(7, 5, dtype=torch.float64)
    p, q = Copy("a", ("x", "y")), Copy("b", ("y", "x"), name="q")  # q lists them in another order
    got = MMD(p, q, kernel="inv-multiquadratic").eval({"a": a, "b": b}).item()
    # q's x is b[:, :2] and its y b[:, 2:]: compare (x, y) with (x, y)
    expected = numpy_mmd_unbiased(
        "inv-multiquadratic", a.numpy(), np.concatenate([b[:, 2:].numpy(), b[:, :2].numpy()], 1), 1.0
    )
    assert got == pytest.approx(expected, rel=1e-10)


def test_the_batch_of_an_unconditioned_side_follows_the_other():
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
    mmd = MMD(EmpiricalDistribution(["z"]), prior, bandwidth="median")
    data = torch.randn(12, 2)
    torch.manual_seed(7)
    got = mmd.eval({"z": data})
    torch.manual_seed(7)
    drawn = prior.sample(batch_n=12)["z"]  # the only random draw: 12 samples of the prior
    torch.testing.assert_close(got, mmd_unbiased(data, drawn, gaussian_kernel, median_bandwidth(data, drawn)))


def test_the_median_bandwidth_is_the_median_heuristic():
    x, y = torch.randn(9, 3), torch.randn(5, 3)
    pooled = torch.cat([x, y])
    d2 = ((pooled[:, None] - pooled[None]) ** 2).sum(-1).numpy()
    expected = float(np.median(d2[~np.eye(14, dtype=bool)]) / 2) ** 0.5
    assert median_bandwidth(x, y) == pytest.approx(expected, rel=1e-5)


def test_gradients_flow_into_a_generator():
    w = torch.nn.Parameter(torch.tensor(2.0))

    class Shift(Deterministic):
        def __init__(self):
            super().__init__(var=["x"], cond_var=["a"], name="p")
            self.w = w

        def forward(self, a):
            return {"x": a + self.w}

    mmd = MMD(Shift(), Copy("b", name="q"))
    mmd.eval({"a": torch.randn(16, 2), "b": torch.randn(16, 2)}).backward()
    assert w.grad is not None and w.grad > 0  # moving the shift towards 0 lowers the MMD


def test_bad_arguments_name_the_loss():
    with pytest.raises(VariableMismatchError, match=r"D_MMD\^2\[p\(x\|a\)\|\|q\(y\|b\)\]"):
        MMD(Copy("a"), Copy("b", ("y",), name="q"))
    with pytest.raises(InputTypeError, match="kernel must be one of"):
        MMD(Copy("a"), Copy("b", name="q"), kernel="laplace")
    with pytest.raises(ParameterError, match="bandwidth must be a positive number"):
        MMD(Copy("a"), Copy("b", name="q"), bandwidth=0.0)
