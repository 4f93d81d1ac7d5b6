"""`python -m sip_edge`: run one SIP edge task (see `sip_edge.config` for flags and environment)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from sip_edge.config import ConfigError, parse_config
from sip_edge.main import run, table_ports


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = parse_config(argv)
    except ConfigError as exc:
        print(f"sip_edge: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, config.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The AWS SDK and PynamoDB narrate every client they build at INFO; keep the edge's log readable.
    for noisy in ("pynamodb", "botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return run(config, table_ports(config))


if __name__ == "__main__":
    sys.exit(main())
