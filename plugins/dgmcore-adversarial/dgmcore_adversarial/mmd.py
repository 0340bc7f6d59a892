"""The maximum mean discrepancy (MMD) between two distributions, unbiased."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import DGMError, InputTypeError, MissingVariableError, ParameterError, ShapeError
from dgmcore.latex import symbol
from dgmcore.losses import Loss
from dgmcore_adversarial.base import VariableMismatchError, XDict, short_latex

__all__ = ["MMD", "KERNELS", "gaussian_kernel", "inverse_multiquadratic_kernel", "mmd_unbiased"]


def _sq_dists(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances between the rows of ``x`` (m, d) and ``y`` (n, d)."""
    return (x.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(-1)


def gaussian_kernel(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """:math:`k(x, y) = \\exp(-\\|x - y\\|^2 / (2 h^2))`, the matrix over the rows of ``x`` and ``y``."""
    return torch.exp(-_sq_dists(x, y) / (2 * bandwidth**2))


def inverse_multiquadratic_kernel(x: torch.Tensor, y: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """:math:`k(x, y) = h^2 / (h^2 + \\|x - y\\|^2)` (Tolstikhin et al., 2018, use it in WAE-MMD)."""
    c = bandwidth**2
    return c / (c + _sq_dists(x, y))


#: The kernels :class:`MMD` knows, by name.
KERNELS: dict[str, Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]] = {
    "gaussian": gaussian_kernel,
    "inv-multiquadratic": inverse_multiquadratic_kernel,
}


def median_bandwidth(x: torch.Tensor, y: torch.Tensor) -> float:
    """The median heuristic: :math:`h^2` is half the median squared distance in the pooled sample."""
    pooled = torch.cat([x, y]).detach()
    d = _sq_dists(pooled, pooled)
    off = d[~torch.eye(len(pooled), dtype=torch.bool, device=d.device)]
    return max(float(off.median()) / 2, 1e-12) ** 0.5


def mmd_unbiased(
    x: torch.Tensor,
    y: torch.Tensor,
    kernel: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor],
    bandwidth: float,
) -> torch.Tensor:
    """The unbiased estimate of :math:`\\mathrm{MMD}^2` from samples ``x`` (m, d) and ``y`` (n, d).

    .. math::

        \\frac{1}{m(m-1)} \\sum_{i \\ne j} k(x_i, x_j) + \\frac{1}{n(n-1)} \\sum_{i \\ne j} k(y_i, y_j)
        - \\frac{2}{mn} \\sum_{i, j} k(x_i, y_j)

    (Gretton et al., 2012, Lemma 6): the diagonals are left out and each sum is
    normalised by its number of terms. Its expectation is 0 when the two
    samples come from one distribution.
    """
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = kernel(x, x, bandwidth), kernel(y, y, bandwidth), kernel(x, y, bandwidth)
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return xx + yy - 2 * k_xy.mean()


class MMD(Loss):
    """The squared maximum mean discrepancy :math:`\\mathrm{MMD}^2[p\\|q]`, unbiased.

    Samples of ``p`` and ``q`` are drawn (the batch of the one without inputs
    follows the other's inputs); every variable they generate is flattened
    and concatenated, so joints over several variables and 1-D features work
    alike. The value is a scalar: the estimate over the whole batch, by
    :func:`mmd_unbiased`. Gradients flow into both distributions' samples
    (reparameterised where they can be), which makes it a training objective
    (WAE-MMD, MMD GANs) as well as a metric.

    Pixyz 0.3.3 divides the sums by the feature dimension instead of the
    sample counts and keeps the diagonal; this estimator fixes both.

    Args:
        p: the first distribution.
        q: the second one, generating the same variables.
        kernel: ``"gaussian"`` or ``"inv-multiquadratic"``.
        bandwidth: the kernel's length scale :math:`h` (a positive number), or
            ``"median"`` for the median heuristic on each evaluation's samples.

    Raises:
        VariableMismatchError: ``p`` and ``q`` generate different variables.
        InputTypeError: an unknown kernel, or neither distribution takes an input.
        ParameterError: a bandwidth that is not positive.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import EmpiricalDistribution
        >>> from dgmcore_families import Normal
        >>> from dgmcore_adversarial import MMD
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
        >>> mmd = MMD(EmpiricalDistribution(["z"]), prior, bandwidth=1.0)
        >>> str(mmd)
        'D_MMD^2[p_{data}(z)||p(z)]'
        >>> near = mmd.eval({"z": torch.randn(500, 2)})
        >>> far = mmd.eval({"z": torch.randn(500, 2) + 3})
        >>> bool(abs(near) < 0.02 < far)
        True
    """

    def __init__(
        self,
        p: Distribution,
        q: Distribution,
        kernel: str = "gaussian",
        bandwidth: float | str = 1.0,
    ) -> None:
        for arg, value in (("p", p), ("q", q)):
            if not isinstance(value, Distribution):
                raise InputTypeError(f"MMD: {arg} must be a dgmcore Distribution, got {type(value).__name__}")
        self.p, self.q = p, q
        if set(p.var) != set(q.var):
            raise VariableMismatchError(
                f"{self}: the two distributions must generate the same variables, but "
                f"{p.prob_text} generates {p.var} and {q.prob_text} generates {q.var}"
            )
        if kernel not in KERNELS:
            raise InputTypeError(f"{self}: kernel must be one of {sorted(KERNELS)}, got {kernel!r}")
        if bandwidth != "median" and not (isinstance(bandwidth, (int, float)) and bandwidth > 0):
            raise ParameterError(
                f"{self}: bandwidth must be a positive number or 'median', got {bandwidth!r}"
            )
        if not p.input_var and not q.input_var:
            raise InputTypeError(
                f"{self}: neither {p.prob_text} nor {q.prob_text} takes an input to fix the batch size"
            )
        self.kernel, self.bandwidth = kernel, bandwidth
        self._kernel = KERNELS[kernel]
        self._vars = tuple(p.var)
        inputs = list(p.input_var) + [v for v in q.input_var if v not in p.input_var]
        self._in_vars = tuple(inputs)
        super().__init__(inputs)

    def _features(self, side: Distribution, x: XDict, batch_n: int) -> torch.Tensor:
        try:
            if side.input_var:
                draw = side.sample({v: x[v] for v in side.input_var}, reparam=side.has_reparam)
            else:
                draw = side.sample(batch_n=batch_n, reparam=side.has_reparam)
        except KeyError as err:
            if isinstance(err, DGMError):
                raise
            raise MissingVariableError(str(err.args[0]), str(self), x) from None
        parts = [draw[v].reshape(draw[v].shape[0], -1) for v in self._vars]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        sizes = [int(x[v].shape[0]) for v in self._in_vars if v in x and x[v].dim()]
        if not sizes:
            raise MissingVariableError(self._in_vars[0], str(self), x)
        batch_n = sizes[0]
        f_p, f_q = self._features(self.p, x, batch_n), self._features(self.q, x, batch_n)
        if f_p.shape[1] != f_q.shape[1] or min(f_p.shape[0], f_q.shape[0]) < 2:
            raise ShapeError(
                f"{self}: needs at least 2 samples of each side with the same number of features, "
                f"got {tuple(f_p.shape)} from {self.p.prob_text} and {tuple(f_q.shape)} from "
                f"{self.q.prob_text}"
            )
        h = median_bandwidth(f_p, f_q) if self.bandwidth == "median" else float(self.bandwidth)
        return mmd_unbiased(f_p, f_q, self._kernel, h)

    def _text(self) -> str:
        return f"D_MMD^2[{self.p.prob_text}||{self.q.prob_text}]"

    def _symbolic(self) -> Any:
        pair = f"{short_latex(self.p)} \\| {short_latex(self.q)}"
        return symbol(self._text(), f"D_{{MMD^2}}\\left[{pair}\\right]")
