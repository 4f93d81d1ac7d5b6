"""SIP messages (RFC 3261 7): the Request and Response classes and their field parsers.

`parsing` reads and validates them from bytes (and says which values are parsed when);
`building` makes responses and fresh identifiers. Header values stay raw text until read: a
property parses its value on first use and keeps it on the Headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SipParseError
from .headers import Headers
from .uri import (
    NameAddr,
    SipUri,
    Via,
    is_token,
    parse_name_addr,
    parse_uri,
    parse_via,
)

__all__ = [
    "MAX_HEADERS",
    "MAX_LINE_LENGTH",
    "MAX_MESSAGE_SIZE",
    "REASON_PHRASES",
    "Headers",
    "NameAddr",
    "Request",
    "Response",
    "SipParseError",
    "SipUri",
    "Via",
    "parse_name_addr",
    "parse_uri",
    "parse_via",
    "reason_phrase",
]

MAX_MESSAGE_SIZE = 65536
MAX_HEADERS = 200
MAX_LINE_LENGTH = 8192
MAGIC_COOKIE = "z9hG4bK"
# RFC 3261 8.1.1.5: CSeq numbers are below 2**31.
_CSEQ_LIMIT = 2**31

REASON_PHRASES: dict[int, str] = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    430: "Flow Failed",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    469: "Bad Info Package",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    555: "Push Notification Service Not Supported",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
    608: "Rejected",
}

_DEFAULT_REASON_BY_CLASS = {1: "Trying", 2: "OK", 3: "Redirect", 4: "Client Error", 5: "Server Error"}


def reason_phrase(status: int) -> str:
    phrase = REASON_PHRASES.get(status)
    if phrase is not None:
        return phrase
    return _DEFAULT_REASON_BY_CLASS.get(status // 100, "Global Failure")


# --- the message classes ------------------------------------------------------------------------


class _Message:
    """What requests and responses share: typed, cached access to the core headers."""

    # Requests and responses are slotted (no per-message __dict__): a UDP server transaction
    # keeps its request and response for 32 s (timer J), thousands of them at a time.
    __slots__ = ()

    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        value = self.headers.get("Call-ID")
        if value is None:
            raise SipParseError("missing Call-ID")
        return value

    @property
    def cseq(self) -> tuple[int, str]:
        cache = self.headers._cache
        cached: tuple[int, str] | None = cache.get("cseq")
        if cached is None:
            value = self.headers.get("CSeq")
            if value is None:
                raise SipParseError("missing CSeq")
            cached = _parse_cseq(value)
            cache["cseq"] = cached
        return cached

    @property
    def vias(self) -> list[Via]:
        cache = self.headers._cache
        cached: list[Via] | None = cache.get("via")
        if cached is None:
            cached = []
            for line in self.headers.get_lines("Via"):
                cached.extend(parse_via(line))
            cache["via"] = cached
        return cached

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise SipParseError("missing Via")
        return vias[0]

    def _name_addr(self, key: str, name: str) -> NameAddr:
        cache = self.headers._cache
        cached: NameAddr | None = cache.get(key)
        if cached is None:
            value = self.headers.get(name)
            if value is None:
                raise SipParseError(f"missing {name}")
            cached = parse_name_addr(value)
            cache[key] = cached
        return cached

    @property
    def from_(self) -> NameAddr:
        return self._name_addr("from", "From")

    @property
    def to(self) -> NameAddr:
        return self._name_addr("to", "To")

    @property
    def to_tag(self) -> str | None:
        """``to.tag``, without parsing To when its text cannot hold a tag (a parameter named tag
        has those three letters in it), as in every request outside a dialog."""
        if "to" not in self.headers._cache:
            value = self.headers.get("To")
            if value is not None and "tag" not in value.lower():
                return None
        return self.to.tag

    @property
    def contacts(self) -> list[NameAddr]:
        """Parsed Contact values; empty for none and for the REGISTER wildcard ``*``."""
        cache = self.headers._cache
        cached: list[NameAddr] | None = cache.get("contact")
        if cached is None:
            cached = _parse_contacts(self.headers.get_all("Contact"))
            cache["contact"] = cached
        return cached

    @property
    def is_wildcard_contact(self) -> bool:
        return self.headers.get_all("Contact") == ["*"]

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        if value is None:
            return None
        return _parse_max_forwards(value)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Serialise with CRLF line ends and a Content-Length that matches the body."""
        body = self.body
        lines = [
            f"{spelled}: {value}"
            for _, spelled, value in self.headers._entries
            if spelled != "Content-Length"
        ]
        text = "\r\n".join([self._start_line(), *lines, f"Content-Length: {len(body)}", "\r\n"])
        return text.encode("utf-8", "surrogateescape") + body

    def set_top_via(self, via: Via) -> None:
        """Replace the top Via (e.g. after adding received/rport, RFC 3261 18.2.1 / RFC 3581)."""
        self.headers.replace_first("Via", str(via))


@dataclass(eq=False, slots=True)
class Request(_Message):
    method: str
    uri: str
    version: str = "SIP/2.0"
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    @property
    def sip_uri(self) -> SipUri:
        """The Request-URI parsed; raises SipParseError for non-sip schemes."""
        return parse_uri(self.uri)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"


@dataclass(eq=False, slots=True)
class Response(_Message):
    status: int
    reason: str = ""
    version: str = "SIP/2.0"
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def _start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"


# --- field parsers ------------------------------------------------------------------------------


def _parse_cseq(value: str) -> tuple[int, str]:
    parts = value.split()
    if len(parts) != 2:
        raise SipParseError("bad CSeq")
    number, method = parts
    if not number.isdigit() or not number.isascii() or len(number) > 10:
        raise SipParseError("bad CSeq number")
    sequence = int(number)
    if sequence >= _CSEQ_LIMIT:
        raise SipParseError("CSeq number out of range")
    if not is_token(method):
        raise SipParseError("bad CSeq method")
    return sequence, method


def _parse_max_forwards(value: str) -> int:
    value = value.strip()
    if not value.isdigit() or not value.isascii() or len(value) > 6:
        raise SipParseError("bad Max-Forwards")
    hops = int(value)
    if hops > 255:
        raise SipParseError("Max-Forwards out of range")
    return hops


def _parse_content_length(value: str) -> int:
    value = value.strip()
    if not value.isdigit() or not value.isascii() or len(value) > 9:
        raise SipParseError("bad Content-Length")
    return int(value)


def _parse_contacts(values: list[str]) -> list[NameAddr]:
    return [] if values == ["*"] else [parse_name_addr(value) for value in values]
