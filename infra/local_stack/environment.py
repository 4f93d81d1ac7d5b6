"""The environment of every process the local stack and the topology harness start: one function.

`environment(component, site)` is the only place that decides a process's variables. What a process
needs comes in two parts:

- its *settings* (table name, SIP domain, admin key, nonce key, function names...): in AWS these are
  the Environment (and Secrets) of the Lambda function or the ECS container in the synthesized
  CloudFormation template. A `SettingsSource` hands them over per component: the topology harness
  reads them from the synthesized template (`local_stack.deployed_settings.TemplateSettings`);
  `make run` uses `LocalSettings`, the same values written out, which spares it a synthesis.
- where the AWS services are (*endpoints*): always local, so they overlay whatever the settings say.

Per-process facts (an edge task's address and id) are given by the caller as ``overrides``.

Components are the deployable units: ``edge`` (the ECS container), ``api`` (the API function),
``lambda`` (the local Lambda service, which runs the routing, agent-events and webhooks functions in one
process: a template source merges their Environments, and two functions that disagree on a
variable are an error it should report) and ``dynamodb`` (settings-free).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from contact_center.contracts import settings as contract

# The components a settings source is asked about: the names of the deployable units, as the
# template holds them (the routing and agent-events functions share the Lambda service locally).
COMPONENTS = ("dynamodb", "lambda", "api", "edge")


class SettingsSource(Protocol):
    """A component's settings as the deployment defines them (names -> values, secrets resolved)."""

    def settings(self, component: str) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class LocalSettings:
    """The settings of a one-machine deployment, for every component (what the template will say)."""

    table: str
    sip_domain: str
    admin_key: str
    nonce_key: str
    registrar: str
    routing_function: str = "routing"
    region: str = "us-east-1"
    # The media relay's ng address and the prompts' directory; empty: calls' media is not anchored.
    media_relays: str = ""
    media_prompts: str = ""
    # The relay's agent, which joins an announcement's words into one file; empty: said one by one.
    media_agents: str = ""
    # The local event socket's Management API (``socket_server``); empty: no socket runs.
    events_socket_endpoint: str = ""
    # Call recordings: the directory they are stored in, and the web server's URL serving them.
    recordings_dir: str = ""
    recordings_link_base: str = ""
    # Where merchants' uploaded prompts are kept (the API writes, the edge reads); empty: no uploads.
    prompts_directory: str = ""

    def settings(self, component: str) -> Mapping[str, str]:
        if component == "dynamodb":
            return {}
        common = {contract.TABLE.name: self.table, contract.SIP_DOMAIN.name: self.sip_domain}
        if self.prompts_directory and component in ("api", "edge"):
            common[contract.PROMPTS_DIRECTORY.name] = self.prompts_directory
        if component == "edge":
            media = {contract.MEDIA_RELAYS.name: self.media_relays} if self.media_relays else {}
            if self.media_prompts:
                media[contract.MEDIA_PROMPTS.name] = self.media_prompts
            if self.media_agents:
                media[contract.MEDIA_RELAY_AGENTS.name] = self.media_agents
            return {
                **common,
                contract.SIP_NONCE_KEY.name: self.nonce_key,
                contract.ROUTING_FUNCTION_NAME.name: self.routing_function,
                **media,
            }
        functions = {
            **common,
            contract.ADMIN_KEY.name: self.admin_key,
            contract.SIP_REGISTRAR.name: self.registrar,
            # Webhook receivers of a one-machine stack (and its tests) listen on loopback.
            contract.WEBHOOKS_ALLOW_PRIVATE.name: "true",
        }
        if component in ("lambda", "api"):
            # The router signs the offers it pushes to edge tasks, and the API its transfer
            # commands, with a key derived from this one.
            functions[contract.SIP_NONCE_KEY.name] = self.nonce_key
            if self.events_socket_endpoint:
                functions[contract.EVENTS_SOCKET_ENDPOINT.name] = self.events_socket_endpoint
        if component == "api" and self.recordings_dir:
            functions[contract.RECORDINGS_DIR.name] = self.recordings_dir
            functions[contract.RECORDINGS_LINK_BASE.name] = self.recordings_link_base
        return functions


@dataclass(frozen=True)
class Endpoints:
    """Where the local AWS services listen (URLs), for the SDKs' ``AWS_ENDPOINT_URL_*`` variables."""

    dynamodb: str = ""
    lambda_: str = ""
    # Secrets Manager and CloudWatch: moto's server, in the topology.
    secretsmanager: str = ""
    cloudwatch: str = ""

    def variables(self) -> dict[str, str]:
        found = {}
        if self.dynamodb:
            found["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb
            found["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = self.dynamodb
        if self.lambda_:
            found["AWS_ENDPOINT_URL_LAMBDA"] = self.lambda_
        if self.secretsmanager:
            found["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = self.secretsmanager
        if self.cloudwatch:
            found["AWS_ENDPOINT_URL_CLOUDWATCH"] = self.cloudwatch
        return found


@dataclass(frozen=True)
class Site:
    """Everything the environment of a process on this machine is made of."""

    settings: SettingsSource
    endpoints: Endpoints = field(default_factory=Endpoints)
    region: str = "us-east-1"
    # The parent's environment the children inherit (PATH, PYTHONPATH, LOG_LEVEL...).
    inherited: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


# Variables a child must never inherit from the shell that started the stack: they would point it
# at real AWS. (A developer's SIP_* or LOG_LEVEL tuning is inherited on purpose.)
_NOT_INHERITED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")
_NOT_INHERITED_PREFIXES = ("AWS_ENDPOINT_URL_",)


def environment(component: str, site: Site, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The complete environment of one process of ``component`` (see `COMPONENTS`)."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}; expected one of {', '.join(COMPONENTS)}")
    env = {
        name: value
        for name, value in site.inherited.items()
        if name not in _NOT_INHERITED and not name.startswith(_NOT_INHERITED_PREFIXES)
    }
    env.update(
        {
            # Local services accept any credentials; fixed ones keep a developer's real keys out.
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": site.region,
            "AWS_DEFAULT_REGION": site.region,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(site.settings.settings(component))
    env.update(site.endpoints.variables())
    env.update(overrides or {})
    return env
