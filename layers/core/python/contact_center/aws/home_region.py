"""Sending a routing request to the merchant's home region: a synchronous Lambda invoke of the
routing function there (cross-region in AWS; locally the other region's Lambda service).

One botocore client per region, built on first use. ``endpoints`` overrides a region's endpoint (the
local harness); in AWS the SDK's regional endpoint is used.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.config import Config


class HomeRegionInvoker:
    def __init__(self, function_name: str, endpoints: Mapping[str, str] | None = None) -> None:
        self._function_name = function_name
        self._endpoints = dict(endpoints or {})
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def invoke(self, region: str, event: Mapping[str, Any]) -> dict[str, Any]:
        response = self._client(region).invoke(
            FunctionName=self._function_name, Payload=json.dumps(dict(event)).encode()
        )
        body: dict[str, Any] = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RuntimeError(f"routing in {region} failed: {body.get('errorMessage', body)}")
        return body

    def _client(self, region: str) -> Any:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                # A short budget: the edge must answer its caller, and a region that does not answer
                # in time is failing over anyway.
                config = Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
                client = botocore.session.get_session().create_client(
                    "lambda",
                    region_name=region,
                    endpoint_url=self._endpoints.get(region) or None,
                    config=config,
                )
                self._clients[region] = client
            return client
