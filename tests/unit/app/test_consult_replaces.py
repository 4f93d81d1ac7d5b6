"""Which consult a REFER's Replaces names: its Call-ID and both of its tags, either way round."""

from __future__ import annotations

from sip_edge.app.calls.consults import matches
from sip_edge.sip.dialog import CALLER, Leg
from sip_edge.sip.refer import parse_replaces

LEG = Leg(
    side=CALLER,
    call_id="consult-1",
    local="<sip:a2@sip.test>;tag=edge-tag",
    remote='"Agent" <sip:u-a1@sip.test>;tag=phone-tag',
    local_cseq=0,
    remote_cseq=1,
    remote_target="sip:u-a1@127.0.0.1:5070",
    transport="UDP",
    destination="127.0.0.1:5070",
    contact="sip:sb-1.c@127.0.0.1:5060",
)


def test_replaces_names_the_consult_by_call_id_and_both_tags_in_either_order() -> None:
    assert matches(LEG, parse_replaces("consult-1;to-tag=edge-tag;from-tag=phone-tag"))
    assert matches(LEG, parse_replaces("consult-1;to-tag=phone-tag;from-tag=edge-tag"))


def test_replaces_with_another_call_id_or_a_wrong_tag_names_nothing() -> None:
    assert not matches(LEG, parse_replaces("consult-2;to-tag=edge-tag;from-tag=phone-tag"))
    assert not matches(LEG, parse_replaces("consult-1;to-tag=edge-tag;from-tag=other"))
    assert not matches(LEG, parse_replaces("consult-1;to-tag=phone-tag;from-tag=phone-tag"))
