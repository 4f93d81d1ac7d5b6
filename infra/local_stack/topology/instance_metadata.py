"""An EC2 instance metadata service (IMDSv2) for the topology's media relay instance.

It answers what the relay agent (``media_relay/agent.py``) asks at boot and on every beat: a session
token (``PUT /latest/api/token``), then ``GET /latest/meta-data/<path>`` with that token, 404 for a
path the instance has no value for, 401 without a token. So the agent runs unchanged, as on an
instance. ``python -m local_stack.topology.instance_metadata --help``.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PREFIX = "/latest/meta-data/"


def metadata_server(host: str, port: int, values: dict[str, str]) -> ThreadingHTTPServer:
    """The service, bound (``serve_forever`` runs it); ``values``: meta-data path -> value."""
    token = secrets.token_urlsafe(24)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: str = "") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self) -> None:
            if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                self._answer(200, token)
            else:
                self._answer(400)

        def do_GET(self) -> None:
            if self.headers.get("X-aws-ec2-metadata-token") != token:
                self._answer(401)
            elif self.path.startswith(_PREFIX) and self.path[len(_PREFIX) :] in values:
                self._answer(200, values[self.path[len(_PREFIX) :]])
            else:
                self._answer(404)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per beat would bury the relay's log

    return ThreadingHTTPServer((host, port), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="169.254.169.254")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--value", action="append", default=[], help="path=value (repeatable)")
    args = parser.parse_args(argv)
    metadata_server(args.host, args.port, dict(value.split("=", 1) for value in args.value)).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
