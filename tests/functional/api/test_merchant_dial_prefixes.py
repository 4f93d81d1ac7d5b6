"""A merchant's allowed outbound prefixes over the HTTP API: set, read back, cleared, validated."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.api.conftest import Api


def test_a_merchant_may_call_anything_until_prefixes_are_set_and_again_once_cleared(api: Api) -> None:
    merchant_id, key = api.merchant()
    path = f"/merchants/{merchant_id}"
    assert api.get(path, key=key).body["dial_prefixes"] == []
    changed = api.patch(path, {"dial_prefixes": ["+44", "+1", "+44"]}, key=key)
    assert changed.status == 200 and changed.body["dial_prefixes"] == ["+44", "+1"]
    assert api.get(path, key=key).body["dial_prefixes"] == ["+44", "+1"]
    assert api.patch(path, {"dial_prefixes": []}, key=key).body["dial_prefixes"] == []


@pytest.mark.parametrize("value", ["+44", ["44"], ["+44x"], ["+" + "1" * 16], [7]])
def test_a_bad_prefix_list_is_refused_naming_the_field(api: Api, value: Any) -> None:
    merchant_id, key = api.merchant()
    refused = api.patch(f"/merchants/{merchant_id}", {"dial_prefixes": value}, key=key)
    assert refused.status == 400 and refused.error["field"] == "dial_prefixes"
