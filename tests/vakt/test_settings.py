"""The body's look in the settings: a main colour that keeps white text readable, a logo file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vakt.settings import DEFAULT_BODY_COLOUR, Settings, contrast_with_white


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path, _env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_the_default_colour_passes_wcag_aa() -> None:
    assert contrast_with_white(DEFAULT_BODY_COLOUR) >= 4.5
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    assert contrast_with_white("#000000") == pytest.approx(21.0)


def test_a_dark_colour_is_taken_and_written_in_lower_case(tmp_path: Path) -> None:
    assert _settings(tmp_path, body_colour="#1A5E9A").body_colour == "#1a5e9a"


@pytest.mark.parametrize(
    "colour", ["1a5e9a", "#1a5e9", "#1a5e9a0", "blue", "#gg0000", "#1a5e9a;}", "", "#fff"]
)
def test_a_colour_not_written_rrggbb_is_refused(tmp_path: Path, colour: str) -> None:
    with pytest.raises(ValidationError, match="VAKT_BODY_COLOUR must be a colour written"):
        _settings(tmp_path, body_colour=colour)


@pytest.mark.parametrize("colour", ["#ffff00", "#ffffff", "#1e90ff", "#777777"])
def test_a_colour_too_light_for_white_text_is_refused(tmp_path: Path, colour: str) -> None:
    with pytest.raises(ValidationError, match=r"too light: white text on it has a contrast"):
        _settings(tmp_path, body_colour=colour)


def test_the_contrast_limit_is_4_5_to_1(tmp_path: Path) -> None:
    # #767676 is the lightest grey with 4.5:1 against white; #777777 is just below.
    assert _settings(tmp_path, body_colour="#767676").body_colour == "#767676"


def test_a_logo_is_a_picture_file_relative_to_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert _settings(tmp_path, body_logo="logo.png").body_logo == tmp_path / "logo.png"


def test_a_missing_logo_or_another_kind_of_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="VAKT_BODY_LOGO: no file at"):
        _settings(tmp_path, body_logo="missing.png")
    (tmp_path / "logo.html").write_text("<script>alert(1)</script>")
    with pytest.raises(ValidationError, match=r"VAKT_BODY_LOGO must be a \.png"):
        _settings(tmp_path, body_logo="logo.html")
