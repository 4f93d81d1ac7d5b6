"""The Switchboard table as a DynamoDB global table, built from the data layer's schema module."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from contact_center.data import schema

_STREAM_VIEW = {
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "OLD_IMAGE": dynamodb.StreamViewType.OLD_IMAGE,
    "KEYS_ONLY": dynamodb.StreamViewType.KEYS_ONLY,
}
_PROJECTION = {"ALL": dynamodb.ProjectionType.ALL, "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY}


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class GlobalTable(Construct):
    """TableV2 with one replica per extra region; PITR, deletion protection, stream and TTL everywhere."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table_name: str,
        replica_regions: list[str],
        key: kms.IKey,
        replica_key_arns: Mapping[str, str],
        spec: schema.TableSpec = schema.TABLE,
    ) -> None:
        super().__init__(scope, construct_id)
        recovery = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            # A fixed name: every region's functions and the edge address the replica by it.
            table_name=table_name,
            partition_key=_string(spec.partition_key),
            sort_key=_string(spec.sort_key),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=_string(index.partition_key),
                    sort_key=_string(index.sort_key),
                    projection_type=_PROJECTION[index.projection],
                )
                for index in spec.indexes
            ],
            billing=dynamodb.Billing.on_demand(),
            dynamo_stream=_STREAM_VIEW[spec.stream_view_type],
            time_to_live_attribute=spec.ttl_attribute,
            point_in_time_recovery_specification=recovery,
            deletion_protection=True,
            # Customer-managed keys, one per region: HA1 hashes and API key hashes are credentials.
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(key, dict(replica_key_arns)),
            # Losing every contact record and seat on a stack delete is never what anyone wants.
            removal_policy=cdk.RemovalPolicy.RETAIN,
            replicas=[
                dynamodb.ReplicaTableProps(
                    region=region, point_in_time_recovery_specification=recovery, deletion_protection=True
                )
                for region in replica_regions
            ],
        )
