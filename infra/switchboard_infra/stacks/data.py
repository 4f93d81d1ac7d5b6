"""The state of Switchboard: the one global table, defined in the primary region."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from switchboard_infra.config import Config
from switchboard_infra.constructs.table import GlobalTable


class DataStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: Config, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.global_table = GlobalTable(
            self, "Switchboard", table_name=config.table_name, replica_regions=[config.secondary_region]
        )
        self.table = self.global_table.table
