"""The operator's command for merchants' homes, run with a region's settings (``SWITCHBOARD_REGION``
and its table, as the region's functions have them):

    python -m local_stack.regions.homes show
    python -m local_stack.regions.homes init MERCHANT_ID REGION     # a new merchant's first home
    python -m local_stack.regions.homes move MERCHANT_ID REGION     # planned: the merchant moves
    python -m local_stack.regions.homes failback REGION             # every merchant preferring REGION
                                                                     # goes back to it
Each move is one conditional write in this region's replica; nothing in the other region is needed.
"""

from __future__ import annotations

import argparse
import json

from contact_center.bootstrap import services
from contact_center.contracts.settings import Component
from contact_center.data.ownership import OwnershipItems


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
    moved = (
        [control.move_home(args.merchant_id, args.region)]
        if args.command == "move"
        else control.fail_back(args.region)
    )
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


if __name__ == "__main__":
    main()
