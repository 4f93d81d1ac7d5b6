"""Each deployed process's settings, read from a synthesized CloudFormation template.

What runs on one machine in the deployed shape (the tests' harness, the infra tests) is configured
from here and nowhere else: every Lambda function that runs the contact_center layer, with its
Environment, and every ECS container, with its Environment and the names of its Secrets. A setting
missing from the template is then missing locally too, and the process's own loader refuses to
start naming it.

Values that are CloudFormation expressions (a Ref to the routing alias, a secret's ARN...) are
handed to ``resolve``, which maps them to what stands for them locally (an endpoint, a name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contact_center.contracts import settings as contract
from contact_center.contracts.settings import Component

Template = Mapping[str, Any]
# (the CloudFormation value, the template) -> the string the process sees.
Resolver = Callable[[Any, Template], str]


@dataclass(frozen=True)
class ProcessSettings:
    logical_id: str
    component: Component
    environment: dict[str, str]
    # Secret settings by name -> the CloudFormation ValueFrom (a secret ARN, maybe with a JSON key).
    secrets: dict[str, Any] = field(default_factory=dict)


def default_resolve(value: Any, template: Template) -> str:
    """Plain strings as they are; a Ref to a secret as a secret ARN; any other expression as a stand-in."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "Ref" in value:
        target = template["Resources"].get(value["Ref"], {})
        if target.get("Type") == "AWS::SecretsManager::Secret":
            return f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{value['Ref']}"
        return f"resolved-{value['Ref']}"
    return "resolved-" + "-".join(sorted(_names(value)))


def _names(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        return {n for v in value.values() for n in _names(v)}
    if isinstance(value, list):
        return {n for v in value for n in _names(v)}
    return {str(value)}


def _component(logical_id: str, environment: Mapping[str, str]) -> Component:
    name = environment.get(contract.COMPONENT.name)
    if name is None:
        raise contract.SettingsError(
            f"{logical_id} does not say which component it is ({contract.COMPONENT.name})"
        )
    return Component(name)


def functions(template: Template, resolve: Resolver = default_resolve) -> list[ProcessSettings]:
    """Every function running the contact_center layer (not CDK's own helper functions)."""
    resources = template["Resources"]
    # CDK's BucketDeployment brings a layer of its own (the AWS CLI), which is not ours.
    layers = {
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::Lambda::LayerVersion"
        and not str(r.get("Properties", {}).get("Description", "")).startswith("/opt/awscli")
    }
    found = []
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        if (
            not {layer.get("Ref") for layer in properties.get("Layers", []) if isinstance(layer, Mapping)}
            & layers
        ):
            continue
        variables = properties.get("Environment", {}).get("Variables", {})
        environment = {name: resolve(value, template) for name, value in variables.items()}
        found.append(ProcessSettings(logical_id, _component(logical_id, environment), environment))
    return found


def containers(template: Template, resolve: Resolver = default_resolve) -> list[ProcessSettings]:
    """Every container of every ECS task definition."""
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        for container in resource["Properties"]["ContainerDefinitions"]:
            environment = {e["Name"]: resolve(e["Value"], template) for e in container.get("Environment", [])}
            secrets = {s["Name"]: s["ValueFrom"] for s in container.get("Secrets", [])}
            component = _component(f"{logical_id}/{container['Name']}", environment)
            found.append(
                ProcessSettings(f"{logical_id}/{container['Name']}", component, environment, secrets)
            )
    return found
