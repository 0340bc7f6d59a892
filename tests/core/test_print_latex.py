"""``dgmcore.print_latex``: Pixyz's ``pixyz.utils.print_latex`` for distributions, losses and models.

The LaTeX itself is the sympy rendering of ``Distribution.latex`` and
``Loss.latex`` (tests/losses/test_latex.py); here: what each kind of object
gives, the returned object, and bad input.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

import dgmcore
import dgmcore.latex
from dgmcore.errors import InputTypeError
from dgmcore.losses import KullbackLeibler, Parameter
from dgmcore.models import Model
from tests.core.families import Normal

P_TEX = r"p\left(x|z\right)"
PRIOR_TEX = r"p_{prior}\left(z\right)"


def _vae() -> tuple[Normal, Normal, Normal]:
    p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
    q = Normal(loc="x", scale=nn.Parameter(torch.ones(1)), var=["z"], cond_var=["x"], name="q")
    prior = Normal(loc=0.0, scale=1.0, var=["z"], name="p_{prior}")
    return p, q, prior


def test_it_is_exported_from_dgmcore_and_dgmcore_latex() -> None:
    assert dgmcore.print_latex is dgmcore.latex.print_latex
    assert "print_latex" in dgmcore.__all__ and "print_latex" in dgmcore.latex.__all__


def test_a_distribution_gives_its_formula_and_a_joint_its_factorisation() -> None:
    p, q, prior = _vae()
    assert dgmcore.print_latex(p) == p.latex == P_TEX
    joint = p * prior
    assert joint.latex == rf"{P_TEX} {PRIOR_TEX}"
    assert dgmcore.print_latex(joint) == rf"p\left(x,z\right) = {P_TEX} {PRIOR_TEX}"  # as Pixyz prints it
    marginal = joint.marginalize_var("z")
    assert dgmcore.print_latex(marginal) == rf"p\left(x\right) = \int {P_TEX} {PRIOR_TEX} dz"
    assert dgmcore.print_latex(p.replace_var(z="z_t")) == r"p\left(x|z_{t}\right)"


def test_a_loss_gives_its_latex_in_the_written_order() -> None:
    p, q, prior = _vae()
    kl = KullbackLeibler(q, prior)
    rec = p.log_prob().expectation(q)
    loss = (kl - rec).mean()
    tex = (
        r"\operatorname{mean} \left(D_{KL}\left[q\left(z|x\right)||p_{prior}\left(z\right)\right] - "
        r"\mathbb{E}_{q\left(z|x\right)}\left[\log p\left(x|z\right)\right]\right)"
    )
    assert dgmcore.print_latex(loss) == loss.latex == tex
    assert dgmcore.print_latex(2 * Parameter("beta") + 1) == r"2 \beta + 1"


def test_a_model_gives_its_loss_latex(capsys: pytest.CaptureFixture[str]) -> None:
    p, q, prior = _vae()
    loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()
    model = Model(loss, distributions=[q], test_loss=-p.log_prob().expectation(q).mean())
    assert model.latex == loss.latex  # the training loss, not the test loss, as Pixyz's
    assert dgmcore.print_latex(model) == loss.latex
    assert model._repr_latex_() == f"${loss.latex}$"
    model.print_latex()
    assert capsys.readouterr().out == loss.latex + "\n"


def test_the_result_is_the_text_which_a_notebook_renders(capsys: pytest.CaptureFixture[str]) -> None:
    p, _, _ = _vae()
    tex = dgmcore.print_latex(p)
    assert isinstance(tex, str) and isinstance(tex, dgmcore.latex.Latex)
    assert repr(tex) == str(tex) == P_TEX  # an interactive terminal shows the LaTeX itself
    assert tex._repr_latex_() == rf"$\displaystyle {P_TEX}$"  # what Jupyter renders
    assert capsys.readouterr().out == ""  # nothing printed: Pixyz's returns a Math object too


@pytest.mark.parametrize(
    "bad, named",
    [
        ("p(x|z)", "got str 'p(x|z)'"),
        (None, "got NoneType None"),
        (torch.zeros(2), "got torch.Tensor tensor([0., 0.])"),
        (nn.Linear(2, 2), "got torch.nn.modules.linear.Linear Linear(in_features=2"),
        (Normal, "got type <class 'tests.families"),
    ],
)
def test_anything_else_is_an_input_type_error_naming_it(bad: object, named: str) -> None:
    with pytest.raises(InputTypeError, match="needs a dgmcore Distribution, Loss or Model") as err:
        dgmcore.print_latex(bad)
    assert named in str(err.value)


def test_a_pixyz_object_is_refused_by_name() -> None:
    pixyz = pytest.importorskip("pixyz.distributions")
    with pytest.raises(InputTypeError, match=r"got pixyz\.distributions\.exponential_distributions\.Normal"):
        dgmcore.print_latex(pixyz.Normal(loc=0.0, scale=1.0, var=["x"]))


def test_it_needs_no_ipython() -> None:
    code = (
        "import sys, dgmcore; from dgmcore.losses import Parameter; "
        "tex = dgmcore.print_latex(Parameter('a') - 1); tex._repr_latex_(); "
        "assert 'IPython' not in sys.modules, 'IPython imported'; print(tex)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "a - 1"
