"""dgmcore-flows: stateless invertible transforms (normalizing flows) for dgmcore, as a plugin.

Installed, every flow below is also ``dgmcore.flows.<Name>`` and the two flow
distributions are ``dgmcore.distributions.<Name>`` (entry point
``dgmcore.plugins: flows``). A flow is an ``nn.Module`` with
``forward(x, context=None) -> (y, logabsdet)`` and
``inverse(y, context=None) -> (x, logabsdet)``; nothing is stored between
calls. See ``docs/flows.md``.

Example:
    >>> import torch
    >>> from dgmcore_flows import MAF, FlowList, Reverse
    >>> flow = FlowList([MAF(3, hidden=16), Reverse(3), MAF(3, hidden=16)])
    >>> y, logdet = flow(torch.randn(10, 3))
    >>> y.shape, logdet.shape
    (torch.Size([10, 3]), torch.Size([10]))
"""

from __future__ import annotations

from dgmcore_flows.autoregressive import IAF, MAF, Autoregressive, SplineAutoregressive
from dgmcore_flows.base import Flow
from dgmcore_flows.conv import ChannelConv
from dgmcore_flows.coupling import AffineCoupling, Coupling, SplineCoupling
from dgmcore_flows.distributions import InverseTransformedDistribution, TransformedDistribution
from dgmcore_flows.errors import FlowContextError, FlowShapeError
from dgmcore_flows.flow_list import FactorOut, FlowList
from dgmcore_flows.multiscale import Glow, RealNVP
from dgmcore_flows.normalization import ActNorm1d, ActNorm2d, BatchNorm1d, BatchNorm2d
from dgmcore_flows.permutation import Permutation, Reverse, Shuffle
from dgmcore_flows.planar import PlanarFlow, RadialFlow
from dgmcore_flows.preprocess import Preprocess
from dgmcore_flows.reshape import Flatten, Squeeze, Unsqueeze

__version__ = "0.1.0"

#: Every flow class the plugin registers, in the order of the README table.
FLOWS: tuple[type[Flow], ...] = (
    FlowList,
    AffineCoupling,
    SplineCoupling,
    MAF,
    IAF,
    SplineAutoregressive,
    ActNorm1d,
    ActNorm2d,
    BatchNorm1d,
    BatchNorm2d,
    ChannelConv,
    Squeeze,
    Unsqueeze,
    Permutation,
    Shuffle,
    Reverse,
    Flatten,
    Preprocess,
    PlanarFlow,
    RadialFlow,
    FactorOut,
    RealNVP,
    Glow,
)

#: The distributions the plugin registers.
DISTRIBUTIONS = (TransformedDistribution, InverseTransformedDistribution)

__all__ = [
    "DISTRIBUTIONS",
    "FLOWS",
    "IAF",
    "MAF",
    "ActNorm1d",
    "ActNorm2d",
    "AffineCoupling",
    "Autoregressive",
    "BatchNorm1d",
    "BatchNorm2d",
    "ChannelConv",
    "Coupling",
    "FactorOut",
    "Flatten",
    "Flow",
    "FlowContextError",
    "FlowList",
    "FlowShapeError",
    "Glow",
    "InverseTransformedDistribution",
    "Permutation",
    "PlanarFlow",
    "Preprocess",
    "RadialFlow",
    "RealNVP",
    "Reverse",
    "Shuffle",
    "SplineAutoregressive",
    "SplineCoupling",
    "Squeeze",
    "TransformedDistribution",
    "Unsqueeze",
    "__version__",
]
