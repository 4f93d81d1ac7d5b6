"""Every process's settings as deployed: the synthesized region template as a `SettingsSource`.

The topology harness runs the processes a region runs, configured from nowhere else than the
CloudFormation template `cdk synth` produces for that region:

- `region_template` synthesizes the CDK app once per process (jsii makes it take seconds) with the
  harness's context (its SIP domain, TLS on) and keeps the primary region's template;
- `LocalSecretsManager` plays the deployment and the operator on the local Secrets Manager (moto's
  server): it creates every secret of the template from its own generator spec, as CloudFormation
  would, then puts what the README's deploy section tells an operator to put (the admin key's hash,
  the TLS certificate and key);
- `TemplateSettings` hands each component the Environment the template gives it, with every
  CloudFormation expression mapped to what stands for it on this machine (a secret's ARN in the local
  Secrets Manager, the local name of a function) and the edge's container secrets read from the local
  Secrets Manager, as ECS injects them. An expression it cannot map is an error naming the variable:
  nothing is filled in that the template does not say.

A setting missing from the template is therefore missing from the process, whose own loader then
refuses to start naming it.
"""

from __future__ import annotations

import functools
import json
import secrets
import string
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contact_center.contracts import settings as contract
from contact_center.contracts.settings import Component, SettingsError
from local_stack import template_settings
from local_stack.template_settings import ProcessSettings, Template

__all__ = ["LocalSecretsManager", "TemplateSettings", "region_template"]

REPO_ROOT = Path(__file__).resolve().parents[2]
_SECRET = "AWS::SecretsManager::Secret"
_PER_FUNCTION = frozenset({contract.COMPONENT.name, contract.METRICS_NAMESPACE.name})


@functools.cache
def region_template(sip_domain: str, tls: bool = True) -> Template:
    """The primary region's template, synthesized once per process with ``sip_domain`` and TLS."""
    import aws_cdk as cdk

    from switchboard_infra.config import CONTEXT_KEY, load_context
    from switchboard_infra.deployment import build

    context = load_context(REPO_ROOT)
    context[CONTEXT_KEY] = {**context[CONTEXT_KEY], "sipDomain": sip_domain, "edgeTls": tls}
    outdir = tempfile.mkdtemp(prefix="switchboard-synth-")
    app = cdk.App(outdir=outdir, context=context)
    deployment = build(app)
    stack = deployment.regions[deployment.config.primary_region]
    assembly = app.synth()
    template: Template = assembly.get_stack_by_name(stack.stack_name).template
    return template


