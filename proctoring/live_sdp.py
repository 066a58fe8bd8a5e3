"""The live channel's SDP: what is a usable offer, and the hint the answer gives the browser.

The offer is checked before any peer connection exists, so garbage never reaches aiortc.
"""

from __future__ import annotations

from aiortc.sdp import SessionDescription

MAX_OFFER_LENGTH = 100_000
"""A browser's offer for one audio and one video track is a few kilobytes."""


def check_offer(offer_sdp: str, offer_type: str) -> None:
    """Reject what is not a usable offer before any peer connection exists."""
    if offer_type != "offer":
        raise ValueError(f"expected an SDP offer, not {offer_type!r}")
    if not isinstance(offer_sdp, str) or not offer_sdp.strip():
        raise ValueError("the SDP offer is empty")
    if len(offer_sdp) > MAX_OFFER_LENGTH:
        raise ValueError("the SDP offer is too long")
    if not offer_sdp.lstrip().startswith("v=0"):
        raise ValueError("the offer is not SDP")
    try:
        description = SessionDescription.parse(offer_sdp)
    except Exception as exc:
        # The parser fails in many ways on garbage (IndexError, KeyError, ValueError...).
        raise ValueError(f"the offer is not valid SDP: {exc or type(exc).__name__}") from exc
    sending = {
        media.kind
        for media in description.media
        if media.port != 0 and (media.direction or "sendrecv") in ("sendrecv", "sendonly")
    }
    missing = {"audio", "video"} - sending
    if missing:
        raise ValueError(f"the offer sends no {' and no '.join(sorted(missing))}")


def with_packet_time(sdp: str, kind: str, milliseconds: int) -> str:
    """``sdp`` with ``a=ptime`` set in its ``kind`` media sections.

    The attribute tells the sender the packet duration the receiver prefers; it is a hint, so
    the description stays valid for the local peer connection, which never reads it back.
    """
    lines = sdp.split("\r\n")
    result: list[str] = []
    section: str | None = None
    pending = False
    attribute = f"a=ptime:{milliseconds}"
    for line in lines:
        if pending and (line.startswith(("a=", "m=")) or not line):
            # Media-level attributes follow the section's c=/b= lines (RFC 8866 order).
            result.append(attribute)
            pending = False
        if line.startswith("m="):
            section = line[2:].split(" ", 1)[0]
            pending = section == kind
        elif section == kind and line.startswith("a=ptime:"):
            continue
        result.append(line)
    if pending:
        result.append(attribute)
    return "\r\n".join(result)
