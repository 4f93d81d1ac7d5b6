"""The composition of the whole deployment: which stacks exist, in which region, in which order."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk

from switchboard_infra import api_routes, nag
from switchboard_infra.config import CONTEXT_KEY, Config
from switchboard_infra.stacks.data import DataStack
from switchboard_infra.stacks.global_entry import GlobalEntryStack
from switchboard_infra.stacks.keys import KeysStack
from switchboard_infra.stacks.region import RegionStack


@dataclass(frozen=True)
class Deployment:
    config: Config
    keys: dict[str, KeysStack]
    data: DataStack
    regions: dict[str, RegionStack]
    global_entry: GlobalEntryStack

    @property
    def stacks(self) -> list[cdk.Stack]:
        return [*self.keys.values(), self.data, *self.regions.values(), self.global_entry]


def build(
    app: cdk.App, config: Config | None = None, routes: list[api_routes.Route] | None = None
) -> Deployment:
    config = config or Config.from_context(app.node.try_get_context(CONTEXT_KEY))
    routes = routes if routes is not None else api_routes.discover()

    def env(region: str) -> cdk.Environment:
        # Explicit account and region: global-table replicas and cross-region references need both.
        return cdk.Environment(account=config.account, region=region)

    keys = {
        region: KeysStack(
            app,
            f"Switchboard-Keys-{region}",
            env=env(region),
            description=f"Switchboard table encryption key in {region} (customer-managed, rotated)",
            termination_protection=True,
        )
        for region in config.regions
    }
    data = DataStack(
        app,
        "Switchboard-Data",
        config=config,
        key=keys[config.primary_region].table_key,
        env=env(config.primary_region),
        description="Switchboard state: the DynamoDB global table (primary region plus replica)",
        termination_protection=True,
    )
    regions: dict[str, RegionStack] = {}
    for region in config.regions:
        stack = RegionStack(
            app,
            f"Switchboard-{region}",
            config=config,
            api_routes=routes,
            table_key=keys[region].table_key,
            env=env(region),
            description=f"Switchboard in {region}: routing, agent events, HTTP API, SIP edge, alarms",
            cross_region_references=True,
        )
        stack.add_stack_dependency(data, "the table and its replica must exist before anything uses them")
        stack.add_stack_dependency(keys[region], "the replica's key must exist before anything uses it")
        regions[region] = stack
    global_entry = GlobalEntryStack(
        app,
        "Switchboard-Global",
        config=config,
        load_balancers={region: stack.edge.nlb for region, stack in regions.items()},
        env=env(config.primary_region),
        description="Switchboard global entry: Global Accelerator over both regions' SIP edges",
        cross_region_references=True,
    )
    for key_stack in keys.values():
        data.add_stack_dependency(key_stack, "each replica is created encrypted with its region's key")
    for tagged in (*keys.values(), data, *regions.values(), global_entry):
        cdk.Tags.of(tagged).add("project", "switchboard")
    nag.apply_checks(app)
    return Deployment(config=config, keys=keys, data=data, regions=regions, global_entry=global_entry)
