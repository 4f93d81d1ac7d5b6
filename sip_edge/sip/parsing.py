"""Reading SIP messages from bytes (RFC 3261 7, RFC 4475): framing, parsing, validation, verdicts.

``parse_message`` reads one datagram-framed message (``stream_frame_length`` frames a TCP/TLS
byte stream first). The header section is split eagerly into lines, but each value stays raw
text; Via and CSeq are parsed during validation and cached on the Headers, so later property
reads cost a dict lookup. From, To, Contact and the Request-URI are checked against their full
grammar on every message too, but a value that passed the check before (a seat's To, Contact and
Request-URI on every refresh; the From of a challenged REGISTER when it comes back with
credentials) is recognised instead of parsed again, and its parsed form is built only when
something reads it. The verdict is the same either way: it depends on the value alone.

Validation is deliberately strict where a wrong guess would route or answer the wrong call
(mandatory headers, CSeq, Content-Length, start line, address syntax) and tolerant where the
RFC asks (LWS and folding anywhere, LF-only line ends, leading CRLFs, unknown headers and
parameters, missing Max-Forwards from RFC 2543 peers). ``verdict`` maps the outcome onto what a
server should do: process, answer 400/505 (when enough of the request was read to address a
response), or drop.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import SipParseError
from .headers import _NAME_CACHE, Headers, canonical_name
from .message import (
    MAX_HEADERS,
    MAX_LINE_LENGTH,
    MAX_MESSAGE_SIZE,
    Request,
    Response,
    _parse_contacts,
    _parse_content_length,
    _parse_cseq,
    _parse_max_forwards,
)
from .uri import Via, check_address_params, is_token, parse_name_addr, parse_uri, parse_via, split_commas

__all__ = ["Verdict", "VerdictKind", "parse_message", "partial_request", "stream_frame_length", "verdict"]


# --- framing and parsing ------------------------------------------------------------------------------------


def _find_header_end(data: bytes, start: int) -> tuple[int, int]:
    """(end of header section, start of body) or (-1, -1). LF-only blank lines are accepted."""
    crlf = data.find(b"\r\n\r\n", start)
    lf = data.find(b"\n\n", start)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 4
    return -1, -1


def _skip_leading_crlf(data: bytes) -> int:
    # RFC 3261 7.5: CRLFs before the start line are ignored.
    start = 0
    length = len(data)
    while start < length and data[start] in (13, 10):
        start += 1
    return start


def stream_frame_length(buffer: bytes | bytearray) -> int | None:
    """Bytes taken by the first complete message in a stream buffer (leading CRLFs included),
    or None when more data is needed. RFC 3261 18.3 makes Content-Length mandatory on streams,
    so its absence or a bad value raises SipParseError (the connection should then be closed).
    Keep-alive CRLFs (RFC 5626) alone give None; the transport answers and discards them."""
    data = bytes(buffer)
    start = _skip_leading_crlf(data)
    head_end, body_start = _find_header_end(data, start)
    if head_end < 0:
        if len(data) - start > MAX_MESSAGE_SIZE:
            raise SipParseError("header section too large")
        return None
    content_length: int | None = None
    for raw_line in data[start:head_end].split(b"\n"):
        name, colon, value = raw_line.partition(b":")
        if not colon or raw_line[:1] in (b" ", b"\t"):
            continue
        key = name.strip().lower()
        if key in (b"content-length", b"l"):
            length = _parse_content_length(value.decode("latin-1"))
            if content_length is not None and content_length != length:
                raise SipParseError("conflicting Content-Length")
            content_length = length
    if content_length is None:
        raise SipParseError("Content-Length is mandatory on stream transports")
    total = body_start + content_length
    if total - start > MAX_MESSAGE_SIZE:
        raise SipParseError("message too large")
    return total if len(data) >= total else None


def _loose_request_line(line: str) -> tuple[str, str, str] | None:
    """Method, URI and version from a malformed request line, good enough to answer 400."""
    words = line.split()
    if len(words) >= 3 and is_token(words[0]) and words[-1].upper().startswith("SIP/"):
        return words[0], " ".join(words[1:-1]), words[-1]
    return None


def _check_version(version: str) -> None:
    if version == "SIP/2.0":
        return
    prefix, slash, number = version.partition("/")
    major, dot, minor = number.partition(".")
    if prefix.upper() != "SIP" or not slash or not dot or not major.isdigit() or not minor.isdigit():
        raise SipParseError("bad SIP version")
    if (major, minor) != ("2", "0"):
        raise SipParseError(f"SIP version {number} not supported", status=505)


class _CheckedValues:
    """Header values that passed a grammar check, so the check runs once per distinct value.

    Two generations of at most ``limit`` values each: a value seen again is kept in the current
    one, and when it fills up the older one is dropped whole. Values in use stay, a flood of
    distinct ones costs a bounded amount of memory, and every operation is O(1).
    """

    __slots__ = ("_current", "_limit", "_previous")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._current: set[str] = set()
        self._previous: set[str] = set()

    def __contains__(self, value: str) -> bool:
        if value in self._current:
            return True
        if value in self._previous:
            self.add(value)
            return True
        return False

    def add(self, value: str) -> None:
        if len(self._current) >= self._limit:
            self._previous = self._current
            self._current = set()
        self._current.add(value)

    def clear(self) -> None:
        self._current.clear()
        self._previous.clear()


# One store per grammar: a value valid as one thing (a Contact list) may be invalid as another
# (a From). Sized for a few thousand seats refreshing (To + Contact + Request-URI per seat).
_CHECKED_ADDRESSES = _CheckedValues(8192)
_CHECKED_CONTACTS = _CheckedValues(8192)
_CHECKED_REQUEST_URIS = _CheckedValues(8192)


def _check_request_uri(uri: str) -> None:
    if uri in _CHECKED_REQUEST_URIS:
        return
    _check_request_uri_grammar(uri)
    _CHECKED_REQUEST_URIS.add(uri)


def _check_request_uri_grammar(uri: str) -> None:
    scheme, colon, _ = uri.partition(":")
    if not colon or not scheme or not scheme[0].isalpha():
        raise SipParseError("bad Request-URI")
    lowered = scheme.lower()
    if lowered in ("sip", "sips"):
        parsed = parse_uri(uri)
        if parsed.headers:
            # RFC 3261 19.1.5 forbids headers in a Request-URI; RFC 4475 3.1.2.11 allows 400.
            raise SipParseError("Request-URI must not contain headers")
    elif not all(char.isalnum() or char in "+-." for char in scheme) or "<" in uri or ">" in uri:
        raise SipParseError("bad Request-URI")


def _answerable(method: str, uri: str, version: str, headers: Headers) -> Request | None:
    """The request as far as it was read, when a 4xx/5xx can still be addressed and matched.

    That needs a usable top Via (where to send, which branch) and a CSeq (the client matches on
    branch + CSeq method, RFC 3261 17.1.3); From, To and Call-ID are copied into the response
    when present (RFC 4475 3.3.1 asks for a 400 even when they are missing). When the Vias do not
    parse strictly but the top one's sent-protocol and sent-by do (RFC 4475 3.1.2.1), the partial
    carries that cleaned top Via instead, so the stack can route the 400 back. Answer a partial
    statelessly: its other parsed accessors may raise."""
    via_lines = headers.get_lines("Via")
    if not via_lines or "CSeq" not in headers:
        return None
    try:
        for line in via_lines:
            parse_via(line)
    except SipParseError:
        try:
            first = split_commas(via_lines[0])[0]
            top = parse_via(first.split(";", 1)[0])[0]
        except SipParseError:
            return None
        headers = headers.copy()
        headers.set("Via", str(top))
    return Request(method, uri, version, headers, b"")


def _header_entries(
    header_text: str, errors: list[SipParseError]
) -> tuple[list[tuple[str, str, str]], dict[str, int], dict[str, str]]:
    """Header lines one by one, with folding (RFC 3261 7.3.1), recording what is malformed.

    Returns the entries and, for validation, the first value of each header and how many lines
    there are of those that occur more than once (most messages have none).
    """
    entries: list[tuple[str, str, str]] = []
    repeated: dict[str, int] = {}
    firsts: dict[str, str] = {}
    name_cache = _NAME_CACHE
    # No line can be too long when the whole section is not: spares a check per line.
    check_length = len(header_text) > MAX_LINE_LENGTH
    for line in header_text.split("\n"):
        if not line:
            continue
        if check_length and len(line) > MAX_LINE_LENGTH:
            errors.append(SipParseError("header line too long"))
            continue
        if line[0] in " \t":
            # RFC 3261 7.3.1: a continuation line is folded into the previous value with one SP.
            if not entries:
                errors.append(SipParseError("continuation line before any header"))
                continue
            key, spelled, value = entries[-1]
            extra = line.strip(" \t")
            value = f"{value} {extra}" if value else extra
            entries[-1] = (key, spelled, value)
            if key not in repeated:  # the line folded into is the first of its name
                firsts[key] = value
            continue
        name, colon, value = line.partition(":")
        if not colon or not name:
            errors.append(SipParseError("header line without colon"))
            continue
        name = name.rstrip(" \t")
        # A name found in the cache was validated when it was cached.
        known = name_cache.get(name)
        if known is None:
            if not is_token(name):
                errors.append(SipParseError("bad header name"))
                continue
            known = canonical_name(name)
        key = known[0]
        value = value.strip(" \t")
        entries.append((key, known[1], value))
        if key in firsts:
            repeated[key] = repeated.get(key, 1) + 1
        else:
            firsts[key] = value
    return entries, repeated, firsts


def parse_message(data: bytes) -> Request | Response:
    """Parse one SIP message. Raises SipParseError (and nothing else) on any malformation."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise SipParseError("message too large")
    start = _skip_leading_crlf(data)
    if start == len(data):
        raise SipParseError("empty message")
    head_end, body_start = _find_header_end(data, start)
    missing_end = head_end < 0
    if missing_end:
        head_end = body_start = len(data)
    head = data[start:head_end].decode("utf-8", "surrogateescape")
    if "\r" in head:
        head = head.replace("\r\n", "\n")
    if head.count("\n") > MAX_HEADERS:
        raise SipParseError("too many header lines")
    start_line, _, header_text = head.partition("\n")
    is_response = start_line[:4].upper() == "SIP/"
    errors: list[SipParseError] = []
    method = uri = version = ""
    status = 0
    reason = ""
    request_line_ok = True
    if is_response:
        parts = start_line.split(" ", 2)
        version = parts[0]
        code = parts[1] if len(parts) > 1 else ""
        reason = parts[2] if len(parts) > 2 else ""
        if len(code) != 3 or not code.isdigit() or not code.isascii() or not 100 <= int(code) <= 699:
            raise SipParseError("bad status code")
        status = int(code)
        _check_version(version)
    else:
        parts = start_line.split(" ")
        if len(parts) == 3 and all(parts) and is_token(parts[0]):
            method, uri, version = parts
        else:
            loose = _loose_request_line(start_line)
            if loose is None:
                raise SipParseError("bad start line")
            method, uri, version = loose
            request_line_ok = False
            errors.append(SipParseError("bad Request-Line"))
        try:
            _check_version(version)
        except SipParseError as exc:
            errors.insert(0, exc)
        if request_line_ok:
            try:
                _check_request_uri(uri)
            except SipParseError as exc:
                errors.append(exc)

    entries, repeated, firsts = _header_entries(header_text, errors)
    headers = Headers._from_entries(entries, firsts)
    if missing_end:
        errors.append(SipParseError("no blank line after headers"))

    body = b""
    if "content-length" in repeated:
        errors.append(SipParseError("multiple Content-Length headers"))
    elif "content-length" in firsts:
        try:
            length = _parse_content_length(firsts["content-length"])
        except SipParseError as exc:
            errors.append(exc)
        else:
            if body_start + length > len(data):
                errors.append(SipParseError("Content-Length larger than message"))
            else:
                # RFC 3261 18.3: octets past Content-Length in a datagram are discarded.
                body = data[body_start : body_start + length]
    else:
        body = data[body_start:]

    if not errors:
        try:
            _validate(headers, repeated, firsts, method if not is_response else None)
        except SipParseError as exc:
            errors.append(exc)

    if errors:
        # A version error outranks the rest: the answer is 505 whatever else is wrong.
        first = next((exc for exc in errors if exc.status == 505), errors[0])
        partial = None if is_response else _answerable(method, uri, version, headers)
        raise SipParseError(first.reason, partial, first.status)

    if is_response:
        return Response(status, reason, version, headers, body)
    return Request(method, uri, version, headers, body)


