"""The bucket of merchants' uploaded prompts (``PROMPTS_BUCKET``): the API writes and deletes them,
the edge tasks read them into the directory their media relays play from.

Private, encrypted, TLS only. Each version of a prompt is an object of its own (its key ends in its
content hash), so the bucket needs no versioning; the API deletes a replaced or deleted version's
object itself. A region has its own bucket: a merchant's prompts are in its home region's bucket,
and an edge of the other region, which cannot fetch them, plays the default prompts.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from switchboard_infra import nag


class PromptBucket(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # Merchants' recordings: kept when the stack goes, as the table is.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        nag.acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Only the API function writes and deletes here, and the API's access logs record every upload "
            "and deletion with its caller; the edge tasks only read",
        )

    def grant_api(self, role: iam.IRole) -> None:
        """Uploads, and the deletion of replaced and deleted versions."""
        self.bucket.grant_put(role)
        self.bucket.grant_delete(role)
        self._acknowledge_objects(role, ("Abort*", "DeleteObject*"))

    def grant_edge(self, role: iam.IRole) -> None:
        self.bucket.grant_read(role)
        self._acknowledge_objects(role, ("GetBucket*", "GetObject*", "List*"))

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
