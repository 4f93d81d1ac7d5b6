"""The little SDP the edge writes itself: the stand-in answer that parks a queued caller's media.

While a caller waits in a queue there is no agent to answer rtpengine's offer, yet the caller needs
an answer naming the relay's port. We answer on the agent side ourselves with the offer's own
codecs and a connection address whose port nobody listens on (the discard port): the caller's
audio goes nowhere until an agent's real answer replaces this one, and the caller hears what the
relay plays to it.
"""

from __future__ import annotations

__all__ = ["parked_answer"]

DISCARD_PORT = 9


# Transport attributes of the offerer's side that an answer must not echo.
_OFFERER_ONLY = ("a=rtcp:", "a=candidate", "a=ice-", "a=fingerprint", "a=setup", "a=crypto")


def _dropped(line: str, kind: str) -> bool:
    return line.startswith(_OFFERER_ONLY) or (kind not in ("", "audio") and line.startswith("a="))


def parked_answer(offer: bytes, address: str = "127.0.0.1") -> bytes:
    """An answer to ``offer`` accepting its audio at ``address``:9 and refusing other media (port 0)."""
    lines = offer.decode(errors="replace").replace("\r\n", "\n").split("\n")
    out: list[str] = []
    kind = ""
    for line in lines:
        if not line:
            continue
        if line.startswith("m="):
            fields = line[2:].split()
            kind = fields[0]
            fields[1] = str(DISCARD_PORT) if kind == "audio" else "0"
            out.append("m=" + " ".join(fields))
        elif line.startswith("c="):
            out.append(f"c=IN IP4 {address}")
        elif line.startswith("o="):
            fields = line[2:].split()
            out.append(f"o=- {fields[1] if len(fields) > 1 else '1'} 1 IN IP4 {address}")
        elif not _dropped(line, kind):
            out.append(line)
    return ("\r\n".join(out) + "\r\n").encode()
