"""Data loaders across processes: each rank reads its own shard, in an order set by the epoch."""

from __future__ import annotations

from typing import Any

from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from dgmcore_trainers.errors import FitConfigError

__all__ = ["shard_loader"]


def shard_loader(loader: DataLoader[Any], world_size: int, rank: int, seed: int = 0) -> DataLoader[Any]:
    """The same loader reading only this rank's shard (a ``DistributedSampler``).

    Shuffling follows the original loader (a ``RandomSampler`` shuffles); the
    order is drawn from ``seed`` and the epoch (``sampler.set_epoch``), so a
    resumed run sees the same order.

    Raises:
        FitConfigError: the loader has no ``batch_size`` (a custom batch sampler).
    """
    if loader.batch_size is None:
        raise FitConfigError(
            "fit: a multi-process run needs a DataLoader built with batch_size=... (a custom "
            "batch_sampler cannot be split between processes)"
        )
    sampler: DistributedSampler[Any] = DistributedSampler(loader.dataset, num_replicas=world_size, rank=rank,
                                 shuffle=isinstance(loader.sampler, RandomSampler), seed=seed,
                                 drop_last=loader.drop_last)
    return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                      num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                      pin_memory=loader.pin_memory, drop_last=loader.drop_last,
                      worker_init_fn=loader.worker_init_fn)
