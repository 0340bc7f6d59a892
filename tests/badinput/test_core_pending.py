"""Bad outcomes the bad-input suite finds on the distribution side, pending the core's fix.

Each test is the smallest case of one cause the suite tallies as
``pending:<finding>`` (tests/badinput/harness.py ``PENDING``); the finding ids
are those of ../shared/findings/bad-input.md. They are strict xfails: when a
fix lands, the test passes, the xfail turns red, and whoever fixed it drops the
mark here and the id from ``PENDING`` (so the suite counts those cases as
failures again if they come back).
"""

from __future__ import annotations

import pytest
import torch

from dgmcore.errors import DGMError, InputTypeError, ShapeError
from tests.badinput.targets import _DeclaredEncoder
from tests.families import Normal
from tests.losses.conftest import Decoder, Encoder


def pending(finding: str):
    return pytest.mark.xfail(strict=True, reason=f"{finding}: core fix pending (lead)")


def _conditioned(**kw):
    return Normal(loc="m", scale=1.0, var=["x"], cond_var=["m"], features_shape=[3], **kw)


def test_an_unbatched_input_to_a_network_without_features_shape_is_a_shape_error():
    q = Encoder()  # features_shape not declared
    with pytest.raises(ShapeError, match=r"q\(z\|x\)"):
        q.get_log_prob({"x": torch.zeros(6), "z": torch.zeros(2)})


def test_an_unbatched_call_does_not_change_what_a_later_good_batch_gives():
    q = Encoder()
    good = {"x": torch.randn(8, 6), "z": torch.randn(8, 2)}
    want = Encoder().get_log_prob(good)
    try:
        q.sample({"x": torch.zeros(6)})
    except DGMError:
        pass
    torch.testing.assert_close(q.get_log_prob(good), want)


def test_an_unbatched_latent_of_a_decoder_without_features_shape_is_a_shape_error():
    p = Decoder()
    with pytest.raises(ShapeError, match=r"p\(x\|z\)"):
        p.sample({"z": torch.zeros(2)})


def test_a_value_batch_of_one_against_parameters_of_two_is_a_shape_error():
    q = _DeclaredEncoder()
    with pytest.raises(ShapeError, match=r"q\(z\|x\)"):
        q.get_log_prob({"x": torch.zeros(2, 6), "z": torch.zeros(1, 2)})


def test_parameters_from_an_input_are_checked_against_features_shape():
    with pytest.raises(ShapeError, match=r"p\(x\|m\)"):
        _conditioned().sample({"m": torch.zeros(2, 4)})


def test_sample_mean_of_an_unbatched_input_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"p\(x\|m\)"):
        _conditioned().sample_mean({"m": torch.zeros(3)})


def test_errors_of_a_renamed_distribution_name_it_and_its_variables():
    p = _conditioned().replace_var(x="y", m="w")
    with pytest.raises(InputTypeError, match=r"p\(y\|w\).*'w'"):
        p.sample({"w": None})


def test_an_integer_input_is_a_typed_error_or_converted():
    p = _conditioned()
    m = torch.ones(2, 3, dtype=torch.long)
    try:
        mean = p.sample_mean({"m": m})
    except DGMError:
        return
    assert mean.dtype == torch.get_default_dtype()


def test_feature_dims_that_are_not_dims_are_a_typed_error():
    p = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[3])
    for bad in ((5,), "a", (1.5,)):
        with pytest.raises(DGMError, match=r"p\(x\).*feature_dims"):
            p.get_log_prob({"x": torch.zeros(2, 3)}, feature_dims=bad)


def test_sample_shape_true_is_refused():
    p = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[3])
    with pytest.raises(InputTypeError, match="sample_shape"):
        p.sample(batch_n=2, sample_shape=True)


def test_a_number_for_a_conditioning_variable_is_one_example_as_in_pixyz():
    # D8: a number used to fail with a shape error about "parameters"; Pixyz reads it as one example
    mean = _conditioned().sample_mean({"m": 0.5})
    torch.testing.assert_close(mean, torch.full((1, 3), 0.5))
    with pytest.raises(InputTypeError, match=r"p\(x\|m\).*'m'"):  # a list is still refused
        _conditioned().sample_mean({"m": [0.5]})


def test_a_deterministic_factor_checks_batch_n_and_its_inputs():
    from tests.badinput.targets import Double

    with pytest.raises(InputTypeError, match=r"f\(h\|z\)"):
        Double().sample({"z": torch.zeros(3, 2)}, batch_n=-1)
    with pytest.raises(InputTypeError, match=r"f\(h\|z\)"):
        Double().sample({"z": [[1.0, 2.0]]})
