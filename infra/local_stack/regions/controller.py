"""One region's failover controller: watches the other region and takes its merchants over.

Run beside a region's Lambda service, with the region's own settings (``SWITCHBOARD_REGION``, its
DynamoDB endpoint): ``python -m local_stack.regions.controller --peer east --probe URL...``.

The probe is deep: the peer's routing endpoint must answer AND the peer's database must answer a
read (in AWS: a canary invoking the peer's routing function, which reads its table). Only a refused
connection or an error answer is a failure at once; a probe that timed out or was cut counts as failed
after twelve seconds of such probes (a busy region answers late, a dead one refuses). With
``--witness``, a failed probe counts only if the witness cannot reach the peer either (``witness.py``,
``domain.ownership.peer_failed``). Five failed probes in a row over at least eight seconds turn the
peer unhealthy (``domain.ownership.Hysteresis``); this region then moves every merchant homed there to itself (one conditional write each, in its own
replica), waits out the handoff, ends every contact the peer's edge tasks held, and lets go of every
seat the dead home had reserved (``release_lost_region``: those rings' results are lost with it). The
phones whose flows those edge tasks held are unreachable until they register again (through this
region): their bindings are forgotten, so no offer is rung into the dead region; and for a while the
moved merchants are swept every few seconds, so an agent parked unreachable is available again as
soon as its phone has registered (the minute sweep would do it too, later).
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from pynamodb.exceptions import DeleteError

from contact_center.bootstrap import Container, services
from contact_center.contracts.settings import Component
from contact_center.data.bindings import BindingItems
from contact_center.domain.ownership import (
    Hysteresis,
    NotHomeRegionError,
    ProbeOutcome,
    SlowGrace,
    WitnessView,
)
from contact_center.services.regions import FailoverMonitor, Moved
from local_stack.logs import configure
from local_stack.regions.lost_region import end_lost_region

log = logging.getLogger("local_stack.regions.controller")

# A slow answer is not a dead region: on a loaded machine (or a region under a burst) a probe may take
# a second. A dead region refuses at once, so detection stays quick where it matters.
PROBE_TIMEOUT = 3.0
# A region that is only slow (a burst, a loaded machine) must not lose its merchants: a dead one
# refuses at once, and eight seconds of refusals still leave the takeover far inside the 30 s RTO. A
# silent one (timeouts) counts as failing only after SLOW_GRACE_MS of silence (``SlowGrace``): about
# 20 s to a takeover, still inside it.
FALL_PROBES, DOWN_FOR_MS, RISE_PROBES = 5, 8_000, 3
SLOW_GRACE_MS = 12_000
PROBE_KEY = {"pk": {"S": "HEALTH#probe"}, "sk": {"S": "PROBE"}}
# The witness's own answer must come back well inside a probe round.
WITNESS_TIMEOUT = 2.0
# After a takeover: how long, and how often, the moved merchants are swept while phones register again.
REREGISTRATION_WINDOW = 90.0
RESWEEP_EVERY = 3.0


def deep_probe(lambda_url: str, dynamodb_url: str, table: str) -> ProbeOutcome:
    """REFUSED only on clear evidence of a dead region: no listener (a connection refused) or an
    answer that is not a success. Anything else (a timeout, a reset, a dropped connection) is what a
    busy region does too, and counts as SLOW (``SlowGrace``)."""
    try:
        with urllib.request.urlopen(lambda_url, timeout=PROBE_TIMEOUT) as response:
            if response.status != 200:
                return ProbeOutcome.REFUSED
        # A read of one item (absent or not): what the routing function does, at the least cost
        # (several probers each probe twice a second), rather than a control-plane DescribeTable.
        _database(dynamodb_url).get_item(TableName=table, Key=PROBE_KEY)
        return ProbeOutcome.OK
    except urllib.error.HTTPError:
        return ProbeOutcome.REFUSED
    except ClientError:
        return ProbeOutcome.REFUSED  # the database answered: no such table
    except Exception as error:
        return ProbeOutcome.REFUSED if _refused(error) else ProbeOutcome.SLOW


def _refused(error: BaseException) -> bool:
    """Whether a connection was refused somewhere in the error's chain (the SDKs wrap it deeply)."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else (seen.__cause__ or seen.__context__)
    return False


_clients: dict[str, Any] = {}


def _database(endpoint: str) -> Any:
    # One client per endpoint: building one costs more CPU than the probe itself on a busy machine.
    if endpoint not in _clients:
        config = Config(
            connect_timeout=PROBE_TIMEOUT, read_timeout=PROBE_TIMEOUT, retries={"total_max_attempts": 1}
        )
        _clients[endpoint] = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=config
        )
    return _clients[endpoint]


