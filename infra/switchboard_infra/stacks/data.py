"""The state of Switchboard: the one global table, defined in the primary region."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from constructs import Construct

from switchboard_infra.config import Config
from switchboard_infra.constructs.table import GlobalTable
from switchboard_infra.stacks.keys import table_key_alias_arn


class DataStack(cdk.Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: Config, key: kms.IKey, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        replica = config.secondary_region
        self.global_table = GlobalTable(
            self,
            "Switchboard",
            table_name=config.table_name,
            replica_regions=[replica],
            key=key,
            replica_key_arns={replica: table_key_alias_arn(config.account, replica)},
        )
        self.table = self.global_table.table
