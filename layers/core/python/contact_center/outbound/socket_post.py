"""API Gateway's Management API for WebSocket connections: ``post_to_connection`` through boto3.

The endpoint is the WebSocket API's stage (``https://{api}.execute-api.{region}.amazonaws.com/{stage}``)
in AWS and the local socket server's in local mode (``EVENTS_SOCKET_ENDPOINT`` either way), so the
same client runs unchanged in both.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# A page waits for its event: a slow post must not hold the rest of the fan-out for long.
_CONFIG = Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 2, "mode": "standard"})


class ManagementApiPoster:
    def __init__(self, endpoint_url: str, region: str | None = None) -> None:
        self._client: Any = boto3.client(
            "apigatewaymanagementapi", endpoint_url=endpoint_url, region_name=region, config=_CONFIG
        )

    def post(self, connection_id: str, data: bytes) -> bool:
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._client.exceptions.GoneException:
            return False
        return True
