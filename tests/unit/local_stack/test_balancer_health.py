"""The topology balancer's health check asks what the NLB asks: GET on the health path, 200 or out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from local_stack.topology.balancer import Balancer

ANSWERS = {"/health": 503, "/live": 200}


class _Edge(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(ANSWERS.get(self.path, 404))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Edge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def balancer(port: int, path: str | None) -> Balancer:
    return Balancer("unused", "10.0.0.10", [], ["127.0.0.1"], port, interval=2.0, health_path=path)


def test_a_target_answering_503_on_the_health_path_fails_its_check(health_port: int) -> None:
    assert balancer(health_port, "/health")._probe("127.0.0.1") is False
    assert balancer(health_port, "/live")._probe("127.0.0.1") is True


def test_without_a_path_an_accepted_connection_passes_as_a_tcp_check_does(health_port: int) -> None:
    assert balancer(health_port, None)._probe("127.0.0.1") is True
