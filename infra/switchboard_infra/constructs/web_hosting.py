"""The web pages (``web/``) in AWS: a private S3 bucket behind CloudFront (origin access control), the
HTTP API under ``/api/*`` on the same origin, and a ``config.json`` naming the API path and the event
socket's URL, exactly as ``make run``'s web server (``local_stack.web_server``) serves them.

``/api/merchants`` reaches API Gateway as ``/api/merchants``: the REST API's stage is named ``api``,
so the stage strips the prefix as the local server does, and the pages never make a cross-origin
request.
"""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from switchboard_infra import nag, paths

WEB_ROOT = paths.REPO_ROOT / "web"
API_PATH = "/api"


def site_config(ws_url: str) -> dict[str, str]:
    """What every page reads first (the same shape as ``local_stack.web_server.site_config``)."""
    return {"api_url": API_PATH, "ws_url": ws_url}


class WebHosting(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, api: apigw.RestApi, ws_url: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.bucket = s3.Bucket(
            self,
            "Pages",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
        )
        api_origin = origins.HttpOrigin(
            f"{api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}",
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Switchboard web pages, with the HTTP API under /api",
            default_root_object="index.html",
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            ),
            additional_behaviors={
                f"{API_PATH}/*": cloudfront.BehaviorOptions(
                    origin=api_origin,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    # Everything but the Host header: API Gateway answers only for its own name.
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                )
            },
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            sources=[
                s3deploy.Source.asset(str(WEB_ROOT)),
                s3deploy.Source.json_data("config.json", site_config(ws_url)),
            ],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
        )
        for construct, rule, reason in (
            (self.bucket, "AwsSolutions-S1", "Only CloudFront reads the bucket (OAC); its requests are logged there"),
            (self.distribution, "AwsSolutions-CFR1", "The pages are for the merchants' people wherever they are"),
            (self.distribution, "AwsSolutions-CFR2", "The pages hold no data; the API behind them authenticates every call"),
            (self.distribution, "AwsSolutions-CFR3", "Access logs: enable with a log bucket per deployment when wanted"),
            (self.distribution, "AwsSolutions-CFR4", "The default cloudfront.net certificate allows TLS 1.0 viewers; a custom domain sets TLS 1.2"),
        ):  # fmt: skip
            nag.acknowledge(construct, rule, reason)
        # BucketDeployment's provider: one function per stack, CDK's own code, role and grants.
        bucket_id = stack.resolve(stack.get_logical_id(cast(cdk.CfnElement, self.bucket.node.default_child)))
        findings = [
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            *(
                f"IAM5[Action::s3:{a}]"
                for a in ("Abort*", "DeleteObject*", "GetBucket*", "GetObject*", "List*")
            ),
            "IAM5[Resource::*]",
            f"IAM5[Resource::<{bucket_id}.Arn>/*]",
            f"IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-{stack.account}-{stack.region}/*]",
            "L1",
        ]
        for child in stack.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                for finding in findings:
                    nag.acknowledge(
                        child,
                        "AwsSolutions-" + finding,
                        "CDK's BucketDeployment provider copies web/ into the pages bucket at deploy time; "
                        "its runtime, basic execution policy and bucket-wide grants are CDK's own",
                    )

    @property
    def url(self) -> str:
        return f"https://{self.distribution.distribution_domain_name}"
