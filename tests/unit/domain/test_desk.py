"""The desk's rules: the CRM link template, wrap-up codes, and who hears which events."""

from __future__ import annotations

import pytest

from contact_center.domain.access import Principal, Role
from contact_center.domain.desk import (
    check_wrap_up_code,
    event_topics,
    fill_crm_link,
    listening_topics,
    validate_crm_link_template,
    validate_wrap_up_codes,
)
from contact_center.domain.errors import ValidationError


@pytest.mark.parametrize(
    "template",
    [
        "http://crm.example/c?phone={caller}",
        "javascript:alert(document.cookie)",
        "https:///no-host",
        "//crm.example/c",
        "https://crm.example/c?phone={caller} x",
        "https://crm.example/" + "a" * 500,
        42,
    ],
)
def test_a_crm_link_template_that_is_not_a_plain_https_url_is_refused_naming_the_field(
    template: object,
) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_crm_link_template(template)
    assert refused.value.field == "crm_link_template"


def test_an_empty_template_means_no_link_and_the_caller_is_url_encoded_into_it() -> None:
    assert validate_crm_link_template("") is None
    template = validate_crm_link_template("https://crm.example/customers?phone={caller}")
    assert (
        fill_crm_link(template, "+49 30/555&1") == "https://crm.example/customers?phone=%2B49%2030%2F555%261"
    )
    assert fill_crm_link(None, "+4930555") is None


def test_wrap_up_codes_are_distinct_printable_labels_and_only_listed_ones_are_taken() -> None:
    assert validate_wrap_up_codes(["Sale", "Refund (partial)", "Call back"]) == (
        "Sale",
        "Refund (partial)",
        "Call back",
    )
    for bad in (["Sale", "Sale"], [""], [" padded"], ["x" * 41], "Sale", [3]):
        with pytest.raises(ValidationError) as refused:
            validate_wrap_up_codes(bad)
        assert refused.value.field == "wrap_up_codes"
    assert check_wrap_up_code("Sale", ("Sale",)) == "Sale"
    with pytest.raises(ValidationError) as refused:
        check_wrap_up_code("sale", ("Sale",))
    assert refused.value.field == "code"


def test_each_role_listens_to_its_own_scope_and_events_reach_seat_queue_and_merchant() -> None:
    agent = Principal(role=Role.AGENT, merchant_id="m", user_id="u", seat_id="s1")
    supervisor = Principal(
        role=Role.SUPERVISOR, merchant_id="m", user_id="v", queue_ids=frozenset({"q2", "q1"})
    )
    admin = Principal(role=Role.MERCHANT_ADMIN, merchant_id="m", key_id="k")
    assert listening_topics(agent) == ("m#SEAT#s1",)
    assert listening_topics(supervisor) == ("m#QUEUE#q1", "m#QUEUE#q2")
    assert listening_topics(admin) == ("m#MERCHANT",)
    with pytest.raises(ValidationError):
        listening_topics(Principal(role=Role.PLATFORM_ADMIN))
    assert event_topics("m", "s1", ["q1", None]) == ("m#SEAT#s1", "m#QUEUE#q1", "m#MERCHANT")
    assert event_topics("m", None, [None]) == ("m#MERCHANT",)
