"""The Chalice app behind API Gateway, packaged without ``chalice package`` (which needs the network).

One API Gateway resource per Chalice route (see ``api_routes``), every method a Lambda proxy to
``app.app``: Chalice then sees the resource path it dispatches on. The stage logs access and
errors, traces with X-Ray and sits behind a WAF web ACL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from contact_center.contracts import values
from switchboard_infra import bundling, nag, paths
from switchboard_infra.api_routes import Route
from switchboard_infra.constructs.functions import ObservedFunction

STAGE = "api"

# What API Gateway answers itself (the app never runs), in the app's error shape
# ``{"error": {"code", "message", "field"}}`` (functions/api/chalicelib/errors.py; a test keeps the
# two in step). Fixed messages: API Gateway's own ones can quote the Authorization header.
# (response type, status or None to keep API Gateway's, code, message, field)
GATEWAY_ERRORS: tuple[tuple[apigw.ResponseType, str | None, str, str, str | None], ...] = (
    # No resource and method for the request: a route this API does not have.
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "not_found", "no such route", None),
    (
        apigw.ResponseType.REQUEST_TOO_LARGE,
        "413",
        "payload_too_large",
        "the request body is too large",
        "body",
    ),
    (apigw.ResponseType.THROTTLED, "429", "throttled", "too many requests; retry later", None),
    (apigw.ResponseType.WAF_FILTERED, "403", "forbidden", "the request was refused", None),
    (apigw.ResponseType.DEFAULT_4_XX, None, "bad_request", "the request cannot be served", None),
    (apigw.ResponseType.DEFAULT_5_XX, None, "unavailable", "the service is unavailable; retry later", None),
)


class ChaliceApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Sequence[Route],
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        log_retention: logs.RetentionDays,
        throttle_rate: int = 200,
        throttle_burst: int = 400,
        wildcard_reason: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = ObservedFunction(
            self,
            "Handler",
            description="Switchboard HTTP API (Chalice app switchboard-api)",
            code=lambda_.Code.from_asset(
                str(paths.API_FUNCTION),
                exclude=paths.CODE_EXCLUDES,
                bundling=bundling.bundling_options(bundling.ChaliceAppBundler()),
            ),
            handler="app.app",
            layer=layer,
            environment=environment,
            log_retention=log_retention,
            memory_size=512,
            timeout=cdk.Duration.seconds(29),
            wildcard_reason=wildcard_reason,
        )
        access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention)
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name="switchboard-api",
            description="Switchboard merchant onboarding, seats, queues and agent state",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # A prompt upload is a WAV body: API Gateway hands these types to Lambda base64-encoded
            # (any other type as UTF-8 text, which would mangle the audio); Chalice decodes the same
            # list (functions/api/chalicelib/routes/prompts.py).
            binary_media_types=list(values.PROMPT_CONTENT_TYPES),
            # The account-level role API Gateway needs to write execution logs in this region.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies carry merchant data; keep them out of logs
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                throttling_rate_limit=throttle_rate,
                throttling_burst_limit=throttle_burst,
            ),
        )
        # One permission for the whole API instead of one per method keeps the function's resource
        # policy far below its 20 KB limit however many routes the app grows.
        integration = apigw.LambdaIntegration(
            self.handler.function, proxy=True, scope_permission_to_method=False
        )
        for route in routes:
            resource = self.api.root.resource_for_path(route.path) if route.parts else self.api.root
            resource.add_method(route.method, integration)
        for response_type, status, code, message, field in GATEWAY_ERRORS:
            body = {"error": {"code": code, "message": message, "field": field}}
            self.api.add_gateway_response(
                f"Error{response_type.response_type}",
                type=response_type,
                status_code=status,
                templates={"application/json": json.dumps(body)},
            )
        self._protect()

    def _protect(self) -> None:
        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("switchboard-api"),
            rules=[
                # Its SizeRestrictions_BODY blocks any body over 8 KB, which every prompt upload is:
                # counted instead. The app refuses a JSON body over 64 KB and a prompt over its
                # limit itself (413), and API Gateway any body over 10 MB.
                _managed_rule("AWSManagedRulesCommonRuleSet", 0, count=("SizeRestrictions_BODY",)),
                _managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 1),
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerAddress",
                    priority=2,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=2000, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=_visibility("rate-per-address"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=web_acl.attr_arn,
        )
        nag.acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "The Chalice app parses every body into a typed command and answers 400 with a named error; "
            "JSON schemas duplicated in API Gateway would drift from the app",
        )
        for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
            nag.acknowledge(
                self.api,
                rule,
                "Merchants authenticate with API keys the app checks against their SHA-256 in the table "
                "(no Cognito users exist for merchants); /health and /openapi.json are public by design",
            )
        nag.acknowledge(
            self.api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role: AWS documents exactly this managed policy for it",
        )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _managed_rule(name: str, priority: int, count: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
    """AWS's rule group ``name``; the rules named in ``count`` only count what they match."""
    overrides = [
        wafv2.CfnWebACL.RuleActionOverrideProperty(
            name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
        )
        for rule in count
    ]
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name, rule_action_overrides=overrides or None
            )
        ),
        visibility_config=_visibility(name),
    )
