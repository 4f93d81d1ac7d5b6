"""The event socket: an API Gateway WebSocket API whose $connect and $disconnect are the
``events_socket`` function, which also reads the table's stream and posts each event to the
connections listening (``services.event_socket``).

Least privilege: the function may post to (and close) connections of this API's one stage only
(``execute-api:ManageConnections`` on it), read the admin key's hash (the session tokens' signing
key derives from it) and touch the table's items with the actions in ``permissions.EVENTS_SOCKET``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contact_center.contracts import settings as contract
from contact_center.contracts.settings import Component, Setting
from switchboard_infra import nag, paths, permissions
from switchboard_infra.constructs.functions import ObservedFunction, code_from

STAGE = "live"
# The events pages hear of: contacts' progress, their records (the end), seats' state.
ENTITIES = ("contact", "record", "seat")

StreamConsumer = Callable[[str, str, lambda_.IFunction, dynamodb.ITable, list[str]], sqs.Queue]


class EventSocket(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer: lambda_.ILayerVersion,
        table: dynamodb.ITableV2,
        settings: Mapping[Setting, str],
        admin_key_sha256: secretsmanager.ISecret,
        log_retention: logs.RetentionDays,
        stream_consumer: StreamConsumer,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.WebSocketApi(
            self, "Api", description="Switchboard event socket: agents', supervisors' and admins' pages"
        )
        self.stage = apigwv2.WebSocketStage(
            self, "Stage", web_socket_api=self.api, stage_name=STAGE, auto_deploy=True
        )
        self.handler = ObservedFunction(
            self,
            "Function",
            description="Switchboard event socket: $connect/$disconnect, and stream events posted to pages",
            code=code_from(str(paths.FUNCTIONS / "events_socket")),
            handler="handler.handler",
            layer=layer,
            environment=contract.environment_for(
                Component.EVENTS_SOCKET,
                {
                    **settings,
                    contract.EVENTS_SOCKET_ENDPOINT: self.stage.callback_url,
                    contract.ADMIN_KEY_SHA256_SECRET_ARN: admin_key_sha256.secret_arn,
                },
            ),
            log_retention=log_retention,
            memory_size=512,
            timeout=cdk.Duration.seconds(30),
            wildcard_reason="dynamodb:ListStreams (how the event source mapping finds the stream), "
            "X-Ray's trace actions, and ManageConnections on this API's stage's connections (ids are "
            "only known at run time)",
        )
        table.grant(self.handler.role, *permissions.EVENTS_SOCKET)
        admin_key_sha256.grant_read(self.handler.role)
        self.stage.grant_management_api_access(self.handler.role)
        stack = cdk.Stack.of(self)
        api_id = stack.resolve(stack.get_logical_id(cast(cdk.CfnElement, self.api.node.default_child)))
        nag.acknowledge(
            self.handler.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:{stack.region}:{stack.account}:"
            f"<{api_id}>/{STAGE}/*/@connections/*]",
            "ManageConnections on this API's one stage: connection ids are only known at run time",
        )
        nag.acknowledge_index_wildcard(
            self.handler.role, table.table_name, "the connections listening to a topic"
        )
        integration = integrations.WebSocketLambdaIntegration("Connect", self.handler.function)
        self.api.add_route("$connect", integration=integration)
        self.api.add_route(
            "$disconnect",
            integration=integrations.WebSocketLambdaIntegration("Disconnect", self.handler.function),
        )
        self.failures = stream_consumer(
            "EventSocketFailures",
            "event socket",
            self.handler.function,
            table,
            lambda_.FilterRule.or_(*ENTITIES),
        )
        nag.acknowledge(
            self.api,
            "AwsSolutions-APIG4",
            "$connect authorizes in the function itself: the token in the query string is the API's "
            "session token or key, verified with the API's own code, and a refused connection stores nothing",
        )
        nag.acknowledge(
            self.stage,
            "AwsSolutions-APIG1",
            "The socket carries only events the function posts; each connect and disconnect is in the "
            "function's own JSON logs",
        )

    @property
    def url(self) -> str:
        """What pages connect to (wss://...)."""
        return self.stage.url
