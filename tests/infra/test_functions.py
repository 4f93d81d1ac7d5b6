"""Lambda functions and the layer: least privilege, tracing, logs, local bundling."""

from __future__ import annotations

import json

import pytest

from switchboard_infra import permissions
from tests.infra.conftest import Synthesized, as_list, statements


def _logical_id(construct) -> str:
    import aws_cdk as cdk

    return cdk.Stack.of(construct).get_logical_id(construct.node.default_child)


def _dynamodb_statements(synthesized: Synthesized, region_key: str, role) -> list[dict]:
    template = synthesized.template(region_key)
    return [
        s
        for s in statements(template, _logical_id(role))
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
    ]


def _services(synthesized: Synthesized, region_key: str):
    d = synthesized.deployment
    region = d.config.primary_region if region_key == "primary" else d.config.secondary_region
    return d.regions[region].services


def test_routing_function_may_use_only_its_item_actions(synthesized: Synthesized) -> None:
    role = _services(synthesized, "primary").routing.role
    actions = {a for s in _dynamodb_statements(synthesized, "primary", role) for a in as_list(s["Action"])}
    assert actions == set(permissions.ROUTING)


def test_routing_function_can_only_touch_the_switchboard_table(synthesized: Synthesized, config) -> None:
    role = _services(synthesized, "primary").routing.role
    resources = [
        r for s in _dynamodb_statements(synthesized, "primary", role) for r in as_list(s["Resource"])
    ]
    table = f":dynamodb:{config.primary_region}:{config.account}:table/{config.table_name}"
    rendered = ["".join(p if isinstance(p, str) else "" for p in r["Fn::Join"][1]) for r in resources]
    assert sorted(rendered) == sorted([f"arn:{table}", f"arn:{table}/index/*"])


def test_no_function_may_scan_or_change_the_table_itself(synthesized: Synthesized) -> None:
    forbidden = ("dynamodb:Scan", "dynamodb:DeleteTable", "dynamodb:UpdateTable", "dynamodb:*")
    template = synthesized.template("primary")
    actions = {
        a
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
        for s in r["Properties"]["PolicyDocument"]["Statement"]
        for a in as_list(s["Action"])
    }
    assert not actions & set(forbidden)


def _mapping_of(synthesized: Synthesized, region_key: str, function) -> dict:
    """The stream's event source mapping that feeds ``function``."""
    mappings = synthesized.resources(region_key, "AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [m for m in mappings if m["Properties"]["FunctionName"] == {"Ref": _logical_id(function)}]
    return mapping


def test_agent_events_reads_only_seat_changes_from_the_stream(synthesized: Synthesized) -> None:
    mapping = _mapping_of(synthesized, "primary", _services(synthesized, "primary").agent_events.function)
    assert mapping["Properties"]["FilterCriteria"]["Filters"] == [
        {"Pattern": '{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"entity":{"S":["seat"]}}}}'}
    ]


def test_agent_events_failures_go_to_a_queue(synthesized: Synthesized) -> None:
    mapping = _mapping_of(synthesized, "secondary", _services(synthesized, "secondary").agent_events.function)
    assert "OnFailure" in mapping["Properties"]["DestinationConfig"]


def test_webhooks_read_contacts_records_and_seats_from_the_stream(synthesized: Synthesized) -> None:
    mapping = _mapping_of(synthesized, "primary", _services(synthesized, "primary").webhooks.function)
    entities = '{"S":["contact","record","seat"]}'
    assert mapping["Properties"]["FilterCriteria"]["Filters"] == [
        {"Pattern": '{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"entity":' + entities + "}}}"}
    ]
    # Delivery within 5 s at p95: a batch waits at most a second to fill; failures go to a queue.
    assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] == 1
    assert "OnFailure" in mapping["Properties"]["DestinationConfig"]


