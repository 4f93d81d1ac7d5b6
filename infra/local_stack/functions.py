"""Discovering and loading the Lambda handlers under ``functions/`` the way Lambda would.

Each folder ``functions/<name>/`` with a ``handler.py`` defining ``handler(event, context)`` is one
function named ``<name>``. An optional ``function.json`` beside it declares event sources, e.g.
``{"events": [{"type": "dynamodb-stream", "filter": {"entity": ["seat"]}}]}``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Handler = Callable[[Any, Any], Any]

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB stream feeding a function, with an optional filter on the new/old image's attributes."""

    filter: dict[str, list[str]] = field(default_factory=dict)
    batch_size: int = 100

    def matches(self, record: dict[str, Any]) -> bool:
        if not self.filter:
            return True
        dynamodb = record.get("dynamodb", {})
        image = dynamodb.get("NewImage") or dynamodb.get("OldImage") or {}
        for attribute, allowed in self.filter.items():
            value = image.get(attribute, {})
            if next(iter(value.values()), None) not in allowed:
                return False
        return True


@dataclass
class LocalFunction:
    name: str
    path: Path
    stream_sources: list[StreamSource]
    timeout_seconds: int = 30
    _handler: Handler | None = None

    def handler(self) -> Handler:
        # Loaded on first use, like a Lambda cold start, and kept warm after.
        if self._handler is None:
            spec = importlib.util.spec_from_file_location(f"lambda_{self.name}", self.path / "handler.py")
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {self.path / 'handler.py'}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            self._handler = module.handler
        return self._handler


def discover(functions_dir: Path = FUNCTIONS_DIR) -> dict[str, LocalFunction]:
    found: dict[str, LocalFunction] = {}
    for handler_file in sorted(functions_dir.glob("*/handler.py")):
        folder = handler_file.parent
        manifest: dict[str, Any] = {}
        if (folder / "function.json").exists():
            manifest = json.loads((folder / "function.json").read_text())
        sources = [
            StreamSource(filter=event.get("filter", {}), batch_size=int(event.get("batch_size", 100)))
            for event in manifest.get("events", [])
            if event.get("type") == "dynamodb-stream"
        ]
        found[folder.name] = LocalFunction(
            name=folder.name,
            path=folder,
            stream_sources=sources,
            timeout_seconds=int(manifest.get("timeout_seconds", 30)),
        )
    return found


class LambdaContext:
    """The attributes of Lambda's context object that handlers and logging libraries read."""

    def __init__(self, function: LocalFunction, region: str) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:{region}:000000000000:function:{function.name}"
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