_MANDATORY = tuple((name.lower(), name) for name in ("Via", "From", "To", "Call-ID", "CSeq"))
_SINGLETONS = tuple(
    (name.lower(), name) for name in ("From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Type")
)


def _validate(headers: Headers, repeated: dict[str, int], firsts: dict[str, str], method: str | None) -> None:
    """Mandatory headers (RFC 3261 8.1.1; Max-Forwards is optional on receipt, 16.3 step 3 and
    RFC 2543 peers), single-instance headers, and the fields the stack acts on."""
    cache = headers._cache
    for key, name in _MANDATORY:
        if key not in firsts:
            raise SipParseError(f"missing {name} header")
    if repeated:
        for key, name in _SINGLETONS:
            if key in repeated:
                raise SipParseError(f"more than one {name} header")

    if "via" not in repeated:
        via_lines = [firsts["via"]]
    else:
        via_lines = [value for key, _, value in headers._entries if key == "via"]
    vias: list[Via] = []
    for line in via_lines:
        vias.extend(parse_via(line))
    cache["via"] = vias

    call_id = firsts["call-id"]
    if not call_id or " " in call_id or "\t" in call_id:
        raise SipParseError("bad Call-ID")

    cseq = _parse_cseq(firsts["cseq"])
    if method is not None and cseq[1] != method:
        raise SipParseError("CSeq method does not match the request method")
    cache["cseq"] = cseq

    _check_address(cache, "from", firsts["from"])
    _check_address(cache, "to", firsts["to"])

    max_forwards = firsts.get("max-forwards")
    if max_forwards is not None:
        _parse_max_forwards(max_forwards)

    contact_count = repeated.get("contact", 1) if "contact" in firsts else 0
    if contact_count == 1:
        line = firsts["contact"]
        if line not in _CHECKED_CONTACTS:
            cache["contact"] = _parse_contacts([part for part in split_commas(line) if part])
            _CHECKED_CONTACTS.add(line)
    elif contact_count:
        # Several Contact lines are checked together: "*" is only valid as the one value.
        cache["contact"] = _parse_contacts(headers.get_all("Contact"))

    content_type = firsts.get("content-type")
    if content_type is not None:
        media = content_type.split(";", 1)[0]
        kind, slash, subtype = media.partition("/")
        if not slash or not is_token(kind.strip()) or not is_token(subtype.strip()):
            raise SipParseError("bad Content-Type")

    date = firsts.get("date")
    if date is not None and not date.rstrip().endswith("GMT"):
        # RFC 3261 20.17: SIP-date is always GMT (RFC 4475 3.1.2.12).
        raise SipParseError("Date must be in GMT")


