"""Run the edge for the benchmark with its counters readable from outside.

Usage: ``python bench/edge_wrapper.py [MODULE] [edge flags...]`` (MODULE defaults to sip_edge).
Nothing of the edge's behaviour changes. SIGUSR1 prints one line ``BENCH-COUNTERS {json}`` to
stderr: the edge's own counters (requests, absorbed retransmissions, registrations, credential
loads, binding loads and writes), so the benchmark can tell per step how many registrations were
served from memory and how many went to DynamoDB.
"""

from __future__ import annotations

import json
import runpy
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from sip_edge.app.registration import credentials, location, registrar
from sip_edge.sip import stack

_instances: dict[str, list[Any]] = {"stack": [], "credentials": [], "location": [], "registrar": []}


def _track(cls: type, kind: str) -> None:
    init: Callable[..., None] = cls.__init__  # type: ignore[misc]

    def tracked(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        _instances[kind].append(self)

    cls.__init__ = tracked  # type: ignore[misc]


def counters() -> dict[str, int]:
    def total(kind: str, attribute: str) -> int:
        return sum(int(getattr(obj, attribute, 0)) for obj in _instances[kind])

    stats = [s.stats for s in _instances["stack"]]
    return {
        "requests": sum(s.requests for s in stats),
        "retransmissions_absorbed": sum(s.retransmissions_absorbed for s in stats),
        "challenges_replayed": sum(s.challenges_replayed for s in stats),
        "handler_errors": sum(s.handler_errors for s in stats),
        "registrations": total("registrar", "registrations"),
        "auth_failures": total("registrar", "failures"),
        "credential_loads": total("credentials", "loads"),
        "binding_loads": total("location", "loads"),
        "credential_reads": total("credentials", "reads"),
        "binding_reads": total("location", "reads"),
        "shed": sum(int(r.shedder.shed) for r in _instances["registrar"]),
        "readmitted": sum(int(r.shedder.readmitted) for r in _instances["registrar"]),
        "lockouts": sum(int(r.limiter.lockouts) for r in _instances["registrar"]),
        "binding_flushes": total("location", "flushes"),
        "bindings_written": total("location", "written"),
        "binding_write_requests": total("location", "write_requests"),
        "answered_before_written": total("registrar", "answered_unwritten"),
        "refused_unwritten": total("registrar", "refused_unwritten"),
    }


def _dump(signum: int, frame: FrameType | None) -> None:
    print("BENCH-COUNTERS " + json.dumps(counters()), file=sys.stderr, flush=True)


def main() -> None:
    argv = sys.argv[1:]
    module = argv.pop(0) if argv and not argv[0].startswith("-") else "sip_edge"
    _track(stack.SipStack, "stack")
    _track(credentials.CredentialCache, "credentials")
    _track(location.LocationService, "location")
    _track(registrar.Registrar, "registrar")
    signal.signal(signal.SIGUSR1, _dump)
    sys.argv = [module, *argv]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
