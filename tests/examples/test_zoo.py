"""Every example of the model zoo (examples/*.py) trains in its reduced mode on the real digits:
the held-out loss falls, the pictures and metrics files appear, and each beats its baseline."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch

pytest.importorskip("sklearn", reason="the examples train on the scikit-learn digits")
pytest.importorskip("matplotlib", reason="the examples save pictures")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # the suite shares a small CPU: one thread is faster than two fighting over it
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run(name: str, out: Path, *args: str) -> dict[str, float]:
    """Run ``examples/<name>.py`` in-process with ``--quick``; check its files; return its metrics."""
    sys.path.insert(0, str(EXAMPLES))  # the examples import common.py by name
    try:
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        metrics = module.main(["--quick", "--out", str(out), *args])
    finally:
        sys.path.remove(str(EXAMPLES))
    written = json.loads((out / "metrics.json").read_text())
    assert written == pytest.approx(metrics)
    assert (out / "history.csv").read_text().count("\n") >= 3  # header + epochs
    assert module.__doc__ and "Usage:" in module.__doc__
    return metrics


def pictures(out: Path, *names: str) -> None:
    for name in names:
        assert (out / name).stat().st_size > 1000, name


def test_vae_and_conditional_vae(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = run("cvae_digits", tmp_path, "--epochs", "3")
    assert m["vae_test_loss"] < m["vae_initial_test_loss"] - 5
    assert m["cvae_test_loss"] < m["cvae_initial_test_loss"] - 5
    assert m["cvae_test_loss"] < m["vae_test_loss"]  # knowing the label helps reconstruct the digit
    assert "KL[q(z|x,y)||p_{prior}(z)] - E_{q(z|x,y)}[log p(x|z,y)]" in capsys.readouterr().out
    pictures(tmp_path, "reconstructions.png", "samples_per_class.png", "latent.png")


def test_m2_beats_logistic_regression_on_the_same_labels(tmp_path: Path) -> None:
    m = run("m2_semisupervised", tmp_path)
    assert m["labelled"] == 143
    assert m["test_loss"] < m["initial_test_loss"] - 5
    assert m["accuracy"] > m["logistic_regression_accuracy"]
    pictures(tmp_path, "samples_per_class.png")


def test_beta_vae_anneals_its_weight(tmp_path: Path) -> None:
    m = run("beta_vae", tmp_path, "--epochs", "4")
    history = (tmp_path / "history.csv").read_text().splitlines()
    weights = [float(line.split(",")[1]) for line in history[1:]]
    assert weights == pytest.approx([1.0, 2.0, 2.0, 2.0])  # 0 -> 2 over half of the 4 epochs
    assert m["test_loss"] < m["initial_test_loss"] - 5
    assert m["test_kl"] < m["beta1_test_kl"]  # a larger weight buys a smaller KL
    pictures(tmp_path, "traversal.png")


def test_iwae_log_likelihood_beats_the_vae(tmp_path: Path) -> None:
    m = run("iwae_digits", tmp_path, "--epochs", "3", "--eval-k", "100")
    assert m["vae_test_loglik"] > m["initial_test_loglik"] + 5
    for name in ("vae", "iwae5", "iwae50"):
        assert m[f"{name}_test_loglik"] >= m[f"{name}_test_elbo"] - 0.05  # log p(x) >= ELBO, up to noise
    assert m["iwae50_test_loglik"] > m["vae_test_loglik"]
    pictures(tmp_path, "bound.png", "samples.png")


def test_multimodal_cross_generation(tmp_path: Path) -> None:
    m = run("multimodal_digits", tmp_path, "--epochs", "3")
    for kind in ("jmvae", "mvae"):
        assert m[f"{kind}_test_loss"] < m[f"{kind}_initial_test_loss"] - 1
        assert m[f"{kind}_label_to_image_accuracy"] > 0.5  # chance is 0.1
    # MVAE's image-only expert learns the label more slowly (0.86 after the full 40 epochs)
    assert m["jmvae_image_to_label_accuracy"] > 0.5
    pictures(tmp_path, "jmvae_label_to_image.png", "mvae_label_to_image.png")


def test_vi_and_ml_match_logistic_regression(tmp_path: Path) -> None:
    m = run("vi_ml_digits", tmp_path, "--epochs", "30")
    for name in ("ml", "vi"):
        assert m[f"{name}_test_nll"] < m[f"initial_{name}_test_nll"] - 1  # from log 10 = 2.30
        assert m[f"{name}_test_accuracy"] > m["sklearn_test_accuracy"] - 0.06
    pictures(tmp_path, "weights.png")


def test_gaussian_mixture_beats_one_gaussian(tmp_path: Path) -> None:
    m = run("gmm_digits", tmp_path, "--epochs", "40")
    assert m["test_loss"] < m["initial_test_loss"]
    assert m["test_loglik"] > m["single_gaussian_test_loglik"] + 1
    assert m["test_loglik"] > m["sklearn_em_test_loglik"] - 1.5
    assert m["adjusted_rand_index"] > 0.2
    pictures(tmp_path, "clusters.png", "means.png")


def test_hierarchical_vae_trains(tmp_path: Path) -> None:
    m = run("hvae_digits", tmp_path, "--epochs", "3", "--eval-k", "50")
    for name in ("one_layer", "two_layers"):
        assert m[f"{name}_test_loss"] < m[f"{name}_initial_test_loss"] - 5
        assert m[f"{name}_test_loglik"] >= -m[f"{name}_test_loss"] - 0.05
    pictures(tmp_path, "samples.png")


def test_examples_reject_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run("cvae_digits", tmp_path, "--epochs", "0")


def test_mmd_vae_matches_its_codes_to_the_prior(tmp_path: Path) -> None:
    free = run("mmd_vae", tmp_path / "free", "--epochs", "3", "--weight", "0")  # an autoencoder: no MMD term
    m = run("mmd_vae", tmp_path / "mmd", "--epochs", "3")
    assert m["mmd_vae_test_rec"] < m["mmd_vae_initial_test_rec"] - 10
    assert m["vae_test_rec"] < m["vae_initial_test_rec"] - 10
    assert m["mmd_vae_test_mmd"] < 0.2 * free["mmd_vae_test_mmd"]  # the MMD term pulls q(z) to p(z)
    pictures(tmp_path / "mmd", "samples.png", "latent.png")
