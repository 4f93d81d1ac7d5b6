"""Reading an Authorization / Proxy-Authorization header (RFC 7616 / RFC 3261 §25.1 grammar).

`parse_authorization` turns the header value into `DigestCredentials` or raises
`DigestHeaderError`; `digest` verifies what it read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .uri import scan_quoted

__all__ = ["DigestCredentials", "DigestHeaderError", "parse_authorization"]

# Authorization headers longer than this are not digest credentials but an attack.
_MAX_HEADER_LENGTH = 4096


class DigestHeaderError(ValueError):
    """An Authorization / Proxy-Authorization value that cannot be parsed."""


@dataclass(slots=True)
class DigestCredentials:
    """A parsed Authorization / Proxy-Authorization header (auth-param names lower-cased)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    def _get(self, name: str) -> str | None:
        return self.params.get(name)

    @property
    def username(self) -> str | None:
        return self._get("username")

    @property
    def realm(self) -> str | None:
        return self._get("realm")

    @property
    def nonce(self) -> str | None:
        return self._get("nonce")

    @property
    def uri(self) -> str | None:
        return self._get("uri")

    @property
    def response(self) -> str | None:
        return self._get("response")

    @property
    def algorithm(self) -> str:
        # RFC 7616 3.4: absent means MD5
        return self._get("algorithm") or "MD5"

    @property
    def qop(self) -> str | None:
        return self._get("qop")

    @property
    def nc(self) -> str | None:
        return self._get("nc")

    @property
    def cnonce(self) -> str | None:
        return self._get("cnonce")

    @property
    def opaque(self) -> str | None:
        return self._get("opaque")


# The grammar of `_parse_authorization_scan` as regular expressions, for the well-formed values
# nearly every client sends: one match per auth-param instead of a loop per character. The
# alternatives are disjoint (no backtracking); \Z, not $, so a newline is never an end.
_AUTH_SCHEME_RE = re.compile(r"[^ \t]+")
# Separators, then the end or one auth-param (name, quoted value or token value).
_AUTH_PARAM_RE = re.compile(
    r'[ \t,]*(?:\Z|([^= \t,]+)[ \t]*=[ \t]*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^ \t,"][^ \t,]*))[ \t]*(?=,|\Z))',
    re.DOTALL,
)
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)


def parse_authorization(value: str) -> DigestCredentials:
    """Parse ``scheme 1#(name = token / quoted-string)`` (RFC 7235 2.1, RFC 3261 25.1).

    Quoted values are unescaped; unquoted ones are taken as tokens. Duplicate parameters are an
    error, because two different ``response`` or ``uri`` values would make the check ambiguous.
    """
    if len(value) > _MAX_HEADER_LENGTH:
        raise DigestHeaderError("credentials too long")
    text = value.strip(" \t")
    parsed = _parse_authorization_fast(text)
    if parsed is not None:
        return parsed
    # Unusual or malformed: the scanner says precisely what is wrong.
    return _parse_authorization_scan(text)


def _parse_authorization_fast(text: str) -> DigestCredentials | None:
    """The credentials when every auth-param matches the expressions above, else None."""
    scheme_match = _AUTH_SCHEME_RE.match(text)
    if scheme_match is None:
        return None
    params: dict[str, str] = {}
    pos = scheme_match.end()
    while True:
        match = _AUTH_PARAM_RE.match(text, pos)
        if match is None:
            return None
        raw_name, quoted, token = match.groups()
        if raw_name is None:  # only separators were left
            return DigestCredentials(scheme_match.group(), params)
        name = raw_name.lower()
        if name in params:
            return None
        if quoted is None:
            params[name] = token
        else:
            params[name] = _QUOTED_PAIR_RE.sub(r"\1", quoted) if "\\" in quoted else quoted
        pos = match.end()


def _parse_authorization_scan(text: str) -> DigestCredentials:
    space = 0
    length = len(text)
    while space < length and text[space] not in " \t":
        space += 1
    scheme = text[:space]
    if not scheme:
        raise DigestHeaderError("missing auth scheme")
    params: dict[str, str] = {}
    pos = space
    while pos < length:
        # separators: LWS and commas between auth-params
        while pos < length and text[pos] in " \t,":
            pos += 1
        if pos >= length:
            break
        start = pos
        while pos < length and text[pos] not in "= \t,":
            pos += 1
        name = text[start:pos].lower()
        while pos < length and text[pos] in " \t":
            pos += 1
        if not name or pos >= length or text[pos] != "=":
            raise DigestHeaderError("auth-param without value")
        pos += 1
        while pos < length and text[pos] in " \t":
            pos += 1
        if pos < length and text[pos] == '"':
            try:
                param_value, pos = scan_quoted(text, pos)
            except ValueError as exc:
                raise DigestHeaderError("unterminated quoted auth-param") from exc
        else:
            start = pos
            while pos < length and text[pos] not in " \t,":
                pos += 1
            param_value = text[start:pos]
            if not param_value:
                raise DigestHeaderError("empty auth-param value")
        while pos < length and text[pos] in " \t":
            pos += 1
        if pos < length and text[pos] != ",":
            raise DigestHeaderError("auth-params must be comma-separated")
        if name in params:
            raise DigestHeaderError(f"duplicate auth-param {name}")
        params[name] = param_value
    return DigestCredentials(scheme, params)
