"""Which table and which endpoint the models talk to, and creating the table locally.

In AWS the table name comes from ``SWITCHBOARD_TABLE`` and the endpoint from the SDK's defaults.
Locally ``AWS_ENDPOINT_URL_DYNAMODB`` (or ``AWS_ENDPOINT_URL``) points at moto's server or DynamoDB
Local. Tests rebind at run time with :func:`bind`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from pynamodb.connection import Connection, TableConnection
from pynamodb.models import Model

from contact_center.aws.dynamodb import shared_client
from contact_center.data import schema


def endpoint_from_env() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL") or None


def region_from_env() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def table_name_from_env() -> str:
    return os.environ.get(schema.TABLE_NAME_ENV, schema.DEFAULT_TABLE_NAME)


class ItemConnection(Connection):
    """PynamoDB's connection, sending through the data layer's own request path
    (``contact_center.aws.dynamodb``) instead of a botocore client."""

    @property
    def client(self) -> Any:
        return shared_client(self.region, self.host)


def on_item_connection(table_connection: TableConnection) -> TableConnection:
    """The model's table connection, moved onto an :class:`ItemConnection` (once)."""
    current = table_connection.connection
    if not isinstance(current, ItemConnection):
        replacement = ItemConnection(region=current.region, host=current.host)
        replacement.add_meta_table(table_connection.get_meta_table())
        table_connection.connection = replacement
    return table_connection


class _Binding:
    """Where the models point now; one per process."""

    def __init__(self) -> None:
        self.table_name = table_name_from_env()
        self.host = endpoint_from_env()
        self.region = region_from_env()
        self._connection: Connection | None = None
        # The models that take their table and endpoint from here (``models`` registers them, so
        # this module never imports the models).
        self.models: list[type[Model]] = []

    def register(self, *models: type[Model]) -> None:
        self.models.extend(model for model in models if model not in self.models)

    def connection(self) -> Connection:
        # Transactions need a plain Connection (not a model's TableConnection) on the same endpoint.
        if self._connection is None:
            self._connection = ItemConnection(region=self.region, host=self.host)
        return self._connection


BINDING = _Binding()


def bind(table_name: str | None = None, host: str | None = None, region: str | None = None) -> None:
    """Point every model at a table and endpoint (values default to the environment)."""
    BINDING.table_name = table_name or table_name_from_env()
    BINDING.host = host if host is not None else endpoint_from_env()
    BINDING.region = region or region_from_env()
    BINDING._connection = None
    for model in BINDING.models:
        model.Meta.table_name = BINDING.table_name
        model.Meta.host = BINDING.host
        model.Meta.region = BINDING.region
        # PynamoDB caches a connection per model class; drop it so the new endpoint is used.
        model._connection = None


def create_table(table_name: str | None = None, *, client: Any | None = None, wait: bool = True) -> None:
    """Create the table (and turn on TTL) if it does not exist. Local stack and tests only."""
    name = table_name or BINDING.table_name
    ddb = client or boto3.client("dynamodb", region_name=BINDING.region, endpoint_url=BINDING.host)
    try:
        ddb.create_table(**schema.TABLE.create_table_kwargs(name))
    except ddb.exceptions.ResourceInUseException:
        return
    if wait:
        deadline = time.monotonic() + 30
        while ddb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
            if time.monotonic() > deadline:
                raise TimeoutError(f"table {name} did not become ACTIVE")
            time.sleep(0.05)
    ddb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": schema.TTL_ATTRIBUTE},
    )


def delete_table(table_name: str, *, client: Any | None = None) -> None:
    ddb = client or boto3.client("dynamodb", region_name=BINDING.region, endpoint_url=BINDING.host)
    ddb.delete_table(TableName=table_name)
