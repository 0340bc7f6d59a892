"""The compiled VAE objective does the matrix products of the hand-written one, no more.

``loss.compile()`` keeps the memo inside the traced graph, so the encoder that
the KL term and the expectation share is traced once: one forward pass and,
what common-subexpression elimination alone does not give, one backward pass.
Checked by counting the matrix products in the graphs AOTAutograd hands to
the compiler (no C++ compilation: the graphs run as they are).
"""

from __future__ import annotations

import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd
from torch._functorch.partitioners import min_cut_rematerialization_partition

from benchmarks import vae

MATMULS = (torch.ops.aten.mm.default, torch.ops.aten.addmm.default)


def _count(graphs: list[torch.fx.GraphModule]) -> int:
    return sum(n.target in MATMULS for g in graphs for n in g.graph.nodes)


def test_compiled_vae_runs_each_network_once_forward_and_backward() -> None:
    forward, backward = [], []

    def keep(graphs):
        def compiler(gm, example_inputs):
            graphs.append(gm)
            return make_boxed_func(gm.forward)

        return compiler

    backend = aot_autograd(
        fw_compiler=keep(forward),
        bw_compiler=keep(backward),
        partition_fn=min_cut_rematerialization_partition,
    )
    cfg = vae.VAEConfig(hidden=8, z_dim=2, x_dim=6, batch=4)
    nets = vae.make_networks(cfg)
    model = vae.dgmcore_model(cfg, nets, "analytic")
    loss = model.loss_cls.compile(backend=backend)
    for _ in range(3):  # the first evaluation runs eagerly, the second traces
        loss.eval(vae.make_inputs(cfg)).backward()
    assert len(forward) == len(backward) == 1
    # one hidden layer per network: encoder body, loc and scale heads; decoder hidden and output
    assert _count(forward) == 5
    # each layer's weight gradient, and the input gradients of every layer but the first
    assert _count(backward) == 9