def _refs(value: Any) -> list[str]:
    """The logical ids an expression refers to (Ref and Fn::GetAtt), in order."""
    if isinstance(value, Mapping):
        if "Ref" in value:
            return [str(value["Ref"])]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return [str(target[0] if isinstance(target, list) else target.split(".")[0])]
        return [ref for v in value.values() for ref in _refs(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _refs(v)]
    return []


def _json_field(value_from: Any) -> str | None:
    """The JSON key of an ECS secret ``ValueFrom`` (``<arn>:<key>:<stage>:<version>``), if any."""
    if isinstance(value_from, Mapping) and "Fn::Join" in value_from:
        suffix = "".join(part for part in value_from["Fn::Join"][1] if isinstance(part, str))
        key = suffix.lstrip(":").split(":", 1)[0]
        return key or None
    return None


def _generated(spec: Mapping[str, Any]) -> str:
    """A value as Secrets Manager generates it from a GenerateSecretString spec."""
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    if spec.get("ExcludeUppercase"):
        alphabet = "".join(c for c in alphabet if not c.isupper())
    alphabet = "".join(c for c in alphabet if c not in spec.get("ExcludeCharacters", ""))
    text = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "SecretStringTemplate" in spec:
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = text
        return json.dumps(document)
    return text


@dataclass
class LocalSecretsManager:
    """The template's secrets in a local Secrets Manager; ``client`` is a boto3 secretsmanager client
    (any object with its create_secret, put_secret_value and get_secret_value)."""

    client: Any
    arns: dict[str, str] = field(default_factory=dict)  # logical id -> ARN

    def deploy(self, template: Template) -> None:
        """Create every secret of ``template``, generated as its spec says (what a deploy does)."""
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != _SECRET:
                continue
            spec = resource.get("Properties", {}).get("GenerateSecretString", {})
            created = self.client.create_secret(Name=logical_id, SecretString=_generated(spec))
            self.arns[logical_id] = created["ARN"]

    def put(self, logical_id: str, value: str) -> None:
        self.client.put_secret_value(SecretId=self.arns[logical_id], SecretString=value)

    def value(self, logical_id: str, json_field: str | None = None) -> str:
        text: str = self.client.get_secret_value(SecretId=self.arns[logical_id])["SecretString"]
        if json_field is None:
            return text
        field_value = json.loads(text).get(json_field)
        if not isinstance(field_value, str):
            raise SettingsError(f"secret {logical_id} has no JSON key {json_field!r}")
        return field_value


@dataclass
class TemplateSettings:
    """The `SettingsSource` of a region deployed from ``template`` onto this machine.

    ``function_names`` maps a function's component to the name the local Lambda service knows it by.
    """

    template: Template
    secrets_manager: LocalSecretsManager
    function_names: Mapping[Component, str] = field(
        default_factory=lambda: {
            Component.ROUTING: "routing",
            Component.AGENT_EVENTS: "agent_events",
            Component.WEBHOOKS: "webhooks",
        }
    )
    # The event socket's Management API as this machine serves it (``socket_server``); the template
    # names its WebSocket API's stage.
    events_socket_endpoint: str = "http://127.0.0.1:8082"
    # The call recordings' bucket as a name only: the harness runs no media relay, so no call of its
    # is recorded and nothing reads the bucket.
    recordings_bucket: str = "switchboard-recordings"
    # The prompts bucket's name (the template's is generated at deploy time). Nothing on this machine
    # serves it: the harness does not exercise uploads, and an edge that cannot fetch an uploaded
    # prompt plays the default one.
    prompts_bucket: str = "switchboard-prompts"
    # Read once: the secrets' values as ECS would inject them at the tasks' start.
    _read: dict[str, Mapping[str, str]] = field(default_factory=dict)

    # --- what the template says ------------------------------------------------------------------

    def functions(self) -> list[ProcessSettings]:
        return template_settings.functions(self.template, self._resolve)

    def container(self) -> ProcessSettings:
        (edge,) = template_settings.containers(self.template, self._resolve)
        return edge

    def secret_of(self, setting: contract.Setting) -> tuple[str, str | None]:
        """The secret (logical id, JSON key) the template hands ``setting`` from: where an operator
        puts its value."""
        edge = self.container()
        if setting.name in edge.secrets:
            value_from = edge.secrets[setting.name]
            return _refs(value_from)[0], _json_field(value_from)
        for resource in self.template["Resources"].values():
            variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
            if setting.name in variables and _refs(variables[setting.name]):
                return _refs(variables[setting.name])[0], None
        raise SettingsError(f"the template hands {setting.name} to no process from a secret")

    def put(self, values: Mapping[contract.Setting, str]) -> None:
        """An operator's step: put each value where the template hands ``setting`` from (settings
        from one JSON secret are put together)."""
        documents: dict[str, dict[str, str]] = {}
        for setting, value in values.items():
            logical_id, json_field = self.secret_of(setting)
            if json_field is None:
                self.secrets_manager.put(logical_id, value)
            else:
                documents.setdefault(logical_id, {})[json_field] = value
        for logical_id, document in documents.items():
            self.secrets_manager.put(logical_id, json.dumps(document))
        self._read.clear()

    # --- SettingsSource --------------------------------------------------------------------------

    def settings(self, component: str) -> Mapping[str, str]:
        if component not in self._read:
            self._read[component] = self._settings(component)
        return self._read[component]

    def _settings(self, component: str) -> Mapping[str, str]:
        if component == "dynamodb":
            return {}
        if component == "edge":
            edge = self.container()
            injected = {
                name: self.secrets_manager.value(_refs(value_from)[0], _json_field(value_from))
                for name, value_from in edge.secrets.items()
            }
            return {**edge.environment, **injected}
        if component == "api":
            (api,) = [f for f in self.functions() if f.component is Component.API]
            return api.environment
        if component == "lambda":
            return self._lambda_service()
        raise ValueError(f"no settings for component {component!r}")

    def _lambda_service(self) -> dict[str, str]:
        """The routing and agent-events functions share one local process: their Environments merged.
        A variable they disagree on is an error, but for what names each function itself (one
        process cannot hold two values): each handler names its own component, and the metrics
        namespace only labels what CloudWatch would receive."""
        merged: dict[str, str] = {}
        owners: dict[str, str] = {}
        for function in self.functions():
            if function.component not in (Component.ROUTING, Component.AGENT_EVENTS, Component.WEBHOOKS):
                continue
            for name, value in function.environment.items():
                if name in _PER_FUNCTION:
                    continue
                if name in merged and merged[name] != value:
                    raise SettingsError(
                        f"{name} differs between {owners[name]} and {function.logical_id}, which the "
                        "local Lambda service runs in one process"
                    )
                merged[name], owners[name] = value, function.logical_id
        return merged

    def _resolve(self, value: Any, template: Template) -> str:
        if isinstance(value, str):
            return value
        refs = _refs(value)
        resources = template["Resources"]
        for ref in refs:
            kind = resources.get(ref, {}).get("Type")
            if kind == _SECRET:
                return self.secrets_manager.arns[ref]
            component = self._function_component(ref)
            if component is not None:
                return self.function_names[component]
            if kind == "AWS::ApiGatewayV2::Api":
                return self.events_socket_endpoint
            if kind == "AWS::S3::Bucket":
                # Two buckets reach the API: the call recordings' (``constructs.recordings``) and the prompts'.
                return self.recordings_bucket if ref.startswith("Recordings") else self.prompts_bucket
        raise SettingsError(f"no local stand-in for {json.dumps(value)}")

    def _function_component(self, logical_id: str) -> Component | None:
        """The component of a function, or of the function behind an alias or version."""
        resource = self.template["Resources"].get(logical_id, {})
        if resource.get("Type") in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            targets = _refs(resource["Properties"]["FunctionName"])
            return self._function_component(targets[0]) if targets else None
        if resource.get("Type") != "AWS::Lambda::Function":
            return None
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        name = variables.get(contract.COMPONENT.name)
        return Component(name) if isinstance(name, str) else None
