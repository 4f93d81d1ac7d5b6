"""Call recordings in AWS: a private bucket per region under a KMS key of its own, uploads held to
that key, the collector's role that writes, and the API that reads to sign links (and is told the
bucket)."""

from __future__ import annotations

from typing import Any

from contact_center.contracts import settings as contract
from tests.infra.conftest import Synthesized, as_list, dumps, statements


def _recordings(synthesized: Synthesized) -> Any:
    d = synthesized.deployment
    return d.regions[d.config.primary_region].recordings


def _logical_id(construct: Any) -> str:
    import aws_cdk as cdk

    stack = cdk.Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))


def _bucket(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template("primary")["Resources"][_logical_id(_recordings(synthesized).bucket)]


def test_the_bucket_is_encrypted_with_the_recordings_own_rotating_key(synthesized: Synthesized) -> None:
    recordings = _recordings(synthesized)
    key = synthesized.template("primary")["Resources"][_logical_id(recordings.key)]
    assert key["Properties"]["EnableKeyRotation"] is True
    [rule] = _bucket(synthesized)["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    default = rule["ServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "aws:kms"
    assert _logical_id(recordings.key) in dumps(default["KMSMasterKeyID"])
    assert rule["BucketKeyEnabled"] is True


def test_the_bucket_is_private_and_recordings_expire_with_their_records(synthesized: Synthesized) -> None:
    properties = _bucket(synthesized)["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [rule] = properties["LifecycleConfiguration"]["Rules"]
    days = synthesized.deployment.config.contact_record_retention_days
    assert (rule["Status"], rule["ExpirationInDays"]) == ("Enabled", days)


def test_uploads_under_another_key_and_plain_http_are_refused(synthesized: Synthesized) -> None:
    bucket_id = _logical_id(_recordings(synthesized).bucket)
    [policy] = [
        r
        for r in synthesized.resources("primary", "AWS::S3::BucketPolicy").values()
        if r["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    denied = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any("aws:SecureTransport" in dumps(s.get("Condition")) for s in denied)
    [key_rule] = [s for s in denied if "s3:x-amz-server-side-encryption-aws-kms-key-id" in dumps(s)]
    assert as_list(key_rule["Action"]) == ["s3:PutObject"]
    # Refused when a key is named and it is not the recordings' (no key: the bucket's default, that one).
    condition = key_rule["Condition"]
    assert condition["Null"] == {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}
    assert _logical_id(_recordings(synthesized).key) in dumps(condition["StringNotEquals"])


def test_the_collector_role_writes_and_the_api_reads_and_is_told_the_bucket(synthesized: Synthesized) -> None:
    d = synthesized.deployment
    region = d.regions[d.config.primary_region]
    template = synthesized.template("primary")
    recordings = region.recordings
    bucket_id, key_id = _logical_id(recordings.bucket), _logical_id(recordings.key)

    writer = statements(template, _logical_id(recordings.writer))
    writes = {a for s in writer for a in as_list(s["Action"]) if bucket_id in dumps(s["Resource"])}
    assert writes == {"s3:PutObject", "s3:AbortMultipartUpload"}
    assert any(key_id in dumps(s["Resource"]) for s in writer)

    api_role = region.services.api.handler.role
    reads = statements(template, _logical_id(api_role))
    api_actions = {a for s in reads if bucket_id in dumps(s["Resource"]) for a in as_list(s["Action"])}
    assert api_actions == {"s3:GetObject"}
    assert any(key_id in dumps(s["Resource"]) and "kms:Decrypt" in as_list(s["Action"]) for s in reads)

    api = template["Resources"][_logical_id(region.services.api.handler.function)]
    environment = api["Properties"]["Environment"]["Variables"]
    assert bucket_id in dumps(environment[contract.RECORDINGS_BUCKET.name])
