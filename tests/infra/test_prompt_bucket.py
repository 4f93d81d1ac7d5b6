"""Merchants' uploaded prompts in AWS: a private bucket per region, named to the API (which writes it)
and to the edge (which reads it), and an API Gateway that passes WAV bodies as binary."""

from __future__ import annotations

from typing import Any

from contact_center.contracts import settings as contract
from contact_center.contracts import values
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


def test_the_api_writes_and_deletes_prompts_and_the_edge_only_reads_them(synthesized: Synthesized) -> None:
    bucket_id = _bucket_id(synthesized)
    api = _actions_on_bucket(_statements(synthesized, "ServicesApiHandlerRole"), bucket_id)
    edge = _actions_on_bucket(_statements(synthesized, "EdgeTaskTaskRole"), bucket_id)
    assert {"s3:PutObject", "s3:DeleteObject*"} <= api
    assert not any(a.startswith("s3:GetObject") for a in api)
    assert any(a.startswith("s3:GetObject") for a in edge)
    assert not any(a.startswith(("s3:Put", "s3:Delete")) for a in edge)


def test_api_gateway_passes_wav_bodies_as_binary(synthesized: Synthesized) -> None:
    api = only(synthesized.resources("primary", "AWS::ApiGateway::RestApi"))
    assert api["Properties"]["BinaryMediaTypes"] == list(values.PROMPT_CONTENT_TYPES)


def test_the_web_acl_lets_a_prompt_sized_body_through(synthesized: Synthesized) -> None:
    acl = only(synthesized.resources("primary", "AWS::WAFv2::WebACL"))
    (common,) = [r for r in acl["Properties"]["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet"]
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
