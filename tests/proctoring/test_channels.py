"""How a scheme's policy watches a live connection (the offer itself is tested over HTTP in
tests/web/test_proctoring_api.py and in the browser)."""

from __future__ import annotations

from proctoring.channels import live_config
from proctoring.schemas import Policy


def test_the_policy_sets_sampling_identity_checks_and_stalls() -> None:
    policy = Policy(sample_interval_seconds=3, identity_interval_seconds=45, media_off_seconds=7)
    config = live_config(policy, [0.5] * 128)
    assert config.sample_interval_seconds == 3
    assert config.identity_interval_seconds == 45
    assert config.stall_seconds == 7
    assert config.reference_descriptor == (0.5,) * 128


def test_without_a_profile_photo_there_is_no_face_to_compare_with() -> None:
    assert live_config(Policy(), None).reference_descriptor is None
    assert live_config(Policy(), []).reference_descriptor is None
