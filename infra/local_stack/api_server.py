"""Serves the Chalice app in ``functions/api`` on 127.0.0.1, as API Gateway + Lambda would in AWS."""

from __future__ import annotations

import argparse
import functools
import importlib.util
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, create_local_server

from local_stack.functions import FUNCTIONS_DIR
from local_stack.logs import configure

log = logging.getLogger("local_stack.api")


class _NoDelayHandler(ChaliceRequestHandler):
    """Chalice's handler writes headers and body separately; with Nagle's algorithm on, keep-alive
    clients then wait for a delayed ACK (~40 ms) on every request. TCP_NODELAY removes that wait."""

    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Any, config: Config
    ) -> None:
        # The app's own gateway (404 in the API's shape for unknown routes, nothing echoed), set up
        # before the base class starts handling the request.
        self._gateway = _gateway_class()(app_object, config)
        super().__init__(request, client_address, server, app_object, config)

    def setup(self) -> None:
        super().setup()
        self.local_gateway = self._gateway
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __getattr__(self, name: str) -> Any:
        # A method chalice's handler lacks (TRACE, CONNECT, an invented one) goes to the app like any
        # other, which answers 405 or 404 in the API's error shape; http.server would answer 501 in HTML.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def _gateway_class() -> Any:
    from chalicelib.gateway import ApiGateway  # beside app.py, importable once load_app ran

    return ApiGateway


def load_app(app_dir: Path) -> Any:
    sys.path.insert(0, str(app_dir))  # chalicelib/ beside app.py, as in a deployed package
    spec = importlib.util.spec_from_file_location("switchboard_api_app", app_dir / "app.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {app_dir / 'app.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Switchboard HTTP API locally")
    parser.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", "8000")))
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--app-dir", type=Path, default=FUNCTIONS_DIR / "api")
    args = parser.parse_args(argv)
    configure("api")
    app = load_app(args.app_dir)
    config = Config(chalice_stage="local")
    server = create_local_server(app, config, args.host, args.port)
    server.server.RequestHandlerClass = functools.partial(
        _NoDelayHandler, app_object=server.app_object, config=config
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log.info("HTTP API on http://%s:%d", args.host, args.port)
    try:
        server.server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()


if __name__ == "__main__":
    main()
