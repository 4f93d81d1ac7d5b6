"""``Http1Connection`` against a loopback server that writes exact bytes: what it reads of each
framing an AWS endpoint may use, when it keeps the connection, and how a broken answer fails."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator

import pytest

from contact_center.aws.http1 import Http1Connection, parse_head

REQUEST = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"


class RawServer:
    """Answers each request read on a connection with the next of ``answers`` (raw bytes, written in
    pieces of ``split`` bytes); ``None`` closes the connection instead. Counts connections."""

    def __init__(self, answers: list[bytes | None], split: int = 0) -> None:
        self.answers = answers
        self.split = split
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):  # the listener closed at the test's end
            while self.answers:
                conn, _ = self.listener.accept()
                self.connections += 1
                with conn:
                    self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        while self.answers and conn.recv(65536):
            answer = self.answers.pop(0)
            if answer is None:
                return
            step = self.split or len(answer)
            for start in range(0, len(answer), step):
                conn.sendall(answer[start : start + step])

    def connection(self) -> Http1Connection:
        return Http1Connection("127.0.0.1", self.port, timeout=5)


@pytest.fixture
def servers() -> Iterator[list[RawServer]]:
    started: list[RawServer] = []
    yield started
    for server in started:
        server.listener.close()


def serve(servers: list[RawServer], answers: list[bytes | None], split: int = 0) -> RawServer:
    server = RawServer(answers, split)
    servers.append(server)
    return server


def test_a_content_length_answer_read_in_small_pieces_keeps_the_connection(servers: list[RawServer]) -> None:
    answer = b'HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Crc32: 1\r\nContent-Length: 11\r\n\r\n{"Count":0}'
    server = serve(servers, [answer, answer], split=3)
    connection = server.connection()
    assert connection.exchange(REQUEST) == (
        200,
        {"content-type": "application/x-amz-json-1.0", "x-amz-crc32": "1", "content-length": "11"},
        b'{"Count":0}',
    )
    assert connection.reusable
    assert connection.exchange(REQUEST)[2] == b'{"Count":0}'
    assert server.connections == 1


def test_a_chunked_answer_with_extensions_and_trailers(servers: list[RawServer]) -> None:
    answer = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"a":\r\n3\r\n1}\n\r\n0\r\nX-Trailer: t\r\n\r\n'
    )
    connection = serve(servers, [answer], split=4).connection()
    assert connection.exchange(REQUEST) == (400, {"transfer-encoding": "chunked"}, b'{"a":1}\n')
    assert connection.reusable


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\n\r\n{}",  # no length: the body ends with the connection
    ],
)
def test_an_answer_that_ends_the_connection_is_read_and_not_kept(
    servers: list[RawServer], answer: bytes
) -> None:
    connection = serve(servers, [answer]).connection()  # then the server closes
    status, _, body = connection.exchange(REQUEST)
    assert (status, body, connection.reusable) == (200, b"{}", False)


@pytest.mark.parametrize(
    "answer",
    [
        None,  # closed before answering
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",  # closed mid-body
        b"garbage\r\n\r\n",
        b"HTTP/1.1 20x OK\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_a_broken_answer_fails_as_http_client_would(servers: list[RawServer], answer: bytes | None) -> None:
    connection = serve(servers, [answer, None]).connection()
    with pytest.raises((http.client.HTTPException, OSError)):
        connection.exchange(REQUEST)


def test_the_head_parses_to_version_status_and_lower_cased_headers() -> None:
    assert parse_head(b"HTTP/1.1 503 Slow Down\r\nX-Amzn-ErrorType:  Throttling \r\nA: b:c") == (
        "HTTP/1.1",
        503,
        {"x-amzn-errortype": "Throttling", "a": "b:c"},
    )
