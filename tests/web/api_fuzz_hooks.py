"""Schemathesis hooks for tests/web/test_api_fuzz.py (loaded through ``SCHEMATHESIS_HOOKS``):
recording chunks are raw bytes, so their bodies are drawn as bytes, some starting like WebM."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st

EBML_MAGIC = b"\x1a\x45\xdf\xa3"

schemathesis.openapi.media_type(
    "video/webm",
    st.one_of(
        st.binary(max_size=2048),
        st.binary(max_size=2048).map(lambda rest: EBML_MAGIC + rest),
    ),
)
