"""rtpengine as the local stack and the tests run it: the one command line.

Userspace forwarding only (``--table=-1``: no kernel module, ``--no-fallback`` so a missing module
is never silently tried), foreground and logging to stderr, so the supervisor sees it die. Media
ports come from an explicit range: rtpengine's default (30000-40000) crosses Linux's ephemeral
range, where any test's or service's outgoing socket may already hold a port.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

__all__ = ["RTPENGINE", "RelayPorts", "rtpengine_argv"]

RTPENGINE = "rtpengine"


@dataclass(frozen=True, slots=True)
class RelayPorts:
    """Where one rtpengine listens: its ng control port and its media port range (inclusive)."""

    host: str
    ng_port: int
    media_min: int
    media_max: int

    @property
    def ng(self) -> str:
        return f"{self.host}:{self.ng_port}"


def rtpengine_argv(ports: RelayPorts) -> list[str]:
    binary = shutil.which(RTPENGINE) or shutil.which(RTPENGINE, path="/usr/sbin:/sbin")
    if binary is None:
        raise FileNotFoundError("rtpengine is not installed (Debian package rtpengine-daemon; make setup)")
    return [
        binary,
        f"--interface={ports.host}",
        f"--listen-ng={ports.ng}",
        f"--port-min={ports.media_min}",
        f"--port-max={ports.media_max}",
        "--foreground",
        "--log-stderr",
        "--table=-1",
        "--no-fallback",
        # No timeout-driven teardown shorter than a long hold: a queued caller may wait many minutes
        # while only rtpengine's prompts flow toward it and the caller's own RTP keeps the call alive.
        "--timeout=60",
        "--silent-timeout=3600",
        "--delete-delay=0",
    ]
