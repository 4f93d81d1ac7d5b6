"""The OpenAPI document states the contracts' patterns, bounds and states, not copies of them."""

from __future__ import annotations

import json
from typing import Any

from contact_center.contracts import values
from tests.functional.api.conftest import API_DIR


def _document() -> dict[str, Any]:
    return dict(json.loads((API_DIR / "openapi.json").read_text()))


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for child in node.values():
            found += _walk(child)
    elif isinstance(node, list):
        for child in node:
            found += _walk(child)
    return found


def _parameters(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        p["name"]: p["schema"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for p in operation.get("parameters", [])
        if p.get("in") == "path"
    }


def test_every_id_in_a_path_has_the_contract_id_pattern() -> None:
    parameters = _parameters(_document())
    ids = {name: schema for name, schema in parameters.items() if name.endswith("_id")}
    assert ids and {schema["pattern"] for schema in ids.values()} == {values.anchored(values.ID_PATTERN)}


def test_every_phone_number_has_the_contract_e164_pattern() -> None:
    patterns = {node["pattern"] for node in _walk(_document()) if "E.164" in str(node.get("description", ""))}
    patterns |= {_parameters(_document())["number"]["pattern"]}
    assert patterns == {values.anchored(values.E164_PATTERN)}


def test_ring_timeouts_have_the_contract_bounds_and_default() -> None:
    schemas = _document()["components"]["schemas"]
    bounds = {
        (s["minimum"], s["maximum"], s["default"])
        for schema in schemas.values()
        for name, s in schema.get("properties", {}).items()
        if name == "ring_timeout_seconds"
    }
    assert bounds == {
        (
            values.RING_TIMEOUT_SECONDS_MIN,
            values.RING_TIMEOUT_SECONDS_MAX,
            values.DEFAULT_RING_TIMEOUT_SECONDS,
        )
    }


def test_agent_state_enums_are_the_contract_states() -> None:
    enums = [
        node["enum"]
        for node in _walk(_document()["components"]["schemas"])
        if node.get("type") == "string" and "enum" in node and "available" in node["enum"]
    ]
    assert sorted(map(tuple, enums)) == sorted(
        # seat reads (2) and the wallboard's agents, the state change and the forced release's target
        [*[values.AGENT_STATES] * 3, *[values.API_SETTABLE_AGENT_STATES] * 2]
    )
