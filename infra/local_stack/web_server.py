"""The web pages (``web/``) as CloudFront serves them in AWS: one origin for the pages and the API.

``/api/...`` goes to the HTTP API (``/api/merchants`` -> ``/merchants``), as CloudFront's ``/api/*``
behaviour sends it to API Gateway's ``api`` stage, so the pages never make a cross-origin request.
``/config.json`` tells the pages where the API and the event socket are; in AWS the deployment
writes the same file into the bucket. ``/recordings/<key>?expires=..&signature=..`` is a call
recording, served only on a link the API signed and before it expires (S3's presigned URLs play
that part in AWS). Everything else is a file under ``web/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import mimetypes
import os
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from contact_center.contracts.settings import ADMIN_KEY, RECORDINGS_DIR
from contact_center.data.recording_store import DirectoryStore, link_secret
from local_stack.functions import REPO_ROOT

WEB_ROOT = REPO_ROOT / "web"
API_PREFIX = "/api"
RECORDINGS_PREFIX = "/recordings/"
MAX_BODY = 64 * 1024  # the API's own cap; a larger body is refused here with the same 413
PROXIED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Accept")

JSON = "application/json"

log = logging.getLogger("web")


def _error(code: str, message: str) -> bytes:
    """The API's one error shape, for what this origin answers itself."""
    return json.dumps({"error": {"code": code, "message": message, "field": None}}).encode()


def site_config(ws_url: str | None) -> dict[str, str | None]:
    """What every page reads first: where the API and the event socket are (same shape in AWS)."""
    return {"api_url": API_PREFIX, "ws_url": ws_url}


def resolve(root: Path, url_path: str) -> Path | None:
    """The file a URL path names under ``root`` (a folder gives its index.html), or None outside it."""
    relative = url_path.split("?", 1)[0].lstrip("/")
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


class WebHandler(BaseHTTPRequestHandler):
    api_url: ClassVar[str] = ""
    config: ClassVar[bytes] = b"{}"
    root: ClassVar[Path] = WEB_ROOT
    recordings: ClassVar[DirectoryStore | None] = None

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        if self.path == API_PREFIX or self.path.startswith(API_PREFIX + "/"):
            self._proxy(self.path[len(API_PREFIX) :] or "/")
        elif self.command not in ("GET", "HEAD"):
            self._send(
                HTTPStatus.METHOD_NOT_ALLOWED, _error("method_not_allowed", "pages are read with GET"), JSON
            )
        elif self.path.split("?", 1)[0] == "/config.json":
            self._send(HTTPStatus.OK, self.config, JSON, cache=False)
        elif self.path.startswith(RECORDINGS_PREFIX):
            self._recording()
        else:
            found = resolve(self.root, self.path)
            if found is None:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
            else:
                kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
                    kind += "; charset=utf-8"
                self._send(HTTPStatus.OK, found.read_bytes(), kind)

    def _recording(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        key = unquote(url.path[len(RECORDINGS_PREFIX) :])
        found = (
            self.recordings.open_link(
                key,
                (query.get("expires") or [""])[0],
                (query.get("signature") or [""])[0],
                int(time.time()),
            )
            if self.recordings is not None
            else None
        )
        if found is None:
            # One answer for a bad, expired or unknown link: a link tells nothing of other recordings.
            self._send(
                HTTPStatus.FORBIDDEN, _error("forbidden", "no such link, or it expired"), JSON, cache=False
            )
            return
        self._send(HTTPStatus.OK, found.read_bytes(), "audio/wav", cache=False)

    def _proxy(self, path: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                _error("payload_too_large", "the body is over 64 KiB"),
                JSON,
            )
            return
        data = self.rfile.read(length) if length else None
        request = urllib.request.Request(self.api_url + path, data=data, method=self.command)
        for name in PROXIED_HEADERS:
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body, kind = response.status, response.read(), response.headers.get("Content-Type")
                extra = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
        except urllib.error.HTTPError as error:
            status, body, kind = error.code, error.read(), error.headers.get("Content-Type")
            extra = {k: v for k, v in error.headers.items() if k.lower() == "retry-after"}
        except OSError as error:
            body = _error("api_unreachable", f"the HTTP API did not answer: {error}")
            status, kind, extra = HTTPStatus.BAD_GATEWAY, JSON, {}
        self._send(status, body, kind or JSON, cache=False, extra=extra)

    def _send(
        self,
        status: int,
        body: bytes,
        kind: str,
        *,
        cache: bool = True,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=60" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def serve(
    port: int,
    api_url: str,
    ws_url: str | None = None,
    root: Path = WEB_ROOT,
    recordings: DirectoryStore | None = None,
) -> ThreadingHTTPServer:
    handler = type(
        "BoundWebHandler",
        (WebHandler,),
        {
            "api_url": api_url.rstrip("/"),
            "config": json.dumps(site_config(ws_url)).encode(),
            "root": root,
            "recordings": recordings,
        },
    )
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api", required=True, help="the HTTP API's base URL")
    parser.add_argument("--ws", default=None, help="the event socket's URL (ws://...)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s web %(levelname)s %(message)s")
    # The API signs recording links with a secret derived from the admin key; both are given it.
    admin_key, folder = os.environ.get(ADMIN_KEY.name), os.environ.get(RECORDINGS_DIR.name)
    recordings = None
    if admin_key and folder:
        secret = link_secret(hashlib.sha256(admin_key.encode()).hexdigest())
        recordings = DirectoryStore(Path(folder), secret=secret)
    server = serve(args.port, args.api, args.ws, recordings=recordings)
    log.info("web pages on http://127.0.0.1:%d", args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
