"""The global table: built from the data layer's schema module, replicated, protected."""

from __future__ import annotations

from contact_center.data import schema
from tests.infra.conftest import Synthesized, dumps, only


def _table(synthesized: Synthesized) -> dict:
    return only(synthesized.resources("data", "AWS::DynamoDB::GlobalTable"))["Properties"]


def test_table_keys_equal_the_data_layer_schema(synthesized: Synthesized) -> None:
    assert _table(synthesized)["KeySchema"] == [
        {"AttributeName": schema.TABLE.partition_key, "KeyType": "HASH"},
        {"AttributeName": schema.TABLE.sort_key, "KeyType": "RANGE"},
    ]


def test_table_indexes_equal_the_data_layer_schema(synthesized: Synthesized) -> None:
    deployed = {
        index["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in _table(synthesized)["GlobalSecondaryIndexes"]
    }
    expected = {
        index.name: ([(index.partition_key, "HASH"), (index.sort_key, "RANGE")], index.projection)
        for index in schema.TABLE.indexes
    }
    assert deployed == expected


def test_every_key_attribute_is_a_string(synthesized: Synthesized) -> None:
    definitions = {
        a["AttributeName"]: a["AttributeType"] for a in _table(synthesized)["AttributeDefinitions"]
    }
    assert definitions == dict.fromkeys(schema.TABLE.key_attributes, "S")


def test_table_has_a_replica_in_the_secondary_region(synthesized: Synthesized, config) -> None:
    regions = {replica["Region"] for replica in _table(synthesized)["Replicas"]}
    assert regions == {config.primary_region, config.secondary_region}


def test_every_replica_has_point_in_time_recovery(synthesized: Synthesized) -> None:
    assert all(
        r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        for r in _table(synthesized)["Replicas"]
    )


def test_every_replica_has_deletion_protection(synthesized: Synthesized) -> None:
    assert all(r["DeletionProtectionEnabled"] for r in _table(synthesized)["Replicas"])


def test_table_streams_new_and_old_images(synthesized: Synthesized) -> None:
    assert _table(synthesized)["StreamSpecification"] == {"StreamViewType": schema.TABLE.stream_view_type}


def test_table_expires_items_on_the_schema_ttl_attribute(synthesized: Synthesized) -> None:
    assert _table(synthesized)["TimeToLiveSpecification"] == {
        "AttributeName": schema.TABLE.ttl_attribute,
        "Enabled": True,
    }


def test_table_is_retained_when_its_stack_is_deleted(synthesized: Synthesized) -> None:
    table = only(synthesized.resources("data", "AWS::DynamoDB::GlobalTable"))
    assert table["DeletionPolicy"] == "Retain"


def test_table_name_is_the_one_the_runtime_defaults_to(synthesized: Synthesized) -> None:
    assert _table(synthesized)["TableName"] == schema.DEFAULT_TABLE_NAME


def test_every_replica_is_encrypted_with_its_regions_customer_managed_key(
    synthesized: Synthesized, config
) -> None:
    table = _table(synthesized)
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    keys = {r["Region"]: r["SSESpecification"]["KMSMasterKeyId"] for r in table["Replicas"]}
    assert keys[config.secondary_region] == (
        f"arn:aws:kms:{config.secondary_region}:{config.account}:alias/switchboard-table"
    )
    assert "Fn::ImportValue" in dumps(keys[config.primary_region])


def test_each_regions_table_key_rotates_and_has_the_alias_the_data_stack_names(
    synthesized: Synthesized,
) -> None:
    for region, stack in synthesized.deployment.keys.items():
        template = synthesized.templates[stack.stack_name]
        key = only({k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"})
        alias = only({k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Alias"})
        assert key["Properties"]["EnableKeyRotation"] is True, region
        assert alias["Properties"]["AliasName"] == "alias/switchboard-table"
