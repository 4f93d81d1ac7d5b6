"""Run the edge with routing and storage off: every call goes to one fixed UAS.

Usage: ``python bench/edge_fixed_target.py --target HOST:PORT [edge flags...]`` (the flags of
``python -m sip_edge``: --host, --port, --task-id, ...).

The SIP path alone, for bench/call_bench.py to compare with Kamailio on the same sipp load. The
edge is the product's own, built by its composition root (``sip_edge.main``: ``build``/``run``):
``ContactCenterPolicy``, its ``B2bua``, ``CallSetup``, ``Bridge``, ``DialogBook`` and
``TrunkDirectory``. Only the outside world is replaced, at the edge's ports (``EdgePorts``:
routing, trunks, dialogs, ``CredentialSource``, ``BindingStore``):

- routing: every new call is ``Connect`` to the fixed target, every answer is acknowledged as
  connected, every end as ended without wrap-up; no Lambda, no thread pool;
- trunks: one trunk, 127.0.0.0/8 (the carrier is sipp on loopback);
- dialogs, bindings, credentials: stores that keep nothing (the ``DialogBook`` in front of them
  still hops to a worker thread for each write, as it does in production);
- no fleet directory, so no heartbeat.

No DynamoDB and no AWS SDK are touched.
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.domain.menus import MenuChoice
from contact_center.services.routing.decisions import (
    Acknowledged,
    Connect,
    OfferOutcome,
    Reject,
    RoutingDecision,
)
from contact_center.services.routing.ports import AgentTarget
from sip_edge.app.calls.dialogs import StoredCall
from sip_edge.app.calls.trunks import Trunk
from sip_edge.config import ConfigError, parse_config
from sip_edge.main import EdgePorts, run
from sip_edge.sip.registration import Binding

BENCH_SEAT = "bench-seat"
BENCH_MERCHANT = "bench-merchant"
RING_TIMEOUT_SECONDS = 20


class FixedTargetRouting:
    """The routing port answering at once, in the event loop: ring the fixed UAS, then acknowledge."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.aor = f"sip:{BENCH_SEAT}@{target}"
        self.device = AgentTarget(contact_uri=f"sip:{BENCH_SEAT}@{target}", received=target, transport="UDP")

    async def new_contact(
        self, called: str, caller: str, contact_id: str, menu: MenuChoice | None = None
    ) -> RoutingDecision:
        return Connect(
            contact_id=contact_id,
            seat_id=BENCH_SEAT,
            merchant_id=BENCH_MERCHANT,
            aor=self.aor,
            targets=(self.device,),
            ring_timeout_seconds=RING_TIMEOUT_SECONDS,
        )

    async def offer_result(
        self, contact_id: str, seat_id: str, outcome: OfferOutcome, dialog: Mapping[str, Any] | None = None
    ) -> RoutingDecision:
        if outcome is OfferOutcome.ANSWERED:
            return Acknowledged(contact_id, "connected", seat_id, BENCH_MERCHANT)
        return Reject(480, f"fixed target {outcome.value}", contact_id=contact_id)

    async def contact_ended(
        self, contact_id: str, side: HangupSide, cause: HangupCause, dialog_keys: Sequence[str] = ()
    ) -> Acknowledged:
        return Acknowledged(contact_id, "ended", BENCH_SEAT, BENCH_MERCHANT)

    async def queue_timeout(self, contact_id: str) -> RoutingDecision:
        return Reject(480, "no queue in the fixed-target bench", contact_id=contact_id)

    async def pending_offers(self, retry_queued: bool = False) -> list[Connect]:
        return []

    async def finish_wrap_up(self, merchant_id: str, seat_id: str, contact_id: str | None = None) -> None:
        return None


class LoopbackTrunks:
    """One trunk: the carrier is on loopback."""

    def trunks(self) -> Sequence[Trunk]:
        return (Trunk("bench-loopback", ("127.0.0.0/8",)),)


class NoDialogs:
    """Keeps no dialog: a call survives only in this process (storage off)."""

    def save(self, key: str, call: StoredCall, now: int, ttl_seconds: int) -> None:
        return None

    def load(self, key: str, now: int) -> StoredCall | None:
        return None

    def delete(self, key: str) -> None:
        return None


class NoBindings:
    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        return None

    def load(self, aor: str, now: float) -> list[Binding]:
        return []

    def load_many(self, aors: Sequence[str], now: float) -> dict[str, list[Binding]]:
        return {}


class NoCredentials:
    def ha1s_many(self, usernames: Sequence[str]) -> dict[str, Mapping[str, str] | None]:
        return {}


def fixed_target_ports(target: str) -> EdgePorts:
    return EdgePorts(
        credentials=NoCredentials(),
        bindings=NoBindings(),
        routing=FixedTargetRouting(target),
        trunks=LoopbackTrunks(),
        dialogs=NoDialogs(),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--target", required=True, help="HOST:PORT of the UAS every call goes to")
    known, rest = parser.parse_known_args(argv)
    if "--task-id" not in rest:
        rest += ["--task-id", f"bench-fixed-{uuid.uuid4().hex[:6]}"]
    try:
        config = parse_config(rest)
    except ConfigError as exc:
        print(f"edge_fixed_target: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("sip_edge").info("fixed-target edge: every call goes to %s", known.target)
    return run(config, fixed_target_ports(known.target))


if __name__ == "__main__":
    sys.exit(main())
