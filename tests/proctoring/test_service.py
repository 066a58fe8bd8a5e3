"""A scheme's policy as staff enter it, and when an attempt is over: the rules the settings page
and the live channel rely on, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from exam.models import Attempt
from proctoring.schemas import Policy
from proctoring.service import POLICY_LABELS, attempt_over, validate_policy
from vakt.errors import VaktError

DEFAULTS: dict[str, Any] = Policy().model_dump(mode="json")


def test_a_valid_policy_is_taken_as_given() -> None:
    policy = validate_policy({**DEFAULTS, "no_face_seconds": "12.5", "enabled": False})
    assert policy.no_face_seconds == 12.5
    assert policy.enabled is False
    assert validate_policy(DEFAULTS) == Policy()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("identity_threshold", "0"),
        ("identity_threshold", "2"),
        ("sample_interval_seconds", "0.1"),
        ("identity_interval_seconds", "-1"),
        ("media_off_seconds", "0"),
        ("chunk_seconds", "61"),
        ("chunk_seconds", "2.5"),
        ("max_chunk_bytes", "1000"),
        ("video_bits_per_second", "abc"),
        ("speech_seconds", ""),
    ],
)
def test_a_value_out_of_range_or_not_a_number_names_its_field(name: str, value: str) -> None:
    with pytest.raises(VaktError) as refused:
        validate_policy({**DEFAULTS, name: value})
    assert refused.value.status_code == 422
    assert refused.value.field == name
    # The message names the field as the settings page labels it.
    assert refused.value.params == {"name": POLICY_LABELS[name]}


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(VaktError) as refused:
        validate_policy({**DEFAULTS, "blur_faces": "1"})
    assert refused.value.field == "blur_faces"


@pytest.mark.parametrize(
    ("status", "over"),
    [(None, False), ("in_progress", False), ("finished", True), ("terminated", True)],
)
def test_an_attempt_is_over_once_handed_in_or_terminated(status: str | None, over: bool) -> None:
    attempt = None if status is None else Attempt(status=status)
    assert attempt_over(attempt) is over
