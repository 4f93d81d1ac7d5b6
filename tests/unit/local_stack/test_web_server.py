"""The local web origin: files of web/, /config.json, and the API under /api (as CloudFront does)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from local_stack.web_server import resolve, serve
from tests.support.ports import free_port
from tests.support.serving import running
from tests.support.stack import http_json


class FakeApi(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body.decode()}
        ).encode()
        self.send_response(409)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "2")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "web" / "desk").mkdir(parents=True)
    (tmp_path / "web" / "desk" / "index.html").write_text("<h1>desk</h1>")
    (tmp_path / "secret.txt").write_text("outside")
    api = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeApi)
    for api_url in running(api):
        web = serve(free_port(), api_url, "ws://127.0.0.1:1/events", root=tmp_path / "web")
        yield from running(web)


def test_a_folder_serves_its_index_and_config_names_the_api_and_socket(site: str) -> None:
    status, body = http_json("GET", f"{site}/desk/")
    assert (status, body) == (200, b"<h1>desk</h1>")
    status, body = http_json("GET", f"{site}/config.json")
    assert status == 200 and json.loads(body) == {"api_url": "/api", "ws_url": "ws://127.0.0.1:1/events"}


def test_the_api_is_reached_under_api_with_its_status_headers_and_body(site: str) -> None:
    status, body = http_json(
        "POST",
        f"{site}/api/merchants?x=1",
        b'{"a": 1}',
        {"Authorization": "Bearer k", "Content-Type": "application/json"},
    )
    assert status == 409
    assert json.loads(body) == {"path": "/merchants?x=1", "auth": "Bearer k", "body": '{"a": 1}'}


def test_nothing_outside_web_is_served_and_unknown_files_are_404(site: str, tmp_path: Path) -> None:
    assert resolve(tmp_path / "web", "/../secret.txt") is None
    assert resolve(tmp_path / "web", "/desk/../../secret.txt") is None
    assert http_json("GET", f"{site}/nope.html")[0] == 404
    status, body = http_json("DELETE", f"{site}/desk/")
    assert status == 405 and json.loads(body)["error"]["code"] == "method_not_allowed"


def test_a_recording_is_served_on_a_signed_link_until_it_expires_and_never_otherwise(tmp_path: Path) -> None:
    import time
    import urllib.parse

    from contact_center.data.recording_store import DirectoryStore

    secret = b"links of this test"
    wav = tmp_path / "call.wav"
    wav.write_bytes(b"RIFF-recording")
    web = serve(
        free_port(),
        "http://127.0.0.1:9",
        root=tmp_path,
        recordings=DirectoryStore(tmp_path / "r", secret=secret),
    )
    for base in running(web):
        store = DirectoryStore(tmp_path / "r", f"{base}/recordings", secret)
        store.put("m1/c1.wav", wav)
        link = store.link("m1/c1.wav", int(time.time()) + 60)
        assert http_json("GET", link) == (200, b"RIFF-recording")
        query = urllib.parse.urlsplit(link).query
        refused = [
            store.link("m1/c1.wav", int(time.time()) - 1),  # expired
            f"{base}/recordings/m1/c2.wav?{query}",  # another recording's name on this link
            link.replace("signature=", "signature=0"),  # tampered
            f"{base}/recordings/m1/c1.wav",  # no signature at all
            f"{base}/recordings/../call.wav?{query}",
        ]
        assert [http_json("GET", url)[0] for url in refused] == [403] * len(refused)
