"""POSTing a webhook: one request, a short timeout, and no reaching into the platform's own network.

A merchant chooses the URL, so a POST to it must not become a way into private addresses (the VPC,
the instance metadata service at 169.254.169.254, loopback). The host is resolved once and every
address it names is checked; the connection then goes to the address checked, not to a second
resolution (which DNS could answer differently). ``allow_private`` lifts the check for local mode
and tests, whose receivers listen on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit


class RefusedTargetError(OSError):
    """The URL names an address webhooks may not reach."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


class WebhookPoster:
    def __init__(self, allow_private: bool = False) -> None:
        self._allow_private = allow_private

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise RefusedTargetError(f"{host} resolves to no address")
        if not self._allow_private and not all(_public(a) for a in addresses):
            raise RefusedTargetError(f"{host} resolves to a private address")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = _PinnedHTTPSConnection(host, addresses[0], port, timeout)
        else:
            connection = http.client.HTTPConnection(addresses[0], port, timeout=timeout)
        try:
            connection.request("POST", path, body=body, headers={**headers, "Host": parts.netloc})
            response = connection.getresponse()
            response.read(64 * 1024)  # a receiver's body is not ours to keep
            return int(response.status)
        finally:
            connection.close()


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the address already checked, with the certificate verified for the URL's host."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
