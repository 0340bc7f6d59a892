"""Loss.compile(): the same values and gradients as eager evaluation, in one graph.

Most tests use the ``aot_eager`` backend: dynamo and AOTAutograd trace exactly
as for the default backend, and random draws are eager ones, without paying for
C++ code generation. One test runs the default backend (inductor) with
``fallback_random``; it needs a C++ compiler, and is skipped where there is none.
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch
from functorch.compile import make_boxed_func
from torch._dynamo.backends.common import aot_autograd
from torch._functorch.partitioners import min_cut_rematerialization_partition

from dgmcore.losses import IWELBO, KullbackLeibler, Parameter
from dgmcore.losses._compiled import CompiledLoss
from tests.losses.conftest import grads, plain_vae


def vae_loss(v):
    return (KullbackLeibler(v.q, v.prior) - v.p.log_prob().expectation(v.q)).mean()


def assert_same_as_eager(loss, compiled, x, modules, calls=3, backward=True):
    for seed in range(calls):
        torch.manual_seed(seed)
        got = compiled.eval(x)
        if backward:
            got.sum().backward()
        g_got = grads(modules)
        torch.manual_seed(seed)
        want = loss.eval(x)
        if backward:
            want.sum().backward()
        g_want = grads(modules)
        torch.testing.assert_close(got, want)
        for a, b in zip(g_got, g_want, strict=True):
            torch.testing.assert_close(a, b)


def counting_backend():
    """AOTAutograd with the partitioner of the default backend; records each forward graph."""
    forward_graphs = []

    def compile_forward(gm, example_inputs):
        forward_graphs.append(gm)
        return make_boxed_func(gm.forward)

    def compile_backward(gm, example_inputs):
        return make_boxed_func(gm.forward)

    backend = aot_autograd(
        fw_compiler=compile_forward,
        bw_compiler=compile_backward,
        partition_fn=min_cut_rematerialization_partition,
    )
    return backend, forward_graphs


def test_compiled_vae_objective_equals_eager_in_one_graph():
    v = plain_vae()
    loss = vae_loss(v)
    backend, forward_graphs = counting_backend()
    compiled = loss.compile(backend=backend)
    assert isinstance(compiled, CompiledLoss)
    assert_same_as_eager(loss, compiled, {"x": v.x}, [v.q, v.p], calls=3)
    # traced once, on the second call (the first runs eagerly and fills the lazy caches), in one
    # graph: no break, as the traced function keeps its own memo store keyed by the input tensors
    assert len(forward_graphs) == 1
    mm = [n for n in forward_graphs[0].graph.nodes if n.target == torch.ops.aten.addmm.default]
    assert len(mm) == 4  # two layers of the encoder, two of the decoder: the encoder runs once
    # another batch size: traced again, still equal
    assert_same_as_eager(loss, compiled, {"x": plain_vae(batch=3).x}, [v.q, v.p], calls=1)
    assert len(forward_graphs) == 2


def test_compiled_iwelbo_equals_eager():
    v = plain_vae()
    loss = -IWELBO(v.p * v.prior, v.q, k=4).mean()
    assert_same_as_eager(loss, loss.compile(backend="aot_eager"), {"x": v.x}, [v.q, v.p], calls=2)


def test_return_dict_is_compiled_too():
    v = plain_vae()
    loss = vae_loss(v)
    compiled = loss.compile(backend="aot_eager")
    for seed in range(2):
        torch.manual_seed(seed)
        value, out = compiled.eval({"x": v.x}, return_dict=True, return_all=False)
        torch.manual_seed(seed)
        ref_value, ref_out = loss.eval({"x": v.x}, return_dict=True, return_all=False)
        torch.testing.assert_close(value, ref_value)
        assert sorted(out) == ["z"]
        torch.testing.assert_close(out["z"], ref_out["z"])


def test_many_compiled_losses_are_each_compiled():
    # torch.compile limits recompilations (8) per code object; every loss has its own
    calls = []

    def backend(gm, example_inputs):
        calls.append(gm)
        return gm.forward

    x = {f"a{i}": torch.ones(3) for i in range(10)}
    for i in range(10):
        compiled = (Parameter(f"a{i}") * 2).compile(backend=backend)  # a new loss each time
        compiled.eval(x)
        compiled.eval(x)
        assert len(calls) == i + 1


def test_compiled_loss_keeps_the_formula():
    v = plain_vae()
    loss = vae_loss(v)
    compiled = loss.compile(backend="aot_eager")
    assert str(compiled) == str(loss)
    assert compiled.latex == loss.latex
    assert compiled.input_var == ["x"]
    assert str(2 * compiled) == f"2 * {loss}"
    assert compiled.compile(backend="eager").loss is loss  # compiling twice compiles the loss once
    assert (Parameter("a") + 1).compile(backend="eager").eval({"a": torch.ones(2)}).tolist() == [2.0, 2.0]


def _cxx_compiler():
    names = [os.environ.get("CXX"), "g++", "clang++", "c++"]
    return next((shutil.which(n) for n in names if n and shutil.which(n)), None)


@pytest.mark.skipif(
    _cxx_compiler() is None,
    reason="torch.compile's default backend (inductor) generates C++ on CPU and needs a C++ "
    "compiler; none (CXX, g++, clang++, c++) is installed",
)
def test_default_backend_equals_eager():
    import torch._inductor.config as inductor_config

    v = plain_vae()
    loss = vae_loss(v)
    compiled = loss.compile()
    with inductor_config.patch(fallback_random=True):  # eager's random draws
        assert_same_as_eager(loss, compiled, {"x": v.x}, [v.q, v.p], calls=3)


def test_memo_inside_the_graph_shares_a_dropout_mask_between_terms():
    """Two terms on one dropout network: one mask with the memo on, one per term without."""
    from tests.families import Normal

    class Noisy(Normal):
        def __init__(self, memo: bool) -> None:
            super().__init__(var=["z"], cond_var=["x"], name="q", memo=memo)
            self.net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))

        def forward(self, x):  # type: ignore[no-untyped-def]
            return {"loc": self.net(x), "scale": torch.ones_like(x)}

    torch.manual_seed(0)
    data = {"x": torch.randn(8, 4), "z": torch.randn(8, 4)}
    for memo in (True, False):
        q = Noisy(memo)
        loss = (q.log_prob() - q.log_prob()).sum()  # zero exactly when both terms see one mask
        compiled = loss.compile(backend="aot_eager")
        values = [compiled.eval(data) for _ in range(3)]  # the first eagerly, then compiled
        assert all((v == 0) == memo for v in values), (memo, values)
