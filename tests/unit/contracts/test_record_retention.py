"""Contact records expire: the retention setting reaches the record's TTL attribute."""

from __future__ import annotations

import pytest

from contact_center.contracts.settings import Component, SettingsError, load_function_settings
from contact_center.data.mappers.contacts import record_item
from contact_center.services.routing.ports import ContactRecord

ROUTING = {"SWITCHBOARD_TABLE": "switchboard", "SIP_DOMAIN": "sip.example.com"}
ENDED_MS = 1_790_000_000_500


def record() -> ContactRecord:
    return ContactRecord(
        "c-1", "voice", "+14155550100", "+14155550199", "m-1", "q-1", "s-1", None,
        ENDED_MS - 60_000, None, None, None, ENDED_MS, "caller", "normal_clearing", 0,
    )  # fmt: skip


def test_a_record_expires_its_retention_after_the_contact_ended() -> None:
    assert record_item(record(), 30).expires_at == ENDED_MS // 1000 + 30 * 86_400


def test_a_record_written_without_a_retention_never_expires() -> None:
    assert record_item(record()).expires_at is None


def test_the_retention_defaults_to_400_days_and_is_configurable() -> None:
    assert load_function_settings(Component.ROUTING, ROUTING).record_retention_days == 400
    configured = {**ROUTING, "CONTACT_RECORD_RETENTION_DAYS": "90"}
    assert load_function_settings(Component.ROUTING, configured).record_retention_days == 90


@pytest.mark.parametrize("value", ["0", "-5", "a year"])
def test_a_retention_that_is_not_a_positive_number_of_days_is_refused_by_name(value: str) -> None:
    with pytest.raises(SettingsError, match="CONTACT_RECORD_RETENTION_DAYS"):
        load_function_settings(Component.ROUTING, {**ROUTING, "CONTACT_RECORD_RETENTION_DAYS": value})
