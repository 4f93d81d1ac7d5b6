"""The operator's command for merchants' homes, run with a region's settings (``SWITCHBOARD_REGION``
and its table, as the region's functions have them):

    python -m local_stack.regions.homes show
    python -m local_stack.regions.homes init MERCHANT_ID REGION     # a new merchant's first home
    python -m local_stack.regions.homes move MERCHANT_ID REGION     # planned: the merchant moves
    python -m local_stack.regions.homes failback REGION             # every merchant preferring REGION
                                                                     # goes back to it, once REGION is ready
Each move is one conditional write in this region's replica; nothing in the other region is needed.

``failback`` first waits (``--wait`` seconds at most, 120 by default) until REGION passes the failback's
checks several rounds in a row (``domain.ownership.FailbackPolicy``): the failover controller's canary
through its routing function answers OK and quickly, and a mark written here reaches REGION's replica
within the handoff (replication has caught up). It moves nothing and exits 2 when REGION is not ready
by then. ``--now`` skips the checks (a region known to be ready, or an emergency).
"""

from __future__ import annotations

import argparse
import json
import sys

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.data.ownership import OwnershipItems
from contact_center.domain.ownership import ReadinessVerdict
from contact_center.services.regions import Moved, ReturnNotReadyError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("show")
    init = commands.add_parser("init")
    init.add_argument("merchant_id")
    init.add_argument("region")
    move = commands.add_parser("move")
    move.add_argument("merchant_id")
    move.add_argument("region")
    failback = commands.add_parser("failback")
    failback.add_argument("region")
    failback.add_argument("--wait", type=float, default=120.0, help="seconds REGION has to become ready")
    failback.add_argument("--now", action="store_true", help="move at once, without the checks")
    args = parser.parse_args(argv)
    # The operator acts as the routing function of the region it runs in: its settings.
    control = services(Component.ROUTING).regions
    if args.command == "init":
        first = control.home(args.merchant_id, args.region)
        print(json.dumps({"merchant_id": first.merchant_id, "home": first.home_region, "epoch": first.epoch}))
        return
    if args.command == "show":
        for ownership in OwnershipItems().all():
            print(
                json.dumps(
                    {
                        "merchant_id": ownership.merchant_id,
                        "home": ownership.home_region,
                        "epoch": ownership.epoch,
                        "preferred": ownership.preferred,
                    }
                )
            )
        return
    if args.command == "move":
        moved = [control.move_home(args.merchant_id, args.region)]
    elif args.now:
        moved = control.fail_back(args.region)
    else:
        moved = _fail_back_when_ready(args.region, args.wait)
    for change in moved:
        print(
            json.dumps(
                {
                    "merchant_id": change.merchant_id,
                    "from": change.from_region,
                    "to": change.to_region,
                    "epoch": change.epoch,
                }
            )
        )


def _fail_back_when_ready(region: str, wait_seconds: float) -> list[Moved]:
    container = services(Component.ROUTING)

    def progress(verdict: ReadinessVerdict) -> None:
        state = "ready" if verdict.ready else f"{verdict.passes} in a row"
        print(f"{region}: {state}{'; ' + verdict.reason if verdict.reason else ''}", file=sys.stderr)

    try:
        return container.regions.fail_back_when_ready(
            region, container.returning_regions, int(wait_seconds * 1000), on_round=progress
        )
    except ReturnNotReadyError as exc:
        print(f"nothing moved: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


if __name__ == "__main__":
    main()
