"""The SIP edge of each region: NLB, Fargate service, security groups, scaling, image."""

from __future__ import annotations

import json
import re

import pytest

from contact_center.contracts import media_relays
from switchboard_infra import paths, permissions
from tests.infra.conftest import REPO_ROOT, Synthesized, as_list, only, statements

SIP_PORTS = {("udp", 5060), ("tcp", 5060), ("tcp", 5061)}


def _edge(synthesized: Synthesized, region_key: str = "primary"):
    d = synthesized.deployment
    region = d.config.primary_region if region_key == "primary" else d.config.secondary_region
    return d.regions[region].edge


def _logical_id(construct) -> str:
    import aws_cdk as cdk

    return cdk.Stack.of(construct).get_logical_id(construct.node.default_child)


@pytest.mark.parametrize("region_key", ["primary", "secondary"])
def test_nlb_listens_on_udp_tcp_5060_and_tcp_5061(synthesized: Synthesized, region_key: str) -> None:
    listeners = synthesized.resources(region_key, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert sorted((x["Properties"]["Protocol"], x["Properties"]["Port"]) for x in listeners) == [
        ("TCP", 5061),
        ("TCP_UDP", 5060),
    ]


def test_tls_passes_through_the_nlb_to_the_edge_on_5061(synthesized: Synthesized) -> None:
    groups = synthesized.resources("primary", "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert sorted((g["Properties"]["Protocol"], g["Properties"]["Port"]) for g in groups) == [
        ("TCP", 5061),
        ("TCP_UDP", 5060),
    ]
    listeners = synthesized.resources("primary", "AWS::ElasticLoadBalancingV2::Listener").values()
    assert not [x for x in listeners if "Certificates" in x["Properties"]]


def test_nlb_is_internet_facing_in_two_availability_zones(synthesized: Synthesized) -> None:
    nlb = only(synthesized.resources("primary", "AWS::ElasticLoadBalancingV2::LoadBalancer"))["Properties"]
    assert nlb["Type"] == "network"
    assert nlb["Scheme"] == "internet-facing"
    assert len(nlb["Subnets"]) == 2


def test_vpc_spans_two_availability_zones(synthesized: Synthesized) -> None:
    subnets = synthesized.resources("primary", "AWS::EC2::Subnet").values()
    assert len({s["Properties"]["AvailabilityZone"] for s in subnets}) == 2


def test_target_groups_check_the_edges_deep_health_over_http(synthesized: Synthesized) -> None:
    groups = synthesized.resources("primary", "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    checks = {
        (
            g["Properties"]["HealthCheckProtocol"],
            g["Properties"]["HealthCheckPort"],
            g["Properties"]["HealthCheckPath"],
            g["Properties"]["Matcher"]["HttpCode"],
        )
        for g in groups
    }
    assert checks == {("HTTP", "8080", "/health", "200")}


def test_the_container_check_is_liveness_so_a_task_cut_off_from_dynamodb_is_not_replaced(
    synthesized: Synthesized,
) -> None:
    (task,) = synthesized.resources("primary", "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    command = " ".join(container["HealthCheck"]["Command"])
    assert "http://127.0.0.1:8080/live" in command and "/health" not in command


def _attributes(group: dict) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in group["Properties"]["TargetGroupAttributes"]}


def test_target_groups_preserve_the_client_ip(synthesized: Synthesized) -> None:
    groups = synthesized.resources("primary", "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert all(_attributes(g)["preserve_client_ip.enabled"] == "true" for g in groups)


def test_target_groups_drain_calls_for_the_configured_time(synthesized: Synthesized, config) -> None:
    groups = synthesized.resources("primary", "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    delays = {int(_attributes(g)["deregistration_delay.timeout_seconds"]) for g in groups}
    assert delays == {config.edge.drain_seconds}
    assert config.edge.drain_seconds >= 300


def test_task_gets_the_longest_stop_timeout_fargate_allows(synthesized: Synthesized) -> None:
    task = only(synthesized.resources("primary", "AWS::ECS::TaskDefinition"))["Properties"]
    assert task["ContainerDefinitions"][0]["StopTimeout"] == 120


def test_service_never_drops_below_its_running_tasks_in_a_deploy(synthesized: Synthesized) -> None:
    service = only(synthesized.resources("primary", "AWS::ECS::Service"))["Properties"]
    assert service["DeploymentConfiguration"]["MinimumHealthyPercent"] == 100
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True,
        "Rollback": True,
    }


def _ingress(synthesized: Synthesized, group) -> set[tuple[str, int, str]]:
    group_id = _logical_id(group)
    template = synthesized.template("primary")
    rules = []
    inline = template["Resources"][group_id]["Properties"].get("SecurityGroupIngress", [])
    rules += [(r, r.get("CidrIp", "")) for r in inline]
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress" and props["GroupId"] == {
            "Fn::GetAtt": [group_id, "GroupId"]
        }:
            rules.append((props, props["SourceSecurityGroupId"]["Fn::GetAtt"][0]))
    return {
        (r["IpProtocol"], r["FromPort"], str(source)) for r, source in rules if r["FromPort"] == r["ToPort"]
    } | {("range", r["FromPort"], "") for r, _ in rules if r["FromPort"] != r["ToPort"]}


def test_nlb_security_group_is_open_only_on_sip_ports(synthesized: Synthesized) -> None:
    edge = _edge(synthesized)
    assert _ingress(synthesized, edge.nlb_security_group) == {(p, n, "0.0.0.0/0") for p, n in SIP_PORTS}


def test_tasks_accept_sip_and_health_from_the_nlb_sip_from_each_other_pushes_from_routers_and_keys_from_relays(
    synthesized: Synthesized,
) -> None:
    edge = _edge(synthesized)
    nlb_group = _logical_id(edge.nlb_security_group)
    task_group = _logical_id(edge.task_security_group)
    region = synthesized.deployment.regions[synthesized.deployment.config.primary_region]
    router_group = _logical_id(region.router_security_group)
    relay_group = _logical_id(region.media.security_group)
    assert _ingress(synthesized, edge.task_security_group) == {
        (p, n, nlb_group) for p, n in [*SIP_PORTS, ("tcp", 8080)]
    } | {(p, n, task_group) for p, n in SIP_PORTS} | {("udp", 5060, router_group)} | {
        ("udp", media_relays.KEY_REPORT_PORT, relay_group)  # key reports, forwarded by the relays' agents
    }


def test_the_functions_sending_to_edge_tasks_run_in_the_edge_s_private_subnets_under_their_own_group(
    synthesized: Synthesized,
) -> None:
    region = synthesized.deployment.regions[synthesized.deployment.config.primary_region]
    router_group = _logical_id(region.router_security_group)
    functions = synthesized.resources("primary", "AWS::Lambda::Function")
    for observed in region.services.edge_senders:  # the routers, and the API (transfer commands)
        vpc_config = functions[_logical_id(observed.function)]["Properties"]["VpcConfig"]
        assert vpc_config["SecurityGroupIds"] == [{"Fn::GetAtt": [router_group, "GroupId"]}]
        assert len(vpc_config["SubnetIds"]) == 2
        assert all("edge" in subnet["Ref"].lower() for subnet in vpc_config["SubnetIds"])
    # They reach Secrets Manager (the fleet key) through the VPC's endpoints, whose DNS they resolve.
    endpoints = _ingress(synthesized, edge_group := _edge(synthesized).endpoint_security_group)
    assert ("tcp", 443, router_group) in endpoints and edge_group is not None
    assert region.services.api.handler in region.services.edge_senders


def test_edge_scales_on_cpu_and_on_active_calls(synthesized: Synthesized) -> None:
    policies = synthesized.resources("primary", "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    configs = [p["Properties"]["TargetTrackingScalingPolicyConfiguration"] for p in policies]
    predefined = {
        c["PredefinedMetricSpecification"]["PredefinedMetricType"] for c in configs if "Predefined" in str(c)
    }
    custom = [c["CustomizedMetricSpecification"] for c in configs if "CustomizedMetricSpecification" in c]
    assert predefined == {"ECSServiceAverageCPUUtilization"}
    assert [(m["Namespace"], m["MetricName"], m["Statistic"]) for m in custom] == [
        ("Switchboard/Edge", "ActiveCalls", "Average")
    ]


def test_edge_task_count_bounds_come_from_the_config(synthesized: Synthesized, config) -> None:
    target = only(synthesized.resources("primary", "AWS::ApplicationAutoScaling::ScalableTarget"))[
        "Properties"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (config.edge.min_tasks, config.edge.max_tasks)


def _task_role_actions(synthesized: Synthesized) -> set[str]:
    role = _edge(synthesized).task_definition.task_role
    return {
        a
        for s in statements(synthesized.template("primary"), _logical_id(role))
        for a in as_list(s["Action"])
    }


def test_edge_task_role_cannot_delete_tables(synthesized: Synthesized) -> None:
    actions = _task_role_actions(synthesized)
    assert not {a for a in actions if a in ("dynamodb:DeleteTable", "dynamodb:*", "*") or "Table" in a}


def test_edge_task_role_has_exactly_its_table_actions(synthesized: Synthesized) -> None:
    actions = _task_role_actions(synthesized)
    assert {a for a in actions if a.startswith("dynamodb:")} == set(permissions.EDGE)


def test_edge_task_role_invokes_only_the_routing_alias(synthesized: Synthesized) -> None:
    role = _edge(synthesized).task_definition.task_role
    invoke = [
        s
        for s in statements(synthesized.template("primary"), _logical_id(role))
        if "lambda:InvokeFunction" in as_list(s["Action"])
    ]
    alias = next(iter(synthesized.resources("primary", "AWS::Lambda::Alias")))
    assert [as_list(s["Resource"]) for s in invoke] == [[{"Ref": alias}]]


def test_edge_is_told_the_routing_function_and_table(synthesized: Synthesized, config) -> None:
    container = only(synthesized.resources("primary", "AWS::ECS::TaskDefinition"))["Properties"][
        "ContainerDefinitions"
    ][0]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    alias = next(iter(synthesized.resources("primary", "AWS::Lambda::Alias")))
    assert env["ROUTING_FUNCTION_NAME"] == {"Ref": alias}
    assert env["SWITCHBOARD_TABLE"] == config.table_name
    assert (env["SIP_PORT"], env["SIP_TLS_PORT"], env["EDGE_HEALTH_PORT"]) == ("5060", "5061", "8080")


def _container(synthesized: Synthesized) -> dict:
    task = only(synthesized.resources("primary", "AWS::ECS::TaskDefinition"))["Properties"]
    return dict(task["ContainerDefinitions"][0])


def test_each_task_advertises_its_own_address_not_the_domain(synthesized: Synthesized) -> None:
    names = {e["Name"] for e in _container(synthesized)["Environment"]}
    assert "SIP_ADVERTISED_HOST" not in names


def test_the_nonce_key_and_tls_pems_come_from_secrets_manager(synthesized: Synthesized) -> None:
    container = _container(synthesized)
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert set(secrets) == {"SIP_NONCE_KEY", "SIP_TLS_CERT_PEM", "SIP_TLS_KEY_PEM"}
    names = {e["Name"] for e in container["Environment"]}
    assert not names & set(secrets)
    tls = json.dumps(secrets["SIP_TLS_CERT_PEM"])
    assert ":certificate::" in tls and ":privateKey::" in json.dumps(secrets["SIP_TLS_KEY_PEM"])


def test_image_build_context_holds_only_the_edge_and_contact_center(synthesized: Synthesized) -> None:
    manifest = synthesized.outdir / f"{synthesized.stack_name('primary')}.assets.json"
    import json

    images = json.loads(manifest.read_text())["dockerImages"]
    (image,) = images.values()
    context = synthesized.outdir / image["source"]["directory"]
    assert image["source"]["dockerFile"] == paths.SIP_EDGE_DOCKERFILE
    assert sorted(p.name for p in context.iterdir() if not p.name.startswith(".")) == ["layers", "sip_edge"]
    assert [p.name for p in (context / "layers" / "core" / "python").iterdir()] == ["contact_center"]


def test_dockerfile_runs_the_edge_as_a_non_root_user() -> None:
    dockerfile = (REPO_ROOT / paths.SIP_EDGE_DOCKERFILE).read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_pins_equal_requirements_txt() -> None:
    dockerfile = (REPO_ROOT / paths.SIP_EDGE_DOCKERFILE).read_text()
    requirements = (REPO_ROOT / "requirements.txt").read_text()
    pins = re.findall(r"\b([a-z0-9_-]+==[0-9][^\s\\]*)", dockerfile)
    assert pins, "the Dockerfile pins its dependencies"
    assert all(re.search(rf"^{re.escape(p)}\b", requirements, flags=re.MULTILINE) for p in pins), pins


def test_aws_apis_of_the_edge_are_reached_through_vpc_endpoints(synthesized: Synthesized) -> None:
    endpoints = synthesized.resources("primary", "AWS::EC2::VPCEndpoint").values()
    services = {json.dumps(e["Properties"]["ServiceName"]) for e in endpoints}
    for service in ("lambda", "logs", "ecr.api", "ecr.dkr", "secretsmanager", "monitoring", "dynamodb", "s3"):
        assert any(f".{service}" in name or f'{service}"' in name for name in services), (service, services)
    interface = [e for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    assert len(interface) == 6 and all(e["Properties"]["PrivateDnsEnabled"] for e in interface)


def test_security_group_rules_are_described_in_words_so_every_synth_is_the_same(
    synthesized: Synthesized,
) -> None:
    # A Python object's repr in a description would change the template, and the group, on every deploy.
    template = json.dumps(synthesized.template("primary"))
    assert " object at 0x" not in template
