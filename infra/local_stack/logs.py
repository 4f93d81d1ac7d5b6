"""One log format for the local stack's processes, without the SDKs' chatter."""

from __future__ import annotations

import logging
import os

NOISY = ("pynamodb", "botocore", "boto3", "urllib3")


def configure(component: str) -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format=f"%(asctime)s {component} %(levelname)s %(message)s"
    )
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
