"""The Chalice app under moto, with one admin key and helpers that onboard merchants through the API."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from chalice.test import Client

from contact_center import bootstrap

ROOT = Path(__file__).resolve().parents[3]
API_DIR = ROOT / "functions" / "api"
ADMIN_KEY = "sb_admin_functional_test"
SIP_DOMAIN = "sip.test.local"
SIP_REGISTRAR = "127.0.0.1:5060"


def load_api(module_name: str = "switchboard_api_app") -> ModuleType:
    """Load functions/api/app.py as Lambda would (chalicelib/ beside it), under a name of our own:
    ``app`` alone would clash with infra/app.py on the test path."""
    if str(API_DIR) not in sys.path:
        sys.path.insert(0, str(API_DIR))
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, API_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> dict[str, Any]:
        return dict(self.body["error"])


class Api:
    """JSON in, JSON out, through chalice.test.Client (the app's full request path, no sockets)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = ADMIN_KEY,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["Authorization"] = f"Bearer {key}"
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.client.http, method.lower())(path, headers=all_headers, body=payload)
        text = response.body.decode() if response.body else ""
        return Reply(response.status_code, json.loads(text) if text else None, dict(response.headers))

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body if body is not None else {}, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.call("PATCH", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)

    # Onboarding shortcuts

    def merchant(self, licences: int = 5, name: str = "Acme Shoes") -> tuple[str, str]:
        reply = self.post(
            "/merchants", {"name": name, "seat_licenses": licences, "contact_email": "ops@acme.test"}
        )
        assert reply.status == 201, reply.body
        return reply.body["merchant_id"], reply.body["api_key"]

    def queue(self, merchant_id: str, key: str, name: str = "Support", **fields: Any) -> str:
        reply = self.post(f"/merchants/{merchant_id}/queues", {"name": name, **fields}, key=key)
        assert reply.status == 201, reply.body
        return str(reply.body["queue_id"])

    def seat(self, merchant_id: str, key: str, **fields: Any) -> dict[str, Any]:
        body = {"display_name": "Ada", **fields}
        reply = self.post(f"/merchants/{merchant_id}/seats", body, key=key)
        assert reply.status == 201, reply.body
        return dict(reply.body)


class SerializedMoto:
    """Holds one lock around moto's DynamoDB writes.

    DynamoDB isolates transactions; moto does not: it rolls a failed transaction back by restoring a
    deep copy of the whole table taken when it started, which erases what other threads committed
    meanwhile. The lock gives moto DynamoDB's isolation so concurrency tests test our conditions,
    not moto's rollback.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from moto.dynamodb.models import DynamoDBBackend

        lock = threading.RLock()
        for name in ("transact_write_items", "put_item", "update_item", "delete_item", "get_item", "query"):
            original = getattr(DynamoDBBackend, name)

            def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
                with lock:
                    return __original(self, *args, **kwargs)

            monkeypatch.setattr(DynamoDBBackend, name, locked)


def api_settings() -> bootstrap.Settings:
    return bootstrap.Settings(
        sip_domain=SIP_DOMAIN,
        sip_registrar=SIP_REGISTRAR,
        admin_key_sha256=hashlib.sha256(ADMIN_KEY.encode()).hexdigest(),
    )


@pytest.fixture
def settings() -> bootstrap.Settings:
    return api_settings()


_SHARED_BOTOCORE_SESSION: list[Any] = []


@pytest.fixture
def shared_botocore_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """One botocore session for the PynamoDB connections of these tests.

    PynamoDB starts a new botocore session per model class and per re-bind, and each one loads the
    DynamoDB service model again (~50 ms); every test re-binds to its own table. Sharing the session
    keeps the loaded model and changes nothing about the requests made. Patched per test, so other
    test directories see PynamoDB untouched.
    """
    import botocore.session
    from pynamodb.connection import base

    if not _SHARED_BOTOCORE_SESSION:
        _SHARED_BOTOCORE_SESSION.append(botocore.session.get_session())
    monkeypatch.setattr(base, "get_session", lambda: _SHARED_BOTOCORE_SESSION[0])


@pytest.fixture
def api(shared_botocore_session: None, moto_table: str, settings: bootstrap.Settings) -> Iterator[Api]:
    bootstrap.reset(settings)
    module = load_api()
    with Client(module.app) as client:
        use_api_gateway(client, module)
        yield Api(client)
    bootstrap.reset()


def use_api_gateway(client: Client, module: ModuleType) -> None:
    """Serve through the app's own local gateway, as ``local_stack.api_server`` does."""
    from chalicelib.gateway import ApiGateway  # importable once load_api put functions/api on the path

    http = client.http
    http._local_gateway = ApiGateway(module.app, http._config)


@pytest.fixture
def serialized_moto(monkeypatch: pytest.MonkeyPatch) -> SerializedMoto:
    return SerializedMoto(monkeypatch)
