"""Where a region keeps its call recordings: a private S3 bucket encrypted with a KMS key of its own.

Keys are ``<merchant id>/<contact id>.wav`` (``contact_center.domain.recording``), so one prefix
holds a merchant's recordings. The bucket refuses plain HTTP and any upload naming another key than
the recordings' (its default encryption is that key); objects expire with the contact records that name them. The recording collector
beside each media relay (``sip_edge.app.media.recorder``) writes with ``grant_write``: the media
fleet's instance role, and the ``writer`` role for relays' hosts outside the fleet; the API only reads, to sign the
short-lived links it hands out (S3 presigned GETs: the reader's browser fetches from S3 directly,
and the key's decrypt permission goes with the signer's role).
"""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from switchboard_infra import nag


class CallRecordings(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Switchboard call recordings (this region's bucket)",
            enable_key_rotation=True,
            # The recordings are retained on delete; so must be the key that can read them.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            # One data key per bucket and period instead of a KMS request per object.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(retention_days))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # Every object is under the recordings' key: the bucket's default encrypts an upload that
        # names no key, and an upload naming another key is refused. (Not "no header, no upload":
        # the parts of a multipart upload carry no encryption header.)
        condition_key = "s3:x-amz-server-side-encryption-aws-kms-key-id"
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[self.bucket.arn_for_objects("*")],
                conditions={
                    "Null": {condition_key: "false"},
                    "StringNotEquals": {condition_key: self.key.key_arn},
                },
            )
        )
        self.writer = iam.Role(
            self,
            "Writer",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="The media relays' hosts: the recording collector puts finished calls here",
        )
        self.grant_write(self.writer)
        nag.acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Every object is written by the collector role and read through links the API signs; "
            "CloudTrail data events log both when an operator turns them on",
        )
        cdk.CfnOutput(self, "BucketName", value=self.bucket.bucket_name, description="Call recordings")
        cdk.CfnOutput(self, "KeyArn", value=self.key.key_arn, description="Call recordings' KMS key")
        cdk.CfnOutput(
            self, "WriterRoleArn", value=self.writer.role_arn, description="Role of the media relays' hosts"
        )

    def grant_write(self, role: iam.IRole) -> None:
        """The recording collector's rights: put recordings (a large file goes in parts, which S3
        encrypts with data keys it decrypts again), nothing else."""
        self._allow(role, "s3:PutObject", "s3:AbortMultipartUpload")
        self.key.grant(role, "kms:GenerateDataKey", "kms:Decrypt")
        self._acknowledge_objects(role, "writes one object per call")

    def grant_links(self, role: iam.IRole) -> None:
        """``role`` signs links to recordings (a presigned GET acts with the signer's permissions)
        and checks that a recording is stored (HEAD is a GetObject): it reads objects and decrypts."""
        self._allow(role, "s3:GetObject")
        self.key.grant_decrypt(role)
        self._acknowledge_objects(role, "signs a link to any one recording")

    def _allow(self, role: iam.IRole, *actions: str) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(actions), resources=[self.bucket.arn_for_objects("*")])
        )

    def _acknowledge_objects(self, role: iam.IRole, uses: str) -> None:
        stack = cdk.Stack.of(self)
        bucket_id = stack.resolve(stack.get_logical_id(cast(cdk.CfnElement, self.bucket.node.default_child)))
        nag.acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]",
            f"The role {uses} of the recordings bucket; keys (<merchant>/<contact>.wav) are made per "
            "call, so the grant is the bucket's objects, with the exact actions it needs",
        )
