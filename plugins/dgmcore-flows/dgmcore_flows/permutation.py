"""Flows that reorder the features (of a vector) or the channels (of an image).

:class:`Permutation` takes the order, :class:`Shuffle` draws one at
construction (kept in ``state_dict``), :class:`Reverse` reverses. Their
log-determinant is 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dgmcore_flows.base import Flow
from dgmcore_flows.errors import FlowShapeError

__all__ = ["Permutation", "Reverse", "Shuffle"]


class Permutation(Flow):
    """:math:`y_i = x_{\\pi(i)}` for a permutation :math:`\\pi` of the features (channels of images).

    Args:
        features: the number of features (channels).
        permutation: the order, a sequence or tensor of ``0 .. features-1``.
        image: permute the channels of ``(channels, H, W)`` images.

    Example:
        >>> import torch
        >>> Permutation(3, [2, 0, 1])(torch.tensor([[10.0, 20.0, 30.0]]))[0]
        tensor([[30., 10., 20.]])
    """

    permutation: Tensor
    inverse_permutation: Tensor

    def __init__(self, features: int, permutation: Tensor | list[int], *, image: bool = False) -> None:
        super().__init__(features, image=image)
        perm = torch.as_tensor(permutation, dtype=torch.long)
        if perm.shape != (features,) or not torch.equal(perm.sort().values, torch.arange(features)):
            raise FlowShapeError(
                f"{self.flow_name}: the permutation must hold each of 0..{features - 1} once, "
                f"got {perm.tolist()}"
            )
        self.register_buffer("permutation", perm)
        self.register_buffer("inverse_permutation", torch.argsort(perm))

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return x.index_select(-self.event_dims, self.permutation), x.new_zeros(self._batch_shape(x))

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return y.index_select(-self.event_dims, self.inverse_permutation), y.new_zeros(self._batch_shape(y))


class Shuffle(Permutation):
    """A random permutation, drawn once from ``torch``'s generator and saved in ``state_dict``.

    Example:
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> sorted(Shuffle(4).permutation.tolist())
        [0, 1, 2, 3]
    """

    def __init__(self, features: int, *, image: bool = False) -> None:
        super().__init__(features, torch.randperm(features), image=image)


class Reverse(Permutation):
    """:math:`y_i = x_{D-1-i}`: reverses the features (channels).

    Example:
        >>> import torch
        >>> Reverse(3)(torch.tensor([[1.0, 2.0, 3.0]]))[0]
        tensor([[3., 2., 1.]])
    """

    def __init__(self, features: int, *, image: bool = False) -> None:
        super().__init__(features, torch.arange(features - 1, -1, -1), image=image)

    # a flip's backward is another flip; index_select's is a scatter-add (slower)
    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return x.flip(-self.event_dims), x.new_zeros(self._batch_shape(x))

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return y.flip(-self.event_dims), y.new_zeros(self._batch_shape(y))
