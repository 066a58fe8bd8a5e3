"""Errors keep everything a person needs to read when they cross a process boundary."""

from __future__ import annotations

import pickle

from vakt.errors import NotFound, VaktError
from vakt.i18n import _l


def test_an_error_survives_pickling_whole() -> None:
    error = VaktError(
        _l("The photo is too large: at most {megapixels} megapixels are accepted."),
        field="photo",
        status_code=422,
        details=["one"],
        megapixels=50,
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301
    assert type(copy) is VaktError
    assert (copy.message, copy.field, copy.status_code, copy.details, copy.params) == (
        error.message,
        "photo",
        422,
        ["one"],
        {"megapixels": 50},
    )
    assert type(pickle.loads(pickle.dumps(NotFound(_l("No such part."))))) is NotFound  # noqa: S301
