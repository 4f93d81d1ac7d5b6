"""rtpengine as the local stack and the tests run it: the one command line.

Userspace forwarding only (``--table=-1``: no kernel module, ``--no-fallback`` so a missing module
is never silently tried), foreground and logging to stderr, so the supervisor sees it die. Media
ports come from an explicit range: rtpengine's default (30000-40000) crosses Linux's ephemeral
range, where any test's or service's outgoing socket may already hold a port.
"""

from __future__ import annotations

import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "RTPENGINE",
    "RelayPorts",
    "agent_argv",
    "installed",
    "ng_answers",
    "rtpengine_argv",
    "rtpengine_binary",
]

RTPENGINE = "rtpengine"
# The agent every media fleet relay runs (the bundle's relay_agent.py).
RELAY_AGENT = Path(__file__).resolve().parents[2] / "media_relay" / "agent.py"


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


def _binary() -> str | None:
    return shutil.which(RTPENGINE) or shutil.which(RTPENGINE, path="/usr/sbin:/sbin")


def installed() -> bool:
    return _binary() is not None


def rtpengine_binary() -> str:
    binary = _binary()
    if binary is None:
        raise FileNotFoundError("rtpengine is not installed (Debian package rtpengine-daemon; make setup)")
    return binary


def ng_answers(host: str, port: int, timeout: float = 0.5, as_json: bool = False) -> bool:
    """True when an rtpengine answers an ng ``ping`` at host:port (the supervisor's readiness check);
    ``as_json``: the ping in JSON (the relay's agent, which speaks JSON only)."""
    ping = b'{"command": "ping"}' if as_json else b"d7:command4:pinge"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(b"ready " + ping, (host, port))
            reply, _ = sock.recvfrom(512)
        except OSError:
            return False
    return reply.startswith(b"ready ") and b"pong" in reply


def rtpengine_argv(
    ports: RelayPorts, dtmf_dest: tuple[str, int] | None = None, recording_dir: Path | None = None
) -> list[str]:
    """``dtmf_dest``: where the relay sends each DTMF event it detects (JSON over UDP, the edge's
    `sip_edge.media.dtmf.DtmfListener`); None: digits are not reported. ``recording_dir``: the
    spool of recorded calls (pcap files and their metadata, `sip_edge.app.media.recorder` collects
    them); None: a ``start recording`` records nothing."""
    return [
        rtpengine_binary(),
        # Not Debian's /etc/rtpengine/rtpengine.conf: its fixed CLI and HTTP ports (2224, 2225) would
        # let only one rtpengine run on a machine, and every setting we rely on is given here.
        "--config-file=none",
        f"--interface={ports.host}",
        f"--listen-ng={ports.ng}",
        f"--port-min={ports.media_min}",
        f"--port-max={ports.media_max}",
        "--foreground",
        "--log-stderr",
        "--table=-1",
        "--no-fallback",
        "--log-level=5",  # notices and worse: not a line per command
        # No timeout-driven teardown shorter than a long hold: a queued caller may wait many minutes
        # while only rtpengine's prompts flow toward it and the caller's own RTP keeps the call alive.
        "--timeout=60",
        "--silent-timeout=3600",
        "--delete-delay=0",
        *([f"--dtmf-log-dest={dtmf_dest[0]}:{dtmf_dest[1]}"] if dtmf_dest is not None else []),
        *(
            # pcap: userspace, no kernel module (the recording daemon's proc method needs one).
            [f"--recording-dir={recording_dir}", "--recording-method=pcap", "--recording-format=raw"]
            if recording_dir is not None
            else []
        ),
    ]


def agent_argv(prompts: Path, host: str, port: int, uploads: Path | None = None) -> list[str]:
    """The relay's agent joining the prompts of ``prompts`` for the edges, answering on host:port, and
    copying merchants' uploads from the prompt store's directory ``uploads`` into the relay's format:
    the agent every media fleet relay runs (``media_relay/agent.py``), without the fleet's beat."""
    store = [str(uploads)] if uploads is not None else []
    return [sys.executable, str(RELAY_AGENT), "joins", str(prompts), f"{host}:{port}", *store]
