"""One process of the two-process tests (launched by torchrun from test_distributed.py).

Usage: python -m torch.distributed.run --standalone --nproc_per_node 2 trainers_ddp_worker.py MODE FOLDER
Trains on both ranks and writes the parameters rank 0 ends with to
FOLDER/params.pt; then, with MODE ``fail``, trains again and rank 1 raises
at its second step (one launch checks both: starting processes is the slow part).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from dgmcore_trainers import ML, fit
from lightning_fabric import Fabric
from torch.utils.data import DataLoader, TensorDataset

from dgmcore.distributions import Normal


class Regression(Normal):
    def __init__(self) -> None:
        super().__init__(var=["y"], cond_var=["x"], scale=1.0, name="p")
        self.net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loc": self.net(x)}


def data() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=g)
    return TensorDataset(x, torch.sin(x.sum(-1, keepdim=True)))


def model() -> ML:
    torch.manual_seed(0)
    return ML(Regression(), optimizer=torch.optim.SGD, optimizer_params={"lr": 0.1})


class FailOnRank1:
    def on_train_batch_end(self, run, batch_idx):  # type: ignore[no-untyped-def]
        if run.fabric.global_rank == 1 and run.global_step == 2:
            raise RuntimeError("rank 1 fails on purpose at step 2")


def main(mode: str, folder: Path) -> None:
    torch.set_num_threads(1)
    fabric = Fabric(accelerator="cpu", devices=2, strategy="ddp")
    fabric.launch()
    m = model()
    # each rank is given its own folder: only rank 0's may appear
    fit(m, DataLoader(data(), batch_size=8), 2, DataLoader(data(), batch_size=16), fabric=fabric,
        out=folder / f"rank{fabric.global_rank}", checkpoint_every=2, variables=["x", "y"],
        progress=False)
    if fabric.global_rank == 0:
        torch.save(m.distributions.state_dict(), folder / "params.pt")
    if mode == "fail":
        fit(model(), DataLoader(data(), batch_size=8), 2, fabric=fabric, variables=["x", "y"],
            callbacks=[FailOnRank1()], progress=False)
        (folder / f"finished{fabric.global_rank}").touch()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