def test_webhooks_function_may_use_only_its_item_actions(synthesized: Synthesized) -> None:
    role = _services(synthesized, "primary").webhooks.role
    actions = {a for s in _dynamodb_statements(synthesized, "primary", role) for a in as_list(s["Action"])}
    # Besides reading the stream, which its event source mapping needs.
    stream = {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    assert actions - stream == set(permissions.WEBHOOKS)


@pytest.mark.parametrize("region_key", ["primary", "secondary"])
def test_every_switchboard_function_is_traced_with_json_logs(
    synthesized: Synthesized, region_key: str
) -> None:
    services = _services(synthesized, region_key)
    template = synthesized.template(region_key)
    for function in services.functions.values():
        properties = template["Resources"][_logical_id(function)]["Properties"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"


def test_every_log_group_has_a_retention(synthesized: Synthesized) -> None:
    groups = synthesized.resources("primary", "AWS::Logs::LogGroup").values()
    assert all("RetentionInDays" in g["Properties"] for g in groups)


def test_the_edge_invokes_routing_through_the_live_alias(synthesized: Synthesized) -> None:
    alias = next(iter(synthesized.resources("primary", "AWS::Lambda::Alias").values()))
    assert alias["Properties"]["Name"] == "live"


def test_layer_holds_contact_center_and_pynamodb(synthesized: Synthesized) -> None:
    # The contact_center layer (CDK's BucketDeployment brings its own AWS CLI layer too).
    logical_id = _logical_id(_services(synthesized, "primary").layer)
    assert logical_id in synthesized.resources("primary", "AWS::Lambda::LayerVersion")
    site = synthesized.asset_dir("primary", logical_id) / "python"
    assert (site / "contact_center" / "data" / "schema.py").is_file()
    assert (site / "pynamodb" / "models.py").is_file()


def test_api_asset_carries_the_chalice_runtime(synthesized: Synthesized) -> None:
    function = _services(synthesized, "primary").api.handler.function
    asset = synthesized.asset_dir("primary", _logical_id(function))
    assert (asset / "chalice" / "app.py").is_file()
    assert (asset / "chalice" / "__init__.py").is_file()


def test_routing_concurrency_comes_from_the_config(tmp_path) -> None:
    import dataclasses
    from pathlib import Path

    import aws_cdk as cdk
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_secretsmanager as secretsmanager
    from aws_cdk.assertions import Template

    from contact_center.contracts import settings as contract
    from switchboard_infra.api_routes import Route
    from switchboard_infra.config import Config, load_context
    from switchboard_infra.constructs.services import Services

    # Given a routing config with reserved and provisioned concurrency (one small stack, no nag)
    base = Config.from_context(load_context(Path(__file__).resolve().parents[2])["switchboard"])
    routing = dataclasses.replace(base.routing, reserved_concurrency=50, provisioned_concurrency=5)
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Probe", env=cdk.Environment(account=base.account, region=base.primary_region))
    table = dynamodb.TableV2.from_table_attributes(
        stack,
        "Table",
        table_name="switchboard",
        table_stream_arn="arn:aws:dynamodb:us-east-1:1:table/s/stream/x",
    )
    # When the services are built
    services = Services(
        stack,
        "Services",
        table=table,
        routing=routing,
        api_routes=[Route("/health", "GET")],
        settings={contract.TABLE: "switchboard", contract.SIP_DOMAIN: "sip.example.com"},
        admin_key_sha256=secretsmanager.Secret(stack, "AdminKey"),
        fleet_key=secretsmanager.Secret(stack, "FleetKey"),
        log_retention=logs.RetentionDays.ONE_DAY,
    )
    template = Template.from_stack(stack)
    # Then the function reserves 50 and its live alias keeps 5 warm
    logical = stack.get_logical_id(services.routing.function.node.default_child)
    assert template.to_json()["Resources"][logical]["Properties"]["ReservedConcurrentExecutions"] == 50
    template.has_resource_properties(
        "AWS::Lambda::Alias", {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 5}}
    )


def test_the_routing_alias_keeps_environments_warm_by_default(synthesized: Synthesized, config) -> None:
    assert config.routing.provisioned_concurrency > 0
    (alias,) = synthesized.resources("primary", "AWS::Lambda::Alias").values()
    provisioned = alias["Properties"]["ProvisionedConcurrencyConfig"]["ProvisionedConcurrentExecutions"]
    assert provisioned == config.routing.provisioned_concurrency


def _scheduled_rule(synthesized: Synthesized, event: dict) -> tuple[str, dict]:
    rules = synthesized.resources("primary", "AWS::Events::Rule")
    ((rule_id, rule),) = [
        (k, r)
        for k, r in rules.items()
        if r["Properties"].get("ScheduleExpression")
        and json.loads(r["Properties"]["Targets"][0]["Input"]) == event
    ]
    return rule_id, rule


def test_the_routing_sweep_runs_every_minute_through_the_live_alias(synthesized: Synthesized) -> None:
    from contact_center.contracts.schedules import ROUTING_SWEEP

    rule_id, rule = _scheduled_rule(synthesized, dict(ROUTING_SWEEP.event))
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    (target,) = rule["Properties"]["Targets"]
    assert json.loads(target["Input"]) == {"action": "sweep"}
    alias = _services(synthesized, "primary").routing_alias
    assert target["Arn"] == {"Ref": _logical_id(alias)}
    # EventBridge may invoke the alias: only this rule.
    grants = synthesized.resources("primary", "AWS::Lambda::Permission").values()
    assert any(
        g["Properties"]["Principal"] == "events.amazonaws.com"
        and g["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
        and g["Properties"]["FunctionName"] == {"Ref": _logical_id(alias)}
        for g in grants
    )


def test_failed_webhook_deliveries_are_retried_every_minute(synthesized: Synthesized) -> None:
    from contact_center.contracts.schedules import WEBHOOK_RETRY

    _, rule = _scheduled_rule(synthesized, dict(WEBHOOK_RETRY.event))
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    (target,) = rule["Properties"]["Targets"]
    function = _services(synthesized, "primary").webhooks.function
    assert target["Arn"] == {"Fn::GetAtt": [_logical_id(function), "Arn"]}


def test_the_local_stack_feeds_webhooks_the_entities_the_deployed_mapping_does() -> None:
    from switchboard_infra import paths
    from switchboard_infra.constructs.services import WEBHOOK_ENTITIES

    manifest = json.loads((paths.WEBHOOKS_FUNCTION / "function.json").read_text())
    assert manifest == {"events": [{"type": "dynamodb-stream", "filter": {"entity": list(WEBHOOK_ENTITIES)}}]}


def test_the_routers_and_the_api_read_the_fleet_key_to_sign_what_they_send_edge_tasks(
    synthesized: Synthesized,
) -> None:
    from contact_center.contracts import settings as contract

    services = _services(synthesized, "primary")
    functions = synthesized.resources("primary", "AWS::Lambda::Function")
    secret = _logical_id(synthesized.deployment.regions[synthesized.deployment.config.primary_region]
                         .secrets.nonce_key)  # fmt: skip
    # The routers sign offer pushes; the API signs transfer commands.
    for observed in services.routers:
        environment = functions[_logical_id(observed.function)]["Properties"]["Environment"]["Variables"]
        assert environment[contract.FLEET_KEY_SECRET_ARN.name] == {"Ref": secret}
        reads = [s for s in statements(synthesized.template("primary"), _logical_id(observed.role))
                 if "secretsmanager:GetSecretValue" in as_list(s["Action"])]  # fmt: skip
        assert [s["Resource"] for s in reads] == [{"Ref": secret}]
    api = services.api.handler
    environment = functions[_logical_id(api.function)]["Properties"]["Environment"]["Variables"]
    assert environment[contract.FLEET_KEY_SECRET_ARN.name] == {"Ref": secret}
    reads = [r for s in statements(synthesized.template("primary"), _logical_id(api.role))
             if "secretsmanager:GetSecretValue" in as_list(s["Action"]) for r in as_list(s["Resource"])]  # fmt: skip
    assert {"Ref": secret} in reads
