"""Merchants' uploaded prompts in AWS: a private bucket per region, named to the API (which writes it)
and to the edge (which reads it), replicated into the other region's bucket (so a merchant's prompts
play after a failover), and an API Gateway that passes WAV bodies as binary."""

from __future__ import annotations

import json
from typing import Any

from contact_center.contracts import settings as contract
from contact_center.contracts import values
from switchboard_infra.constructs.prompt_bucket import prompt_bucket_name
from tests.infra.conftest import Synthesized, only


def _bucket_id(synthesized: Synthesized) -> str:
    (bucket_id,) = [k for k in synthesized.resources("primary", "AWS::S3::Bucket") if k.startswith("Prompts")]
    return bucket_id


def _statements(synthesized: Synthesized, role_fragment: str) -> list[dict[str, Any]]:
    policies = synthesized.resources("primary", "AWS::IAM::Policy")
    return [
        statement
        for policy in policies.values()
        if any(role_fragment in role.get("Ref", "") for role in policy["Properties"].get("Roles", []))
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions_on_bucket(statements: list[dict[str, Any]], bucket_id: str) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        if bucket_id in str(statement["Resource"]):
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_the_prompts_bucket_is_private_encrypted_and_kept(synthesized: Synthesized) -> None:
    bucket = synthesized.template("primary")["Resources"][_bucket_id(synthesized)]
    block = bucket["Properties"]["PublicAccessBlockConfiguration"]
    assert all(
        block[k]
        for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    assert bucket["Properties"]["BucketEncryption"]
    assert bucket["DeletionPolicy"] == "Retain"


def test_the_api_and_the_edge_are_told_the_bucket(synthesized: Synthesized) -> None:
    bucket_ref = {"Ref": _bucket_id(synthesized)}
    functions = synthesized.resources("primary", "AWS::Lambda::Function").values()
    api = only(
        {
            n: f
            for n, f in enumerate(functions)
            if f["Properties"].get("Environment", {}).get("Variables", {}).get(contract.COMPONENT.name)
            == "api"
        }
    )
    assert api["Properties"]["Environment"]["Variables"][contract.PROMPTS_BUCKET.name] == bucket_ref
    task = only(synthesized.resources("primary", "AWS::ECS::TaskDefinition"))
    (container,) = task["Properties"]["ContainerDefinitions"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment[contract.PROMPTS_BUCKET.name] == bucket_ref


def test_the_api_writes_and_deletes_prompts_and_the_edge_has_no_access(synthesized: Synthesized) -> None:
    bucket_id = _bucket_id(synthesized)
    api = _actions_on_bucket(_statements(synthesized, "ServicesApiHandlerRole"), bucket_id)
    edge = _actions_on_bucket(_statements(synthesized, "EdgeTaskTaskRole"), bucket_id)
    assert {"s3:PutObject", "s3:DeleteObject*"} <= api
    assert not any(a.startswith("s3:GetObject") for a in api)
    # The relays' agents copy the prompts (tests/infra/test_media_fleet.py): the edge only names them.
    assert edge == set()


def test_api_gateway_passes_wav_bodies_as_binary(synthesized: Synthesized) -> None:
    api = only(synthesized.resources("primary", "AWS::ApiGateway::RestApi"))
    assert api["Properties"]["BinaryMediaTypes"] == list(values.PROMPT_CONTENT_TYPES)


def test_the_web_acl_lets_a_prompt_sized_body_through(synthesized: Synthesized) -> None:
    acl = only(synthesized.resources("primary", "AWS::WAFv2::WebACL"))
    (common,) = [r for r in acl["Properties"]["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet"]
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]


def _bucket(synthesized: Synthesized, key: str) -> dict[str, Any]:
    (bucket,) = [
        r for k, r in synthesized.resources(key, "AWS::S3::Bucket").items() if k.startswith("Prompts")
    ]
    return bucket


def _replication_calls(synthesized: Synthesized) -> list[dict[str, Any]]:
    """The global stack's S3 calls setting a bucket's replication, as the custom resources hold them."""
    calls = []
    for resource in synthesized.resources("global", "Custom::AWS").values():
        create = resource["Properties"]["Create"]
        text = create if isinstance(create, str) else json.dumps(create)
        if "putBucketReplication" in text:
            calls.append(resource["Properties"])
    return calls


def test_each_regions_bucket_is_named_so_the_other_region_can_name_it(synthesized: Synthesized) -> None:
    config = synthesized.deployment.config
    for key, region in (("primary", config.primary_region), ("secondary", config.secondary_region)):
        name = _bucket(synthesized, key)["Properties"]["BucketName"]
        assert name == prompt_bucket_name(config.table_name, config.account, region)


def test_the_buckets_keep_versions_replication_needs_and_forget_them_after_a_week(
    synthesized: Synthesized,
) -> None:
    properties = _bucket(synthesized, "primary")["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert rule["ExpiredObjectDeleteMarker"] is True


def test_each_regions_prompts_and_their_deletions_replicate_into_the_other_region(
    synthesized: Synthesized,
) -> None:
    config = synthesized.deployment.config
    names = {r: prompt_bucket_name(config.table_name, config.account, r) for r in config.regions}
    calls = _replication_calls(synthesized)
    assert len(calls) == 2
    replicated = {}
    for call in calls:
        text = json.dumps(call["Create"])
        (source,) = [r for r, name in names.items() if f'\\"Bucket\\":\\"{name}\\"' in text]
        (destination,) = [r for r, name in names.items() if f":s3:::{name}" in text]
        replicated[source] = destination
        assert '\\"DeleteMarkerReplication\\":{\\"Status\\":\\"Enabled\\"}' in text
        assert f'\\"region\\":\\"{source}\\"' in text  # set in the source bucket's own region
        assert "deleteBucketReplication" in json.dumps(call["Delete"])
    assert replicated == {
        config.primary_region: config.secondary_region,
        config.secondary_region: config.primary_region,
    }


def test_the_replication_roles_read_one_bucket_and_write_only_into_the_other(
    synthesized: Synthesized,
) -> None:
    config = synthesized.deployment.config
    names = {r: prompt_bucket_name(config.table_name, config.account, r) for r in config.regions}
    policies = synthesized.resources("global", "AWS::IAM::Policy").values()
    writes: dict[str, list[str]] = {}
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "s3:ReplicateObject" in actions:
                role = policy["Properties"]["Roles"][0]["Ref"]
                writes[role] = [json.dumps(statement["Resource"])]
    assert len(writes) == 2
    targets = sorted(r for resources in writes.values() for r in names if f"{names[r]}/*" in resources[0])
    assert targets == sorted(config.regions)  # one role into each region's bucket, none into its own
