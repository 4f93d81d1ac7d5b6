"""A scripted AWS endpoint on loopback: each request gets the next answer of a script.

The same script is played to botocore's own client and to ours, so a contract test compares what
each made of the same bytes (errors, retries, pages) rather than what we believe botocore does.
"""

from __future__ import annotations

import http.server
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False  # close the connection without answering
    bad_crc: bool = False  # send an x-amz-crc32 that does not match the body

    @classmethod
    def json(cls, status: int, body: dict[str, Any], *headers: tuple[str, str]) -> Answer:
        return cls(status, json.dumps(body).encode(), headers)

    @classmethod
    def dynamodb_error(cls, status: int, code: str, message: str = "", **members: Any) -> Answer:
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **members}
        return cls.json(status, body)


@dataclass
class Script:
    answers: list[Answer] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # the path (and X-Amz-Target) of each request
    bodies: list[bytes] = field(default_factory=list)

    def play(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.seen = []
        self.bodies = []


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: Script

    def do_POST(self) -> None:
        self.script.bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.seen_request()
        answer = self.script.answers.pop(0) if self.script.answers else Answer.json(200, {})
        if answer.drop:
            self.close_connection = True
            return
        crc = zlib.crc32(answer.body) + (1 if answer.bad_crc else 0)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("x-amz-crc32", str(crc))
        self.send_header("x-amzn-RequestId", "req")
        self.end_headers()
        self.wfile.write(answer.body)

    def seen_request(self) -> None:
        self.script.seen.append(f"{self.path} {self.headers.get('X-Amz-Target', '')}".strip())

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def scripted_endpoint() -> Iterator[tuple[str, Script]]:
    """``(url, script)``: an HTTP endpoint on 127.0.0.1 answering from ``script``."""
    script = Script()
    handler = type("ScriptedHandler", (_Handler,), {"script": script})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()
