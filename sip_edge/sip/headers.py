"""The header section of a SIP message: an ordered multi-map with RFC 3261 names.

Names compare case-insensitively (7.3.1) and compact forms (7.3.3 plus the IANA registry) are
stored under their full name, so ``get("v")`` and ``get("VIA")`` both find ``Via``. Each entry
keeps one header line as received (after unfolding), which is how it is serialised again: a proxy
that does not touch a header forwards it byte for byte, including comma-joined lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .uri import split_commas

__all__ = ["COMPACT_FORMS", "Headers", "canonical_name"]

# RFC 3261 7.3.3 and the IANA "Header Fields" registry compact forms.
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

# Spelling used when we serialise a known header, whatever case it arrived in.
_KNOWN = [
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
    "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
    "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "Identity",
    "Identity-Info", "In-Reply-To", "Max-Forwards", "MIME-Version", "Min-Expires", "Min-SE",
    "Organization", "P-Asserted-Identity", "P-Preferred-Identity", "Path", "Priority",
    "Privacy", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck", "Reason",
    "Record-Route", "Refer-To", "Referred-By", "Reject-Contact", "Replaces", "Reply-To",
    "Request-Disposition", "Require", "Retry-After", "Route", "RSeq", "Security-Client",
    "Security-Server", "Security-Verify", "Server", "Service-Route", "Session-Expires",
    "SIP-ETag", "SIP-If-Match", "Subject", "Subscription-State", "Supported", "Timestamp", "To",
    "Unsupported", "User-Agent", "Via", "Warning", "WWW-Authenticate",
]  # fmt: skip
_CANONICAL: dict[str, str] = {name.lower(): name for name in _KNOWN}
_CANONICAL.update({short: full for short, full in COMPACT_FORMS.items()})

# Headers whose grammar is a comma-separated list; only these are split by get_all. Unknown
# extension headers are never split: their grammar is unknown and RFC 4475 3.1.1.1 shows values
# such as ";;,,;;,;" that must pass through as one opaque value. Auth headers and Date hold
# commas that are not list separators.
_LIST_HEADERS = frozenset(
    name.lower()
    for name in (
        "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
        "Allow-Events", "Call-Info", "Contact", "Content-Encoding", "Content-Language",
        "Error-Info", "In-Reply-To", "P-Asserted-Identity", "P-Preferred-Identity", "Path",
        "Privacy", "Proxy-Require", "Reason", "Record-Route", "Reject-Contact",
        "Request-Disposition", "Require", "Route", "Security-Client", "Security-Server",
        "Security-Verify", "Service-Route", "Supported", "Unsupported", "Via", "Warning",
    )
)  # fmt: skip

# Bounded so that a flood of random header names cannot grow it.
_NAME_CACHE: dict[str, tuple[str, str]] = {}
_NAME_CACHE_LIMIT = 2048


def canonical_name(name: str) -> tuple[str, str]:
    """``(lookup key, spelling to serialise)`` for a header name as received or as asked for."""
    cached = _NAME_CACHE.get(name)
    if cached is not None:
        return cached
    lower = name.lower()
    spelled = _CANONICAL.get(lower)
    result = (lower, name) if spelled is None else (spelled.lower(), spelled)
    if len(_NAME_CACHE) < _NAME_CACHE_LIMIT:
        _NAME_CACHE[name] = result
    return result


class Headers:
    """Ordered multi-map of header lines; see the module docstring."""

    __slots__ = ("_cache", "_entries", "_firsts")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        # (lookup key, serialised name, value) per header line, in message order
        self._entries: list[tuple[str, str, str]] = []
        # Parsed forms (Via list, From, CSeq, ...) keyed by lookup key; dropped on change.
        self._cache: dict[str, Any] = {}
        # Lookup key -> first line's value, kept up to date by every change, so `get` (a dozen
        # times per request) is a dict lookup; None when not kept, and `get` scans the lines.
        self._firsts: dict[str, str] | None = {}
        for name, value in items:
            self.add(name, value)

    @classmethod
    def _from_entries(
        cls, entries: list[tuple[str, str, str]], firsts: dict[str, str] | None = None
    ) -> Headers:
        """Headers holding ``entries``; ``firsts``, when given, must be their first values."""
        headers = cls.__new__(cls)
        headers._entries = entries
        headers._cache = {}
        headers._firsts = firsts
        return headers

    def forget_parsed(self) -> None:
        """Drop the parsed forms cached so far; the next read parses its header again."""
        self._cache.clear()
        self._firsts = None

    def get(self, name: str) -> str | None:
        """The first header line's value (a whole line, even if it holds a comma list)."""
        # canonical_name's own cache, read here: this runs a dozen times per request.
        known = _NAME_CACHE.get(name)
        key = known[0] if known is not None else canonical_name(name)[0]
        firsts = self._firsts
        if firsts is not None:
            return firsts.get(key)
        for entry_key, _, value in self._entries:
            if entry_key == key:
                return value
        return None

    def get_lines(self, name: str) -> list[str]:
        """Every header line's value, unsplit."""
        key = canonical_name(name)[0]
        return [value for entry_key, _, value in self._entries if entry_key == key]

    def get_all(self, name: str) -> list[str]:
        """Every value, with comma lists of list-type headers split (quotes and <> respected)."""
        key = canonical_name(name)[0]
        lines = [value for entry_key, _, value in self._entries if entry_key == key]
        if key not in _LIST_HEADERS:
            return lines
        values: list[str] = []
        for line in lines:
            values.extend(part for part in split_commas(line) if part)
        return values

    def count(self, name: str) -> int:
        key = canonical_name(name)[0]
        return sum(1 for entry_key, _, _ in self._entries if entry_key == key)

    def add(self, name: str, value: str, *, first: bool = False) -> None:
        key, spelled = canonical_name(name)
        self._cache.pop(key, None)
        if first:
            self._entries.insert(0, (key, spelled, value))
        else:
            self._entries.append((key, spelled, value))
        firsts = self._firsts
        if firsts is not None and (first or key not in firsts):
            firsts[key] = value

    def set(self, name: str, value: str) -> None:
        """Replace every line of ``name`` with one line, at the position of the first."""
        key, spelled = canonical_name(name)
        self._cache.pop(key, None)
        replaced = False
        kept: list[tuple[str, str, str]] = []
        for entry in self._entries:
            if entry[0] != key:
                kept.append(entry)
            elif not replaced:
                kept.append((key, spelled, value))
                replaced = True
        if not replaced:
            kept.append((key, spelled, value))
        self._entries = kept
        if self._firsts is not None:
            self._firsts[key] = value

    def remove(self, name: str) -> None:
        key = canonical_name(name)[0]
        self._cache.pop(key, None)
        self._entries = [entry for entry in self._entries if entry[0] != key]
        if self._firsts is not None:
            self._firsts.pop(key, None)

    def replace_first(self, name: str, value: str) -> None:
        """Replace the first value of a list header (e.g. the top Via after adding received=),
        splitting a comma-joined line if needed; adds the header when absent."""
        key, spelled = canonical_name(name)
        self._cache.pop(key, None)
        for index, (entry_key, entry_name, line) in enumerate(self._entries):
            if entry_key == key:
                if key in _LIST_HEADERS and "," in line:
                    value = ", ".join([value, *split_commas(line)[1:]])
                self._entries[index] = (entry_key, entry_name, value)
                if self._firsts is not None:
                    self._firsts[key] = value
                return
        self._entries.append((key, spelled, value))
        if self._firsts is not None:
            self._firsts[key] = value

    def pop_first(self, name: str) -> str | None:
        """Remove and return the first value of a list header (a proxy removing its own Via)."""
        key = canonical_name(name)[0]
        self._cache.pop(key, None)
        self._firsts = None  # rare (a proxy's own Via): `get` scans from here on
        for index, (entry_key, entry_name, line) in enumerate(self._entries):
            if entry_key == key:
                parts = split_commas(line) if key in _LIST_HEADERS else [line]
                if len(parts) > 1:
                    self._entries[index] = (entry_key, entry_name, ", ".join(parts[1:]))
                else:
                    del self._entries[index]
                return parts[0]
        return None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        key = canonical_name(name)[0]
        if self._firsts is not None:
            return key in self._firsts
        return any(entry[0] == key for entry in self._entries)

    def items(self) -> list[tuple[str, str]]:
        """``(name, value)`` per header line, in order, with serialised names."""
        return [(spelled, value) for _, spelled, value in self._entries]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __len__(self) -> int:
        return len(self._entries)

    def copy(self) -> Headers:
        firsts = self._firsts
        return Headers._from_entries(list(self._entries), dict(firsts) if firsts is not None else None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self.items() == other.items()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"
