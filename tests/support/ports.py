"""Loopback ports for servers and SIP peers a test starts.

A port the kernel hands out for ``bind(0)`` comes from the ephemeral range, where it is free for TCP
but may be held for UDP, and where any other test's outgoing sockets keep drawing ports until the
server binds it; sipp then exits with "Unable to bind main socket" and the call under test never
starts. So each pytest worker draws from its own slice below the ephemeral range and checks the port
on both protocols (the edge binds UDP and TCP to one number).
"""

from __future__ import annotations

import itertools
import os
import socket

HOST = "127.0.0.1"
FIRST = 20000
SLICE = 1000  # per worker: 12 workers fit below 32768, the start of Linux's default ephemeral range


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = worker.removeprefix("gw")
    return int(digits) % 12 if digits.isdigit() else 0


_start = FIRST + _worker_index() * SLICE
_candidates = itertools.cycle(range(_start, _start + SLICE))


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """A loopback port free for both UDP and TCP, from this worker's own slice."""
    for _ in range(SLICE):
        port = next(_candidates)
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {_start}-{_start + SLICE - 1}")
