"""The agent desk in AWS: the event socket (WebSocket API, its function, stream mapping, least
privilege) and the web pages (private bucket, CloudFront with OAC, /api/* to the API, config.json)."""

from __future__ import annotations

from typing import Any

from contact_center.contracts import settings as contract
from switchboard_infra import permissions
from tests.infra.conftest import Synthesized, as_list, dumps, only, statements


def _logical_id(construct: Any) -> str:
    import aws_cdk as cdk

    stack = cdk.Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))


def _socket(synthesized: Synthesized) -> Any:
    d = synthesized.deployment
    return d.regions[d.config.primary_region].services.event_socket


def test_the_socket_routes_connect_and_disconnect_to_its_function(synthesized: Synthesized) -> None:
    socket = _socket(synthesized)
    api = only(synthesized.resources("primary", "AWS::ApiGatewayV2::Api"))
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = synthesized.resources("primary", "AWS::ApiGatewayV2::Route").values()
    assert sorted(r["Properties"]["RouteKey"] for r in routes) == ["$connect", "$disconnect"]
    integrations = synthesized.resources("primary", "AWS::ApiGatewayV2::Integration").values()
    function = _logical_id(socket.handler.function)
    assert all(function in dumps(i["Properties"]["IntegrationUri"]) for i in integrations)
    assert len(list(integrations)) == 2


def test_the_socket_function_reads_contacts_records_and_seats_from_the_stream(
    synthesized: Synthesized,
) -> None:
    function = _logical_id(_socket(synthesized).handler.function)
    mappings = synthesized.resources("primary", "AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [m for m in mappings if m["Properties"]["FunctionName"] == {"Ref": function}]
    entities = '{"S":["contact","record","seat"]}'
    assert mapping["Properties"]["FilterCriteria"]["Filters"] == [
        {"Pattern": '{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"entity":' + entities + "}}}"}
    ]
    # An event reaches the page within a second: a batch waits at most one second to fill.
    assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] == 1
    assert "OnFailure" in mapping["Properties"]["DestinationConfig"]


def test_the_socket_function_may_post_to_its_own_stage_only(synthesized: Synthesized) -> None:
    socket = _socket(synthesized)
    found = statements(synthesized.template("primary"), _logical_id(socket.handler.role))
    manage = [s for s in found if "execute-api:ManageConnections" in as_list(s["Action"])]
    (statement,) = manage
    resources = dumps(statement["Resource"])
    assert _logical_id(socket.api) in resources and "/live/*/@connections/*" in resources
    assert as_list(statement["Action"]) == ["execute-api:ManageConnections"]
    # And nothing else of API Gateway: no other statement names execute-api.
    assert not [s for s in found if s not in manage and "execute-api" in dumps(s["Action"])]


def test_the_socket_function_may_use_only_its_item_actions(synthesized: Synthesized) -> None:
    socket = _socket(synthesized)
    found = statements(synthesized.template("primary"), _logical_id(socket.handler.role))
    actions = {a for s in found for a in as_list(s["Action"]) if a.startswith("dynamodb:")}
    stream = {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    assert actions - stream == set(permissions.EVENTS_SOCKET)


def test_the_socket_function_is_told_its_stage_and_the_admin_key_secret(synthesized: Synthesized) -> None:
    socket = _socket(synthesized)
    resource = synthesized.template("primary")["Resources"][_logical_id(socket.handler.function)]
    environment = resource["Properties"]["Environment"]["Variables"]
    assert environment[contract.COMPONENT.name] == "events_socket"
    endpoint = dumps(environment[contract.EVENTS_SOCKET_ENDPOINT.name])
    assert "https://" in endpoint and _logical_id(socket.api) in endpoint and "/live" in endpoint
    assert contract.ADMIN_KEY_SHA256_SECRET_ARN.name in environment
    assert contract.ADMIN_KEY.name not in environment


def test_the_pages_bucket_is_private_and_read_by_cloudfront_through_oac(synthesized: Synthesized) -> None:
    buckets = synthesized.resources("primary", "AWS::S3::Bucket")
    (bucket_id,) = [k for k in buckets if k.startswith("WebPages")]
    block = buckets[bucket_id]["Properties"]["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    oac = only(synthesized.resources("primary", "AWS::CloudFront::OriginAccessControl"))
    assert oac["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    policies = synthesized.resources("primary", "AWS::S3::BucketPolicy").values()
    (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": bucket_id}]
    readers = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and "s3:GetObject" in as_list(s["Action"])
    ]
    assert [s["Principal"] for s in readers] == [{"Service": "cloudfront.amazonaws.com"}]


def test_cloudfront_sends_api_paths_to_the_api_stage_uncached(synthesized: Synthesized) -> None:
    distribution = only(synthesized.resources("primary", "AWS::CloudFront::Distribution"))["Properties"][
        "DistributionConfig"
    ]
    assert distribution["DefaultRootObject"] == "index.html"
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    (api,) = distribution["CacheBehaviors"]
    assert api["PathPattern"] == "/api/*"
    assert set(api["AllowedMethods"]) >= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    origin = next(o for o in distribution["Origins"] if o["Id"] == api["TargetOriginId"])
    d = synthesized.deployment
    rest_api = d.regions[d.config.primary_region].services.api.api
    assert _logical_id(rest_api) in dumps(origin["DomainName"]) and "execute-api" in dumps(
        origin["DomainName"]
    )
    # No origin path: /api/merchants reaches the stage named "api" as /merchants, as web_server does.
    assert not origin.get("OriginPath")
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_the_deployed_config_names_the_api_path_and_the_socket(synthesized: Synthesized) -> None:
    (deploy,) = synthesized.resources("primary", "Custom::CDKBucketDeployment").values()
    # Source.json_data: config.json is written at deploy time, the socket's URL put in its marker.
    (config,) = list(synthesized.outdir.glob("asset.*/config.json"))
    assert config.read_text() == '{"api_url":"/api","ws_url":<<marker:0xbaba:0>>}'
    markers = dumps(deploy["Properties"]["SourceMarkers"])
    assert "<<marker:0xbaba:0>>" in markers and "wss://" in markers
    assert _logical_id(_socket(synthesized).api) in markers
