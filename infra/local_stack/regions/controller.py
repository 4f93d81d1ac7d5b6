"""One region's failover controller: watches the other region and takes its merchants over.

Run beside a region's Lambda service, with the region's own settings (``SWITCHBOARD_REGION``, its
DynamoDB endpoint): ``python -m local_stack.regions.controller --peer east --probe URL...``.

The probe is deep: the peer's routing endpoint must answer AND the peer's database must answer a
read (in AWS: a canary invoking the peer's routing function, which reads its table). Five failed
probes in a row over at least eight seconds turn the peer unhealthy (a probe that only timed out counts
as failed after twelve seconds of timeouts) (``domain.ownership.Hysteresis``); this
region then moves every merchant homed there to itself (one conditional write each, in its own
replica), waits out the handoff, and ends every contact the peer's edge tasks held. The phones whose
flows those edge tasks held are unreachable until they register again (through this region): their
bindings are forgotten, so no offer is rung into the dead region; and for a while the moved merchants
are swept every few seconds, so an agent parked unreachable is available again as soon as its phone
has registered (the minute sweep would do it too, later).
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from pynamodb.exceptions import DeleteError

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.data.bindings import BindingItems
from contact_center.domain.ownership import Hysteresis, ProbeOutcome, SlowGrace
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
# After a takeover: how long, and how often, the moved merchants are swept while phones register again.
REREGISTRATION_WINDOW = 90.0
RESWEEP_EVERY = 3.0


def deep_probe(lambda_url: str, dynamodb_url: str, table: str) -> ProbeOutcome:
    try:
        with urllib.request.urlopen(lambda_url, timeout=PROBE_TIMEOUT) as response:
            if response.status != 200:
                return ProbeOutcome.REFUSED
        config = Config(
            connect_timeout=PROBE_TIMEOUT, read_timeout=PROBE_TIMEOUT, retries={"max_attempts": 1}
        )
        client = boto3.client("dynamodb", endpoint_url=dynamodb_url, region_name="us-east-1", config=config)
        client.describe_table(TableName=table)
        return ProbeOutcome.OK
    except (TimeoutError, ConnectTimeoutError, ReadTimeoutError):
        return ProbeOutcome.SLOW
    except urllib.error.URLError as error:
        return ProbeOutcome.SLOW if isinstance(error.reason, TimeoutError) else ProbeOutcome.REFUSED
    except Exception:
        return ProbeOutcome.REFUSED


def sweep(peer_edges: list[str], moved: list[Moved], handoff_ms: int) -> None:
    """After the handoff, end what the dead region's edge tasks held and free the agents held by
    contacts that never arrived here (retrying while refused)."""
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
    while time.monotonic() < until:
        try:
            report = container.routing.sweep(container.clock(), merchant_ids)
            if report.agents_reachable_again:
                log.info("%d agents reachable again", len(report.agents_reachable_again))
        except Exception:
            log.exception("sweeping the moved merchants failed")
        time.sleep(RESWEEP_EVERY)


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
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    configure("controller")
    container = services(Component.ROUTING)
    control = container.regions
    edges = [edge for edge in args.peer_edges.split(",") if edge]

    def taken(moved: list[Moved]) -> None:
        log.warning("took over %d merchants of %s", len(moved), args.peer)
        threading.Thread(
            target=sweep, args=(edges, moved, container.settings.handoff_ms), daemon=True
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
    )
    log.info("region %s watching %s", control.region, args.peer)
    while True:
        monitor.tick()
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