def _check_address(cache: dict[str, object], key: str, value: str) -> None:
    """Check a From/To value; the parsed form is kept when it had to be built anyway."""
    if value in _CHECKED_ADDRESSES:
        return
    # "<URI>;params" is valid exactly when "<URI>" is and the params are: the URI's verdict does
    # not depend on what follows '>'. So a From whose tag is new each time (as it is on every
    # request of a dialog-less client) costs a check of its params once its address is known.
    address_end = value.find(">") + 1 if value.startswith("<") else 0
    if address_end and value[:address_end] in _CHECKED_ADDRESSES:
        check_address_params(value[address_end:])
        return
    cache[key] = parse_name_addr(value)
    _CHECKED_ADDRESSES.add(value)
    if address_end:
        _CHECKED_ADDRESSES.add(value[:address_end])


# --- verdicts -----------------------------------------------------------------------------------


class VerdictKind(enum.Enum):
    VALID = "valid"
    REJECT_400 = "reject-400"
    REJECT_505 = "reject-505"
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a server should do with a datagram. ``message`` is the parsed message when VALID and
    the partial request to answer when REJECT_*; ``reason`` explains a rejection."""

    kind: VerdictKind
    reason: str = ""
    message: Request | Response | None = None

    @property
    def status(self) -> int | None:
        return {VerdictKind.REJECT_400: 400, VerdictKind.REJECT_505: 505}.get(self.kind)


def partial_request(error: SipParseError) -> Request | None:
    """The request as far as it could be read before ``error`` (None: nothing answerable)."""
    partial = error.partial
    return partial if isinstance(partial, Request) else None


def verdict(data: bytes) -> Verdict:
    try:
        message = parse_message(data)
    except SipParseError as exc:
        partial = partial_request(exc)
        if partial is None:
            return Verdict(VerdictKind.DROP, exc.reason)
        kind = VerdictKind.REJECT_505 if exc.status == 505 else VerdictKind.REJECT_400
        return Verdict(kind, exc.reason, partial)
    return Verdict(VerdictKind.VALID, "", message)
