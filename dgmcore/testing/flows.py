""":func:`check_flow`: the contract every flow (invertible transform) passes.

A flow is an ``nn.Module`` with ``forward(x, context=None) -> (y, logabsdet)``
and ``inverse(y, context=None) -> (x, logabsdet)``, one log-determinant per
batch element, and no state kept between calls (DESIGN.md section 4.1). The
checks run on a float64 copy whose parameters were warmed up on ``x`` (in
training mode: data-dependent initialisations, running statistics) and then
perturbed, so that no flow passes by sitting at the identity; they then run in
eval mode.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from dgmcore.errors import DGMError
from dgmcore.testing.report import Report

__all__ = ["FLOW_CHECKS", "check_flow"]

#: The checks of :func:`check_flow`, in the order they run.
FLOW_CHECKS = (
    "shapes",
    "inverse",
    "inverse_other_way",
    "logdet_negatives",
    "jacobian",
    "gradients",
    "state_dict",
    "interleaved",
    "errors",
)


def _name(flow: nn.Module) -> str:
    return str(getattr(flow, "flow_name", type(flow).__name__))


@torch.no_grad()
def _perturb(module: nn.Module, generator: torch.Generator, scale: float, buffers: bool = False) -> None:
    """Move every parameter (and, with ``buffers``, every buffer) away from where it is."""
    for p in module.parameters():
        p.add_(scale * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    if not buffers:
        return
    for b in module.buffers():
        if b.dtype == torch.bool:
            b.logical_not_()
        elif b.is_floating_point():
            b.add_(scale * torch.randn(b.shape, generator=generator, dtype=b.dtype))
        else:
            b.add_(1)


def _logdet_by_autograd(flow: Any, x: Tensor, context: Tensor | None, n: int) -> tuple[Tensor, Tensor]:
    """The flow's log-determinants of ``n`` batch elements, and ``log|det J|`` of autograd's Jacobians."""
    event = x.shape[-flow.event_dims :] if hasattr(flow, "event_dims") else x.shape[-1:]
    xs = x.reshape(-1, *event)[:n]
    cs = None if context is None else context.expand(*x.shape[: x.dim() - len(event)], context.shape[-1])
    cs = None if cs is None else cs.reshape(-1, cs.shape[-1])[:n]
    ours, theirs = [], []
    for i in range(len(xs)):
        c = None if cs is None else cs[i : i + 1]

        def f(v: Tensor, c: Tensor | None = c) -> Tensor:
            return flow(v.reshape(1, *event), c)[0].reshape(-1)

        jac = torch.autograd.functional.jacobian(f, xs[i].reshape(-1))
        theirs.append(torch.linalg.slogdet(jac)[1])
        ours.append(flow(xs[i : i + 1], c)[1].reshape(()))
    return torch.stack(ours), torch.stack(theirs)


def _expect_error(report: Report, check: str, subject: str, call: Callable[[], Any], what: str) -> None:
    try:
        call()
    except DGMError as err:
        report.require(
            subject.split("(")[0] in str(err),
            check,
            f"{what}: the error does not name the flow: {err}",
        )
        return
    except Exception as err:  # noqa: BLE001 - any other exception type is the failure reported
        report.fail(check, f"{what}: raised {type(err).__name__} ({err}), expected a DGMError")
    report.fail(check, f"{what}: no error")


def check_flow(
    flow: nn.Module,
    x: Tensor,
    context: Tensor | None = None,
    *,
    factory: Callable[[], nn.Module] | None = None,
    atol: float = 1e-4,
    jacobian_samples: int = 3,
    perturbation: float = 0.1,
    seed: int = 0,
) -> Report:
    """Check a flow against its contract, with ``x`` (and ``context``) as the data.

    Checks, in order (:data:`FLOW_CHECKS`):

    * ``shapes``: ``forward`` and ``inverse`` keep the leading (sample + batch)
      dimensions and give one log-determinant per batch element;
    * ``inverse``: :math:`f^{-1}(f(x)) = x`; ``inverse_other_way``:
      :math:`f(f^{-1}(y)) = y` at points :math:`y` near :math:`f(x)`;
    * ``logdet_negatives``: the log-determinants of ``inverse`` are the
      negatives of those of ``forward``;
    * ``jacobian``: ``forward``'s log-determinant equals
      :math:`\\log |\\det J|` of ``torch.autograd.functional.jacobian`` (float64);
    * ``gradients``: every parameter gets a finite, non-zero gradient;
    * ``state_dict``: a differently initialised copy (``factory()``, else a
      perturbed copy, buffers included) loads the state and then computes the same;
    * ``interleaved``: two batches sent in turn through ``forward`` and
      ``inverse`` give what each gives alone (nothing is kept between calls);
    * ``errors``: a wrong feature size, and a context where none is expected
      (or none where one is), raise a :class:`~dgmcore.errors.DGMError` naming the flow.

    Args:
        flow: the flow; it is not modified (the checks run on copies).
        x: a batch of inputs, shape ``batch + event``.
        context: the context, for a conditional flow.
        factory: builds a fresh flow of the same configuration (for ``state_dict``).
        atol: tolerance of the float64 comparisons (relative tolerance too).
        jacobian_samples: batch elements whose Jacobian autograd computes.
        perturbation: standard deviation of the noise added to the parameters after warm-up.
        seed: seeds the perturbations.

    Returns:
        The :class:`Report` of the checks passed.

    Raises:
        ConformanceError: naming the flow, the check and the values.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> class Scale(nn.Module):  # y = 2x, written from scratch
        ...     event_dims = 1
        ...     def forward(self, x, context=None):
        ...         if x.shape[-1] != 2 or context is not None:
        ...             raise DGMError(f"Scale: bad input of shape {tuple(x.shape)}")
        ...         return 2 * x, x.new_full(x.shape[:-1], 2 * torch.log(torch.tensor(2.0)).item())
        ...     def inverse(self, y, context=None):
        ...         return y / 2, y.new_full(y.shape[:-1], -2 * torch.log(torch.tensor(2.0)).item())
        >>> check_flow(Scale(), torch.randn(4, 2)).passed[:5]
        ['shapes', 'inverse', 'inverse_other_way', 'logdet_negatives', 'jacobian']
    """
    report = Report(_name(flow))
    subject = report.subject
    generator = torch.Generator().manual_seed(seed)
    f: Any = copy.deepcopy(flow).double().train()
    x64 = x.detach().double()
    c64 = None if context is None else context.detach().double()
    with torch.no_grad():
        for _ in range(2):  # data-dependent initialisation, running statistics
            f(x64, c64)
    _perturb(f, generator, perturbation)
    f.eval()
    event_dims = int(getattr(flow, "event_dims", 1))
    batch = x.shape[: x.dim() - event_dims]
    tol = {"atol": atol, "rtol": atol}

    y, ld = f(x64, c64)
    back, ld_inv = f.inverse(y, c64)
    report.require(
        ld.shape == batch,
        "shapes",
        f"forward's logabsdet has shape {tuple(ld.shape)}, expected {tuple(batch)}",
    )
    report.require(
        y.shape[: len(batch)] == batch,
        "shapes",
        f"forward gives shape {tuple(y.shape)} for x of {tuple(x.shape)}",
    )
    report.require(
        back.shape == x.shape, "shapes", f"inverse gives shape {tuple(back.shape)}, expected {tuple(x.shape)}"
    )
    report.require(ld_inv.shape == batch, "shapes", f"inverse's logabsdet has shape {tuple(ld_inv.shape)}")
    report.ok("shapes")
    report.close("inverse", back, x64, what="inverse(forward(x))", **tol)
    report.ok("inverse")
    y_near = y + 0.05 * torch.randn(y.shape, generator=generator, dtype=y.dtype)
    report.close(
        "inverse_other_way", f(f.inverse(y_near, c64)[0], c64)[0], y_near, what="forward(inverse(y))", **tol
    )
    report.ok("inverse_other_way")
    report.close("logdet_negatives", ld_inv, -ld, what="inverse's logabsdet vs -forward's", **tol)
    report.ok("logdet_negatives")
    ours, autograd = _logdet_by_autograd(f, x64, c64, jacobian_samples)
    report.close("jacobian", ours, autograd, what="logabsdet vs log|det| of the autograd Jacobian", **tol)
    report.ok("jacobian")

    _check_gradients(report, f, x64, c64, generator)
    _check_state_dict(report, f, x64, c64, factory, generator, perturbation)
    _check_interleaved(report, f, x64, c64, generator, tol)
    _check_errors(report, flow, subject, x, context, event_dims)
    return report


def _check_gradients(report: Report, f: Any, x: Tensor, c: Tensor | None, g: torch.Generator) -> None:
    params = [(n, p) for n, p in f.named_parameters()]
    if not params:
        report.skip("gradients", "the flow has no parameters")
        return
    y, ld = f(x, c)
    weights = torch.randn(y.shape, generator=g, dtype=y.dtype)
    grads = torch.autograd.grad((weights * y).sum() + ld.sum(), [p for _, p in params], allow_unused=True)
    for (name, _), grad in zip(params, grads, strict=True):
        report.require(grad is not None, "gradients", f"parameter {name!r} gets no gradient")
        report.require(
            bool(torch.isfinite(grad).all()), "gradients", f"parameter {name!r} gets a non-finite gradient"
        )
        report.require(bool((grad != 0).any()), "gradients", f"parameter {name!r} gets a zero gradient")
    report.ok("gradients")


def _check_state_dict(
    report: Report,
    f: Any,
    x: Tensor,
    c: Tensor | None,
    factory: Callable[[], nn.Module] | None,
    g: torch.Generator,
    scale: float,
) -> None:
    if factory is not None:
        other = factory().double()
    else:
        other = copy.deepcopy(f)
        _perturb(other, g, scale, buffers=True)
    try:
        other.load_state_dict(f.state_dict())
    except Exception as err:  # noqa: BLE001 - reported as the failed check
        report.fail("state_dict", f"a fresh copy does not load the state_dict: {err}")
    other.eval()
    y, ld = f(x, c)
    y2, ld2 = other(x, c)
    report.close("state_dict", y2, y, what="output of the loaded copy", atol=0.0, rtol=0.0)
    report.close("state_dict", ld2, ld, what="logabsdet of the loaded copy", atol=0.0, rtol=0.0)
    report.ok("state_dict")


def _check_interleaved(
    report: Report, f: Any, x: Tensor, c: Tensor | None, g: torch.Generator, tol: dict[str, float]
) -> None:
    x2 = x + 0.1 * torch.randn(x.shape, generator=g, dtype=x.dtype)
    alone = [f(x, c), f(x2, c)]
    alone_inv = [f.inverse(alone[0][0], c), f.inverse(alone[1][0], c)]
    first, second = f(x, c), f(x2, c)
    first_inv, second_inv = f.inverse(first[0], c), f.inverse(second[0], c)
    for got, want, what in (
        (first, alone[0], "forward of batch 1"),
        (second, alone[1], "forward of batch 2"),
        (first_inv, alone_inv[0], "inverse of batch 1"),
        (second_inv, alone_inv[1], "inverse of batch 2"),
    ):
        report.close("interleaved", got[0], want[0], what=f"{what} (values)", **tol)
        report.close("interleaved", got[1], want[1], what=f"{what} (logabsdet)", **tol)
    report.ok("interleaved")


def _check_errors(
    report: Report, flow: Any, subject: str, x: Tensor, context: Tensor | None, event_dims: int
) -> None:
    dim = x.dim() - event_dims
    wider = torch.cat([x, x.narrow(dim, 0, 1)], dim=dim)
    _expect_error(report, "errors", subject, lambda: flow(wider, context), "a feature too many")
    batch = x.shape[:dim]
    if context is None:
        extra = x.new_zeros(*batch, 2)
        _expect_error(
            report, "errors", subject, lambda: flow(x, extra), "a context given to a flow that takes none"
        )
    else:
        _expect_error(report, "errors", subject, lambda: flow(x), "no context given to a conditional flow")
        bad = torch.cat([context, context[..., :1]], dim=-1)
        _expect_error(report, "errors", subject, lambda: flow(x, bad), "a context with a feature too many")
    report.ok("errors")
