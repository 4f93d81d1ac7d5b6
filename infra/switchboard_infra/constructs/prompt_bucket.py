"""The bucket of merchants' uploaded prompts (``PROMPTS_BUCKET``): the API writes and deletes them,
the media relays' agents copy them onto the relays (the edge tasks only name them: no access here).

Private, encrypted, TLS only. Each version of a prompt is an object of its own (its key ends in its
content hash); the API deletes a replaced or deleted version's object itself. A region has its own
bucket, the API writes the merchant's home region's, and each bucket is replicated into the other
region's (``constructs.prompt_replication``, in the global stack), so a merchant's prompts play
after a failover: hence a name each region can spell for the other's (`prompt_bucket_name`; a
deployment made before it had a generated name, and keeps that bucket: copy it into the named one
once with ``aws s3 sync``). Replication needs S3 versioning on both buckets: a deleted object leaves a delete
marker (which replicates, so the other region drops the version too) and a noncurrent version,
expired after ``NONCURRENT_DAYS``.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from switchboard_infra import nag

# How long a deleted or overwritten object's noncurrent version is kept (a mistaken delete can be
# undone by an operator this long; nothing of the project reads old versions).
NONCURRENT_DAYS = 7


def prompt_bucket_name(table_name: str, account: str, region: str) -> str:
    """The prompts bucket of ``region``: a name each region can spell for the other's (replication)."""
    return f"{re.sub(r'[^a-z0-9-]', '-', table_name.lower())}-prompts-{account}-{region}"


def prompt_objects_arn(bucket_name: str) -> str:
    """Every object of the bucket ``bucket_name`` (its prompts' versions, under run-time keys)."""
    return f"arn:{cdk.Aws.PARTITION}:s3:::{bucket_name}/*"


class PromptBucket(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, bucket_name: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,  # replication requires it (above)
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="forget-deleted-versions",
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_DAYS),
                    expired_object_delete_marker=True,
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            # Merchants' recordings: kept when the stack goes, as the table is.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        nag.acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Only the API function writes and deletes here, and the API's access logs record every upload "
            "and deletion with its caller; the media relays only read",
        )

    def grant_api(self, role: iam.IRole) -> None:
        """Uploads, and the deletion of replaced and deleted versions."""
        self.bucket.grant_put(role)
        self.bucket.grant_delete(role)
        self._acknowledge_objects(role, ("Abort*", "DeleteObject*"))

    def _acknowledge_objects(self, role: iam.IRole, actions: tuple[str, ...]) -> None:
        stack = cdk.Stack.of(self)
        bucket_id = stack.resolve(stack.get_logical_id(self.bucket.node.default_child))  # type: ignore[arg-type]
        for finding in (*(f"Action::s3:{a}" for a in actions), f"Resource::<{bucket_id}.Arn>/*"):
            nag.acknowledge(
                role,
                f"AwsSolutions-IAM5[{finding}]",
                "Prompts are objects under per-merchant keys created at run time; the grant covers the "
                "objects of this one bucket and the S3 actions CDK's grant names for that use",
            )
