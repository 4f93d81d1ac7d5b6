"""The one error of the SIP grammar, shared by the URI, header and message parsers."""

from __future__ import annotations

__all__ = ["SipParseError"]


class SipParseError(ValueError):
    """A message or value that does not follow the grammar.

    ``reason`` is short and printable so it can go into a 400's reason phrase or Warning header.
    ``partial`` is the request as far as it could be read when the start line and the headers a
    response needs (Via, From, To, Call-ID, CSeq) are present, so the caller can still answer
    ``status``; it is None when nothing answerable was recovered (then the message is dropped).
    It is a ``message.Request``, typed ``object`` here so that this module imports nothing of the
    parsers that raise it; `parsing.partial_request` reads it typed.
    """

    def __init__(self, reason: str, partial: object | None = None, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial
        self.status = status
