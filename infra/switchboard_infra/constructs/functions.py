"""Lambda building blocks: the contact_center layer and a function with Switchboard's defaults.

Every function gets its own role with nothing but its log group and what the caller grants
(no AWS managed policy), JSON logs into a log group with retention, and active X-Ray tracing.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from switchboard_infra import bundling, nag, paths

# Python 3.12 on Graviton: the runtime the layer's dependencies are installed for.
RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = "3.12"
ARCHITECTURE = lambda_.Architecture.ARM_64


class ContactCenterLayer(Construct):
    """The shared runtime package and its pinned dependencies, bundled without Docker."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description="contact_center: domain, services and data access shared by every function",
            code=lambda_.Code.from_asset(
                str(paths.LAYER_SOURCE),
                exclude=paths.CODE_EXCLUDES,
                # Hash what ships (sources and installed pins), so a version bump publishes a new layer.
                asset_hash_type=cdk.AssetHashType.OUTPUT,
                bundling=bundling.bundling_options(bundling.LayerBundler(PYTHON_VERSION)),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
        )


class ObservedFunction(Construct):
    """A Python function with its own least-privilege role, JSON logs with retention and tracing."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        code: lambda_.Code,
        handler: str,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        memory_size: int = 512,
        timeout: cdk.Duration | None = None,
        reserved_concurrency: int | None = None,
        wildcard_reason: str = "",
        function_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} (least privilege: its log group plus explicit grants)",
        )
        # The log group exists before the function, so the role needs no logs:CreateLogGroup on "*".
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code,
            handler=handler,
            layers=[layer],
            role=self.role,
            environment=dict(environment),
            memory_size=memory_size,
            timeout=timeout or cdk.Duration.seconds(10),
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=self.log_group,
        )
        nag.acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Python 3.12 is the project's Lambda runtime: the layer's dependencies are installed for "
            "cp312 and the code is tested on 3.11/3.12; moving to a newer runtime is a tested upgrade",
        )
        nag.acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            wildcard_reason
            or "X-Ray's PutTraceSegments/PutTelemetryRecords accept no resource ARN; '*' is the only form AWS allows",
        )


def code_from(directory: str) -> lambda_.Code:
    return lambda_.Code.from_asset(directory, exclude=paths.CODE_EXCLUDES)
