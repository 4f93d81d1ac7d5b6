"""HTTP/1.1 as the hot request paths speak it to AWS endpoints: one request at a time on a kept-alive
connection, the request written in one piece, the answer's head parsed by splitting lines.

``http.client`` spent about 250 us of CPU per DynamoDB request on the 2-core reference machine
(putheader's checks per header, an ``email`` parser for the answer's headers, two writes per request),
more than DynamoDB's own answer is worth. What these endpoints answer is plain: a status line, headers,
then a body of ``Content-Length`` bytes or chunks. Anything else (a head that does not parse, a
connection closed before the whole answer) raises ``http.client.HTTPException`` or ``OSError``, as
``http.client`` would, so callers keep their retry rules.
"""

from __future__ import annotations

import http.client
import socket
import ssl

__all__ = ["Http1Connection", "parse_head"]

_MAX_HEAD = 65_536
_READ = 65_536


def parse_head(head: bytes) -> tuple[str, int, dict[str, str]]:
    """The HTTP version, status and headers (names lower-cased) of an answer's head, without its
    closing blank line."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    status = rest.partition(" ")[0]
    if not version.startswith("HTTP/") or not status.isdigit():
        raise http.client.BadStatusLine(status_line)
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return version, int(status), headers


class Http1Connection:
    """One connection to ``host:port`` (TLS when ``context`` is given), opened on first use."""

    def __init__(
        self, host: str, port: int, *, timeout: float, context: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.port = port
        self._timeout = timeout
        self._context = context
        self.sock: socket.socket | None = None
        self._buffer = bytearray()
        # False once the server said it closes (or spoke HTTP/1.0): the connection is not kept.
        self.reusable = True

    def exchange(self, request: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send a whole request (head and body) and read its answer: status, headers, body."""
        if self.sock is None:
            self.sock = self._open()
        self.sock.sendall(request)
        end = self._fill_until(b"\r\n\r\n")
        head = bytes(self._buffer[:end])
        del self._buffer[: end + 4]
        version, status, headers = parse_head(head)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exactly(int(headers["content-length"]))
        else:
            body = self._read_to_close()
        self.reusable = (
            self.reusable and version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        )
        return status, headers, body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.reusable = False

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._context is not None:
            return self._context.wrap_socket(sock, server_hostname=self.host)
        return sock

    def _recv(self) -> bytes:
        assert self.sock is not None
        data = self.sock.recv(_READ)
        if not data:
            raise http.client.RemoteDisconnected("the server closed the connection before answering")
        return data

    def _fill_until(self, marker: bytes) -> int:
        start = 0
        while (found := self._buffer.find(marker, start)) < 0:
            if len(self._buffer) > _MAX_HEAD:
                raise http.client.LineTooLong("the answer's head")
            start = max(0, len(self._buffer) - len(marker) + 1)
            self._buffer += self._recv()
        return found

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._buffer += self._recv()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _read_line(self) -> bytes:
        end = self._fill_until(b"\r\n")
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_field = self._read_line().split(b";", 1)[0].strip()
            try:
                size = int(size_field or b"0", 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(parts)) from None
            if size == 0:
                while self._read_line():
                    pass  # trailers, up to the blank line
                return b"".join(parts)
            parts.append(self._read_exactly(size))
            self._read_exactly(2)  # the chunk's CRLF

    def _read_to_close(self) -> bytes:
        assert self.sock is not None
        self.reusable = False
        while data := self.sock.recv(_READ):
            self._buffer += data
        body = bytes(self._buffer)
        self._buffer.clear()
        return body