def ask_witness(witness_url: str, region: str) -> WitnessView:
    """The witness's view of ``region`` (``witness.py``); SILENT when it does not answer sensibly."""
    try:
        with urllib.request.urlopen(f"{witness_url}/regions/{region}", timeout=WITNESS_TIMEOUT) as response:
            return WitnessView(json.loads(response.read())["view"])
    except (OSError, ValueError, KeyError, TypeError):
        return WitnessView.SILENT


def sweep(peer_edges: list[str], moved: list[Moved], handoff_ms: int, taken_at_ms: int) -> None:
    """After the handoff, end what the dead region's edge tasks held and free the agents held by
    contacts that never arrived here or reserved by the dead home (retrying while refused)."""
    container = services(Component.ROUTING)
    time.sleep(handoff_ms / 1000 + 0.2)
    for change in moved:
        for _ in range(20):
            try:
                freed = container.routing.release_orphaned_agents(change.merchant_id, container.clock())
                log.info("freed %d agents of %s", len(freed), change.merchant_id)
                break
            except Exception:
                log.exception("freeing agents of %s failed; retrying", change.merchant_id)
                time.sleep(0.5)
    end_lost_region(peer_edges)
    for edge in peer_edges:
        forget_flows(edge)
    merchant_ids = [change.merchant_id for change in moved]
    until = time.monotonic() + REREGISTRATION_WINDOW
    while merchant_ids and time.monotonic() < until:
        # Again on every round: a ring still within its timeout at the last one may be over now,
        # and a seat's write still crossing the link at the last one may have landed since. Each
        # merchant on its own: one moved home again meanwhile (a fail back) is no longer ours to
        # sweep, and must not stop the others' round.
        for merchant_id in list(merchant_ids):
            try:
                _resweep(container, merchant_id, peer_edges, taken_at_ms)
            except NotHomeRegionError as moved_on:
                log.info("no longer sweeping %s: %s", merchant_id, moved_on)
                merchant_ids.remove(merchant_id)
            except Exception:
                log.exception("sweeping %s failed", merchant_id)
        time.sleep(RESWEEP_EVERY)


def _resweep(container: Container, merchant_id: str, peer_edges: list[str], taken_at_ms: int) -> None:
    clock = container.clock()
    released = container.routing.release_lost_region([merchant_id], peer_edges, taken_at_ms, clock)
    if released:
        log.info("let go of %d seats of %s the dead home had reserved", len(released), merchant_id)
    # A sweep of named merchants also frees the agents held by contacts that never arrived here.
    report = container.routing.sweep(clock, [merchant_id])
    if report.orphans_freed:
        log.info(
            "freed %d agents of %s held by contacts lost with the region",
            len(report.orphans_freed),
            merchant_id,
        )
    if report.agents_reachable_again:
        log.info("%d agents of %s reachable again", len(report.agents_reachable_again), merchant_id)


def forget_flows(edge: str) -> None:
    """Forget the bindings whose flow a dead edge task held: the phones are unreachable through it.

    Each removal is conditioned on the binding still naming that task: a phone that registered again
    meanwhile (through this region) keeps its new binding.
    """
    bindings = BindingItems()
    now_s = int(time.time())
    for _ in range(20):
        try:
            for binding in bindings.owned_by(edge, now_s):
                try:
                    binding.delete(condition=type(binding).flow_owner == edge)
                except DeleteError:
                    continue  # registered again through another task meanwhile, or already gone
            log.info("forgot the flows of lost edge task %s", edge)
            return
        except Exception:
            log.exception("forgetting the flows of %s failed; retrying", edge)
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--peer", required=True, help="the other region's name")
    parser.add_argument("--peer-lambda", required=True, help="the other region's Lambda service URL")
    parser.add_argument("--peer-dynamodb", required=True, help="the other region's DynamoDB endpoint")
    parser.add_argument("--peer-edges", default="", help="edge task ids of the other region, comma-separated")
    parser.add_argument("--table", default="switchboard")
    parser.add_argument("--witness", default="", help="the witness's URL (none: this region's probe decides)")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    configure("controller")
    container = services(Component.ROUTING)
    control = container.regions
    edges = [edge for edge in args.peer_edges.split(",") if edge]

    def taken(moved: list[Moved]) -> None:
        log.warning("took over %d merchants of %s", len(moved), args.peer)
        threading.Thread(
            target=sweep, args=(edges, moved, container.settings.handoff_ms, container.clock()), daemon=True
        ).start()

    grace = SlowGrace(SLOW_GRACE_MS)
    monitor = FailoverMonitor(
        control,
        args.peer,
        lambda: (
            not grace.failed(deep_probe(args.peer_lambda, args.peer_dynamodb, args.table), container.clock())
        ),
        container.clock,
        Hysteresis(fall=FALL_PROBES, rise=RISE_PROBES, min_down_ms=DOWN_FOR_MS),
        on_taken=taken,
        witness=(lambda: ask_witness(args.witness, args.peer)) if args.witness else None,
    )
    log.info("region %s watching %s", control.region, args.peer)
    while True:
        monitor.tick()
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
