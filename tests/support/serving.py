"""An HTTP server a test starts on loopback, for as long as it iterates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import HTTPServer


def running(server: HTTPServer) -> Iterator[str]:
    """Serves ``server`` in a thread and yields its base URL once; shuts it down after."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
