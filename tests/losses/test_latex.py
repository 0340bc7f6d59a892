"""Plain-text and LaTeX formulas of losses keep the order the user wrote."""

from __future__ import annotations

import pytest

from dgmcore.losses import (
    ELBO,
    IWELBO,
    CrossEntropy,
    Entropy,
    KullbackLeibler,
    MaxLoss,
    MinLoss,
    Parameter,
    ValueLoss,
)
from tests.losses.conftest import make_vae

V = make_vae()
KL = KullbackLeibler(V.q, V.prior)
REC = V.p.log_prob().expectation(V.q)
KL_TEX = r"D_{KL}\left[q\left(z|x\right)||p_{prior}\left(z\right)\right]"
REC_TEX = r"\mathbb{E}_{q\left(z|x\right)}\left[\log p\left(x|z\right)\right]"
a, b, c = Parameter("a"), Parameter("b"), Parameter("c")

CASES = [
    ("vae", (KL - REC).mean(), "mean(KL[q(z|x)||p_{prior}(z)] - E_{q(z|x)}[log p(x|z)])",
     rf"\operatorname{{mean}} \left({KL_TEX} - {REC_TEX}\right)"),
    ("vae-reversed", -REC + KL, "-E_{q(z|x)}[log p(x|z)] + KL[q(z|x)||p_{prior}(z)]",
     rf"- {REC_TEX} + {KL_TEX}"),
    ("rec-minus-kl", REC - KL, "E_{q(z|x)}[log p(x|z)] - KL[q(z|x)||p_{prior}(z)]", rf"{REC_TEX} - {KL_TEX}"),
    ("beta", Parameter("beta") * KL - REC, "beta * KL[q(z|x)||p_{prior}(z)] - E_{q(z|x)}[log p(x|z)]",
     rf"\beta {KL_TEX} - {REC_TEX}"),
    ("sum3", a + b + c, "a + b + c", "a + b + c"),
    ("sum3-reversed", c + b + a, "c + b + a", "c + b + a"),
    ("sub3", a - b - c, "a - b - c", "a - b - c"),
    ("sub-nested", a - (b - c), "a - (b - c)", r"a - \left(b - c\right)"),
    ("times-number", a * 2, "a * 2", r"a \cdot 2"),
    ("number-times", 2 * a, "2 * a", "2 a"),
    ("product-order", c * b * a, "c * b * a", "c b a"),
    ("fraction", a / b, "a / b", r"\frac{a}{b}"),
    ("neg-sum", -(a + b), "-(a + b)", r"- \left(a + b\right)"),
    ("minus-neg", a - (-b), "a - (-b)", r"a - \left(- b\right)"),
    ("plus-neg", a + (-b), "a + (-b)", "a - b"),
    ("minus-negative-number", a - ValueLoss(-1.0), "a - (-1.0)", r"a - \left(-1.0\right)"),
    ("abs", abs(a - b), "|a - b|", r"\left|{a - b}\right|"),
    ("max-order", MaxLoss(b, a), "max(b, a)", r"\max\left(b, a\right)"),
    ("min", MinLoss(a, 1.5), "min(a, 1.5)", r"\min\left(a, 1.5\right)"),
    ("value", ValueLoss(0.5) + a, "0.5 + a", "0.5 + a"),
    ("entropy", Entropy(V.q), "H[q(z|x)]", r"H\left[q\left(z|x\right)\right]"),
    ("cross-entropy", CrossEntropy(V.q, V.prior), "H[q(z|x), p_{prior}(z)]",
     r"H\left[q\left(z|x\right),p_{prior}\left(z\right)\right]"),
    ("elbo", ELBO(V.p * V.prior, V.q), "E_{q(z|x)}[log p(x,z) - log q(z|x)]",
     r"\mathbb{E}_{q\left(z|x\right)}\left[\log p\left(x,z\right) - \log q\left(z|x\right)\right]"),
]


@pytest.mark.parametrize("loss, text, tex", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_text_and_latex_keep_the_written_order(loss, text, tex):
    assert str(loss) == text
    assert loss.latex == tex
    assert loss._repr_latex_() == f"${tex}$"


def test_print_latex(capsys):
    (KL - REC).print_latex()
    assert capsys.readouterr().out == f"{KL_TEX} - {REC_TEX}\n"


def test_iwelbo_latex_names_both_distributions():
    tex = IWELBO(V.p * V.prior, V.q, k=5).latex
    assert r"\frac{1}{5}\sum_{i=1}^{5}" in tex
    assert r"p\left(x|z\right) p_{prior}\left(z\right)" in tex and r"q\left(z|x\right)" in tex


def test_repr_names_the_class_and_formula():
    assert repr(KL) == "<KullbackLeibler: KL[q(z|x)||p_{prior}(z)]>"
