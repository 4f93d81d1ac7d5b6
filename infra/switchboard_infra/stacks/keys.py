"""The customer-managed KMS key that encrypts the table in one region (seats' digest HA1 hashes,
API key hashes, contact records).

A stack of its own in every region, deployed before the data stack: the global table needs a key
in each replica's region when it is created, and each region's functions and edge need the key of
their own replica. The data stack names the other region's key by its alias, so no cross-region
reference is needed.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

TABLE_KEY_ALIAS = "alias/switchboard-table"


def table_key_alias_arn(account: str, region: str) -> str:
    return f"arn:aws:kms:{region}:{account}:{TABLE_KEY_ALIAS}"


class KeysStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.table_key = kms.Key(
            self,
            "TableKey",
            description="Switchboard table (this region's replica): seats' HA1 hashes, keys, records",
            alias=TABLE_KEY_ALIAS,
            enable_key_rotation=True,
            # The table is retained on delete; so must be the key that can read it.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
