"""API Gateway's part when the app is served locally (``local_stack.api_server``, the tests' client).

Chalice's local gateway answers a path no route matches with 403 and, when the request carries an
Authorization header, a message that repeats it: the caller's API key, echoed into logs and
proxies. This gateway answers 404 in the API's error shape and repeats nothing. Deployed, API
Gateway's gateway responses (the ``ChaliceApi`` construct) give the same answer.
"""

from __future__ import annotations

from typing import Any

from chalice.local import LocalGateway, LocalGatewayException

from .errors import route_not_found


class RouteNotFoundError(LocalGatewayException):
    CODE = 404


class ApiGateway(LocalGateway):
    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        try:
            return super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # chalice's route matcher: no route has this path
            response = route_not_found()
            raise RouteNotFoundError(dict(response.headers), str(response.body).encode()) from None
