"""Each region's prompts bucket replicated into the other region's, both ways, so that after a
failover a merchant's own greeting and music play in the region that took its calls (before, that
region had only the default prompts).

Why both ways: a merchant uploads through its home region's API, into that region's bucket, and
either region may be a merchant's home. Why here, in the global stack, and not as each bucket's own
replication rule: S3 refuses a replication configuration whose destination bucket does not exist
yet, and the two region stacks deploy independently, so neither could name the other's bucket at its
first deploy. The global stack deploys after both regions, and sets each bucket's configuration with
one S3 call in that bucket's region (``PutBucketReplication``, undone by ``DeleteBucketReplication``).

What replicates: every new object (a new version of a prompt) and every delete marker (the API
removing a replaced or deleted version), so each region's relays copy and drop the same versions
(``media_relay.agent.UploadSync``). A replica is not replicated again (S3 replicates objects its
own writers put, not replicas), so the two rules do not loop. Objects stored before replication was
set are not copied: run S3 Batch Replication once, or upload them again.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from switchboard_infra import nag
from switchboard_infra.constructs.prompt_bucket import prompt_objects_arn

RULE_ID = "prompts-to-the-other-region"


class PromptReplication(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, buckets: Mapping[str, str]) -> None:
        """``buckets``: each region's prompts bucket by name (two regions; `prompt_bucket_name`)."""
        super().__init__(scope, construct_id)
        self.roles: dict[str, iam.Role] = {}
        for source_region, source in buckets.items():
            (destination,) = [bucket for region, bucket in buckets.items() if region != source_region]
            source_arn = f"arn:{cdk.Aws.PARTITION}:s3:::{source}"
            name = source_region.replace("-", "").title()
            role = iam.Role(
                self,
                f"Role{name}",
                assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
                description=f"S3 replicating the prompts of {source_region} into the other region's bucket",
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:GetReplicationConfiguration", "s3:ListBucket"], resources=[source_arn]
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    resources=[prompt_objects_arn(source)],
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    resources=[prompt_objects_arn(destination)],
                )
            )
            for bucket in (source, destination):
                nag.acknowledge(
                    role,
                    f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{bucket}/*]",
                    "Replication reads every version of this one bucket's prompts and writes them into the "
                    "other region's prompts bucket: objects under per-merchant keys created at run time",
                )
            self.roles[source_region] = role
            configure = cr.AwsSdkCall(
                service="S3",
                action="putBucketReplication",
                region=source_region,
                parameters={
                    "Bucket": source,
                    "ReplicationConfiguration": {
                        "Role": role.role_arn,
                        "Rules": [
                            {
                                "ID": RULE_ID,
                                "Status": "Enabled",
                                "Priority": 1,
                                "Filter": {},
                                "DeleteMarkerReplication": {"Status": "Enabled"},
                                "Destination": {"Bucket": f"arn:{cdk.Aws.PARTITION}:s3:::{destination}"},
                            }
                        ],
                    },
                },
                physical_resource_id=cr.PhysicalResourceId.of(f"prompts-replication-{source_region}"),
            )
            cr.AwsCustomResource(
                self,
                f"Replicate{name}",
                on_create=configure,
                on_update=configure,
                on_delete=cr.AwsSdkCall(
                    service="S3",
                    action="deleteBucketReplication",
                    region=source_region,
                    parameters={"Bucket": source},
                ),
                policy=cr.AwsCustomResourcePolicy.from_statements(
                    [
                        # PutBucketReplication and DeleteBucketReplication are both this action.
                        iam.PolicyStatement(
                            actions=["s3:PutReplicationConfiguration"], resources=[source_arn]
                        ),
                        iam.PolicyStatement(actions=["iam:PassRole"], resources=[role.role_arn]),
                    ]
                ),
                install_latest_aws_sdk=False,
                log_retention=None,
            )
        stack = cdk.Stack.of(self)
        provider = stack.node.find_child("AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", ""))
        nag.acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's AwsCustomResource provider (sets the prompts buckets' replication at deploy time) always "
            "uses the basic execution policy for its own logs; its S3 access is the two buckets' replication",
        )
