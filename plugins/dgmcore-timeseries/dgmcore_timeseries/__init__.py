"""dgmcore-timeseries: sequential deep generative models for dgmcore.

``IterativeLoss`` sums a step loss over the frames of a sequence (Pixyz's
meaning, batch-first tensors, masks for variable lengths), ``rollout``
generates sequences ancestrally, ``load_chorales`` gives the Bach chorales as
piano rolls, and ``dmm``, ``vrnn`` and ``tdvae`` hold the three models.
"""

from __future__ import annotations

from dgmcore_timeseries.iterative import IterativeLoss
from dgmcore_timeseries.rollout import rollout

__all__ = ["IterativeLoss", "rollout"]
