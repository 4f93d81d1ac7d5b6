"""``host:port`` as SIP writes it, and back: the one place that knows IPv6 addresses take brackets.

RFC 3261 §25.1 writes an IPv6 address in a URI, a Via sent-by or any ``hostport`` as an
``IPv6reference`` (``[2001:db8::1]:5060``); socket addresses take it bare. Every Contact, Via,
Route and stored ``received`` address the edge writes goes through `format_hostport`, and every
such text it reads back through `split_hostport`.
"""

from __future__ import annotations

__all__ = ["bracket_host", "format_hostport", "split_hostport"]


def bracket_host(host: str) -> str:
    """The host as a URI writes it: an IPv6 address in brackets, anything else unchanged."""
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def format_hostport(host: str, port: int | None = None) -> str:
    """``host:port`` (``host`` alone when there is no port), IPv6 addresses bracketed."""
    host = bracket_host(host)
    return f"{host}:{port}" if port else host


def split_hostport(text: str) -> tuple[str, int | None]:
    """``"1.2.3.4:5060"``, ``"[::1]:5060"`` or a bare host -> the socket host and the port (None
    when absent). An unbracketed IPv6 address with a port (``::1:5060``, as older bindings were
    stored) splits at its last colon."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest[1:].isdigit() and rest.startswith(":") else None
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit():
        return text, None
    return host, int(port)
