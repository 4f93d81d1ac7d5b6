"""RFC 3261 value grammar: SIP URIs (19.1), name-addr / addr-spec (20.10, 25.1) and Via (20.42).

Everything here works on header-field values that the message parser has already unfolded
(every CRLF + whitespace continuation replaced by one SP), so the scanners only deal with SP/HTAB.

Choices that callers rely on:
- Hosts keep IPv6 brackets (``"[2001:db8::1]"``) exactly as written in URIs and Via sent-by, so
  ``str()`` round-trips and a host can be pasted back into a URI; use :func:`unbracket` before
  handing one to a socket.
- Parameter names are lower-cased (RFC 3261 19.1.4 and 20: parameter names compare
  case-insensitively); values keep their case and, when quoted, their quotes, so that a proxy
  forwards them unchanged.
- URI user parts and parameters stay %-escaped as received (RFC 4475 3.1.1.3/3.1.1.4: unescaping
  early would shorten ``null-%00-null`` or turn ``value%2541`` into ``valueA``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SipParseError

__all__ = [
    "NameAddr",
    "SipUri",
    "Via",
    "check_address_params",
    "is_token",
    "parse_name_addr",
    "parse_uri",
    "parse_via",
    "split_commas",
    "unbracket",
    "unquote",
]


# Character classes are matched with single-class regexes: no alternation, so no backtracking.
_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# Union of every character RFC 3261 allows in a SIP-URI (user, password, host, params, headers).
_URI_CHARS_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/:@%\[\]]+")
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9\-._]+")
_IPV6_RE = re.compile(r"\[[0-9A-Fa-f:.]+\]")
# A gen-value / via-param value: token, host, bracketed or bare IPv6 (RFC 5118 received=).
_PARAM_VALUE_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~:\[\]]+")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_TOKEN_CLASS = r"[A-Za-z0-9\-.!%*_+`'~]+"
_VIA_PROTOCOL_RE = re.compile(rf"({_TOKEN_CLASS})[ \t]*/[ \t]*({_TOKEN_CLASS})[ \t]*/[ \t]*({_TOKEN_CLASS})")

# The Via nearly every client sends: "SIP/2.0/<transport> <host>[:<port>]" and plain params,
# no LWS, no quotes. Every value it matches, the general parser accepts with the same result
# (the character classes are theirs); anything else takes the general path.
_VIA_COMMON_RE = re.compile(
    r"SIP/2\.0/([A-Za-z]+) ([A-Za-z0-9\-._]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?"
    r"((?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~:\[\]]+)?)*)"
)

_WS = " \t"


def is_token(text: str) -> bool:
    """RFC 3261 token (methods, header names, parameter names, tags)."""
    return _TOKEN_RE.fullmatch(text) is not None


def unbracket(host: str) -> str:
    """``"[::1]"`` -> ``"::1"`` for socket APIs; other hosts are returned unchanged."""
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1]
    return host


def unquote(value: str) -> str:
    """The content of a quoted-string with quoted-pairs resolved; unquoted text is returned as is."""
    if value.startswith('"'):
        text, end = scan_quoted(value, 0)
        if end != len(value):
            raise SipParseError("text after quoted string")
        return text
    return value


def scan_quoted(text: str, start: int) -> tuple[str, int]:
    """Read the quoted-string opening at ``text[start]``; return its unescaped content and the
    index just past the closing quote. Uses str.find so long values stay linear."""
    pos = start + 1
    pieces: list[str] = []
    while True:
        close = text.find('"', pos)
        if close < 0:
            raise SipParseError("unterminated quoted string")
        backslash = text.find("\\", pos, close)
        if backslash < 0:
            pieces.append(text[pos:close])
            return "".join(pieces), close + 1
        pieces.append(text[pos:backslash])
        if backslash + 1 >= len(text):
            raise SipParseError("unterminated quoted string")
        pieces.append(text[backslash + 1])
        pos = backslash + 2


def _skip_quoted(text: str, start: int) -> int:
    """Index just past the quoted-string opening at ``text[start]`` (no unescaping)."""
    pos = start + 1
    while True:
        close = text.find('"', pos)
        if close < 0:
            raise SipParseError("unterminated quoted string")
        backslash = text.find("\\", pos, close)
        if backslash < 0:
            return close + 1
        pos = backslash + 2


def split_commas(value: str) -> list[str]:
    """Split a header-field value on the commas that separate list elements, leaving commas
    inside quoted strings and <...> alone. Elements are stripped; empty ones are kept so a
    validating caller can reject them."""
    if "," not in value:
        return [value.strip(_WS)]
    if '"' not in value and "<" not in value:
        return [part.strip(_WS) for part in value.split(",")]
    parts: list[str] = []
    begin = 0
    pos = 0
    length = len(value)
    while pos < length:
        char = value[pos]
        if char == '"':
            pos = _skip_quoted(value, pos)
            continue
        if char == "<":
            close = value.find(">", pos)
            if close < 0:
                raise SipParseError("unbalanced '<'")
            pos = close + 1
            continue
        if char == ",":
            parts.append(value[begin:pos].strip(_WS))
            begin = pos + 1
        pos += 1
    parts.append(value[begin:].strip(_WS))
    return parts


def _split_semicolons(text: str) -> list[str]:
    """Split on ';' outside quoted strings."""
    if '"' not in text:
        return text.split(";")
    parts: list[str] = []
    begin = 0
    pos = 0
    length = len(text)
    while pos < length:
        char = text[pos]
        if char == '"':
            pos = _skip_quoted(text, pos)
            continue
        if char == ";":
            parts.append(text[begin:pos])
            begin = pos + 1
        pos += 1
    parts.append(text[begin:])
    return parts


def parse_params(segments: list[str], what: str) -> dict[str, str | None]:
    """Header/Via generic-params: ``name [= token / host / quoted-string]`` with SWS around '='."""
    params: dict[str, str | None] = {}
    for segment in segments:
        name, equals, value = segment.partition("=")
        name = name.strip(_WS)
        if not name:
            raise SipParseError(f"empty {what} parameter")
        if _TOKEN_RE.fullmatch(name) is None:
            raise SipParseError(f"bad {what} parameter name")
        if not equals:
            params[name.lower()] = None
            continue
        value = value.strip(_WS)
        if value.startswith('"'):
            if _skip_quoted(value, 0) != len(value):
                raise SipParseError(f"bad quoted {what} parameter value")
        elif _PARAM_VALUE_RE.fullmatch(value) is None:
            raise SipParseError(f"bad {what} parameter value")
        params[name.lower()] = value
    return params


def _format_params(params: dict[str, str | None]) -> str:
    if not params:
        return ""
    return "".join([f";{name}" if value is None else f";{name}={value}" for name, value in params.items()])


@dataclass(slots=True)
class SipUri:
    """A sip: or sips: URI (RFC 3261 19.1.1). ``host`` keeps IPv6 brackets; ``user`` and
    parameter values stay %-escaped; ``params`` names are lower-case."""

    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out.append(":")
                out.append(self.password)
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        if self.params:
            out.append(_format_params(self.params))
        if self.headers:
            out.append("?")
            out.append("&".join(f"{name}={value}" for name, value in self.headers.items()))
        return "".join(out)

    @property
    def transport(self) -> str | None:
        value = self.params.get("transport")
        return value.lower() if value else None

    @property
    def lr(self) -> bool:
        return "lr" in self.params


def _parse_hostport(text: str, what: str) -> tuple[str, int | None]:
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise SipParseError(f"unterminated IPv6 reference in {what}")
        host = text[: close + 1]
        rest = text[close + 1 :]
        if _IPV6_RE.fullmatch(host) is None:
            raise SipParseError(f"bad IPv6 reference in {what}")
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise SipParseError(f"bad host in {what}")
        port_text = rest[1:]
    else:
        host, colon, port_text = text.partition(":")
        if _HOSTNAME_RE.fullmatch(host) is None:
            raise SipParseError(f"bad host in {what}")
        if not colon:
            return host, None
    if not port_text.isdigit() or not port_text.isascii() or len(port_text) > 5:
        raise SipParseError(f"bad port in {what}")
    port = int(port_text)
    if port > 65535:
        raise SipParseError(f"port out of range in {what}")
    return host, port


def parse_uri(text: str) -> SipUri:
    """Parse a sip:/sips: URI. Raises SipParseError for other schemes or bad syntax."""
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("sip", "sips"):
        raise SipParseError("not a sip or sips URI")
    if _URI_CHARS_RE.fullmatch(rest) is None:
        raise SipParseError("illegal character in URI")
    if "%" in rest and _BAD_ESCAPE_RE.search(rest) is not None:
        raise SipParseError("bad %-escape in URI")
    user: str | None = None
    password: str | None = None
    # The user part may itself contain ';', '?' and ':' (RFC 4475 3.1.1.2), but never '@'.
    at = rest.find("@")
    if at >= 0:
        userinfo = rest[:at]
        rest = rest[at + 1 :]
        user, pcolon, pw = userinfo.partition(":")
        if pcolon:
            password = pw
        if not user:
            raise SipParseError("empty user in URI")
    rest, question, header_text = rest.partition("?")
    hostport, *param_segments = rest.split(";")
    host, port = _parse_hostport(hostport, "URI")
    params: dict[str, str | None] = {}
    for segment in param_segments:
        name, equals, value = segment.partition("=")
        if not name:
            raise SipParseError("empty URI parameter")
        params[name.lower()] = value if equals else None
    headers: dict[str, str] = {}
    if question:
        for pair in header_text.split("&"):
            name, equals, value = pair.partition("=")
            if not name or not equals:
                raise SipParseError("bad URI header")
            headers[name] = value
    return SipUri(scheme, user, password, host, port, params, headers)


@dataclass(slots=True)
class NameAddr:
    """A From/To/Contact/Route style value. ``uri`` is a SipUri for sip/sips and the URI text for
    any other scheme (tel:, urn:, ... RFC 4475 3.3.4); ``raw`` is that URI text as received."""

    display_name: str | None
    uri: SipUri | str
    params: dict[str, str | None] = field(default_factory=dict)
    raw: str = ""

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    @property
    def sip_uri(self) -> SipUri | None:
        return self.uri if isinstance(self.uri, SipUri) else None

    def __str__(self) -> str:
        uri = str(self.uri)
        if self.display_name is not None:
            escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
            head = f'"{escaped}" <{uri}>'
        else:
            head = f"<{uri}>"
        return head + _format_params(self.params)


def _parse_any_uri(text: str) -> SipUri | str:
    scheme, colon, _ = text.partition(":")
    if not colon or _SCHEME_RE.fullmatch(scheme) is None:
        raise SipParseError("bad URI scheme")
    if scheme.lower() in ("sip", "sips"):
        return parse_uri(text)
    if _URI_CHARS_RE.fullmatch(text) is None:
        raise SipParseError("illegal character in URI")
    return text


def _address_param_segments(tail: str) -> list[str]:
    """The parameters of a name-addr, from ``tail``: the text after its '>'."""
    tail = tail.strip(_WS)
    if not tail:
        return []
    if not tail.startswith(";"):
        raise SipParseError("text after '>'")
    return _split_semicolons(tail[1:])


def check_address_params(tail: str) -> None:
    """Raise SipParseError unless ``tail`` is what may follow the '>' of a name-addr; the
    address before it is then valid or not whatever follows it."""
    segments = _address_param_segments(tail)
    if segments:
        parse_params(segments, "address")


def parse_name_addr(text: str) -> NameAddr:
    """Parse ``[display-name] <URI> *(;param)`` or ``addr-spec *(;param)``."""
    text = text.strip(_WS)
    if not text:
        raise SipParseError("empty address")
    display: str | None = None
    if text.startswith('"'):
        display, pos = scan_quoted(text, 0)
        rest = text[pos:].lstrip(_WS)
        if not rest.startswith("<"):
            raise SipParseError("quoted display name without <URI>")
        lt = len(text) - len(rest)
    else:
        lt = text.find("<")
        if lt >= 0:
            words = text[:lt].split()
            # RFC 4475 3.1.1.6 asks to accept a missing space before '<'; a comma or other
            # non-token character in an unquoted name is still rejected (3.1.2.15).
            for word in words:
                if _TOKEN_RE.fullmatch(word) is None:
                    raise SipParseError("display name must be tokens or a quoted string")
            display = " ".join(words) if words else None
    if lt >= 0:
        gt = text.find(">", lt)
        if gt < 0:
            raise SipParseError("missing '>'")
        uri_text = text[lt + 1 : gt]
        if uri_text != uri_text.strip(_WS) or not uri_text:
            raise SipParseError("whitespace inside <URI>")
        segments = _address_param_segments(text[gt + 1 :])
    else:
        # addr-spec form: the URI ends at the first ';' and may not hold '?' or ',' (RFC 3261 20).
        uri_text, *segments = _split_semicolons(text)
        uri_text = uri_text.rstrip(_WS)
        if "?" in uri_text or "," in uri_text or " " in uri_text or "\t" in uri_text:
            raise SipParseError("URI with '?', ',' or spaces must be enclosed in <>")
    uri = _parse_any_uri(uri_text)
    params = parse_params(segments, "address") if segments else {}
    return NameAddr(display, uri, params, uri_text)


@dataclass(slots=True)
class Via:
    """One Via value (RFC 3261 20.42 / 18.2.1). ``host`` keeps IPv6 brackets."""

    protocol: str
    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> str | None:
        """None when absent, "" when present without a value (RFC 3581 request), else the port."""
        if "rport" not in self.params:
            return None
        value = self.params["rport"]
        return "" if value is None else value

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.protocol}/{self.transport} {self.sent_by}{_format_params(self.params)}"


def _parse_common_via(text: str) -> Via | None:
    """The Via when it has the common shape (see _VIA_COMMON_RE), else None."""
    match = _VIA_COMMON_RE.fullmatch(text)
    if match is None:
        return None
    transport, host, port_text, tail = match.groups()
    port: int | None = None
    if port_text is not None:
        port = int(port_text)
        if port > 65535:
            return None  # the general parser says what is wrong
    params: dict[str, str | None] = {}
    if tail:
        for segment in tail[1:].split(";"):
            name, equals, value = segment.partition("=")
            params[name.lower()] = value if equals else None
    return Via("SIP/2.0", transport.upper(), host, port, params)


def _parse_one_via(text: str) -> Via:
    common = _parse_common_via(text)
    if common is not None:
        return common
    # SLASH = SWS "/" SWS; each part is a token, so the classes never overlap the separators and
    # the match is linear.
    head = _VIA_PROTOCOL_RE.match(text)
    if head is None:
        raise SipParseError("bad Via sent-protocol")
    name, version, transport = head.groups()
    name = name.upper()
    transport = transport.upper()
    end = head.end()
    if end < len(text) and text[end] not in _WS:
        raise SipParseError("bad Via transport")
    sent_by_and_params = text[end:].lstrip(_WS)
    sent_by, *segments = _split_semicolons(sent_by_and_params)
    sent_by = sent_by.strip(_WS)
    if not sent_by:
        raise SipParseError("Via without sent-by")
    if " " in sent_by or "\t" in sent_by:
        # COLON = SWS ":" SWS, so "host : 5060" is legal.
        if ":" in sent_by and not sent_by.startswith("["):
            host_part, _, port_part = sent_by.partition(":")
            sent_by = host_part.rstrip(_WS) + ":" + port_part.lstrip(_WS)
        elif sent_by.startswith("[") and "]" in sent_by:
            close = sent_by.index("]")
            sent_by = sent_by[: close + 1] + sent_by[close + 1 :].replace(" ", "").replace("\t", "")
    host, port = _parse_hostport(sent_by, "Via")
    params = parse_params(segments, "Via") if segments else {}
    return Via(f"{name}/{version}", transport, host, port, params)


def parse_via(value: str) -> list[Via]:
    """Every Via in one header-field value (they may be comma-separated)."""
    vias: list[Via] = []
    for part in split_commas(value):
        if not part:
            raise SipParseError("empty Via value")
        vias.append(_parse_one_via(part))
    return vias
